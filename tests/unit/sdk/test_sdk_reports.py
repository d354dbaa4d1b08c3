"""Reports (issue #22 item 20): a task's decks become one HTML page per attempt, stored as a
blob, named with the attempt's logs, listed with the node by the API and saved by
``wingspan logs --report``."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import anyio
import anyio.to_thread
import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.unit.remote.servers import api_server
from tests.unit.sdk import report_tasks
from wingspan import Deck, current_context, task, workflow
from wingspan._remote.client import AsyncRemote
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.cli import cli
from wingspan.core.engine import RetryPolicy, RunResult
from wingspan.core.model.execution import WorkflowPhase
from wingspan.deck import FrameSummaryRenderer, MarkdownRenderer, TableRenderer, TopFrameRenderer

FAST = RetryPolicy(first_delay=0.01, max_delay=0.01)


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("WINGSPAN_HOME", str(folder))
    monkeypatch.delenv("WINGSPAN_STORAGE_ROOT", raising=False)
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    return folder


def reports_of(result: RunResult) -> dict[tuple[str, int], str]:
    """(node, attempt) -> the report page, read from where the attempt's logs say it is."""
    found = {}
    for event in result.events:
        for name, uri in event.logs if event.kind == "task" else ():
            if name == "report":
                assert uri.startswith("file://")
                found[(event.node_id, event.attempt)] = Path(urlparse(uri).path).read_text()
    return found


def test_each_attempt_stores_the_page_of_its_decks_failed_ones_too() -> None:
    result = run_workflow_entity(report_tasks.reported, {"values": [3, 4]}, retry=FAST)
    assert outputs_of(report_tasks.reported, result) == 7
    pages = reports_of(result)
    assert sorted(pages) == [("n0", 0), ("n0", 1)]  # the plain task made none
    page = pages[("n0", 1)]
    assert page.startswith("<!DOCTYPE html>") and "<h1>Attempt 1</h1>" in page and "<em>2 values</em>" in page
    assert page.index("<h2>notes</h2>") < page.index("<h2>default</h2>")
    assert "<td>&lt;b&gt;</td>" in page  # cells are text, not markup
    assert "<h1>Attempt 0</h1>" in pages[("n0", 0)]


def test_on_the_local_process_target_too() -> None:
    result = run_workflow_entity(report_tasks.reported, {"values": [1]}, retry=FAST, target="local-process")
    assert outputs_of(report_tasks.reported, result) == 1
    assert "<h1>Attempt 1</h1>" in reports_of(result)[("n0", 1)]


@task
async def async_report(x: int) -> int:
    Deck("async", f"<p>{x}</p>")
    return x


@workflow
def async_reported(x: int) -> int:
    made: int = async_report(x=x)
    return made


def test_an_async_task_reports_too() -> None:
    result = run_workflow_entity(async_reported, {"x": 5})
    assert "<p>5</p>" in reports_of(result)[("n0", 0)]


def test_a_deck_made_outside_a_task_belongs_to_none() -> None:
    deck = Deck("loose", "<p>a</p>").append("<p>b</p>")
    assert deck.html == "<p>a</p>\n<p>b</p>"
    result = run_workflow_entity(report_tasks.single_plain(), {"x": 1})
    assert reports_of(result) == {}


def test_the_renderers() -> None:
    assert MarkdownRenderer().to_html("**bold** <script>x</script>") == (
        "<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>\n")
    rows = TableRenderer(columns=["a", "b"], max_rows=1).to_html([[1, "<i>"], [2, "y"]])
    assert rows == ("<table><thead><tr><th>a</th><th>b</th></tr></thead>"
                    "<tbody><tr><td>1</td><td>&lt;i&gt;</td></tr></tbody></table>")
    frame = pd.DataFrame({"x": [1, 2, 3], "name": ["a", "<b>", "c"]})
    assert "<td>&lt;b&gt;</td>" in TableRenderer().to_html(frame)
    top = TopFrameRenderer(max_rows=2).to_html(frame)
    assert "&lt;b&gt;" in top and ">c<" not in top
    summary = FrameSummaryRenderer().to_html(frame)
    assert "3 rows, 2 columns" in summary and "mean" in summary and "int64" in summary


