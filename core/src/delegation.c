/* delegation: being written */
