"""An execution page's live stream: what the page drew, then only what changed, for its children
rows and timeline bars too; and folding of a dynamic node's and a subworkflow's children. One
server with its engine for the module (the browser tests drive the same stream in chromium)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.unit.console.served import TERMINAL, launch, phases_until, register
from wingspan.core.config import Settings
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def http(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    home = tmp_path_factory.mktemp("live") / "home"
    server = ApiServer(Settings(home=home, http_port=0, grpc_port=0), grace=2)
    try:
        async with server, httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
            await register(client)
            yield client
    finally:
        for plugin in server.engine.registry.plugins:
            await plugin.aclose()


async def _events(http: httpx.AsyncClient, url: str, until: str = "end") -> AsyncIterator[tuple[str, str]]:
    """The live stream's (event, data), up to and including ``until``."""
    async with http.stream("GET", url, timeout=60) as stream:
        event, data = "", []
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif not line and data:  # an event ends with a blank line; its data lines join
                yield event, "\n".join(data)
                if event == until:
                    return
                event, data = "", []


def _live_link(page: str) -> str:
    found = re.search(r'<div id="execution" data-live="([^"]+)"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


async def _children_running(http: httpx.AsyncClient, url: str, count: int) -> None:
    """Follows a stream with no digest (it sends the whole table first, then changes) until the map's
    ``count`` items show as running."""
    running: set[str] = set()

    async def follow() -> None:
        async for event, data in _events(http, url):
            rows = [r[2] for r in json.loads(data)] if event == "rows" else [data] if event == "body" else []
            for row in rows:
                for node, phase in re.findall(r'<tr data-node="(n0/\d+)".*?badge phase-([a-z_]+)', row, re.S):
                    (running.add if phase == "running" else running.discard)(node)
            if len(running) == count:
                return
        raise AssertionError(f"the stream ended with {sorted(running)} running")

    await asyncio.wait_for(follow(), 60)


async def test_the_page_streams_only_what_changed_since_it_was_drawn_children_rows_and_timeline_bars_included(
        http: httpx.AsyncClient, tmp_path: Path) -> None:
    markers = [tmp_path / "first", tmp_path / "second"]
    made = await launch(http, "workflows", "tests.unit.console.flows.held_map",
                        {"markers": json.dumps([str(m) for m in markers])})
    assert made.status_code == 200, made.text
    url = made.json()["url"]
    await _children_running(http, f"{url}/live?timeline=1", 2)
    page = (await http.get(f"{url}?timeline=1")).text
    assert page.count('<tr data-node="n0/') == 4  # both items in the table and on the timeline
    live = _live_link(page)
    assert "timeline=1" in live and "seen=" in live
    sent: list[tuple[str, str]] = []

    async def follow() -> None:
        async for event, data in _events(http, live):
            sent.append((event, data))
            if event == "ready":
                markers[0].touch()  # the stream has read what the page drew: let the first item end
            if event == "rows" and "n0/0" in data and "phase-succeeded" in data:
                markers[1].touch()  # the first item's row came in place; now let the map end

    await asyncio.wait_for(follow(), 60)
    events = [event for event, _ in sent]
    # the page drew the running map: nothing came before the first item moved, and the table kept
    # its shape, so rows came in place (never the whole table again)
    assert "body" not in events, sent
    assert json.loads(next(data for event, data in sent if event == "ready")) == {"drawn": True}
    first_rows = json.loads(next(data for event, data in sent if event == "rows"))
    assert [(kind, key) for kind, key, _ in first_rows] == [("node", "n0/0")]
    assert 'data-parent="n0"' in first_rows[0][2] and "phase-succeeded" in first_rows[0][2]
    timelines = [data for event, data in sent if event == "timeline"]
    assert timelines
    assert re.search(r'<tr data-node="n0/1">.*?class="bar phase-succeeded"', timelines[-1], re.S)
    assert events[-1] == "end" and json.loads(sent[-1][1]) == {"reason": "ended"}
    assert {"phase": "succeeded"}.items() <= json.loads(
        [data for event, data in sent if event == "execution"][-1]).items()


async def test_a_page_drawn_after_the_end_gets_nothing_but_the_end(http: httpx.AsyncClient) -> None:
    made = await launch(http, "workflows", "tests.unit.console.flows.chain", {"x": "1", "y": "2"})
    url = made.json()["url"]
    assert await phases_until(http, url.rsplit("/", 1)[1], TERMINAL) == "succeeded"
    sent = [event async for event, _ in _events(http, _live_link((await http.get(url)).text))]
    assert sent == ["ready", "end"]
    # a reader with no page (no digest) gets the whole picture first
    sent = [event async for event, _ in _events(http, f"{url}/live")]
    assert sent[0] == "execution" and "body" in sent and sent[-1] == "end"


@pytest.mark.parametrize(("workflow", "inputs", "children"), [
    ("fanned", {"n": "3"}, ["n0/n0", "n0/n1", "n0/n2"]),  # the dynamic's three nodes
    ("nested", {"x": "1"}, ["n1/n0", "n1/n1"]),  # the subworkflow's two nodes
])
async def test_a_dynamic_node_and_a_subworkflow_fold_their_children(
        http: httpx.AsyncClient, workflow: str, inputs: dict[str, str], children: list[str]) -> None:
    made = await launch(http, "workflows", f"tests.unit.console.flows.{workflow}", inputs)
    assert made.status_code == 200, made.text
    url = made.json()["url"]
    assert await phases_until(http, url.rsplit("/", 1)[1], TERMINAL) == "succeeded"
    parent = children[0].split("/")[0]
    page = (await http.get(url)).text
    shown = re.findall(rf'<tr data-node="({parent}/[^"]+)" class="child" data-parent="{parent}">', page)
    assert sorted(shown) == children, page
    assert f'<g class="node phase-succeeded" data-node="{children[-1]}"' in page  # in the graph too
    toggle = re.search(
        rf'data-toggle="{parent}" href="([^"]+)"\s+aria-expanded="true">▾ hide {len(children)}', page)
    assert toggle is not None, page
    folded = (await http.get(url + toggle.group(1))).text
    assert 'class="child"' not in folded and f"▸ show {len(children)} children" in folded
    assert f'data-node="{children[-1]}"' not in folded
