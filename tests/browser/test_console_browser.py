"""Every page of the console and every action it offers, in chromium against ``wingspan serve``.

Pages: the dashboard, the executions list (filters, pages), an execution (live phases, the
graph, nodes, outputs), the entity lists and pages (launch plan, workflow, task), the launch
form. Actions: launch (with a field error first), relaunch, terminate, approve a gate, give a
signal a typed value, activate a launch plan. A screenshot of each page goes to
test-artifacts/browser/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import screenshot
from tests.integration.services.builders import launch_plan_request, literals, task_request, workflow_request
from tests.unit.console import flows
from wingspan.protos import v1
from wingspan.server.api.messages import encode_json

pytestmark = [pytest.mark.real]

BASE = "/console/projects/default/domains/development"
TERMINAL = {"succeeded", "failed", "aborted", "timed_out"}


def _post(api: httpx.Client, method: str, message: Any) -> dict[str, Any]:
    response = api.post(f"/api/v1/{method}", content=encode_json(message),
                        headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def registered(api: httpx.Client) -> httpx.Client:
    for task in (flows.add, flows.paint, flows.reported, flows.double, flows.flaky, flows.talks,
                 flows.describe, flows.measure, flows.held, flows.inventory):
        _post(api, "RegisterTask", task_request(task, "v1"))
    for wf in (flows.chain, flows.reviewed, flows.asks, flows.reporting, flows.retried, flows.talking,
               flows.held_map):
        _post(api, "RegisterWorkflow", workflow_request(wf, "v1"))
    for plan in (flows.chain_plan, flows.nightly):
        _post(api, "RegisterLaunchPlan", launch_plan_request(plan, "v1"))
    return api


def _start(api: httpx.Client, workflow: Any, name: str, **inputs: Any) -> str:
    entity = v1.Identifier(resource_type=v1.ResourceType.WORKFLOW, name=workflow.name, version="v1")
    _post(api, "CreateExecution", v1.CreateExecutionRequest(
        project="default", domain="development", name=name,
        spec=v1.ExecutionSpec(entity_id=entity, inputs=literals(**inputs))))
    return f"{BASE}/executions/{name}"


def _wait_for_node(api: httpx.Client, execution: str, phase: str) -> None:
    """Follows the execution's live stream (the page's own) until a top-level node is in ``phase``."""
    event = ""
    with api.stream("GET", f"{BASE}/executions/{execution}/live", timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "node" and json.loads(line[5:])["phase"] == phase:
                return
    raise AssertionError(f"no node of {execution} reached {phase}")


def _phase_becomes(page: Any, phases: set[str]) -> str:
    """Waits for the page's phase badge (updated live, without reloading) to show one of ``phases``."""
    page.wait_for_function("(wanted) => wanted.includes(document.getElementById('phase').textContent)",
                           arg=sorted(phases), timeout=60_000)
    return str(page.text_content("#phase"))


def test_the_dashboard_from_the_root(browser_page: Any, registered: httpx.Client) -> None:
    page = browser_page
    page.goto("/")
    assert page.url.endswith("/console")
    assert page.get_by_role("link", name="default / development").is_visible()
    screenshot(page, "dashboard")


def test_launch_from_a_launch_plan_with_a_field_error_then_follow_it_live(
        browser_page: Any, registered: httpx.Client) -> None:
    page = browser_page
    page.goto(f"{BASE}/launch_plans/chain_plan")
    assert page.text_content("#lp-state") == "inactive"
    assert page.input_value("#in-y") == "10"  # the launch plan's default, filled in
    page.fill("#in-x", "two")
    page.click("#launch button[type=submit]")
    page.wait_for_selector("#err-x:has-text('not a whole number')")
    screenshot(page, "launch-plan-with-field-error")
    page.fill("#in-x", "2")
    page.click("#launch button[type=submit]")
    page.wait_for_url("**/executions/*")
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"  # followed live, no reload
    page.reload()
    assert page.locator("#graph g.node.phase-succeeded").count() == 3
    assert page.locator("#nodes tr[data-node]").count() == 3
    assert "15" in page.text_content("#outputs")
    screenshot(page, "execution")
    first = page.url
    page.click("button[data-action=relaunch]")
    page.wait_for_url(lambda url: "/executions/" in url and url != first)
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"


