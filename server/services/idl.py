"""The IDL's messages as the services use them.

mypy does not follow the generated code (it is excluded from typing), so its
classes are untyped here: ``v1`` is the ``wingspan.protos.v1`` module, typed Any.
"""

from __future__ import annotations

from typing import Any

from wingspan.protos import v1 as _v1

__all__ = ["v1"]

v1: Any = _v1
