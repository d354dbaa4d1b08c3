"""Renderers for a task's reports: each turns a value into the HTML of a ``Deck``.

    from wingspan import Deck, task
    from wingspan.deck import MarkdownRenderer, TableRenderer, TopFrameRenderer

    @task
    def train(data: pd.DataFrame) -> float:
        Deck("data", TopFrameRenderer(5).to_html(data))
        Deck("notes", MarkdownRenderer().to_html("# Training\\n*3 epochs*"))
        ...

The names are flytekit's (``flytekit.deck.renderer`` and flytekitplugins-deck); text is
escaped, and markdown's raw HTML is shown as text, so a report shows data, never runs it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from wingspan.core.engine.context import Deck

__all__ = ["Deck", "FrameSummaryRenderer", "MarkdownRenderer", "TableRenderer", "TopFrameRenderer"]


class MarkdownRenderer:
    """Markdown (CommonMark, with tables) as HTML."""

    def to_html(self, text: str) -> str:
        from markdown_it import MarkdownIt  # loaded on first use

        return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))


class TableRenderer:
    """Rows as an HTML table: a list of dicts (their keys are the columns), a list of
    sequences (with ``columns`` for the header), or a pandas DataFrame."""

    def __init__(self, columns: Iterable[str] | None = None, max_rows: int | None = None) -> None:
        self.columns = list(columns) if columns is not None else None
        self.max_rows = max_rows

    def to_html(self, rows: Any) -> str:
        if _is_frame(rows):
            columns = [str(c) for c in rows.columns]
            data = rows.itertuples(index=False, name=None)
        else:
            rows = list(rows)
            if rows and all(isinstance(r, Mapping) for r in rows):
                columns = self.columns or list(dict.fromkeys(k for r in rows for k in r))
                data = ([r.get(c, "") for c in columns] for r in rows)
            else:
                columns = self.columns or []
                data = iter(rows)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
        body = []
        for index, row in enumerate(data):
            if self.max_rows is not None and index >= self.max_rows:
                break
            body.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
        header = f"<thead><tr>{head}</tr></thead>" if head else ""
        return f"<table>{header}<tbody>{''.join(body)}</tbody></table>"


class TopFrameRenderer:
    """The first ``max_rows`` rows of a data frame (pandas, or a pyarrow Table)."""

    def __init__(self, max_rows: int = 10, max_cols: int = 100) -> None:
        self.max_rows, self.max_cols = max_rows, max_cols

    def to_html(self, frame: Any) -> str:
        frame = _pandas(frame)
        return str(frame.iloc[: self.max_rows, : self.max_cols].to_html(escape=True))


class FrameSummaryRenderer:
    """A data frame's summary: its shape, column types and ``describe()`` statistics."""

    def to_html(self, frame: Any) -> str:
        import pandas as pd

        frame = _pandas(frame)
        types = pd.DataFrame({"type": frame.dtypes.astype(str), "missing": frame.isna().sum()})
        stats = frame.describe(include="all").to_html(escape=True)
        return (f"<p>{frame.shape[0]} rows, {frame.shape[1]} columns</p>"
                f"{types.to_html(escape=True)}{stats}")


def _is_frame(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and hasattr(value, "itertuples")


def _pandas(frame: Any) -> Any:
    if hasattr(frame, "to_pandas") and not _is_frame(frame):  # a pyarrow Table
        return frame.to_pandas()
    return frame
