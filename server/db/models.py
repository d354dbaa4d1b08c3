"""The control plane's tables, as SQLModel classes.

Rows hold what lists filter and sort on as plain columns; everything else is the
IDL message's bytes (``*_bytes``), or, once larger than the inline limit, a blob
store URI (``*_uri``) with the bytes there. Times are aware UTC datetimes
(``timestamp with time zone`` on PostgreSQL; SQLite hands them back naive and
:func:`wingspan.server.db.engine.utc` puts the zone back).

Alembic's migrations in ``migrations/versions`` create exactly this schema; a test
applies them to empty databases and compares the result with these classes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

__all__ = [
    "AuthCodeRow",
    "CatalogEntryRow",
    "CatalogReservationRow",
    "DeviceCodeRow",
    "DomainRow",
    "EventOutboxRow",
    "EventPublisherRow",
    "EventRow",
    "ExecutionRow",
    "LaunchPlanRow",
    "LaunchPlanSlotsRow",
    "MapItemChunkRow",
    "MapItemsRow",
    "NodeExecutionRow",
    "NotificationAttemptRow",
    "NotificationRow",
    "OAuthClientRow",
    "ProjectRow",
    "ProjectSettingsRow",
    "RefreshTokenRow",
    "RoleBindingRow",
    "ScheduleTickRow",
    "SignalRow",
    "SigningKeyRow",
    "TaskExecutionRow",
    "TaskRow",
    "UserRow",
    "WorkflowRow",
    "key",
    "metadata",
]

# named constraints, so that migrations can refer to them on every backend
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

# 64-bit keys on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY
ID = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column(ID, primary_key=True, autoincrement=True)


def _time(nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


def _bytes() -> Column[bytes]:
    return Column(LargeBinary, nullable=True)


def _execution_fk() -> Column[int]:
    return Column(ID, ForeignKey("executions.id", ondelete="CASCADE"), nullable=False)


def key(row: Any) -> int:
    """The primary key of a stored row (``id`` is None only before the first flush)."""
    value: int | None = row.id
    assert value is not None, f"{type(row).__name__} has no id yet: flush the session first"
    return value


class ProjectRow(SQLModel, table=True):
    __tablename__ = "projects"

    id: str = Field(sa_column=Column(String(63), primary_key=True))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    # the labels as JSON: {"key": "value"}
    labels: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    state: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    # retention: finished executions older than this many seconds are pruned; None keeps them
    retention_seconds: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(sa_column=_time())
    updated_at: datetime = Field(sa_column=_time())


class DomainRow(SQLModel, table=True):
    __tablename__ = "domains"

    id: str = Field(sa_column=Column(String(63), primary_key=True))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class ProjectSettingsRow(SQLModel, table=True):
    """The execution settings of a project (domain ""), of one of its domains, or of the
    deployment (project "*")."""

    __tablename__ = "project_settings"

    project: str = Field(sa_column=Column(String(63), primary_key=True))
    domain: str = Field(sa_column=Column(String(63), primary_key=True))
    # the ExecutionSettings
    settings_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = Field(sa_column=_time())


class _EntityColumns(SQLModel):
    """A versioned, immutable entity: its identity, digest and content (each table gets
    its own columns: ``sa_type``, not ``sa_column``, whose Column could serve one table)."""

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    project: str = Field(sa_type=String(63), nullable=False)
    domain: str = Field(sa_type=String(63), nullable=False)
    name: str = Field(sa_type=String(255), nullable=False)
    version: str = Field(sa_type=String(255), nullable=False)
    digest: str = Field(sa_type=String(64), nullable=False)
    created_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    content_bytes: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)
    content_uri: str = Field(default="", sa_type=Text, nullable=False)


class TaskRow(_EntityColumns, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("project", "domain", "name", "version"),
        Index(None, "project", "domain", "name", "created_at"),
    )


class WorkflowRow(_EntityColumns, table=True):
    """content: the CompiledWorkflowClosure."""

    __tablename__ = "workflows"
    __table_args__ = (
        UniqueConstraint("project", "domain", "name", "version"),
        Index(None, "project", "domain", "name", "created_at"),
    )


class LaunchPlanRow(_EntityColumns, table=True):
    """content: the LaunchPlanSpec; closure_bytes: the LaunchPlanClosure (state aside)."""

    __tablename__ = "launch_plans"
    __table_args__ = (
        UniqueConstraint("project", "domain", "name", "version"),
        Index(None, "project", "domain", "name", "created_at"),
        # at most one active version per name, whatever the races between activations
        Index(
            "uq_launch_plans_one_active",
            "project",
            "domain",
            "name",
            unique=True,
            sqlite_where=text("state = 1"),
            postgresql_where=text("state = 1"),
        ),
    )

    state: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = Field(sa_column=_time())
    workflow_name: str = Field(sa_column=Column(String(255), nullable=False))
    workflow_version: str = Field(sa_column=Column(String(255), nullable=False))
    # has a schedule (what the scheduler looks for among active launch plans)
    scheduled: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    closure_bytes: bytes | None = Field(default=None, sa_column=_bytes())


class ExecutionRow(SQLModel, table=True):
    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("project", "domain", "name"),
        Index(None, "project", "domain", "created_at", "id"),
        Index(None, "project", "domain", "phase", "created_at"),
        Index(None, "project", "domain", "entity_name", "created_at"),
        # the executions list by principal (who launched), newest first: a principal with no
        # execution is one index seek, not a read of the project's every row
        Index(None, "project", "domain", "principal", "created_at"),
        Index(None, "project", "finished_at"),
        Index(None, "phase", "held", "lease_expires_at"),
        Index(None, "project", "domain", "queue", "phase"),
    )

    id: int | None = Field(default=None, sa_column=_id())
    project: str = Field(sa_column=Column(String(63), nullable=False))
    domain: str = Field(sa_column=Column(String(63), nullable=False))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    # what was launched: a launch plan, a workflow or a task (ResourceType), and its id
    entity_type: int = Field(sa_column=Column(Integer, nullable=False))
    entity_name: str = Field(sa_column=Column(String(255), nullable=False))
    entity_version: str = Field(sa_column=Column(String(255), nullable=False))
    launch_plan_name: str = Field(default="", sa_column=Column(String(255), nullable=False))
    workflow_name: str = Field(default="", sa_column=Column(String(255), nullable=False))
    workflow_version: str = Field(default="", sa_column=Column(String(255), nullable=False))
    phase: int = Field(sa_column=Column(Integer, nullable=False))
    mode: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    principal: str = Field(default="", sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(sa_column=_time())
    started_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    updated_at: datetime = Field(sa_column=_time())
    finished_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    # the ExecutionSpec without its inputs, the ExecutionError
    spec_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    error_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    inputs_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    inputs_uri: str = Field(default="", sa_column=Column(Text, nullable=False))
    outputs_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    outputs_uri: str = Field(default="", sa_column=Column(Text, nullable=False))
    # the highest event sequence applied to the phase
    last_sequence: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # held back (by its launch plan's concurrency policy): engines leave it queued
    held: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    # the engine replica running it, and until when its claim holds without a heartbeat
    owner: str = Field(default="", sa_column=Column(String(255), nullable=False, server_default=""))
    lease_expires_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    # a terminate was asked for: the owning engine aborts the run (force ends it at once)
    abort_requested: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # ExecutionState: archived ones are left out of lists that do not ask for them
    state: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # the execution queue it runs in (its settings'), "" for none: held while the queue is full
    queue: str = Field(default="", sa_column=Column(String(255), nullable=False, server_default=""))


class NodeExecutionRow(SQLModel, table=True):
    __tablename__ = "node_executions"
    __table_args__ = (
        UniqueConstraint("execution_id", "node_id"),
        Index(None, "execution_id", "parent_node_id"),
    )

    id: int | None = Field(default=None, sa_column=_id())
    execution_id: int = Field(sa_column=_execution_fk())
    node_id: str = Field(sa_column=Column(String(1024), nullable=False))
    parent_node_id: str = Field(default="", sa_column=Column(String(1024), nullable=False))
    spec_node_id: str = Field(default="", sa_column=Column(String(255), nullable=False))
    node_name: str = Field(default="", sa_column=Column(String(255), nullable=False))
    phase: int = Field(sa_column=Column(Integer, nullable=False))
    cache_status: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    is_parent: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    is_dynamic: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=_time())
    started_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    updated_at: datetime = Field(sa_column=_time())
    finished_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    error_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    inputs_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    inputs_uri: str = Field(default="", sa_column=Column(Text, nullable=False))
    outputs_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    outputs_uri: str = Field(default="", sa_column=Column(Text, nullable=False))
    dynamic_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    dynamic_uri: str = Field(default="", sa_column=Column(Text, nullable=False))
    last_sequence: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class TaskExecutionRow(SQLModel, table=True):
    """One attempt of a task at a node."""

    __tablename__ = "task_executions"
    __table_args__ = (UniqueConstraint("execution_id", "node_id", "attempt"),)

    id: int | None = Field(default=None, sa_column=_id())
    execution_id: int = Field(sa_column=_execution_fk())
    node_id: str = Field(sa_column=Column(String(1024), nullable=False))
    attempt: int = Field(sa_column=Column(Integer, nullable=False))
    task_project: str = Field(default="", sa_column=Column(String(63), nullable=False))
    task_domain: str = Field(default="", sa_column=Column(String(63), nullable=False))
    task_name: str = Field(default="", sa_column=Column(String(255), nullable=False))
    task_version: str = Field(default="", sa_column=Column(String(255), nullable=False))
    phase: int = Field(sa_column=Column(Integer, nullable=False))
    cache_status: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    plugin: str = Field(default="", sa_column=Column(String(255), nullable=False))
    plugin_handle: bytes | None = Field(default=None, sa_column=_bytes())
    # the TaskLog list as JSON: [[name, uri], ...]
    logs: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_time())
    started_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    updated_at: datetime = Field(sa_column=_time())
    finished_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    error_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    outputs_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    outputs_uri: str = Field(default="", sa_column=Column(Text, nullable=False))
    last_sequence: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class MapItemsRow(SQLModel, table=True):
    """A map node's items, aggregated (issue #24 item 5): one row per map node execution instead
    of a node and an attempt row per item. ``phases`` holds each item's node phase (one byte
    each, by item index); ``attempts`` its first attempt's task phase plus one (0: no attempt
    recorded), or 255 when the item has rows of its own (a failure, a retry, a handle: see
    node_executions and task_executions). Succeeded items' outputs are in ``map_item_chunks``."""

    __tablename__ = "map_items"
    __table_args__ = (UniqueConstraint("execution_id", "node_id"),)

    id: int | None = Field(default=None, sa_column=_id())
    execution_id: int = Field(sa_column=_execution_fk())
    node_id: str = Field(sa_column=Column(String(1024), nullable=False))
    phases: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    attempts: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=_time())
    updated_at: datetime = Field(sa_column=_time())
    last_sequence: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class MapItemChunkRow(SQLModel, table=True):
    """Items of a map that started together (a chunk run in one round trip): their indices (as
    ranges, see :mod:`wingspan.server.services.map_items`), when they started and ended, their
    log links, and their outputs as one literal map of lists (in index order; a none literal
    for an item that did not succeed here)."""

    __tablename__ = "map_item_chunks"
    __table_args__ = (Index(None, "execution_id", "node_id", "first_index"),)

    id: int | None = Field(default=None, sa_column=_id())
    execution_id: int = Field(sa_column=_execution_fk())
    node_id: str = Field(sa_column=Column(String(1024), nullable=False))
    first_index: int = Field(sa_column=Column(Integer, nullable=False))
    last_index: int = Field(sa_column=Column(Integer, nullable=False))
    indices: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # the TaskLog list as JSON, as in task_executions
    logs: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    started_at: datetime = Field(sa_column=_time())
    finished_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    outputs_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    outputs_uri: str = Field(default="", sa_column=Column(Text, nullable=False))


