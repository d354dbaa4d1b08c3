"""The console in a real browser: Debian's chromium (scripts/testenv/chromium.py) driven by Playwright
against a live ``wingspan serve``.

One server, one browser and one page serve the whole session (starting chromium costs about a
second; each test navigates the same page). Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.testenv import chromium
from scripts.testenv.base import ServiceError
from tests.unit.api.served import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("serve") / "home"
    try:
        serve = ServeProcess(env={"WINGSPAN_HOME": str(home), "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                             start_seconds=90)
    except AssertionError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield serve.http_url
    finally:
        serve.stop()


@pytest.fixture(scope="module")
def api(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


# module scope, not session: Playwright's sync API keeps its event loop running on this thread
# while it is open, and every asyncio test collected after the browser tests then failed with
# "Cannot run the event loop while another loop is running"
@pytest.fixture(scope="module")
def browser_page(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    try:
        executable = chromium.ensure()["WINGSPAN_TEST_CHROMIUM"]
    except ServiceError as exc:
        pytest.fail(f"chromium could not be installed: {exc}", pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(base_url=server, viewport={"width": 1366, "height": 900})
        page = context.new_page()
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
        assert outside == [], f"the console asked for something outside the server: {outside}"


def screenshot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
