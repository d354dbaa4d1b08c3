"""Signal sources for gates: values set through the API, from a callback, or typed at a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from wingspan.core.model.literals import LiteralType, SimpleType

__all__ = ["CallbackSignals", "QueueSignals", "TerminalSignals", "check_signal_value"]

_PYTHON_TYPES: dict[SimpleType, tuple[type, ...]] = {
    SimpleType.INTEGER: (int,), SimpleType.FLOAT: (float, int), SimpleType.STRING: (str,),
    SimpleType.BOOLEAN: (bool,), SimpleType.BINARY: (bytes,),
}


def check_signal_value(name: str, value: Any, expected: LiteralType | None) -> Any:
    """Rejects a value that does not fit the gate's type, naming the signal and both types."""
    if expected is None or expected.kind != "simple" or expected.value not in _PYTHON_TYPES:
        return value
    allowed = _PYTHON_TYPES[expected.value]
    ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
    if not ok:
        raise TypeError(f"signal {name!r} expects {expected}, got {type(value).__name__} {value!r}")
    if expected.value == SimpleType.FLOAT:
        return float(value)
    return value


class QueueSignals:
    """Signals given with ``set(name, value)``, before or after a gate starts waiting."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._events: dict[str, anyio.Event] = {}
        self._asked: dict[str, anyio.Event] = {}
        self.waiting: dict[str, str] = {}

    async def asked(self, name: str) -> str:
        """Returns (the node id) once a gate waits for ``name``."""
        if name not in self.waiting:
            await self._asked.setdefault(name, anyio.Event()).wait()
        return self.waiting[name]

    def set(self, name: str, value: Any) -> None:
        self._values[name] = value
        event = self._events.get(name)
        if event is not None:
            event.set()

    async def wait(self, name: str, expected: LiteralType | None, node_id: str) -> Any:
        while name not in self._values:
            self.waiting[name] = node_id
            if name in self._asked:
                self._asked.pop(name).set()
            event = self._events.setdefault(name, anyio.Event())
            await event.wait()
            self._events.pop(name, None)
        self.waiting.pop(name, None)
        return check_signal_value(name, self._values[name], expected)


class CallbackSignals:
    """Asks a function (run in a worker thread) for each signal's value."""

    def __init__(self, callback: Callable[[str, LiteralType | None], Any]) -> None:
        self._callback = callback

    async def wait(self, name: str, expected: LiteralType | None, node_id: str) -> Any:
        value = await anyio.to_thread.run_sync(self._callback, name, expected, abandon_on_cancel=True)
        return check_signal_value(name, value, expected)


class TerminalSignals(CallbackSignals):
    """Prompts on the terminal (``wingspan run`` when stdin is a terminal)."""

    def __init__(self) -> None:
        super().__init__(self.ask)

    @staticmethod
    def ask(name: str, expected: LiteralType | None) -> Any:
        """Asks on the terminal until the answer reads as a value (JSON; any text for a string)."""
        import json

        kind = str(expected) if expected is not None else "value"
        while True:
            print(f"\nsignal {name!r} ({kind}): ", end="", file=sys.stderr, flush=True)
            text = sys.stdin.readline().strip()
            if expected is not None and expected.kind == "simple" and expected.value == SimpleType.STRING:
                return text
            try:
                return json.loads(text.lower() if text.lower() in ("true", "false") else text)
            except json.JSONDecodeError:
                print("  not a valid value; try again (JSON: true, 3, 2.5, \"text\")", file=sys.stderr)
