"""An attempt's report: one HTML page of the decks its task made (``Deck(...)``), stored in
the blob store as ``report.html`` of the attempt's output prefix when the attempt ends, and
named among the attempt's logs as ``report`` (name, URI), so it travels with them: in the
attempt's events, on the server's task executions, to ``Remote.reports`` and
``wingspan logs --report``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wingspan.core.engine.attempt_files import AttemptFiles
from wingspan.core.engine.attempt_io import prefix_in, run_blocking

if TYPE_CHECKING:
    from wingspan.core.engine.context import Deck, ExecutionContext
    from wingspan.core.storage.interface import BlobStore

__all__ = ["REPORT_LOG", "render_report", "report_logs", "save_report", "save_report_blocking"]

#: the name of an attempt's report among its logs
REPORT_LOG = "report"

log = logging.getLogger("wingspan.reports")

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; display: flex; }}
nav {{ min-width: 12em; padding: 1em; background: #f4f4f6; min-height: 100vh; box-sizing: border-box; }}
nav a {{ display: block; padding: .3em 0; color: #224; }}
main {{ padding: 1em 2em; flex: 1; overflow-x: auto; }}
section {{ margin-bottom: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccd; padding: .25em .6em; text-align: left; }}
</style>
</head>
<body>
<nav><strong>{title}</strong>{links}</nav>
<main>{sections}</main>
</body>
</html>
"""


def render_report(decks: Sequence[Deck], title: str) -> str:
    """The page: a list of the decks' names, then each deck's HTML under its name."""
    links, sections = [], []
    for index, deck in enumerate(decks):
        name = html.escape(deck.name)
        links.append(f'<a href="#deck-{index}">{name}</a>')
        sections.append(f'<section id="deck-{index}"><h2>{name}</h2>\n{deck.html}\n</section>')
    return _PAGE.format(title=html.escape(title), links="".join(links), sections="\n".join(sections))


async def save_report(context: ExecutionContext, store: BlobStore) -> tuple[str, str] | None:
    """Stores the page of the attempt's decks; its log entry (``report``, URI), or None when
    it could not be stored (the attempt's outcome does not depend on its report)."""
    where = prefix_in(store, context.prefix, context.execution_id, context.node_id, context.attempt)
    uri = AttemptFiles(where).report
    title = f"{context.task_name or context.node_id} · {context.node_id} attempt {context.attempt}"
    try:
        await store.put(uri, render_report(context.decks, title).encode())
    except Exception as exc:
        log.warning("the report of node %s attempt %d could not be stored at %s: %s", context.node_id,
                    context.attempt, uri, exc)
        return None
    return REPORT_LOG, uri


def save_report_blocking(context: ExecutionContext) -> tuple[str, str] | None:
    """The same from synchronous code (an attempt run in this process)."""
    try:
        return run_blocking(context.store, lambda store: save_report(context, store))
    except Exception as exc:  # the store could not even be opened
        log.warning("the report of node %s attempt %d could not be stored: %s", context.node_id,
                    context.attempt, exc)
        return None


def report_logs(context: ExecutionContext) -> tuple[tuple[str, str], ...]:
    """The attempt's report stored, as its entry among the attempt's logs; nothing when its
    task made no decks (callers on the hot path test ``context.report`` first)."""
    if not context.report:
        return ()
    saved = save_report_blocking(context)
    return (saved,) if saved is not None else ()
