"""The command line: the parser and one module per command (train, sample, interpolate, evaluate, bench)."""
