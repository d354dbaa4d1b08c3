"""Which parents' children an execution page shows, kept in the page's URL.

A parent node (a map, a dynamic node, a subworkflow) of at most ``FOLD_PAST`` children starts
unfolded, a larger one folded; ``?open=a,b`` and ``?closed=c`` record the reader's choices,
so a reload or a shared link shows the same page. ``?timeline=1`` shows the attempts' timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["FOLD_PAST", "Folds"]

FOLD_PAST = 25


def _names(query: Mapping[str, list[str]], key: str) -> frozenset[str]:
    return frozenset(n for value in query.get(key, []) for n in value.split(",") if n)


@dataclass(frozen=True, slots=True)
class Folds:
    opened: frozenset[str]
    closed: frozenset[str]
    timeline: bool
    #: the parents whose children are shown, in the order of ``counts``
    unfolded: tuple[str, ...]

    @classmethod
    def read(cls, query: Mapping[str, list[str]], counts: Mapping[str, int]) -> Folds:
        opened, closed = _names(query, "open"), _names(query, "closed")
        unfolded = tuple(p for p, n in counts.items()
                         if p in opened or (n <= FOLD_PAST and p not in closed))
        return cls(opened, closed, (query.get("timeline") or [""])[0] == "1", unfolded)

    def link(self, *, toggle: str = "", timeline: bool | None = None) -> str:
        """The query string of this page with ``toggle``'s fold flipped or the timeline shown
        or hidden, every other choice kept."""
        opened, closed = set(self.opened), set(self.closed)
        if toggle:
            if toggle in self.unfolded:
                opened.discard(toggle)
                closed.add(toggle)
            else:
                closed.discard(toggle)
                opened.add(toggle)
        show = self.timeline if timeline is None else timeline
        query = {k: v for k, v in (("open", ",".join(sorted(opened))), ("closed", ",".join(sorted(closed))),
                                   ("timeline", "1" if show else "")) if v}
        return "?" + urlencode(query) if query else "?"