class EventRow(SQLModel, table=True):
    """Every event ingested, once: ``key`` is the sequence number, or the digest of an
    event that carries none."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("execution_id", "key"),
        Index(None, "execution_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=_id())
    execution_id: int = Field(sa_column=_execution_fk())
    key: str = Field(sa_column=Column(String(80), nullable=False))
    digest: str = Field(sa_column=Column(String(64), nullable=False))
    # "workflow", "node" or "task"
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    node_id: str = Field(default="", sa_column=Column(String(1024), nullable=False))
    attempt: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    sequence: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    phase: int = Field(sa_column=Column(Integer, nullable=False))
    occurred_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    recorded_at: datetime = Field(sa_column=_time())
    # the Event message
    data_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    data_uri: str = Field(default="", sa_column=Column(Text, nullable=False))


class EventOutboxRow(SQLModel, table=True):
    """The outward event stream's outbox: one stored event as a CloudEvent, for one sink,
    written in the transaction that stored the event; deleted once the sink has it."""

    __tablename__ = "event_outbox"
    __table_args__ = (Index(None, "sink", "state", "id"),)

    id: int | None = Field(default=None, sa_column=_id())
    # the sink kind it is for (one of the event_sinks setting's names)
    sink: str = Field(sa_column=Column(String(63), nullable=False))
    execution_id: int = Field(sa_column=_execution_fk())
    # the CloudEvent, structured-mode JSON
    body: str = Field(sa_column=Column(Text, nullable=False))
    # 0 pending; 2 refused for good by its sink (kept aside, with the error)
    state: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    error: str = Field(default="", sa_column=Column(Text, nullable=False))


class EventPublisherRow(SQLModel, table=True):
    """Who publishes a sink's events (one replica at a time, under a lease) and how it goes."""

    __tablename__ = "event_publishers"

    sink: str = Field(sa_column=Column(String(63), primary_key=True))
    owner: str = Field(default="", sa_column=Column(String(255), nullable=False))
    lease_expires_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    published: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    dead: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_column=_time())


