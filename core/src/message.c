/* message: being written */
