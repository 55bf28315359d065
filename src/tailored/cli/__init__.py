"""The command line: a thin layer over the packages below it."""
