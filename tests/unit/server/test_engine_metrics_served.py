"""Through `wingspan serve`: the engine's metrics at /metrics move as an execution runs (a node
queued and run, transitions, the attempt running on its plugin while its body waits, the time
from creation to claim, database transactions, a notification waiting in the outbox), and every
metric the shipped Grafana dashboard queries is there."""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.api.served import run_remote, served_at_home
from wingspan.server.metrics import dashboard, dashboard_queries

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

FLOWS = '''
from pathlib import Path

from wingspan import LaunchPlan, Webhook, task, workflow


@task
def wait_for_go(fifo: str) -> str:
    Path(fifo + ".started").touch()
    # opening a FIFO for reading blocks until the test opens it for writing
    return Path(fifo).read_text().strip()


@task
def shout(word: str) -> str:
    return word.upper()


@workflow
def held(fifo: str) -> str:
    return shout(word=wait_for_go(fifo=fifo))


@workflow
def quick(word: str) -> str:
    return shout(word=word)


# nobody listens on port 9: the notice stays in the outbox, to be tried again
told = LaunchPlan.get_or_create(quick, name="told", notifications=[
    Webhook(url="http://127.0.0.1:9/hook", phases=["succeeded"])])
'''


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Served:
    def __init__(self, http: httpx.AsyncClient, endpoint: str, flows: Path) -> None:
        self.http = http
        self.endpoint = endpoint
        self.flows = flows

    async def exposition(self) -> str:
        response = await self.http.get("/metrics")
        assert response.status_code == 200, response.text
        return response.text

    async def samples(self) -> Samples:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(await self.exposition()) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def open_fifo(fifo: Path) -> None:
    """Lets the task waiting on ``fifo`` go on: writes a line once its reader has opened it
    (the attempt may show as running a moment before its body opens the FIFO)."""
    with anyio.fail_after(60):
        while True:
            try:
                go = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # ENXIO: no reader yet
                if exc.errno != errno.ENXIO:
                    raise
                await anyio.sleep(0.05)
                continue
            os.write(go, b"go\n")
            os.close(go)
            return


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    root = tmp_path_factory.mktemp("metrics")
    flows = root / "project" / "metered_flows.py"
    flows.parent.mkdir()
    flows.write_text(FLOWS)
    async with served_at_home(root / "home") as (http_url, endpoint), \
            httpx.AsyncClient(base_url=http_url, timeout=30) as http:
        yield Served(http, endpoint, flows)


async def wait_until_metric(served: Served, check: Callable[[Samples], bool], what: str) -> Samples:
    """Scrapes until ``check`` holds; fails saying ``what`` after a minute."""
    try:
        with anyio.fail_after(60):
            while not check(samples := await served.samples()):  # noqa: ASYNC110 - a scrape has no event
                await anyio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(what) from None
    return samples


async def test_engine_metrics_move_as_an_execution_runs(served: Served, tmp_path: Path) -> None:
    before = await served.samples()
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    async with anyio.create_task_group() as group:
        finished: list[tuple[int, str, str]] = []

        async def run() -> None:
            finished.append(await run_remote(served.endpoint, served.flows, "held", "--fifo", str(fifo)))

        group.start_soon(run)
        during = await wait_until_metric(
            served, lambda s: value(s, "wingspan_attempts_running", plugin="local-process") == 1,
            "the attempt waiting on the FIFO never showed as running")
        await open_fifo(fifo)
    code, out, err = finished[0]
    assert (code, out) == (0, "GO"), err
    after = await served.samples()

    assert value(after, "wingspan_attempts_running", plugin="local-process") == 0
    assert value(after, "wingspan_execution_claim_seconds_count") == (
        value(before, "wingspan_execution_claim_seconds_count") + 1)
    # the workflow's two nodes, each queued and then run to success
    queued = "wingspan_node_queue_seconds_count"
    assert value(after, queued) - value(before, queued) >= 2
    assert (value(after, "wingspan_node_run_seconds_count", phase="succeeded")
            - value(before, "wingspan_node_run_seconds_count", phase="succeeded")) >= 2
    assert (value(after, "wingspan_transitions_total", kind="node", phase="succeeded")
            - value(before, "wingspan_transitions_total", kind="node", phase="succeeded")) >= 2
    assert (value(after, "wingspan_transitions_total", kind="workflow", phase="succeeded")
            - value(before, "wingspan_transitions_total", kind="workflow", phase="succeeded")) == 1
    assert value(during, "wingspan_transitions_total", kind="workflow", phase="succeeded") == (
        value(before, "wingspan_transitions_total", kind="workflow", phase="succeeded"))
    for access in ("read", "write"):
        assert (value(after, "wingspan_db_transaction_seconds_count", access=access)
                > value(before, "wingspan_db_transaction_seconds_count", access=access))
    # no replica lost its lease here
    assert value(after, "wingspan_lease_takeovers_total") == 0


async def test_a_notice_waiting_to_be_delivered_shows_in_the_backlog(served: Served) -> None:
    assert value(await served.samples(), "wingspan_notification_backlog") == 0
    code, out, err = await run_remote(served.endpoint, served.flows, "told", "--word", "hi")
    assert (code, out) == (0, "HI"), err
    await wait_until_metric(served, lambda s: value(s, "wingspan_notification_backlog") == 1,
                            "the undelivered webhook notice never showed in the backlog")


async def test_every_metric_the_shipped_dashboard_queries_is_served(served: Served) -> None:
    model = dashboard()
    assert model["uid"] == "wingspan-server" and model["panels"]
    # a labelled metric with nothing observed yet is served as its family, without samples: its
    # samples' names are the family's name with the suffixes of its type
    suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",), "gauge": ("",)}
    served_names = {f.name + suffix for f in text_string_to_metric_families(await served.exposition())
                    for suffix in suffixes.get(f.type, ("",))}
    queried = dashboard_queries(model)
    assert {"wingspan_execution_claim_seconds_bucket", "wingspan_attempts_running",
            "wingspan_notification_backlog", "wingspan_transitions_total",
            "wingspan_db_transaction_seconds_bucket"} <= queried
    assert queried - served_names == set()
