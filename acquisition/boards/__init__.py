"""One module per amplifier: its byte parser, host handshake, probe and emulated personality, found through one registry."""
