/* eip712: being written */
