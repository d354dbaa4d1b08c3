"""Notifications: an execution's end writes its notices to the outbox in the same transaction;
a sender delivers them to a real HTTP receiver (webhook, Slack) and a real SMTP server,
retries with backoff, records every attempt (ListNotifications), and a notice survives a
server that stops, or a sender killed mid-delivery, between the phase change and delivery."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    ident,
    launch_plan_request,
    literals,
    register_workflow_with_tasks,
    some,
    take_lease,
)
from tests.unit.server.receivers import Mailbox, Receiver, smtp_server
from wingspan import Email, LaunchPlan, Slack, Webhook
from wingspan.core.config import Settings
from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.model import codec
from wingspan.core.plugins.manager import load_plugins
from wingspan.plugin import Notice, hookimpl
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs, EngineRpcs
from wingspan.server.db.engine import now
from wingspan.server.notify.senders import SmtpSettings
from wingspan.server.services.admin import AdminService
from wingspan.server.services.notifications import (
    NotificationSender,
    builtin_senders,
    run_notification_sender,
)

NOTIFIED = LaunchPlan.get_or_create(flows.pipeline, name="notified")
CONSOLE = "http://console.test"


class Clock:
    def __init__(self) -> None:
        self.now = now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def notification(target: Any) -> v1.Notification:
    message: v1.Notification = codec.to_proto(target.to_model())
    return message


async def register(admin: AdminService, *targets: Any) -> None:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    request = launch_plan_request(NOTIFIED, "v1")
    request.spec.notifications = [notification(t) for t in targets]
    await AdminRpcs(admin).register_launch_plan(request)


async def start(admin: AdminService, name: str, *own: Any) -> v1.ExecutionId:
    spec = v1.ExecutionSpec(entity_id=ident(3, "notified", "v1"), inputs=literals(x=1),
                            notifications=[notification(t) for t in own])
    created = await AdminRpcs(admin).create_execution(
        v1.CreateExecutionRequest(project=PROJECT, domain=DOMAIN, name=name, spec=spec))
    return some(created.id)


async def end(admin: AdminService, execution_id: v1.ExecutionId, phase: v1.WorkflowPhase,
              message: str = "") -> None:
    await take_lease(admin, execution_id)
    await EngineRpcs(admin.events).create_workflow_event(v1.WorkflowExecutionEvent(
        execution_id=execution_id, producer_id=TEST_ENGINE, phase=phase, sequence=9,
        error=v1.ExecutionError(code="USER:ValueError", message=message) if message else None))


async def deliveries(admin: AdminService, execution_id: v1.ExecutionId) -> list[v1.NotificationDelivery]:
    request = v1.ListNotificationsRequest(execution_id=execution_id)
    response = await AdminRpcs(admin).list_notifications(request)
    return list(response.notifications)


def sender(admin: AdminService, http: httpx.AsyncClient, smtp_port: int = 25,
           **options: Any) -> NotificationSender:
    return NotificationSender(admin.db, builtin_senders(http, SmtpSettings(port=smtp_port)),
                              console_url=CONSOLE, **options)


async def test_an_end_is_delivered_to_a_webhook_slack_and_email(
    admin: AdminService, receiver: Receiver, smtp: tuple[Mailbox, int], http: httpx.AsyncClient
) -> None:
    mailbox, port = smtp
    await register(admin, Webhook(url=f"{receiver.url}/hook", headers={"X-Token": "t"}),
                   Slack(webhook_url=f"{receiver.url}/slack"), Email(["ops@example.com"]),
                   Webhook(url=f"{receiver.url}/only-succeeded", phases=["succeeded"]))
    execution_id = await start(admin, "e1")
    await end(admin, execution_id, v1.WorkflowPhase.FAILED, "bad rows")
    queued = await deliveries(admin, execution_id)
    assert [d.notification is not None and (d.notification.webhook or d.notification.slack
                                            or d.notification.email) is not None
            for d in queued] == [True, True, True]  # the succeeded-only webhook is not asked for
    assert {d.state for d in queued} == {"pending"}
    assert await sender(admin, http, port).run_once() == 3
    requests = {r["path"]: r for r in receiver.requests}
    hook = requests["/hook"]
    assert hook["headers"]["X-Token"] == "t"
    assert hook["json"] == {
        "execution_id": "default/development/e1", "phase": "FAILED", "workflow": flows.pipeline.name,
        "error": "USER:ValueError: bad rows",
        "link": f"{CONSOLE}/console/projects/default/domains/development/executions/e1"}
    slack = requests["/slack"]["json"]
    assert slack["text"] == f"[wingspan] {flows.pipeline.name} default/development/e1: failed"
    (mail,) = mailbox.messages
    assert mail.rcpt_tos == ["ops@example.com"]
    assert isinstance(mail.content, bytes)
    assert "Error: USER:ValueError: bad rows" in mail.content.decode()
    done = await deliveries(admin, execution_id)
    assert [d.state for d in done] == ["delivered"] * 3
    assert all([a.ok for a in d.attempts] == [True] for d in done)
    assert await sender(admin, http, port).run_once() == 0  # delivered once


async def test_a_receiver_that_fails_at_first_gets_it_after_backoff(
    admin: AdminService, http: httpx.AsyncClient
) -> None:
    with Receiver(failures=2) as receiver:
        await register(admin)
        execution_id = await start(admin, "e1", Webhook(url=receiver.url))  # the execution's own
        await end(admin, execution_id, v1.WorkflowPhase.SUCCEEDED)
        clock = Clock()
        delivery = sender(admin, http, retry=RetryPolicy(first_delay=10, max_delay=60), clock=clock)
        assert await delivery.run_once() == 1
        (pending,) = await deliveries(admin, execution_id)
        assert pending.state == "pending" and "answered 500" in pending.last_error
        assert pending.next_attempt_at == clock.now + timedelta(seconds=10)
        assert await delivery.run_once() == 0  # not before the backoff is over
        clock.now += timedelta(seconds=10)
        assert await delivery.run_once() == 1
        clock.now += timedelta(seconds=19)
        assert await delivery.run_once() == 0  # the second backoff is twice as long
        clock.now += timedelta(seconds=1)
        assert await delivery.run_once() == 1
        assert len(receiver.requests) == 3
    (done,) = await deliveries(admin, execution_id)
    assert done.state == "delivered" and done.last_error == ""
    assert [(a.number, a.ok) for a in done.attempts] == [(1, False), (2, False), (3, True)]
    assert "answered 500" in done.attempts[0].error and done.attempts[0].sender == delivery.owner


async def test_a_refusal_or_too_many_failures_give_up(admin: AdminService, http: httpx.AsyncClient) -> None:
    with Receiver(failures=10, status=400) as refusing, Receiver(failures=10) as failing:
        await register(admin, Webhook(url=refusing.url), Webhook(url=failing.url))
        execution_id = await start(admin, "e1")
        await AdminRpcs(admin).terminate_execution(
            v1.TerminateExecutionRequest(id=execution_id, reason="x", force=True))
        clock = Clock()
        delivery = sender(admin, http, retry=RetryPolicy(first_delay=1), max_attempts=3, clock=clock)
        for _ in range(4):
            await delivery.run_once()
            clock.now += timedelta(minutes=1)
    refused, gave_up = await deliveries(admin, execution_id)
    assert refused.phase == v1.WorkflowPhase.ABORTED  # a forced terminate notifies too
    assert (refused.state, len(refused.attempts)) == ("failed", 1) and "answered 400" in refused.last_error
    assert (gave_up.state, len(gave_up.attempts)) == ("failed", 3)


async def test_a_notice_committed_before_the_server_stopped_is_sent_by_the_next_one(
    settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    first = await AdminService.open(settings)
    try:
        await register(first, Webhook(url=receiver.url))
        execution_id = await start(first, "e1")
        await end(first, execution_id, v1.WorkflowPhase.FAILED)
    finally:
        await first.aclose()  # no sender ran
    second = await AdminService.open(settings)
    try:
        assert await sender(second, http).run_once() == 1
        assert [d.state for d in await deliveries(second, execution_id)] == ["delivered"]
    finally:
        await second.aclose()
    assert len(receiver.requests) == 1


async def test_a_sender_killed_mid_delivery_leaves_the_notice_to_another(
    settings: Settings, admin: AdminService, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    with Receiver(hold=True) as receiver:
        await register(admin, Webhook(url=receiver.url))
        execution_id = await start(admin, "e1")
        await end(admin, execution_id, v1.WorkflowPhase.SUCCEEDED)
        script = tmp_path / "sender.py"
        script.write_text(textwrap.dedent(f"""
            import asyncio
            from pathlib import Path
            from wingspan.core.config import Settings
            from wingspan.server.services.admin import AdminService
            from wingspan.server.services.notifications import run_notification_sender

            async def main():
                admin = await AdminService.open(Settings(home=Path({str(settings.home)!r}),
                                                         db_url={settings.db_url!r}))
                await run_notification_sender(admin, interval=0.05)

            asyncio.run(main())
        """))
        process = await anyio.open_process([sys.executable, str(script)], stdout=None, stderr=None)
        try:
            await anyio.to_thread.run_sync(receiver.wait_for, 1, 60.0)  # it is sending now
        finally:
            process.send_signal(signal.SIGKILL)
            with anyio.fail_after(30):
                await process.wait()
        receiver.release()
        (claimed,) = await deliveries(admin, execution_id)
        assert claimed.state == "pending" and claimed.attempts == []  # the attempt was never recorded
        clock = Clock()
        other = sender(admin, http, clock=clock)
        assert await other.run_once() == 0  # the dead sender's claim still holds
        clock.now += other.lease + timedelta(seconds=1)
        assert await other.run_once() == 1
        assert len(receiver.requests) == 2  # at least once: sent again
    (done,) = await deliveries(admin, execution_id)
    assert done.state == "delivered" and [a.sender for a in done.attempts] == [other.owner]


class PagerNotifier:
    """A plugin's notifier that takes over the webhook kind."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, Notice]] = []
        self.got = anyio.Event()

    async def send(self, target: Any, notice: Notice) -> None:
        self.sent.append((target, notice))
        self.got.set()


