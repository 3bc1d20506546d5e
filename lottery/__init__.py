"""The `sunshine-draw/1` protocol as pure functions (docs/protocol.md).

This package is the part of Sunshine Draw that a citizen needs to check a draw: it imports only
the standard library, `cryptography`, `rfc8785` and (optionally, for drand) `py_ecc` — never
Flask or SQLAlchemy.
"""

PROTOCOL = "sunshine-draw/1"
