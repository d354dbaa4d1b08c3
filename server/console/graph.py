"""An execution's DAG laid out in layers, for the console's SVG.

Each node goes in the layer after its deepest upstream node (longest path from the
roots), so every edge points rightwards; nodes of one layer stack in the workflow's
own order. The layout is plain data (positions, edges); the template draws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Layout", "PlacedNode", "layout"]

NODE_WIDTH, NODE_HEIGHT = 150, 36
_COLUMN, _ROW, _MARGIN = 200, 56, 12


@dataclass(frozen=True, slots=True)
class PlacedNode:
    id: str
    label: str
    x: int
    y: int
    phase: str


@dataclass(frozen=True, slots=True)
class Layout:
    nodes: list[PlacedNode]
    #: (x1, y1, x2, y2): from the right edge of the upstream node to the left edge of the other
    edges: list[tuple[int, int, int, int]]
    width: int
    height: int


def layout(order: Sequence[str], upstream: Mapping[str, Sequence[str]], labels: Mapping[str, str],
           phases: Mapping[str, str]) -> Layout:
    """``order``: the nodes in a topological order; ``upstream``: node -> the nodes it waits for."""
    layer: dict[str, int] = {}
    for node in order:
        layer[node] = 1 + max((layer[u] for u in upstream.get(node, ()) if u in layer), default=-1)
    rows: dict[int, int] = {}
    placed: dict[str, PlacedNode] = {}
    for node in order:
        column = layer[node]
        row = rows.get(column, 0)
        rows[column] = row + 1
        placed[node] = PlacedNode(node, labels.get(node, node), _MARGIN + column * _COLUMN,
                                  _MARGIN + row * _ROW, phases.get(node, "undefined"))
    edges = []
    for node in order:
        for up in upstream.get(node, ()):
            if up in placed:
                a, b = placed[up], placed[node]
                edges.append((a.x + NODE_WIDTH, a.y + NODE_HEIGHT // 2, b.x, b.y + NODE_HEIGHT // 2))
    width = _MARGIN * 2 + max(layer.values(), default=0) * _COLUMN + NODE_WIDTH
    height = _MARGIN * 2 + max(rows.values(), default=1) * _ROW
    return Layout(list(placed.values()), edges, width, height)