async def test_notifiers_come_from_plugins_through_the_hook(admin: AdminService) -> None:
    pager = PagerNotifier()

    class Plugin:
        @staticmethod
        @hookimpl
        def wingspan_notifiers() -> dict[str, Any]:
            return {"webhook": pager}

    plugins = load_plugins(entry_points=False, extra=[("pager", Plugin())])
    await register(admin, Webhook(url="http://pager.invalid/x"))
    execution_id = await start(admin, "e1")
    await end(admin, execution_id, v1.WorkflowPhase.TIMED_OUT)
    stop = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: run_notification_sender(admin, stop=stop, plugins=plugins, interval=0.05))
        with anyio.fail_after(10):
            await pager.got.wait()
        stop.set()
    ((target, notice),) = pager.sent
    assert target.url == "http://pager.invalid/x" and notice.phase == "TIMED_OUT"
    assert [d.state for d in await deliveries(admin, execution_id)] == ["delivered"]


async def test_two_senders_share_the_outbox_without_sending_twice(
    settings: Settings, admin: AdminService, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    await register(admin, Webhook(url=receiver.url))
    ids = []
    for i in range(30):
        ids.append(await start(admin, f"e{i}"))
        await end(admin, ids[-1], v1.WorkflowPhase.SUCCEEDED)
    replicas = [await AdminService.open(settings) for _ in range(2)]
    try:
        senders = [sender(replica, http, batch=4) for replica in replicas]
        tried = [0, 0]
        while True:
            counts = await asyncio.gather(*(s.run_once() for s in senders))
            tried = [t + c for t, c in zip(tried, counts, strict=True)]
            if not any(counts):
                break
    finally:
        for replica in replicas:
            await replica.aclose()
    assert sum(tried) == 30 and all(tried)  # both took part
    assert len(receiver.requests) == 30
    for execution_id in ids:
        (delivery,) = await deliveries(admin, execution_id)
        assert delivery.state == "delivered" and len(delivery.attempts) == 1
