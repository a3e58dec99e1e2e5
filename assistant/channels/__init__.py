"""The faces: the HTTP API, the teller console, the command line, and who is calling."""
