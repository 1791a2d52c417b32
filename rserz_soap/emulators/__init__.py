"""Stand-ins for the outside world (ФЕРЗЛ, СМЭВ 3): full emulators with their own data and fault switches.

Nothing in the hub's core imports this package; only tests, benchmarks and `rserz emulators` do.
"""
