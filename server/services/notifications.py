"""Notices of executions that ended: the outbox, the sender that empties it, and the list of
delivery attempts the API shows.

:func:`enqueue_notices` writes one outbox row per notification of the execution (its own,
or its launch plan's) that asks for the phase reached, in the transaction that moved the
phase: a notice exists exactly when the phase change does. :class:`NotificationSender`
claims due rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
senders share the work), tries each once, records the attempt, and schedules the next
try with backoff or gives up (a refusal that retrying cannot help, or too many tries).
A sender killed between sending and recording leaves the claim to lapse: another sender
sends again, so each notice goes out at least once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, or_, select

from wingspan.core.engine import RetryPolicy
from wingspan.core.errors import ConfigError, InvalidArgumentError, NotFoundError
from wingspan.core.model import codec
from wingspan.core.model.deliveries import DeliveryAttempt, NotificationDelivery
from wingspan.core.model.execution import ExecutionError, WorkflowPhase
from wingspan.core.model.execution_spec import ExecutionSpec
from wingspan.core.model.interface import ExecutionId
from wingspan.core.model.launch_plans import Notification
from wingspan.core.plugins.config import read_plugin_config
from wingspan.core.plugins.notifier import DeliveryError, Notice, Notifier, settings_schema, template_problems
from wingspan.core.types.naturals import to_natural
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import ExecutionRow, NotificationAttemptRow, NotificationRow, key
from wingspan.server.db.queries import execution_row
from wingspan.server.services.identifiers import check_execution_id

__all__ = ["NotificationKinds", "NotificationSender", "NotificationService", "builtin_senders",
           "enqueue_notices", "run_notification_sender"]

_log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED = 0, 1, 2
_STATES = {PENDING: "pending", DELIVERED: "delivered", FAILED: "failed"}


def _error_text(execution: ExecutionRow) -> str:
    if not execution.error_bytes:
        return ""
    error = codec.decode(ExecutionError, execution.error_bytes)
    return f"{error.code}: {error.message}" if error.code else error.message


async def enqueue_notices(session: AsyncSession, execution: ExecutionRow, phase: WorkflowPhase,
                          at: datetime) -> int:
    """Adds to the outbox the notices ``execution`` asks for on reaching ``phase`` (a
    notification without phases asks for every end); returns how many."""
    spec = codec.decode(ExecutionSpec, execution.spec_bytes)
    if not spec.notifications:
        return 0
    notice = {
        "execution": f"{execution.project}/{execution.domain}/{execution.name}",
        "phase": phase.name,
        "workflow": execution.workflow_name,
        "error": _error_text(execution),
    }
    added = 0
    for notification in spec.notifications:
        phases = {int(p) for p in notification.phases}
        if phases and int(phase) not in phases:
            continue
        session.add(
            NotificationRow(
                execution_id=key(execution),
                kind=notification.notifier_kind or "unknown",
                target_bytes=codec.encode(notification),
                phase=int(phase),
                notice=json.dumps(notice),
                next_attempt_at=at,
                created_at=at,
            )
        )
        added += 1
    return added


# the kinds with a record of their own in the model (Email, Slack, Webhook), not plugin settings
_TYPED_KINDS = frozenset({"email", "slack", "webhook"})


@dataclass(frozen=True)
class NotificationKinds:
    """The notifier kinds this server has and the schema of each one's settings: a launch plan
    or execution naming another kind, or settings its schema does not take, is refused when it
    is registered, not found out when its execution ends."""

    schemas: Mapping[str, type | None]

    @classmethod
    def of(cls, notifiers: Mapping[str, Notifier]) -> NotificationKinds:
        return cls({kind: settings_schema(n) for kind, n in notifiers.items()})

    @classmethod
    def builtin(cls) -> NotificationKinds:
        return cls.of(builtin_senders(None))

    def check(self, notifications: tuple[Notification, ...], where: str) -> None:
        problems: list[str] = []
        for number, notification in enumerate(notifications, 1):
            kind = notification.notifier_kind
            label = f"notification {number} ({kind or 'no kind'})"
            problems += [f"{label}: {p}" for p in template_problems(notification.template)]
            if notification.kind != "plugin":
                continue
            if kind in _TYPED_KINDS:
                problems.append(f"{label}: write {kind.capitalize()}(...), not a plugin notification "
                                f"of kind {kind!r}")
            elif kind not in self.schemas:
                problems.append(f"{label}: no notifier of kind {kind!r} is installed on this server "
                                f"(its kinds: {', '.join(sorted(self.schemas)) or 'none'}); install the "
                                "plugin that declares it, or use one of those")
            else:
                try:
                    self.target(notification)
                except (ConfigError, TypeError, ValueError) as exc:
                    problems.append(f"{label}: its settings do not fit: {_settings_error(kind, exc)}")
        if problems:
            raise InvalidArgumentError(f"{where}: " + "; ".join(problems))

    def target(self, notification: Notification) -> Any:
        """What the notifier's ``send`` gets: a plugin notification's settings read into its
        kind's schema (a dict when it declares none); the record itself for the typed kinds."""
        if notification.kind != "plugin":
            return notification.value
        settings = notification.value.settings
        values = {k: to_natural(v) for k, v in (settings.literals if settings else {}).items()}
        kind = notification.notifier_kind
        schema = self.schemas.get(kind)
        if schema is None:
            return values
        if dataclasses.is_dataclass(schema):  # the reader's own word for this speaks of a config file
            missing = [f.name for f in dataclasses.fields(schema) if f.name not in values and f.init
                       and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
            if missing:
                plural = "s" if len(missing) > 1 else ""
                raise ValueError(f"it needs the setting{plural} {', '.join(missing)}")
        return read_plugin_config(kind, schema, values)


def _settings_error(kind: str, exc: Exception) -> str:
    # the schema reader speaks of a plugin's config table; these are a notification's settings
    text = str(exc).replace(f"plugin {kind!r} has", "it has")
    for said in (f"plugin {kind!r}: [plugins.{kind}] is refused: ", f"plugin {kind!r}: ",
                 f" ([plugins.{kind}])"):
        text = text.replace(said, "")
    return text


def console_link(console_url: str, execution: str) -> str:
    if not console_url:
        return ""
    project, domain, name = execution.split("/", 2)
    return f"{console_url.rstrip('/')}/console/projects/{project}/domains/{domain}/executions/{name}"


class NotificationService:
    """What the API shows of an execution's notices: each one, its state and its attempts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_notifications(self, execution_id: ExecutionId | None) -> list[NotificationDelivery]:
        execution_id = check_execution_id(execution_id, "list notifications: execution id")
        async with self.db.read() as session:
            execution = await execution_row(session, execution_id)
            if execution is None:
                raise NotFoundError(f"execution {execution_id.name} does not exist")
            rows = list((await session.execute(
                select(NotificationRow).where(NotificationRow.execution_id == execution.id)
                .order_by(col(NotificationRow.id)))).scalars())
            attempts: dict[int, list[NotificationAttemptRow]] = {key(r): [] for r in rows}
            if rows:
                for attempt in (await session.execute(
                        select(NotificationAttemptRow)
                        .where(col(NotificationAttemptRow.notification_id).in_(list(attempts)))
                        .order_by(col(NotificationAttemptRow.notification_id),
                                  col(NotificationAttemptRow.number)))).scalars():
                    attempts[attempt.notification_id].append(attempt)
        return [
            NotificationDelivery(
                id=key(row),
                notification=codec.decode(Notification, row.target_bytes),
                phase=WorkflowPhase(row.phase),
                state=_STATES.get(row.state, str(row.state)),
                attempts=tuple(DeliveryAttempt(number=a.number, at=utc(a.at), ok=a.ok, error=a.error,
                                               sender=a.sender) for a in attempts[key(row)]),
                created_at=utc(row.created_at),
                next_attempt_at=utc(row.next_attempt_at) if row.state == PENDING else None,
                finished_at=utc(row.finished_at),
                last_error=row.last_error,
            )
            for row in rows
        ]

    async def backlog(self) -> int:
        """Notices not yet delivered nor given up on, of every execution (the metrics' gauge)."""
        counted = await self.db.query(select(func.count()).select_from(NotificationRow)
                                      .where(col(NotificationRow.state) == PENDING))
        return int(counted[0][0])


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class NotificationSender:
    """Delivers the outbox: ``senders`` by kind (webhook, slack, email, and the plugins')."""

    db: Database
    senders: Mapping[str, Notifier]
    console_url: str = ""
    owner: str = field(default_factory=_default_owner)
    # how long a claim holds: a sender that died mid-delivery is replaced after this
    lease: timedelta = timedelta(minutes=2)
    max_attempts: int = 8
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(first_delay=5.0, max_delay=900.0))
    batch: int = 20
    clock: Callable[[], datetime] = now

    async def claim(self) -> list[NotificationRow]:
        at = self.clock()
        async with self.db.write() as session:
            rows = list((await session.execute(
                select(NotificationRow)
                .where(NotificationRow.state == PENDING, col(NotificationRow.next_attempt_at) <= at,
                       or_(col(NotificationRow.lease_expires_at).is_(None),
                           col(NotificationRow.lease_expires_at) < at))
                .order_by(col(NotificationRow.next_attempt_at), col(NotificationRow.id))
                .limit(self.batch)
                .with_for_update(skip_locked=True))).scalars())
            for row in rows:
                row.owner, row.lease_expires_at = self.owner, at + self.lease
        return rows

    async def run_once(self) -> int:
        """Claims the due notices and tries each once (concurrently); how many were tried."""
        rows = await self.claim()
        async with anyio.create_task_group() as group:
            for row in rows:
                group.start_soon(self._attempt, row)
        return len(rows)

    async def _attempt(self, row: NotificationRow) -> None:
        data = json.loads(row.notice)
        notice = Notice(data["execution"], data["phase"], data.get("workflow", ""), data.get("error", ""),
                        console_link(self.console_url, data["execution"]))
        error, retryable = "", True
        sender = self.senders.get(row.kind)
        try:
            if sender is None:
                known = ", ".join(sorted(self.senders)) or "none"
                raise DeliveryError(f"no notifier for kind {row.kind!r} (installed: {known})")
            notification = codec.decode(Notification, row.target_bytes)
            if notification.template:
                notice = replace(notice, message=notice.render(notification.template))
            try:
                target = NotificationKinds.of(self.senders).target(notification)
            except (ConfigError, TypeError, ValueError) as exc:  # checked when registered; its schema changed
                raise DeliveryError(f"the {row.kind} notification's settings no longer fit: {exc}",
                                    retryable=False) from exc
            await sender.send(target, notice)
        except DeliveryError as exc:
            error, retryable = str(exc), exc.retryable
        except Exception as exc:  # a plugin's bug must not stop the other deliveries
            error = f"{type(exc).__name__}: {exc}"
            _log.exception("notifier %r failed on notification %s", row.kind, row.id)
        await self._record(key(row), error, retryable)

    async def _record(self, row_id: int, error: str, retryable: bool) -> None:
        at = self.clock()
        async with self.db.write() as session:
            row = await session.get(NotificationRow, row_id, with_for_update=True)
            if row is None:  # its execution was deleted meanwhile
                return
            row.attempts += 1
            session.add(NotificationAttemptRow(notification_id=row_id, number=row.attempts, at=at,
                                               ok=not error, error=error, sender=self.owner))
            row.owner, row.lease_expires_at = "", None
            if not error:
                row.state, row.finished_at, row.last_error = DELIVERED, at, ""
            elif retryable and row.attempts < self.max_attempts:
                row.last_error = error
                row.next_attempt_at = at + timedelta(seconds=self.retry.delay(row.attempts))
            else:
                row.state, row.finished_at, row.last_error = FAILED, at, error

    async def run(self, *, stop: anyio.Event | None = None, interval: float = 1.0) -> None:
        """Delivers until ``stop`` is set, looking for due notices every ``interval`` seconds
        (at once again after a full batch); a failed round is logged and retried."""
        while stop is None or not stop.is_set():
            tried = 0
            try:
                tried = await self.run_once()
            except Exception:
                _log.exception("notification sender: a round failed; trying again in %.0f s", interval)
            if tried >= self.batch:
                continue
            with anyio.move_on_after(interval):
                if stop is None:
                    await anyio.sleep(interval)
                else:
                    await stop.wait()


def builtin_senders(http: Any, smtp: Any = None) -> dict[str, Notifier]:
    """The webhook, Slack, email and PagerDuty senders over one httpx client (None: one per
    delivery) and SMTP settings. ``wingspan serve`` has them through the ``wingspan_notifiers``
    hook of its entry point (``wingspan.server.commands``), as it has a plugin's."""
    from wingspan.server.notify.pagerduty import PagerDutySender
    from wingspan.server.notify.senders import EmailSender, SlackSender, SmtpSettings, WebhookSender

    return {"webhook": WebhookSender(http), "slack": SlackSender(http),
            "email": EmailSender(smtp or SmtpSettings()), "pagerduty": PagerDutySender(http)}


async def run_notification_sender(admin: Any, *, stop: anyio.Event | None = None, smtp: Any = None,
                                  console_url: str = "", plugins: Any = None, interval: float = 1.0,
                                  **options: Any) -> None:
    """The notification sender of ``wingspan serve``: the built-in senders, replaced or joined
    by the plugins' ``wingspan_notifiers``, delivering ``admin``'s outbox until ``stop``."""
    import httpx

    async with httpx.AsyncClient(timeout=30.0) as http:
        senders = builtin_senders(http, smtp)
        if plugins is not None:
            senders.update(plugins.notifiers)
        sender = NotificationSender(admin.db, senders, console_url=console_url, **options)
        await sender.run(stop=stop, interval=interval)
