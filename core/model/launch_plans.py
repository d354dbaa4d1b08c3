"""Launch plans: a workflow with inputs, a schedule, notifications and limits."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from wingspan.core.errors import InvalidArgumentError
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import Identifier, ParameterMap, TypedInterface
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.record import record, replace
from wingspan.core.model.settings import ExecutionSettings
from wingspan.core.model.tasks import KeyValue

__all__ = [
    "CatchUpPolicy",
    "ConcurrencyPolicy",
    "CronSchedule",
    "EmailNotification",
    "FixedRate",
    "LaunchPlan",
    "LaunchPlanClosure",
    "LaunchPlanSpec",
    "LaunchPlanState",
    "Notification",
    "PluginNotification",
    "Schedule",
    "SlackNotification",
    "WebhookNotification",
    "WhenFull",
    "launch_plan_settings",
    "run_inputs",
]

V = TypeVar("V")


def run_inputs(plan: str, defaults: Mapping[str, V], given: Mapping[str, V], fixed: Mapping[str, V]
               ) -> dict[str, V]:
    """The inputs of a run of launch plan ``plan``: its defaults, then the given values, then its
    fixed ones (Python values or literals alike). A value given for a fixed input is refused, never
    silently replaced: the plan fixes it so that no run can change it."""
    overridden = sorted(set(given) & set(fixed))
    if overridden:
        them = "it" if len(overridden) == 1 else "them"
        raise InvalidArgumentError(f"launch plan {plan!r} fixes {', '.join(repr(n) for n in overridden)}: "
                                   f"a run cannot set {them}; leave {them} out")
    return {**defaults, **given, **fixed}


@record
class CronSchedule:
    expression: str = ""
    timezone: str = ""


@record
class FixedRate:
    interval: timedelta | None = None


class CatchUpPolicy(enum.IntEnum):
    LATEST = 0
    ALL = 1
    NONE = 2


@record
class Schedule:
    """One of: cron, rate."""

    __oneof__: ClassVar[str] = "kind"
    kind: str = ""
    value: Any = None
    kickoff_time_input_arg: str = ""
    catch_up: CatchUpPolicy = CatchUpPolicy.LATEST


@record
class EmailNotification:
    recipients: tuple[str, ...] = ()


@record
class SlackNotification:
    webhook_url: str = ""


@record
class WebhookNotification:
    url: str = ""
    headers: tuple[KeyValue, ...] = ()


@record
class PluginNotification:
    """A notification of a kind a notifier plugin declares, with the settings its schema reads."""

    kind: str = ""
    settings: LiteralMap | None = None


@record
class Notification:
    """One of: email, slack, webhook, plugin."""

    __oneof__: ClassVar[str] = "target"
    phases: tuple[WorkflowPhase, ...] = ()
    kind: str = ""
    value: Any = None
    # the message with the notice's placeholders ({{ phase }}, {{ link }}, ...); "": the default
    template: str = ""

    @property
    def notifier_kind(self) -> str:
        """The notifier that delivers it: the oneof's name, or a plugin notification's kind."""
        return self.value.kind if self.kind == "plugin" and self.value is not None else self.kind


class WhenFull(enum.IntEnum):
    WAIT = 0
    SKIP = 1
    REPLACE = 2


@record
class ConcurrencyPolicy:
    max: int = 0
    when_full: WhenFull = WhenFull.WAIT


@record
class LaunchPlanSpec:
    workflow_id: Identifier | None = None
    default_inputs: ParameterMap | None = None
    fixed_inputs: LiteralMap | None = None
    schedule: Schedule | None = None
    notifications: tuple[Notification, ...] = ()
    max_parallelism: int = 0
    concurrency: ConcurrencyPolicy | None = None
    labels: tuple[KeyValue, ...] = ()
    settings: ExecutionSettings | None = None


class LaunchPlanState(enum.IntEnum):
    INACTIVE = 0
    ACTIVE = 1


@record
class LaunchPlanClosure:
    state: LaunchPlanState = LaunchPlanState.INACTIVE
    expected_inputs: ParameterMap | None = None
    interface: TypedInterface | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@record
class LaunchPlan:
    id: Identifier | None = None
    spec: LaunchPlanSpec | None = None
    closure: LaunchPlanClosure | None = None


def launch_plan_settings(spec: LaunchPlanSpec) -> ExecutionSettings | None:
    """The execution settings a launch plan gives: its ``settings``, with its own
    ``max_parallelism`` and ``labels`` (older fields of the spec) where those do not say."""
    settings = spec.settings or ExecutionSettings()
    if spec.max_parallelism and not settings.max_parallelism:
        settings = replace(settings, max_parallelism=spec.max_parallelism)
    if spec.labels:
        own = {kv.key for kv in settings.labels}
        settings = replace(settings, labels=settings.labels + tuple(
            kv for kv in spec.labels if kv.key not in own))
    return None if settings == ExecutionSettings() else settings
