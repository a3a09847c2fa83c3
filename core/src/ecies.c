/* ecies: being written */
