"""Notifications that can grow: a kind is what a notifier declares through the
``wingspan_notifiers`` hook (its name, its settings schema, an async send); PagerDuty is one
such kind, built in; a notification's template is filled with the notice (its console link
among the rest); an unknown kind, or settings its schema does not take, is refused when the
launch plan or execution is registered, and nothing is stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

import anyio
import httpx
import pytest

from tests.integration.services import flows
from tests.integration.services.builders import DOMAIN, PROJECT, ident, literals, some
from tests.integration.services.test_services_notifications import (
    CONSOLE,
    deliveries,
    end,
    notification,
    register,
    start,
)
from tests.unit.server.receivers import PagerDutyReceiver
from wingspan import Notify, PagerDuty, Webhook
from wingspan.core.errors import InvalidArgumentError
from wingspan.core.plugins.manager import load_plugins
from wingspan.plugin import Notice, hookimpl
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.services.admin import AdminService
from wingspan.server.services.notifications import NotificationKinds, NotificationSender, builtin_senders

KEY = "R0UTINGKEY0123456789abcdefABCDEF"


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyReceiver]:
    with PagerDutyReceiver() as server:
        yield server


async def test_a_pagerduty_notice_reaches_the_events_api_in_its_published_shape(
    admin: AdminService, pagerduty: PagerDutyReceiver
) -> None:
    await register(
        admin,
        PagerDuty(
            KEY,
            severity="critical",
            events_url=f"{pagerduty.url}/v2/enqueue",
            template="{{ workflow }} {{ phase }} in {{ project }}: {{ link }}",
        ),
    )
    execution_id = await start(admin, "e1")
    await end(admin, execution_id, v1.WorkflowPhase.FAILED, "bad rows")
    async with httpx.AsyncClient(timeout=10) as http:
        sender = NotificationSender(admin.db, builtin_senders(http), console_url=CONSOLE)
        assert await sender.run_once() == 1
    ((event),) = pagerduty.requests
    assert event["problems"] == []
    link = f"{CONSOLE}/console/projects/{PROJECT}/domains/{DOMAIN}/executions/e1"
    body = event["json"]
    assert body["routing_key"] == KEY and body["event_action"] == "trigger"
    assert body["payload"]["summary"] == f"{flows.pipeline.name} FAILED in {PROJECT}: {link}"
    assert body["payload"]["severity"] == "critical" and body["payload"]["source"] == "wingspan"
    assert body["payload"]["custom_details"]["error"] == "USER:ValueError: bad rows"
    assert body["links"] == [{"href": link, "text": "The execution in the Wingspan console"}]
    assert body["dedup_key"] == f"wingspan/{PROJECT}/{DOMAIN}/e1/FAILED"
    assert [d.state for d in await deliveries(admin, execution_id)] == ["delivered"]


async def test_a_refused_pagerduty_event_is_not_retried(
    admin: AdminService, pagerduty: PagerDutyReceiver
) -> None:
    # PagerDuty answers 400 to an event it cannot take: retrying the same event cannot help
    await register(admin, PagerDuty(KEY, events_url=f"{pagerduty.url}/v1/wrong"))
    execution_id = await start(admin, "e1")
    await end(admin, execution_id, v1.WorkflowPhase.SUCCEEDED)
    async with httpx.AsyncClient(timeout=10) as http:
        await NotificationSender(admin.db, builtin_senders(http), console_url=CONSOLE).run_once()
    ((delivery),) = await deliveries(admin, execution_id)
    assert delivery.state == "failed" and "answered 400" in delivery.last_error


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            Notify("teams", {"url": "https://x"}),
            "no notifier of kind 'teams' is installed on this server "
            r"\(its kinds: email, pagerduty, slack, webhook\)",
        ),
        (PagerDuty("short"), "routing_key must be the 32-character integration key"),
        (PagerDuty(KEY, colour="red"), "it has no setting 'colour'; its settings: routing_key, severity"),
        (Notify("webhook", {"url": "https://x"}), r"write Webhook\(...\), not a plugin notification"),
    ],
)
async def test_a_notification_the_server_cannot_send_is_refused_at_registration(
    admin: AdminService, target: Any, message: str
) -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"register launch plan .*notified.*notification 2 .*" + message
    ):
        await register(admin, Webhook(url="https://ok.example/x"), target)
    listed = await AdminRpcs(admin).list_launch_plans(v1.ListRequest(project=PROJECT, domain=DOMAIN))
    assert not listed.launch_plans  # nothing was stored
    spec = v1.ExecutionSpec(
        entity_id=ident(2, flows.pipeline.name, "v1"),
        inputs=literals(x=1),
        notifications=[notification(target)],
    )
    with pytest.raises(InvalidArgumentError, match=r"create execution 'e2'.*notification 1 .*" + message):
        await AdminRpcs(admin).create_execution(
            v1.CreateExecutionRequest(project=PROJECT, domain=DOMAIN, name="e2", spec=spec)
        )


@dataclasses.dataclass(frozen=True)
class TeamsSettings:
    channel_url: str
    mention: str = ""


class TeamsNotifier:
    """A plugin's kind: its settings schema, and a send that keeps what it got."""

    settings: ClassVar[type] = TeamsSettings

    def __init__(self) -> None:
        self.sent: list[tuple[Any, Notice]] = []
        self.got = anyio.Event()

    async def send(self, target: Any, notice: Notice) -> None:
        self.sent.append((target, notice))
        self.got.set()


async def test_a_plugin_declares_a_kind_with_its_settings_schema(admin: AdminService) -> None:
    teams = TeamsNotifier()

    class Plugin:
        @staticmethod
        @hookimpl
        def wingspan_notifiers() -> dict[str, Any]:
            return {"teams": teams}

    plugins = load_plugins(entry_points=False, extra=[("teams", Plugin())])
    kinds = NotificationKinds.of({**builtin_senders(None), **plugins.notifiers})
    admin.entities.notification_kinds = admin.executions.notification_kinds = kinds
    with pytest.raises(
        InvalidArgumentError,
        match=r"notification 1 \(teams\): its settings do not fit: it needs the setting channel_url$",
    ):
        await register(admin, Notify("teams", {"mention": "@ops"}))
    await register(
        admin,
        Notify(
            "teams",
            {"channel_url": "https://teams.example/c", "mention": "@ops"},
            template="{{ name }}: {{ phase }}",
        ),
    )
    execution_id = await start(admin, "e1")
    await end(admin, execution_id, v1.WorkflowPhase.SUCCEEDED)
    sender = NotificationSender(admin.db, {**builtin_senders(None), **plugins.notifiers}, console_url=CONSOLE)
    assert await sender.run_once() == 1
    ((target, notice),) = teams.sent
    assert target == TeamsSettings("https://teams.example/c", "@ops")
    assert notice.text == "e1: SUCCEEDED" and notice.link.endswith("/executions/e1")
    assert some(execution_id).name == "e1"
