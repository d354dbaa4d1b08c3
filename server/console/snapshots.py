"""What an execution's page shows of its nodes, as data the page and its live stream both draw.

The page is rendered from one snapshot (its rows, the phases of its graph's nodes, the
timeline); the live stream reads the same snapshot again and sends only what differs from the
last one it sent (:func:`changes`), so the browser's work per update is bounded by what it
shows, never by how many events the engine wrote meanwhile. A digest of the page's snapshot
rides on its live link: a stream whose first read matches it sends nothing until something
changes, and one that does not match sends the whole table once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Changes", "Snapshot", "TableRow", "changes", "table_rows"]


@dataclass(frozen=True, slots=True)
class TableRow:
    """A row of the nodes table: a node (a child when ``parent``), or the fold line of a parent."""

    kind: str  # "node" or "fold"
    key: str  # the node's id; for a fold line, its parent's
    node: Any = None
    parent: str = ""
    count: int = 0
    #: how many children are shown under an unfolded parent; None while folded
    shown: int | None = None


def table_rows(nodes: Sequence[Any], counts: Mapping[str, int],
               children: Mapping[str, Sequence[Any]]) -> list[TableRow]:
    """The top-level nodes in order, each parent followed by its fold line and shown children."""
    rows = []
    for node in nodes:
        node_id = node.id.node_id
        rows.append(TableRow("node", node_id, node))
        if node_id in counts:
            kids = children.get(node_id)
            rows.append(TableRow("fold", node_id, count=counts[node_id],
                                 shown=None if kids is None else len(kids)))
            rows += [TableRow("node", kid.id.node_id, kid, parent=node_id) for kid in kids or ()]
    return rows


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One read of what the page shows, drawn: ``rows`` as (kind, key, html)."""

    phase: str
    duration: str
    rows: list[tuple[str, str, str]]
    #: node id -> phase, of every node the graph draws
    phases: dict[str, str]
    timeline: str = ""
    ended: bool = False

    @property
    def digest(self) -> str:
        """Of the phase and the table (the timeline's running bars move with the clock)."""
        found = hashlib.sha256(self.phase.encode())
        for kind, key, html in self.rows:
            found.update(f"\0{kind}\0{key}\0{html}".encode())
        return found.hexdigest()[:32]


@dataclass(slots=True)
class Changes:
    execution: dict[str, str] | None = None
    #: node id -> its new phase (the graph's nodes)
    nodes: dict[str, str] = field(default_factory=dict)
    #: rows to replace in place, when the table kept its shape
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    #: the whole table body, when rows came or went (a new node, a parent's first child)
    body: str | None = None
    timeline: str | None = None

    def __bool__(self) -> bool:
        return bool(self.execution or self.nodes or self.rows or self.body is not None
                    or self.timeline is not None)


def changes(before: Snapshot | None, after: Snapshot) -> Changes:
    """What the stream sends to move a page showing ``before`` (None: unknown) to ``after``."""
    if before is None:
        return Changes({"phase": after.phase, "duration": after.duration}, dict(after.phases), [],
                       "".join(html for _, _, html in after.rows), after.timeline)
    found = Changes()
    if (before.phase, before.duration) != (after.phase, after.duration):
        found.execution = {"phase": after.phase, "duration": after.duration}
    found.nodes = {k: v for k, v in after.phases.items() if before.phases.get(k) != v}
    if [r[:2] for r in before.rows] != [r[:2] for r in after.rows]:
        found.body = "".join(html for _, _, html in after.rows)
    else:
        found.rows = [row for row, was in zip(after.rows, before.rows, strict=True) if row[2] != was[2]]
    if after.timeline != before.timeline:
        found.timeline = after.timeline
    return found
