"""The local platform: emulators speaking the real wire protocols on loopback, and demo data.

Imported only by `--sandbox`, the tests and the benchmarks; never by production code paths.
"""