class SignalRow(SQLModel, table=True):
    __tablename__ = "signals"
    __table_args__ = (UniqueConstraint("execution_id", "signal_id"),)

    id: int | None = Field(default=None, sa_column=_id())
    execution_id: int = Field(sa_column=_execution_fk())
    signal_id: str = Field(sa_column=Column(String(255), nullable=False))
    node_id: str = Field(default="", sa_column=Column(String(1024), nullable=False))
    # the LiteralType the gate expects, and the Literal once set
    type_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    value_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    created_at: datetime = Field(sa_column=_time())
    set_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))


class CatalogEntryRow(SQLModel, table=True):
    """A cached result: a task's outputs under (dataset, cache version, inputs digest)."""

    __tablename__ = "catalog_entries"
    __table_args__ = (UniqueConstraint("dataset", "version", "inputs_digest"),)

    id: int | None = Field(default=None, sa_column=_id())
    # "project/domain/task name"
    dataset: str = Field(sa_column=Column(String(512), nullable=False))
    version: str = Field(sa_column=Column(String(255), nullable=False))
    inputs_digest: str = Field(sa_column=Column(String(128), nullable=False))
    outputs_bytes: bytes | None = Field(default=None, sa_column=_bytes())
    outputs_uri: str = Field(default="", sa_column=Column(Text, nullable=False))
    # where the outputs came from: "project/domain/execution/node/attempt"
    source: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_time())
    updated_at: datetime = Field(sa_column=_time())


