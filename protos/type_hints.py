"""Each message class's field type hints, resolved once per class instead of on every use.

betterproto2 0.10 asks :func:`typing.get_type_hints` for a message's fields each time it turns
one into a dict (``to_dict``) or reads one from a dict, for every nested message too. That
resolution walks the class's MRO and evaluates every annotation's string: on a page of 100
executions it was about three quarters of the JSON route's time. A class's fields never change
once its module is loaded, so the answer is kept on the class itself.
"""

from __future__ import annotations

import sys
from typing import Any, get_type_hints

import betterproto2

__all__ = ["cache_type_hints"]

_KEPT = "_wingspan_type_hints"


def _type_hints(cls: Any) -> dict[str, Any]:
    # the class's own __dict__, not getattr: a subclass must not answer with its base's hints
    hints: dict[str, Any] | None = cls.__dict__.get(_KEPT)
    if hints is None:
        hints = get_type_hints(cls, sys.modules[cls.__module__].__dict__, {})
        setattr(cls, _KEPT, hints)
    return hints


def cache_type_hints() -> None:
    """Makes every message class resolve its type hints once (idempotent)."""
    betterproto2.Message._type_hints = classmethod(_type_hints)  # type: ignore[method-assign,assignment]
