"""The version of this Wingspan, in a module of its own so any layer can name it cheaply.

``pyproject.toml`` holds the same string (tests/unit/test_public_api.py keeps them equal).
"""

from __future__ import annotations

__all__ = ["VERSION"]

VERSION = "0.1.0"
