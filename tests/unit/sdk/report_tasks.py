"""Tasks that make reports, for test_sdk_reports: at module level, so local-process workers
and a server (from the registered file) can import them."""

from __future__ import annotations

from wingspan import Deck, current_context, task, workflow
from wingspan.deck import MarkdownRenderer, TableRenderer


@task(retries=1)
def summarize(values: list[int]) -> int:
    ctx = current_context()
    Deck("notes", MarkdownRenderer().to_html(f"# Attempt {ctx.attempt}\n*{len(values)} values*"))
    ctx.default_deck.append(TableRenderer().to_html([{"value": v, "tag": "<b>"} for v in values]))
    if ctx.attempt == 0:
        raise RuntimeError("the first attempt fails after making its report")
    return sum(values)


@task
def plain(x: int) -> int:
    return x


@workflow
def reported(values: list[int]) -> int:
    total: int = plain(x=summarize(values=values))
    return total


def single_plain() -> object:
    """A workflow of the plain task alone."""
    from wingspan._authoring.workflow import single_node_workflow

    return single_node_workflow(plain)
