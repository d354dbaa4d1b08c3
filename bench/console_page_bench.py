"""The console's execution page of a 10,000-node execution in Chromium (issue #19: usable in under
2 s from navigation, and responsive while it updates live).

    python bench/console_page_bench.py                 # a map of 10,000 items and a chain of 100
    python bench/console_page_bench.py --items 2000    # a smaller map
    python bench/console_page_bench.py --running-only  # the page while it runs, then terminate
                                                       # (a 10,000-item map takes many minutes
                                                       # on a loaded 2-core machine)

A server (SQLite, local-process tasks, its engine in the same process, as ``wingspan serve``
runs it: on a thread and loop of its own since issue #19's stalls) runs the workflow for real;
Debian's chromium (scripts/testenv/chromium.py) driven by Playwright opens the execution's page
while it runs and again once it has ended, and the map node's page. "Usable" is the time from navigation until
the page's script has run (its buttons, graph and live stream are wired: ``body[data-ready]``);
"responsive" is the longest time the page took to answer a frame request while live events
arrived, sampled for --watch seconds. Figures in milliseconds, medians of --repeat loads. The
longest lag of the API's event loop (and of the engine's, on its own) while the page is measured
says how long a call could wait for the loop rather than for its own work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402

from scripts.testenv import chromium  # noqa: E402
from tests.integration.services.builders import task_request, workflow_request  # noqa: E402
from wingspan import map_task, task, workflow  # noqa: E402
from wingspan.core.config import Settings  # noqa: E402
from wingspan.server.api.messages import encode_json  # noqa: E402
from wingspan.server.serve import ApiServer  # noqa: E402

CHAIN = 100
BASE = "/console/projects/default/domains/development"


@task
def step(x: int) -> int:
    return x + 1


@workflow
def big(items: list[int]) -> int:
    mapped = map_task(step)(x=items)
    value = step(x=0)
    for _ in range(CHAIN - 1):
        value = step(x=value)
    mapped >> value
    return value


_PROBE = """async (seconds) => {
  // the longest gap between animation frames: how long the page was too busy to paint
  let worst = 0, last = performance.now();
  const end = last + seconds * 1000;
  while (performance.now() < end) {
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }
  return worst;
}"""


class LoopLag:
    """The longest time a loop of the server took to run a callback due after 20 ms: how long
    a call arriving then would have waited for it (the engine's stalls, while they shared one)."""

    def __init__(self) -> None:
        self.longest_ms = 0.0
        self.stopped = False

    async def run(self) -> None:
        while not self.stopped:
            due = time.perf_counter() + 0.02
            await asyncio.sleep(0.02)
            self.longest_ms = max(self.longest_ms, (time.perf_counter() - due) * 1000)


def _load(page: Any, url: str) -> float:
    start = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=120_000)
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    return (time.perf_counter() - start) * 1000


def measure_in_chromium(base_url: str, path: str, repeat: int, watch: float, running: bool) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium.ensure()["WINGSPAN_TEST_CHROMIUM"]
    results: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900}).new_page()
        label = "while_running" if running else "ended"
        results[f"execution_page_usable_ms_{label}"] = round(statistics.median(
            _load(page, path) for _ in range(repeat)), 1)
        results[f"execution_page_bytes_{label}"] = len(page.content())
        if running:
            results["longest_frame_gap_ms_while_live"] = round(page.evaluate(_PROBE, watch), 1)
        else:
            results["map_node_page_usable_ms"] = round(statistics.median(
                _load(page, f"{path}/nodes/n0") for _ in range(repeat)), 1)
            results["map_node_children_shown"] = page.locator("#children tr[data-node]").count()
        browser.close()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--watch", type=float, default=5.0)
    parser.add_argument("--running-only", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"python": sys.version.split()[0], "nodes": args.items + CHAIN,
                               "load_before": [round(x, 1) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        server = ApiServer(Settings(home=Path(tmp) / "home", http_port=0, grpc_port=0), grace=2)
        async with server, httpx.AsyncClient(base_url=server.http_url, timeout=60) as http:
            for message, method in ((task_request(step, "v1"), "RegisterTask"),
                                    (workflow_request(big, "v1"), "RegisterWorkflow")):
                response = await http.post(f"/api/v1/{method}", content=encode_json(message),
                                           headers={"content-type": "application/json"})
                assert response.status_code == 200, response.text
            made = await http.post(f"{BASE}/workflows/{big.name}/v1/launch",
                                   json={"items": json.dumps(list(range(args.items)))})
            assert made.status_code == 200, made.text
            path = made.json()["url"]
            started = time.perf_counter()
            api_lag, engine_lag = LoopLag(), LoopLag()
            probes = [asyncio.create_task(api_lag.run())]
            engine_loop = getattr(getattr(server, "engine_thread", None), "loop", None)
            if engine_loop is not None:  # the engine on its own loop (wingspan.server.engine_thread)
                on_engine = asyncio.run_coroutine_threadsafe(engine_lag.run(), engine_loop)
                probes.append(asyncio.wrap_future(on_engine))
            results.update(await asyncio.to_thread(
                measure_in_chromium, server.http_url, path, args.repeat, args.watch, True))
            api_lag.stopped = engine_lag.stopped = True
            await asyncio.gather(*probes)
            results["api_loop_longest_lag_ms_while_running"] = round(api_lag.longest_ms, 1)
            results["engine_loop"] = "own thread" if engine_loop is not None else "the API's"
            if engine_loop is not None:
                results["engine_loop_longest_lag_ms_while_running"] = round(engine_lag.longest_ms, 1)
            name = path.rsplit("/", 1)[1]
            results["load_after_running_page"] = [round(x, 1) for x in os.getloadavg()]
            while not args.running_only:  # follow it to its end over the execution's own live stream
                async with http.stream("GET", f"{BASE}/executions/{name}/live", timeout=None) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("event: end"):
                            break
                phase = (await http.get(f"/api/v1/executions/default/development/{name}")).json()
                if phase["closure"]["phase"] in ("WORKFLOW_PHASE_SUCCEEDED", "WORKFLOW_PHASE_FAILED"):
                    results["execution_phase"] = phase["closure"]["phase"]
                    break
            if not args.running_only:  # else the server stops with the execution still running
                results["execution_s"] = round(time.perf_counter() - started, 1)
                results.update(await asyncio.to_thread(
                    measure_in_chromium, server.http_url, path, args.repeat, args.watch, False))
                results["load_after"] = [round(x, 1) for x in os.getloadavg()]
        for plugin in server.engine.registry.plugins:
            await plugin.aclose()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