def test_the_executions_list_filters_and_pages(browser_page: Any, registered: httpx.Client) -> None:
    for name in ("batch-a", "batch-b", "batch-c"):
        _start(registered, flows.chain, name, x=1)
    page = browser_page
    page.goto(f"{BASE}/executions?limit=2")
    page.fill("input[name=name_prefix]", "batch-")
    page.select_option("select[name=sort_by]", "name")
    page.select_option("select[name=order]", "asc")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**name_prefix=batch-**")
    rows = page.locator("#executions tr[data-execution]")
    shown = [rows.nth(i).get_attribute("data-execution") for i in range(rows.count())]
    assert shown == ["batch-a", "batch-b"]
    screenshot(page, "executions")
    page.click("#next-page")
    page.wait_for_url("**token=**")
    assert page.locator("#executions tr[data-execution]").first.get_attribute("data-execution") == "batch-c"


def test_the_executions_list_shows_a_new_execution_without_reloading(
        browser_page: Any, registered: httpx.Client) -> None:
    page = browser_page
    page.goto(f"{BASE}/executions?name_prefix=arrives-")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#executions[data-updates='1']")  # the stream's first rows
    _start(registered, flows.chain, "arrives-1", x=1)
    page.wait_for_selector("#executions tr[data-execution='arrives-1']", timeout=30_000)
    page.wait_for_selector("#executions tr[data-execution='arrives-1'] .phase-succeeded", timeout=60_000)


def test_terminate_a_waiting_execution(browser_page: Any, registered: httpx.Client) -> None:
    path = _start(registered, flows.reviewed, "to-terminate", x=1)
    _wait_for_node(registered, "to-terminate", "waiting")
    page = browser_page
    page.goto(path)
    page.wait_for_selector("body[data-ready='1']")
    page.click("button[data-action=terminate]")
    page.wait_for_selector("#action-result:has-text('termination requested')")
    assert _phase_becomes(page, {"aborting", "aborted"}) in {"aborting", "aborted"}


def test_approve_a_gate_and_give_a_signal_a_typed_value(browser_page: Any, registered: httpx.Client) -> None:
    page = browser_page
    path = _start(registered, flows.reviewed, "to-approve", x=1)
    _wait_for_node(registered, "to-approve", "waiting")
    page.goto(path)
    page.wait_for_selector("body[data-ready='1']")
    screenshot(page, "execution-waiting-for-approval")
    page.click("button[data-action=approve][data-signal=review]")
    page.wait_for_selector("#action-result:has-text('review: sent')")
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    path = _start(registered, flows.asks, "to-answer", x=1)
    _wait_for_node(registered, "to-answer", "waiting")
    page.goto(path)
    page.wait_for_selector("body[data-ready='1']")
    page.fill("input.signal-value[data-signal=factor]", "41")
    page.click("button[data-action=signal][data-signal=factor]")
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    page.reload()
    assert "42" in page.text_content("#outputs")


def test_entity_pages_and_activating_a_launch_plan(browser_page: Any, registered: httpx.Client) -> None:
    page = browser_page
    page.goto(f"{BASE}/launch_plans")
    screenshot(page, "launch-plans")
    page.click("text=nightly")
    page.wait_for_url("**/launch_plans/nightly")
    assert "0 3 * * *" in page.text_content("main")
    page.click("button[data-action=lp-state]")
    page.wait_for_selector("button[data-action=lp-state]:has-text('Deactivate')")  # after the reload
    assert page.text_content("#lp-state") == "active"
    screenshot(page, "launch-plan")
    page.goto(f"{BASE}/workflows")
    page.click(f"text={flows.chain.name}")
    page.wait_for_url(f"**/workflows/{flows.chain.name}")
    assert page.input_value("#in-y") == "3"  # the workflow's own default
    screenshot(page, "workflow")
    page.goto(f"{BASE}/tasks")
    screenshot(page, "tasks")
    page.click(f"text={flows.paint.name}")
    page.select_option("#in-colour", "GREEN")
    page.fill("#in-times", "1")
    page.fill("#in-tags", '["x"]')
    screenshot(page, "task-launch-form")
    page.click("#launch button[type=submit]")
    page.wait_for_url("**/executions/*")
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"


