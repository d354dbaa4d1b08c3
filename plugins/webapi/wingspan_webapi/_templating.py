"""``{{ .inputs.name }}`` placeholders (Flyte's spelling) in a task's settings.

In SQL the value never enters the text: each placeholder becomes the service's parameter marker
and the value is bound to it. In an HTTP request a placeholder that is a whole JSON value takes
the input as its typed value; inside text it is the value as text (in a URL, percent-encoded)."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["PLACEHOLDER", "bind_sql", "fill", "placeholder_problems", "used_inputs"]

PLACEHOLDER = re.compile(r"\{\{\s*\.inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def bind_sql(template: str, marker: Callable[[str, int], str]) -> tuple[str, list[str]]:
    """The SQL with each placeholder replaced by ``marker(input name, position)``, and the
    input names in marker order."""
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return marker(match.group(1), len(names) - 1)

    return PLACEHOLDER.sub(replace, template), names


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def fill(value: Any, inputs: Mapping[str, Any], *, in_url: bool = False) -> Any:
    """A JSON-like value with its placeholders filled from ``inputs``."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        if whole and not in_url:
            return inputs[whole.group(1)]
        quote = (lambda t: urllib.parse.quote(t, safe="")) if in_url else (lambda t: t)
        return PLACEHOLDER.sub(lambda m: quote(_text(inputs[m.group(1)])), value)
    if isinstance(value, list):
        return [fill(v, inputs) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, inputs) for k, v in value.items()}
    return value


def used_inputs(value: Any) -> set[str]:
    """The inputs the placeholders of a JSON-like value name."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, list):
        return set().union(*(used_inputs(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(used_inputs(v) for v in value.values())) if value else set()
    return set()


def placeholder_problems(where: str, settings: Any, inputs: Mapping[str, Any]) -> list[str]:
    """Placeholders naming no input, and inputs no placeholder uses."""
    used = used_inputs(settings)
    problems = [
        f"{where}: {{{{ .inputs.{name} }}}} names no input (inputs: {', '.join(inputs) or 'none'})"
        for name in sorted(used - set(inputs))
    ]
    problems += [
        f"{where}: input {name!r} is not used; write {{{{ .inputs.{name} }}}} where its value goes"
        for name in inputs
        if name not in used
    ]
    return problems
