"""The execution page's timeline of attempts and its folded children, over HTTP against a live
server with its engine (the browser tests drive the same pages in chromium)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.unit.console.served import BASE, DOMAIN, JSON, PROJECT, TERMINAL, launch, phases_until, register
from wingspan.core.config import Settings
from wingspan.core.model.events import Event, NodeExecutionEvent
from wingspan.core.model.execution import NodePhase
from wingspan.core.model.interface import ExecutionId, NodeExecutionId
from wingspan.server.engine.leases import Leases
from wingspan.server.serve import ApiServer


async def _ran(http: httpx.AsyncClient, tmp_path: Path, items: int, within: float = 60) -> str:
    made = await launch(http, "workflows", "tests.unit.console.flows.retried",
                        {"marker": str(tmp_path / "marker"), "items": str(list(range(items)))})
    assert made.status_code == 200, made.text
    url: str = made.json()["url"]
    assert await phases_until(http, url.rsplit("/", 1)[1], TERMINAL, within=within) == "succeeded"
    return url


async def test_the_timeline_shows_each_attempt_of_a_retried_node_with_the_failed_ones_error(
        http: httpx.AsyncClient, tmp_path: Path) -> None:
    url = await _ran(http, tmp_path, 3)
    page = (await http.get(url)).text
    assert 'id="timeline"' not in page  # read from every event: only when asked
    link = re.search(r'id="show-timeline" href="([^"]+)"', page)
    assert link is not None
    page = (await http.get(url + link.group(1).replace("&amp;", "&"))).text
    row = re.search(r'<tr data-node="n0">(.*?)</tr>', page, re.S)
    assert row is not None, page
    bars = re.findall(r'<rect class="bar phase-([a-z_]+)" data-attempt="(\d+)"', row.group(1))
    assert [b[1] for b in bars] == ["0", "1"]
    assert bars[0][0] in {"failed", "retryable_failure"} and bars[1][0] == "succeeded"
    assert "attempt 0" in row.group(1) and "ConnectionError: the first attempt fails" in row.group(1)
    assert "2 attempts" in row.group(1)
    # the map's items are unfolded (3 children), so their attempts are drawn too
    assert '<tr data-node="n1/2">' in page


async def test_a_parent_of_many_children_starts_folded_and_its_fold_is_kept_in_the_url(
        http: httpx.AsyncClient, tmp_path: Path) -> None:
    url = await _ran(http, tmp_path, 30)
    page = (await http.get(url)).text
    assert 'class="child"' not in page and 'data-node="n1/0"' not in page
    toggle = re.search(r'data-toggle="n1" href="([^"]+)"\s+aria-expanded="false">▸ show 30 children', page)
    assert toggle is not None, page
    assert toggle.group(1) == "?open=n1"
    page = (await http.get(url + toggle.group(1))).text
    assert page.count('<tr data-node="n1/') == 30  # the node list
    assert '<g class="node phase-succeeded" data-node="n1/29"' in page  # and the graph
    toggle = re.search(r'data-toggle="n1" href="([^"]+)"\s+aria-expanded="true"', page)
    assert toggle is not None and toggle.group(1) == "?closed=n1"


async def test_a_parent_of_few_children_starts_unfolded_and_folds_on_request(
        http: httpx.AsyncClient, tmp_path: Path) -> None:
    url = await _ran(http, tmp_path, 3)
    page = (await http.get(url)).text
    assert page.count('<tr data-node="n1/') == 3
    assert page.count('class="child" data-parent="n1"') == 3
    page = (await http.get(url + "?closed=n1")).text
    assert '<tr data-node="n1/' not in page and "▸ show 3 children" in page


async def test_a_running_attempts_log_is_followed_live_until_it_ends(
        http: httpx.AsyncClient, tmp_path: Path) -> None:
    marker = tmp_path / "go-on"
    made = await launch(http, "workflows", "tests.unit.console.flows.talking", {"marker": str(marker)})
    url = made.json()["url"]
    name = url.rsplit("/", 1)[1]
    assert await phases_until(http, name, {"running"}, kind="node") == "running"
    page = (await http.get(f"{url}/nodes/n0")).text
    live = re.search(r'<pre id="log" class="log" data-live="([^"]+)"', page)
    assert live is not None, page
    texts: list[str] = []

    async def follow() -> str:
        async with http.stream("GET", live.group(1).replace("&amp;", "&")) as stream:
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "log":
                    texts.append(json.loads(line[5:])["text"])
                    if "first line" in "".join(texts) or "first line" in page:
                        marker.touch()  # the task goes on only now: its second line is written live
                elif line.startswith("data:") and event == "end":
                    return str(json.loads(line[5:])["reason"])
        raise AssertionError("the log stream closed without saying why")

    if "first line" in page:
        marker.touch()
    assert await asyncio.wait_for(follow(), 60) == "ended"
    assert "second line" in "".join(texts)
    ended = (await http.get(f"{url}/nodes/n0")).text
    assert 'data-live="' not in ended and "first line\nsecond line" in ended


async def test_every_child_of_a_map_of_5000_items_is_reachable_a_page_at_a_time(tmp_path: Path) -> None:
    """The engine's part stands in for itself: a replica claims the execution (its real lease) and
    records the 5,000 items' node events through the real event store; running 5,000 tasks would
    take minutes on a shared 2-core machine and test nothing of the console."""
    server = ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=2, engine=False)
    async with server, httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
        await register(http)
        made = await launch(http, "workflows", "tests.unit.console.flows.retried",
                            {"marker": str(tmp_path / "marker"), "items": "[]"})
        url = made.json()["url"]
        ident = ExecutionId(PROJECT, DOMAIN, url.rsplit("/", 1)[1])
        assert await Leases(server.admin.db, "stand-in", seconds=600).claim(1)
        at = datetime.now(UTC)
        events = [Event("node", NodeExecutionEvent(
            NodeExecutionId(ident, "n1"), "stand-in", NodePhase.RUNNING, at, is_parent=True, sequence=1))]
        events += [Event("node", NodeExecutionEvent(
            NodeExecutionId(ident, f"n1/{i}"), "stand-in", NodePhase.SUCCEEDED, at, parent_node_id="n1",
            sequence=2 + i)) for i in range(5000)]
        await server.admin.events.ingest(ident, events, owner="stand-in")
        execution = await http.get(url)
        assert "▸ show 5000 children" in execution.text  # folded: the page did not read them
        seen: list[str] = []
        link, pages = "/nodes/n1", 0
        while link:
            started = time.perf_counter()
            page = await http.get(url + link)
            took = time.perf_counter() - started
            assert page.status_code == 200, page.text
            assert took < 5, f"a page of children took {took:.1f} s"
            assert "(5000; 500 on this page)" in page.text
            seen += re.findall(r'<tr data-node="(n1/\d+)">', page.text)
            pages += 1
            found = re.search(r'id="next-children" href="([^"#]+)', page.text)
            link = "/nodes/n1" + found.group(1).replace("&amp;", "&") if found else ""
        assert pages == 10
        assert sorted(seen) == sorted(f"n1/{i}" for i in range(5000))  # each once, none missing


async def test_a_dataclass_input_is_a_group_of_typed_fields_with_an_error_beside_each(
        http: httpx.AsyncClient) -> None:
    page = (await http.get(f"{BASE}/tasks/tests.unit.console.flows.describe")).text
    assert '<fieldset class="record" id="in-shape">' in page
    assert '<fieldset class="record" id="in-shape--corner">' in page  # the nested record, nested
    for name, html_id in (("shape.name", "shape--name"), ("shape.corner.x", "shape--corner--x"),
                          ("shape.corner.y", "shape--corner--y")):
        assert f'<input id="in-{html_id}" name="{name}"' in page
    assert 'name="shape.corner.label" value="" ' in page  # has a default: may stay empty
    bad = await launch(http, "tasks", "tests.unit.console.flows.describe",
                       {"shape.name": "box", "shape.corner.x": "one", "shape.corner.y": "", "scale": "2"})
    assert bad.status_code == 400
    assert bad.json()["fields"] == {"shape.corner.y": "required: give a value",
                                    "shape.corner.x": "'one' is not a whole number"}
    made = await launch(http, "tasks", "tests.unit.console.flows.describe",
                        {"shape.name": "box", "shape.corner.x": "1", "shape.corner.y": "2.5", "scale": "2",
                         "shape.corner.label": ""})
    assert made.status_code == 200, made.text
    name = made.json()["url"].rsplit("/", 1)[1]
    assert await phases_until(http, name, TERMINAL) == "succeeded"
    assert "box at (2, 5.0) origin" in (await http.get(made.json()["url"])).text


async def test_a_file_input_takes_a_file_uploaded_through_the_data_proxy_and_nothing_else(
        http: httpx.AsyncClient) -> None:
    page = (await http.get(f"{BASE}/tasks/tests.unit.console.flows.measure")).text
    assert '<input id="in-data" name="data" type="file" data-upload="1">' in page
    outside = await launch(http, "tasks", "tests.unit.console.flows.measure", {"data": "file:///etc/passwd"})
    assert outside.status_code == 400
    assert "not in this server's store" in outside.json()["fields"]["data"]
    place = (await http.post("/api/v1/CreateUploadLocation", headers=JSON, content=json.dumps(
        {"project": PROJECT, "domain": DOMAIN, "filename": "hello.txt"}))).json()
    assert (await http.put(place["signedUrl"], content=b"hello")).status_code in (200, 201, 204)
    made = await launch(http, "tasks", "tests.unit.console.flows.measure", {"data": place["nativeUrl"]})
    assert made.status_code == 200, made.text
    name = made.json()["url"].rsplit("/", 1)[1]
    assert await phases_until(http, name, TERMINAL) == "succeeded"
    assert "5 bytes: hello" in (await http.get(made.json()["url"])).text


async def test_a_directory_input_takes_several_files_uploaded_under_one_folder_key(
        http: httpx.AsyncClient) -> None:
    inventory = "tests.unit.console.flows.inventory"
    page = (await http.get(f"{BASE}/tasks/{inventory}")).text
    assert 'name="folder" type="file" multiple data-upload="folder"' in page
    assert 'data-pick-folder="in-folder"' in page
    folder, places = "0123456789abcdef0123456789abcdef", []
    for filename, content in (("a.txt", b"alpha"), ("deeper/b.txt", b"beta")):
        place = (await http.post("/api/v1/CreateUploadLocation", headers=JSON, content=json.dumps(
            {"project": PROJECT, "domain": DOMAIN, "filename": filename, "folder": folder}))).json()
        assert (await http.put(place["signedUrl"], content=content)).status_code in (200, 201, 204)
        places.append(place["nativeUrl"])
    root = places[0].rsplit("/", 1)[0]
    assert places[1] == f"{root}/deeper/b.txt" and root.endswith(f"/d-{folder}")
    missing = await launch(http, "tasks", inventory, {"folder": "not a uri"})
    assert missing.status_code == 400
    assert "not the URI of an uploaded folder" in missing.json()["fields"]["folder"]
    made = await launch(http, "tasks", inventory, {"folder": root})
    assert made.status_code == 200, made.text
    name = made.json()["url"].rsplit("/", 1)[1]
    assert await phases_until(http, name, TERMINAL) == "succeeded"
    assert "a.txt=alpha; deeper/b.txt=beta" in (await http.get(made.json()["url"])).text


async def test_a_file_inside_a_record_is_a_file_field_of_its_group_uploaded_like_any_other(
        http: httpx.AsyncClient) -> None:
    page = (await http.get(f"{BASE}/tasks/tests.unit.console.flows.weigh")).text
    assert '<input id="in-item--data" name="item.data" type="file" data-upload="1">' in page
    weigh = "tests.unit.console.flows.weigh"
    outside = await launch(http, "tasks", weigh, {"item.name": "x", "item.data": "file:///etc/passwd"})
    assert outside.status_code == 400
    assert "not in this server's store" in outside.json()["fields"]["item.data"]
    missing = await launch(http, "tasks", weigh, {"item.name": "x", "item.data": "not a uri"})
    assert missing.status_code == 400
    assert "not the URI of an uploaded file" in missing.json()["fields"]["item.data"]
    place = (await http.post("/api/v1/CreateUploadLocation", headers=JSON, content=json.dumps(
        {"project": PROJECT, "domain": DOMAIN, "filename": "hello.txt"}))).json()
    assert (await http.put(place["signedUrl"], content=b"hello")).status_code in (200, 201, 204)
    made = await launch(http, "tasks", weigh, {"item.name": "greeting", "item.data": place["nativeUrl"]})
    assert made.status_code == 200, made.text
    name = made.json()["url"].rsplit("/", 1)[1]
    assert await phases_until(http, name, TERMINAL) == "succeeded"
    assert "greeting: 5 bytes" in (await http.get(made.json()["url"])).text


async def test_a_long_list_input_shows_its_first_items_and_how_many_more(tmp_path: Path) -> None:
    server = ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=2, engine=False)
    async with server, httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
        await register(http)
        made = await launch(http, "workflows", "tests.unit.console.flows.retried",
                            {"marker": str(tmp_path / "marker"), "items": str(list(range(1000, 3000)))})
        page = (await http.get(made.json()["url"])).text
        shown = re.search(r"<dt>items</dt><dd><pre>(.*?)</pre>", page, re.S)
        assert shown is not None, page
        assert shown.group(1).startswith("[\n 1000,\n 1001,")
        assert shown.group(1).endswith("\n 1099,\n … 1,900 more of 2,000\n]")
        assert "1100" not in shown.group(1)
