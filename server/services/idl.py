"""The IDL's messages as the services use them: ``v1`` is the ``wingspan.protos.v1`` module."""

from __future__ import annotations

from wingspan.protos import v1

__all__ = ["v1"]
