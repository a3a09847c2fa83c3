/* http_server: being written */
