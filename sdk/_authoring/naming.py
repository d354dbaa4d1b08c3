"""Where an entity comes from: its name (``module.qualname``) and the module whose code made it."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["caller_module", "entity_name"]


def entity_name(obj: Any) -> str:
    """``module.qualname``; a script run as __main__ is named after its file."""
    module = obj.__module__
    if module == "__main__":
        main = sys.modules["__main__"]
        path = getattr(main, "__file__", None)
        module = path.rsplit("/", 1)[-1].removesuffix(".py") if path else "__main__"
    return f"{module}.{obj.__qualname__}"


def caller_module(made: object = None) -> str:
    """The module whose code is creating an entity: the first caller outside Wingspan (and
    outside ``made``'s own ``__init__``, for a subclass defined in another module).

    Tasks and workflows know their module from their function; a launch plan or a
    container task is an object made by a call, so this records where that call was.
    """
    frame = sys._getframe(1)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        inside = name == "wingspan" or name.startswith("wingspan.")
        if not inside and (made is None or frame.f_locals.get("self") is not made):
            return name
        frame = frame.f_back  # type: ignore[assignment]
    return ""