class CatalogReservationRow(SQLModel, table=True):
    """Who computes a cache key now (cache_serialize); it lapses at ``expires_at``."""

    __tablename__ = "catalog_reservations"
    __table_args__ = (UniqueConstraint("dataset", "version", "inputs_digest"),)

    id: int | None = Field(default=None, sa_column=_id())
    dataset: str = Field(sa_column=Column(String(512), nullable=False))
    version: str = Field(sa_column=Column(String(255), nullable=False))
    inputs_digest: str = Field(sa_column=Column(String(128), nullable=False))
    owner: str = Field(sa_column=Column(String(255), nullable=False))
    expires_at: datetime = Field(sa_column=_time())
    created_at: datetime = Field(sa_column=_time())


class ScheduleTickRow(SQLModel, table=True):
    """One tick of a launch plan's schedule that started an execution: inserted in the same
    transaction as that execution, so a tick fires once whatever the number of schedulers."""

    __tablename__ = "schedule_ticks"
    __table_args__ = (UniqueConstraint("project", "domain", "launch_plan", "tick_at"),)

    id: int | None = Field(default=None, sa_column=_id())
    project: str = Field(sa_column=Column(String(63), nullable=False))
    domain: str = Field(sa_column=Column(String(63), nullable=False))
    launch_plan: str = Field(sa_column=Column(String(255), nullable=False))
    tick_at: datetime = Field(sa_column=_time())
    # the version whose schedule fired, and what it started
    version: str = Field(sa_column=Column(String(255), nullable=False))
    execution_name: str = Field(sa_column=Column(String(255), nullable=False))
    # "scheduler" or "backfill"
    source: str = Field(default="scheduler", sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=_time())