async def test_reports_are_listed_with_the_nodes_and_saved_by_wingspan_logs(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(Path(report_tasks.__file__), folder / "served_reports.py")
    async with api_server(tmp_path / "server-home", engine=True) as server:
        remote = AsyncRemote(server.grpc_address)
        try:
            await remote.register(folder)
            execution = await remote.execute("served_reports.reported", {"values": [2, 5]},
                                             name="with-report")
            await execution.wait(timeout=120)
            assert execution.phase == WorkflowPhase.SUCCEEDED, execution.error
            nodes = {row["node"]: row for row in await remote.nodes("with-report")}
            assert nodes["n0"]["report"].endswith("/n0/1/report.html") and nodes["n1"]["report"] == ""
            (found,) = await remote.reports("with-report")
            assert (found["node"], found["attempt"]) == ("n0", 1) and "<h1>Attempt 1</h1>" in found["html"]
            (first,) = await remote.reports("with-report", "n0", attempt=0)
            assert "<h1>Attempt 0</h1>" in first["html"]
            # the HTTP/JSON API lists it with the node's attempts too
            node = {"executionId": {"project": "default", "domain": "development", "name": "with-report"},
                    "nodeId": "n0"}
            async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
                listed = (await http.post("/api/v1/ListTaskExecutions",
                                          json={"nodeExecutionId": node, "limit": 10})).json()
            logs = {attempt["id"].get("attempt", 0):
                    {log["name"]: log["uri"] for log in attempt["closure"]["logs"]}
                    for attempt in listed["taskExecutions"]}
            assert logs[1]["report"] == found["uri"] and logs[0]["report"] == first["uri"]

            def saved(*args: str) -> tuple[int, str]:
                command = ["logs", "with-report", *args, "--endpoint", server.grpc_address]
                done = CliRunner().invoke(cli, command)
                return done.exit_code, done.output

            code, output = await anyio.to_thread.run_sync(saved, "--report", "--to", str(tmp_path / "out"))
            assert code == 0, output
            page = tmp_path / "out" / "with-report-n0-1.html"
            assert output.strip() == str(page) and "<h2>notes</h2>" in page.read_text()
            code, output = await anyio.to_thread.run_sync(saved, "n1", "--report")
            assert code == 1 and "node 'n1' of execution with-report has no reports: a task makes one with " \
                                 "Deck(name, html)" in output
        finally:
            await remote.aclose()


def test_current_context_keeps_the_decks_in_order() -> None:
    @task
    def decks(x: int) -> str:
        ctx = current_context()
        Deck("one")
        ctx.default_deck.append("a")
        ctx.default_deck.append("b")
        return ",".join(f"{d.name}={d.html}" for d in ctx.decks)

    assert decks(x=1) == "one=,default=a\nb"


def test_wingspan_run_says_where_the_reports_are() -> None:
    done = CliRunner().invoke(cli, ["run", report_tasks.__file__, "reported", "--values", "[1, 2]"])
    assert done.exit_code == 0, done.output
    shown = [line for line in done.output.splitlines() if line.startswith("report of ")]
    assert [line.split(": ")[0] for line in shown] == ["report of n0 (attempt 0)", "report of n0 (attempt 1)"]
    assert "<h2>notes</h2>" in Path(urlparse(shown[-1].split(": ", 1)[1]).path).read_text()


@task(timeout=60)
def forked_report(x: int) -> int:
    Deck("forked", f"<p>child {x}</p>")  # a task with a timeout runs in a forked child
    return x


@workflow
def forked_reported(x: int) -> int:
    made: int = forked_report(x=x)
    return made


def test_a_task_with_a_timeout_reports_from_its_forked_child() -> None:
    result = run_workflow_entity(forked_reported, {"x": 3})
    assert "<p>child 3</p>" in reports_of(result)[("n0", 0)]


@task(enable_deck=True)
def decked(x: int) -> int:
    Deck("kept", "<p>kept</p>")
    return x


@task(enable_deck=False)
def undecked(x: int) -> int:
    Deck("dropped", "<p>dropped</p>")
    current_context().default_deck.append("<p>dropped too</p>")
    return x


@workflow
def deck_switches(x: int) -> int:
    kept: int = undecked(x=decked(x=x))
    return kept


def test_flytekits_enable_deck_keeps_or_drops_the_decks() -> None:
    result = run_workflow_entity(deck_switches, {"x": 1})
    assert list(reports_of(result)) == [("n0", 0)]


def test_enable_deck_takes_a_bool() -> None:
    from wingspan.core.errors import CompilationError

    with pytest.raises(CompilationError, match="enable_deck must be True or False"):
        task(enable_deck="yes")(lambda x: x)


@task
def item_report(x: int) -> int:
    if x % 2:
        Deck("odd", f"<p>item {x}</p>")
    return x


@workflow
def mapped_reports(xs: list[int]) -> list[int]:
    from wingspan import map_task

    made: list[int] = map_task(item_report)(x=xs)
    return made


@pytest.mark.parametrize("target", [None, "local-process"])
def test_map_items_report_as_tasks_do(target: str | None) -> None:
    result = run_workflow_entity(mapped_reports, {"xs": [0, 1, 2, 3]}, target=target)
    assert outputs_of(mapped_reports, result) == [0, 1, 2, 3]
    pages = reports_of(result)
    assert sorted(pages) == [("n0/1", 0), ("n0/3", 0)]
    assert "<p>item 3</p>" in pages[("n0/3", 0)]


def test_wingspan_logs_report_refuses_follow() -> None:
    done = CliRunner().invoke(cli, ["logs", "some-run", "--report", "--follow"])
    assert done.exit_code == 2 and "--report saves the reports made so far: leave out --follow" in done.output
