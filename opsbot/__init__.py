"""opsbot's application shell: the composition root that opens a real or sandbox platform and serves it.

The other layers live beside it at the top level (docs/layout.md); only this package wires them
to real clients or to the sandbox's emulators.
"""

__version__ = "0.1.0"