def test_a_node_page_with_its_log_children_and_a_report_whose_script_cannot_reach_the_console(
        browser_page: Any, registered: httpx.Client) -> None:
    page = browser_page
    launch = f"{BASE}/workflows/{flows.reporting.name}/v1/launch"
    made = registered.post(launch, json={"x": "3", "items": "[1, 2]"})
    assert made.status_code == 200, made.text
    path = made.json()["url"]
    page.goto(path)
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    page.reload()
    page.click("#nodes tr[data-node=n0] a")
    page.wait_for_url("**/nodes/n0")
    assert "reporting on 3" in page.text_content("#log")
    report = page.frame_locator("iframe.report")
    report.locator("#summary").wait_for()
    report.locator("body[data-blocked='yes']").wait_for()  # its script ran, and could not reach us
    assert page.evaluate("document.body.dataset.reached") is None
    screenshot(page, "node-with-report")
    page.goto(f"{path}/nodes/n1")
    assert page.locator("#children tr[data-node]").count() == 2
    screenshot(page, "map-node-children")


def test_the_timeline_of_a_retried_node_and_folding_a_map_of_many_items(
        browser_page: Any, registered: httpx.Client, tmp_path: Any) -> None:
    page = browser_page
    launch = f"{BASE}/workflows/{flows.retried.name}/v1/launch"
    made = registered.post(launch, json={"marker": str(tmp_path / "marker"), "items": str(list(range(40)))})
    assert made.status_code == 200, made.text
    path = made.json()["url"]
    page.goto(path)
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    page.reload()
    assert page.locator("#nodes tr.child").count() == 0  # 40 items: folded
    page.click("a.toggle[data-toggle=n1]")
    page.wait_for_url("**open=n1**")
    assert page.locator("#nodes tr.child[data-parent=n1]").count() == 40
    assert page.locator("#graph g.node[data-node='n1/39']").count() == 1
    page.click("#show-timeline")
    page.wait_for_url("**timeline=1**")
    assert "open=n1" in page.url  # the fold is kept
    bars = page.locator("#timeline tr[data-node=n0] rect.bar")
    assert bars.count() == 2
    assert "the first attempt fails" in page.text_content("#timeline tr[data-node=n0] pre.attempt-error")
    assert page.locator("#timeline tr[data-node='n1/39'] rect.bar").count() == 1
    screenshot(page, "execution-timeline-and-unfolded-map")


def test_a_maps_children_rows_and_timeline_bars_move_live_without_reloading(
        browser_page: Any, registered: httpx.Client, tmp_path: Path) -> None:
    page = browser_page
    markers = [tmp_path / "first", tmp_path / "second"]
    launch = f"{BASE}/workflows/{flows.held_map.name}/v1/launch"
    made = registered.post(launch, json={"markers": json.dumps([str(m) for m in markers])})
    assert made.status_code == 200, made.text
    path = made.json()["url"]
    _wait_for_node(registered, path.rsplit("/", 1)[1], "running")
    page.goto(path + "?timeline=1")
    page.wait_for_selector("#execution[data-following='1']")  # the stream has read what the page drew
    markers[0].touch()
    page.wait_for_selector("#nodes tr[data-node='n0/0'] .badge.phase-succeeded", timeout=60_000)
    page.wait_for_selector("#timeline tr[data-node='n0/0'] rect.bar.phase-succeeded", timeout=30_000)
    page.wait_for_selector("#graph g.node.phase-succeeded[data-node='n0/0']", timeout=30_000)
    assert page.locator("#nodes tr[data-node='n0/1'] .badge.phase-running").count() == 1
    screenshot(page, "execution-children-live")
    markers[1].touch()
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    page.wait_for_selector("#nodes tr[data-node='n0/1'] .badge.phase-succeeded", timeout=30_000)
    assert page.text_content("#duration") != ""


