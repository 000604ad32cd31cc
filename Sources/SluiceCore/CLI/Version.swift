/// The version `--version` prints; the man page and the Makefile read it from here.
public let sluiceVersion = "0.1.0"