class LaunchPlanSlotsRow(SQLModel, table=True):
    """A launch plan's concurrency limit: the row creates and phase changes lock (``FOR
    UPDATE``) so that counting running executions and admitting one is race-free."""

    __tablename__ = "launch_plan_slots"
    __table_args__ = (UniqueConstraint("project", "domain", "launch_plan"),)

    id: int | None = Field(default=None, sa_column=_id())
    project: str = Field(sa_column=Column(String(63), nullable=False))
    domain: str = Field(sa_column=Column(String(63), nullable=False))
    launch_plan: str = Field(sa_column=Column(String(255), nullable=False))
    # the limit of the version launched last (0: none); held executions are released up to it
    max_running: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = Field(sa_column=_time())


class NotificationRow(SQLModel, table=True):
    """The outbox: one notice to deliver, written in the transaction of the phase change it
    reports; senders claim due rows with a lease and record each attempt."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index(None, "state", "next_attempt_at"),
        Index(None, "execution_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=_id())
    execution_id: int = Field(sa_column=_execution_fk())
    # "webhook", "slack", "email", or a plugin's kind
    kind: str = Field(sa_column=Column(String(63), nullable=False))
    # the Notification message (its target's settings)
    target_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    phase: int = Field(sa_column=Column(Integer, nullable=False))
    # the Notice's JSON, fixed when the phase changed
    notice: str = Field(sa_column=Column(Text, nullable=False))
    # 0 pending, 1 delivered, 2 failed for good
    state: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=_time())
    # the sender trying it now, and until when its claim holds
    owner: str = Field(default="", sa_column=Column(String(255), nullable=False))
    lease_expires_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_time())
    finished_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))


class NotificationAttemptRow(SQLModel, table=True):
    """One try at delivering a notification, as the API shows it."""

    __tablename__ = "notification_attempts"
    __table_args__ = (Index(None, "notification_id", "number"),)

    id: int | None = Field(default=None, sa_column=_id())
    notification_id: int = Field(
        sa_column=Column(ID, ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False)
    )
    number: int = Field(sa_column=Column(Integer, nullable=False))
    at: datetime = Field(sa_column=_time())
    ok: bool = Field(sa_column=Column(Boolean, nullable=False))
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    sender: str = Field(default="", sa_column=Column(String(255), nullable=False))


# --- who may call: the authorization server's state (server/auth) ---
# Codes and tokens are stored as SHA-256 digests of their random values, never as they are:
# a copy of the database lets no one act as their holders.


class SigningKeyRow(SQLModel, table=True):
    """A key that signs access tokens: it signs until ``sign_until``, and stays published in the
    JWKS until ``publish_until``, so that tokens it signed stay valid until they expire."""

    __tablename__ = "signing_keys"

    kid: str = Field(sa_column=Column(String(64), primary_key=True))
    # the private key as a JWK (JSON)
    private_jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_time())
    sign_until: datetime = Field(sa_column=_time())
    publish_until: datetime = Field(sa_column=_time())


class UserRow(SQLModel, table=True):
    """A person of the local user store (``wingspan users add``); the password as an argon2 hash."""

    __tablename__ = "users"

    name: str = Field(sa_column=Column(String(255), primary_key=True))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_time())


class OAuthClientRow(SQLModel, table=True):
    """An OAuth2 client: a service account (a secret, the client credentials grant) or a public
    client (no secret: the CLI's authorization code with PKCE and device flows)."""

    __tablename__ = "oauth_clients"

    client_id: str = Field(sa_column=Column(String(255), primary_key=True))
    # argon2 hash of the secret; empty for a public client
    secret_hash: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_time())