def test_a_running_attempts_log_grows_on_the_node_page_without_reloading(
        browser_page: Any, registered: httpx.Client, tmp_path: Any) -> None:
    page = browser_page
    marker = tmp_path / "go-on"
    made = registered.post(f"{BASE}/workflows/{flows.talking.name}/v1/launch", json={"marker": str(marker)})
    assert made.status_code == 200, made.text
    path = made.json()["url"]
    _wait_for_node(registered, path.rsplit("/", 1)[1], "running")
    page.goto(f"{path}/nodes/n0")
    page.wait_for_selector("body[data-ready='1']")
    page.evaluate("window.sameLoad = true")
    page.wait_for_selector("#log:has-text('first line')")
    assert "second line" not in page.text_content("#log")
    marker.touch()
    page.wait_for_selector("#log:has-text('second line')", timeout=30_000)
    page.wait_for_selector("#log[data-ended='1']")
    assert page.text_content("#log-state") == "the attempt has ended"
    assert page.evaluate("window.sameLoad") is True  # appended live, not reloaded
    screenshot(page, "node-log-followed-live")


def test_a_dataclass_input_as_nested_fields_and_a_file_uploaded_from_the_form(
        browser_page: Any, registered: httpx.Client, tmp_path: Any) -> None:
    page = browser_page
    page.goto(f"{BASE}/tasks/{flows.describe.name}")
    page.fill("#in-shape--name", "box")
    page.fill("#in-shape--corner--x", "one")
    page.click("#launch button[type=submit]")
    page.wait_for_selector("#err-shape--corner--x:has-text('not a whole number')")
    assert page.text_content("#err-shape--corner--y") == "required: give a value"
    assert page.text_content("#err-shape--name") == ""
    screenshot(page, "launch-form-dataclass-errors")
    page.fill("#in-shape--corner--x", "1")
    page.fill("#in-shape--corner--y", "2.5")
    page.fill("#in-scale", "2")
    page.click("#launch button[type=submit]")
    page.wait_for_url("**/executions/*")
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    page.reload()
    assert "box at (2, 5.0) origin" in page.text_content("#outputs")
    given = tmp_path / "hello world.txt"
    given.write_bytes(b"hello from the browser")
    page.goto(f"{BASE}/tasks/{flows.measure.name}")
    page.click("#launch button[type=submit]")
    page.wait_for_selector("#err-data:has-text('required')")  # no file chosen yet
    page.set_input_files("#in-data", str(given))
    screenshot(page, "launch-form-file")
    page.click("#launch button[type=submit]")
    page.wait_for_url("**/executions/*")
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    page.reload()
    assert "22 bytes: hello from the browser" in page.text_content("#outputs")


def test_a_directory_input_from_several_files_and_from_a_picked_folder(
        browser_page: Any, registered: httpx.Client, tmp_path: Any) -> None:
    page = browser_page
    picked = tmp_path / "picked"
    (picked / "deeper").mkdir(parents=True)
    (picked / "a.txt").write_text("alpha")
    (picked / "deeper" / "b c.txt").write_text("beta")
    page.goto(f"{BASE}/tasks/{flows.inventory.name}")
    # several files chosen at once: one folder, by their names
    page.set_input_files("#in-folder", [str(picked / "a.txt"), str(picked / "deeper" / "b c.txt")])
    screenshot(page, "launch-form-directory")
    page.click("#launch button[type=submit]")
    page.wait_for_url("**/executions/*")
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    page.reload()
    assert "a.txt=alpha; b_c.txt=beta" in page.text_content("#outputs")
    # a whole folder picked: its files keep their places inside it
    page.goto(f"{BASE}/tasks/{flows.inventory.name}")
    page.check("input[data-pick-folder='in-folder']")
    page.set_input_files("#in-folder", str(picked))
    page.click("#launch button[type=submit]")
    page.wait_for_url("**/executions/*")
    page.wait_for_selector("body[data-ready='1']")
    assert _phase_becomes(page, TERMINAL) == "succeeded"
    page.reload()
    assert "a.txt=alpha; deeper/b_c.txt=beta" in page.text_content("#outputs")
