/* rsa: being written */
