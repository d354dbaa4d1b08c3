"""A query template's placeholders: ``{{ .inputs.name }}`` (Flyte's spelling) marks where an
input's value goes. The value never enters the SQL text: each placeholder becomes a parameter
marker of the engine (``?`` for Trino and Presto, ``:name`` for SQLAlchemy) and the value is
bound to it, so an input holding ``'; DROP TABLE x; --`` is data."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PLACEHOLDER", "BoundQuery", "placeholder_problems", "render"]

PLACEHOLDER = re.compile(r"\{\{\s*\.inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class BoundQuery:
    """SQL text with parameter markers, and the inputs bound to them in marker order."""

    sql: str
    names: tuple[str, ...]

    def values(self, inputs: Mapping[str, Any]) -> list[Any]:
        return [inputs[name] for name in self.names]


def render(template: str, marker: Callable[[str, int], str]) -> BoundQuery:
    """The template with each placeholder replaced by ``marker(input name, position)``."""
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return marker(match.group(1), len(names) - 1)

    return BoundQuery(PLACEHOLDER.sub(replace, template), tuple(names))


def placeholder_problems(where: str, template: str, inputs: Mapping[str, Any]) -> list[str]:
    """What is wrong with a template at definition time: placeholders naming no input, inputs
    no placeholder uses, and ``{{`` that are not placeholders."""
    problems: list[str] = []
    if not isinstance(template, str) or not template.strip():
        return [f"{where}: query_template must be non-empty SQL text"]
    used = set(PLACEHOLDER.findall(template))
    for name in sorted(used - set(inputs)):
        problems.append(f"{where}: the query names {{{{ .inputs.{name} }}}}, which is not an input "
                        f"(inputs: {', '.join(inputs) or 'none'})")
    for name in [n for n in inputs if n not in used]:
        problems.append(f"{where}: input {name!r} is not used by the query; "
                        f"write {{{{ .inputs.{name} }}}} where its value goes")
    leftover = PLACEHOLDER.sub("", template)
    if "{{" in leftover:
        snippet = leftover[leftover.index("{{"):][:40]
        problems.append(f"{where}: {snippet!r} is not a placeholder; write {{{{ .inputs.NAME }}}}")
    return problems