class RoleBindingRow(SQLModel, table=True):
    """``subject`` (a user, a service account, or ``group:NAME``) holds ``role`` in ``project`` and
    ``domain``; ``*`` for both is the deployment-wide binding."""

    __tablename__ = "role_bindings"
    __table_args__ = (UniqueConstraint("subject", "project", "domain", "role"),)

    id: int | None = Field(default=None, sa_column=_id())
    subject: str = Field(sa_column=Column(String(255), nullable=False))
    project: str = Field(sa_column=Column(String(63), nullable=False))
    domain: str = Field(sa_column=Column(String(63), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=_time())


class AuthCodeRow(SQLModel, table=True):
    """An authorization code, bound to its client, redirect URI and PKCE challenge; used once."""

    __tablename__ = "auth_codes"

    code_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(sa_column=Column(String(255), nullable=False))
    subject: str = Field(sa_column=Column(String(255), nullable=False))
    redirect_uri: str = Field(sa_column=Column(Text, nullable=False))
    code_challenge: str = Field(sa_column=Column(String(128), nullable=False))
    scope: str = Field(default="", sa_column=Column(Text, nullable=False))
    expires_at: datetime = Field(sa_column=_time())
    used: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


class RefreshTokenRow(SQLModel, table=True):
    """A refresh token of a ``family`` (one login): each use replaces it with a new one; a token
    presented again after its use revokes the whole family (it was stolen, or its holder's was)."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index(None, "family"),)

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    family: str = Field(sa_column=Column(String(64), nullable=False))
    client_id: str = Field(sa_column=Column(String(255), nullable=False))
    subject: str = Field(sa_column=Column(String(255), nullable=False))
    scope: str = Field(default="", sa_column=Column(Text, nullable=False))
    expires_at: datetime = Field(sa_column=_time())
    used_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    revoked: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


class DeviceCodeRow(SQLModel, table=True):
    """A device authorization: the device polls with the device code while a person enters the
    user code in a browser and logs in. ``state``: 0 pending, 1 approved, 2 denied, 3 used."""

    __tablename__ = "device_codes"

    device_code_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    user_code: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    client_id: str = Field(sa_column=Column(String(255), nullable=False))
    scope: str = Field(default="", sa_column=Column(Text, nullable=False))
    subject: str = Field(default="", sa_column=Column(String(255), nullable=False))
    state: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    expires_at: datetime = Field(sa_column=_time())


class ConsoleSessionRow(SQLModel, table=True):
    """A signed-in browser of the web console: the cookie's value and its CSRF token are kept as
    digests only. It ends ``idle`` after ``last_seen_at`` or at ``expires_at``, whichever is first."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index(None, "expires_at"),)

    session_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    csrf_hash: str = Field(sa_column=Column(String(64), nullable=False))
    subject: str = Field(sa_column=Column(String(255), nullable=False))
    display_name: str = Field(default="", sa_column=Column(String(255), nullable=False))
    issuer: str = Field(default="", sa_column=Column(Text, nullable=False))
    # the groups the issuer named at login, space-separated (bindings may name a group)
    groups: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_time())
    last_seen_at: datetime = Field(sa_column=_time())
    expires_at: datetime = Field(sa_column=_time())


class AuditEventRow(SQLModel, table=True):
    """A call that changed something, or tried to: who, which method, on what, and how it ended."""

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "at"), Index(None, "principal"), Index(None, "project"))

    id: int | None = Field(default=None, sa_column=_id())
    at: datetime = Field(sa_column=_time())
    principal: str = Field(sa_column=Column(String(255), nullable=False))
    method: str = Field(sa_column=Column(String(64), nullable=False))
    project: str = Field(default="", sa_column=Column(String(63), nullable=False))
    domain: str = Field(default="", sa_column=Column(String(63), nullable=False))
    name: str = Field(default="", sa_column=Column(String(255), nullable=False))
    version: str = Field(default="", sa_column=Column(String(255), nullable=False))
    result: str = Field(sa_column=Column(String(32), nullable=False))
