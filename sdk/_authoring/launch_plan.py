"""Launch plans: a workflow with default and fixed inputs, a schedule, notifications, limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from wingspan._authoring.entity import Entity
from wingspan._authoring.interface import PythonInterface
from wingspan._authoring.naming import caller_module
from wingspan._authoring.workflow import Workflow
from wingspan.core.compiler.closure import LaunchPlanInterface
from wingspan.core.errors import CompilationError, InvalidArgumentError
from wingspan.core.model import launch_plans as model
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import Identifier, Parameter, ParameterMap, ResourceType, Variable
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.settings import ExecutionSettings, with_items
from wingspan.core.model.tasks import KeyValue
from wingspan.core.model.workflows import WorkflowNode
from wingspan.core.plugins.notifier import template_problems
from wingspan.core.types.purity import to_literal_now

if TYPE_CHECKING:
    from wingspan._runner.run import SignalAnswers

__all__ = ["ConcurrencyPolicy", "CronSchedule", "Email", "FixedRate", "LaunchPlan", "Notify", "PagerDuty",
           "Slack", "Webhook"]

Phase = Literal["succeeded", "failed", "timed_out", "aborted"]
# as flytekit users write them
CapitalPhase = Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
TERMINAL: tuple[Phase, ...] = ("succeeded", "failed", "timed_out", "aborted")
_PHASES = {"succeeded": WorkflowPhase.SUCCEEDED, "failed": WorkflowPhase.FAILED,
           "timed_out": WorkflowPhase.TIMED_OUT, "aborted": WorkflowPhase.ABORTED}
_CATCH_UP = {"latest": model.CatchUpPolicy.LATEST, "all": model.CatchUpPolicy.ALL,
             "none": model.CatchUpPolicy.NONE}


@dataclass(frozen=True)
class CronSchedule:
    """Runs at each tick of a cron expression (``"0 * * * *"``, ``"@hourly"``) in ``timezone``."""

    expression: str = ""
    kickoff_time_input_arg: str | None = None
    timezone: str = "UTC"
    catch_up: Literal["latest", "all", "none"] = "latest"
    # flytekit's names of the expression: CronSchedule(schedule="0 1 * * *") or cron_expression=
    schedule: InitVar[str | None] = field(default=None, kw_only=True)
    cron_expression: InitVar[str | None] = field(default=None, kw_only=True)

    def __post_init__(self, schedule: str | None, cron_expression: str | None) -> None:
        given = [text for text in (self.expression, schedule, cron_expression) if text]
        if len(given) == 1:
            object.__setattr__(self, "expression", given[0])
        elif given:  # problems() reports it when the launch plan is made
            object.__setattr__(self, "_doubled", True)

    def problems(self) -> list[str]:
        found = []
        if getattr(self, "_doubled", False):
            return ["CronSchedule: give the cron expression once (as expression, schedule= or "
                    "cron_expression=)"]
        from croniter import croniter

        if not croniter.is_valid(self.expression):
            found.append(f"CronSchedule({self.expression!r}) is not a valid cron expression "
                         "(five fields, e.g. '*/5 * * * *', or an alias such as '@hourly')")
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(self.timezone)
        except (KeyError, ValueError, zoneinfo.ZoneInfoNotFoundError):
            found.append(f"CronSchedule timezone {self.timezone!r} is not a known IANA time zone")
        if self.catch_up not in _CATCH_UP:
            found.append(f"catch_up={self.catch_up!r} is not one of {sorted(_CATCH_UP)}")
        return found

    def to_model(self) -> model.Schedule:
        return model.Schedule("cron", model.CronSchedule(self.expression, self.timezone),
                              self.kickoff_time_input_arg or "", _CATCH_UP[self.catch_up])


@dataclass(frozen=True)
class FixedRate:
    """Runs every ``interval``."""

    interval: timedelta
    kickoff_time_input_arg: str | None = None
    catch_up: Literal["latest", "all", "none"] = "latest"

    def problems(self) -> list[str]:
        found = []
        if not isinstance(self.interval, timedelta) or self.interval <= timedelta(0):
            found.append(f"FixedRate({self.interval!r}): give a positive timedelta")
        if self.catch_up not in _CATCH_UP:
            found.append(f"catch_up={self.catch_up!r} is not one of {sorted(_CATCH_UP)}")
        return found

    def to_model(self) -> model.Schedule:
        return model.Schedule("rate", model.FixedRate(self.interval),
                              self.kickoff_time_input_arg or "", _CATCH_UP[self.catch_up])


def _phase_name(phase: Any) -> Any:
    # "FAILED", as flytekit users write phases, is "failed"
    return phase.lower() if isinstance(phase, str) else phase


@dataclass(frozen=True)
class _Notification:
    # keyword-only, so that the target comes first: Email(["ops@example.com"])
    phases: Sequence[Phase | CapitalPhase] = field(default=TERMINAL, kw_only=True)
    # the message: {{ execution }}, {{ phase }}, {{ link }} (its console page), ... filled in
    template: str = field(default="", kw_only=True)
    kind: ClassVar[str] = ""

    def problems(self) -> list[str]:
        name = type(self).__name__
        found = self.target_problems()
        if not isinstance(self.template, str):
            found.append(f"{name}: template must be text, not {self.template!r}")
        else:
            found += [f"{name}: {p}" for p in template_problems(self.template)]
        if isinstance(self.phases, str):
            found.append(f"{name}: phases must be a list, e.g. phases=['failed'], not a str")
        elif bad := [p for p in self.phases if _phase_name(p) not in _PHASES]:
            found.append(f"{name}: phases {bad} are not among {list(_PHASES)}")
        return found

    def target_problems(self) -> list[str]:
        return []

    def target(self) -> Any:
        raise NotImplementedError

    def to_model(self) -> model.Notification:
        phases = tuple(_PHASES[_phase_name(p)] for p in self.phases)
        return model.Notification(phases, self.kind, self.target(), self.template)


@dataclass(frozen=True)
class Email(_Notification):
    recipients: Sequence[str] = ()
    # flytekit's name of the recipients
    recipients_email: InitVar[Sequence[str] | None] = field(default=None, kw_only=True)
    kind: ClassVar[str] = "email"

    def __post_init__(self, recipients_email: Sequence[str] | None) -> None:
        if recipients_email is None:
            return
        if self.recipients:  # target_problems() reports it when the launch plan is made
            object.__setattr__(self, "_doubled", True)
        else:
            object.__setattr__(self, "recipients", recipients_email)

    def target_problems(self) -> list[str]:
        if getattr(self, "_doubled", False):
            return ["Email: give the recipients once (as recipients or recipients_email=)"]
        if isinstance(self.recipients, str) or not self.recipients:
            return [f"Email(recipients={self.recipients!r}): give a list of addresses, "
                    "e.g. Email(['ops@example.com'])"]
        return []

    def target(self) -> Any:
        return model.EmailNotification(tuple(self.recipients))


@dataclass(frozen=True)
class Slack(_Notification):
    webhook_url: str = ""
    kind: ClassVar[str] = "slack"

    def target_problems(self) -> list[str]:
        return [] if self.webhook_url else ["Slack needs the webhook_url of the channel"]

    def target(self) -> Any:
        return model.SlackNotification(self.webhook_url)


@dataclass(frozen=True)
class Webhook(_Notification):
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    kind: ClassVar[str] = "webhook"

    def target_problems(self) -> list[str]:
        return [] if self.url else ["Webhook needs a url to post to"]

    def target(self) -> Any:
        return model.WebhookNotification(self.url, tuple(KeyValue(k, v)
                                                          for k, v in sorted(self.headers.items())))


@dataclass(frozen=True)
class Notify(_Notification):
    """A notification of a kind a notifier plugin declares (``Notify("teams", {"url": ...})``),
    with its settings as plain values; the server refuses a kind it has no notifier for, or
    settings the kind's schema does not take, when the launch plan or execution is registered."""

    notifier: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "plugin"

    def target_problems(self) -> list[str]:
        found = [] if isinstance(self.notifier, str) and self.notifier else [
            f"Notify needs the kind of notifier, e.g. Notify('pagerduty', {{...}}), not {self.notifier!r}"]
        for key, value in dict(self.settings).items():
            try:
                to_literal_now(value, type(value), key)
            except Exception:
                found.append(f"Notify({self.notifier!r}): setting {key!r} must be a plain value "
                             f"(str, number, bool, list, dict), not {value!r}")
        return found

    def target(self) -> Any:
        given = sorted(dict(self.settings).items())
        settings = LiteralMap({k: to_literal_now(v, type(v), k) for k, v in given})
        return model.PluginNotification(self.notifier, settings)


def PagerDuty(routing_key: str, *, severity: str = "error", phases: Sequence[Phase] = TERMINAL,
              template: str = "", **settings: Any) -> Notify:
    """A PagerDuty alert (Events API v2) to the service whose integration key is ``routing_key``;
    ``severity`` is a failure's (critical, error, warning, info)."""
    return Notify("pagerduty", {"routing_key": routing_key, "severity": severity, **settings}, phases=phases,
                  template=template)


@dataclass(frozen=True)
class ConcurrencyPolicy:
    """At most ``max`` running executions; when full, ``wait``, ``skip`` or ``replace`` the oldest."""

    max: int = 1
    when_full: Literal["wait", "skip", "replace"] = "wait"

    def problems(self) -> list[str]:
        found = []
        if not isinstance(self.max, int) or self.max < 1:
            found.append(f"ConcurrencyPolicy(max={self.max!r}): max must be an int >= 1")
        if self.when_full not in ("wait", "skip", "replace"):
            found.append(f"ConcurrencyPolicy(when_full={self.when_full!r}): one of wait, skip, replace")
        return found

    def to_model(self) -> model.ConcurrencyPolicy:
        return model.ConcurrencyPolicy(self.max, {"wait": model.WhenFull.WAIT, "skip": model.WhenFull.SKIP,
                                                  "replace": model.WhenFull.REPLACE}[self.when_full])


class LaunchPlan(Entity):
    """A named way to launch a workflow; ``LaunchPlan.get_or_create(wf, ...)``."""

    kind_label = "launch plan"
    _registry: ClassVar[dict[str, LaunchPlan]] = {}
    defined_in = ""

    def __init__(self, workflow: Workflow, name: str, settings: dict[str, Any]) -> None:
        self.workflow = workflow
        self.name = name
        self.settings = settings
        where = f"launch plan {name!r}"
        wf_inputs = workflow.interface.inputs
        defaults: dict[str, Any] = settings["default_inputs"]
        fixed: dict[str, Any] = settings["fixed_inputs"]
        problems = []
        for label, given in (("default_inputs", defaults), ("fixed_inputs", fixed)):
            for key in given:
                if key not in wf_inputs:
                    problems.append(f"{where}: {label} names {key!r}, which workflow "
                                    f"{workflow.name!r} does not take (inputs: {', '.join(wf_inputs)})")
        for key in sorted(set(defaults) & set(fixed)):
            problems.append(f"{where}: input {key!r} is both a default and fixed; pick one")
        self.execution_settings: ExecutionSettings | None = None
        if settings["execution_settings"]:
            try:
                self.execution_settings = with_items(None, settings["execution_settings"])
            except InvalidArgumentError as exc:
                problems.append(f"{where}: execution_settings: {exc}")
        self.default_literals: dict[str, Any] = {}
        self.fixed_literals: dict[str, Any] = {}
        for label, given, out in (("default", defaults, self.default_literals),
                                  ("fixed", fixed, self.fixed_literals)):
            for key, value in given.items():
                if key in wf_inputs:
                    try:
                        out[key] = to_literal_now(value, wf_inputs[key], key)
                    except Exception as exc:
                        problems.append(f"{where}: {label} input {key!r}: {exc}")
        schedule = settings["schedule"]
        extras: list[Any] = [schedule, settings["concurrency"], *settings["notifications"]]
        for item in extras:
            if item is not None:
                problems += [f"{where}: {p}" for p in item.problems()]
        if schedule is not None and schedule.kickoff_time_input_arg:
            arg = schedule.kickoff_time_input_arg
            if wf_inputs.get(arg) is not datetime:
                problems.append(f"{where}: kickoff_time_input_arg {arg!r} must name a datetime input "
                                f"of workflow {workflow.name!r}")
        if problems:
            raise CompilationError(problems)
        all_defaults = {**workflow.interface.default_literals, **self.default_literals}
        self.python_defaults = {**workflow.interface.defaults, **defaults}
        self.fixed = dict(fixed)
        typed = workflow.interface.typed
        self.interface = PythonInterface(
            inputs={k: v for k, v in wf_inputs.items() if k not in fixed},
            outputs=workflow.interface.outputs,
            output_style=workflow.interface.output_style,
            output_type=workflow.interface.output_type,
            typed=type(typed)(tuple(v for v in typed.inputs if v.name not in fixed), typed.outputs,
                              typed.output_style, typed.output_type_name),
        )
        self._optional = set(all_defaults)
        self._all_defaults = all_defaults
        self.entities = {workflow.id: workflow, **workflow.entities}

    @classmethod
    def get_or_create(cls, workflow: Workflow, name: str | None = None, *,
                      default_inputs: Mapping[str, Any] | None = None,
                      fixed_inputs: Mapping[str, Any] | None = None,
                      schedule: CronSchedule | FixedRate | None = None,
                      notifications: Sequence[Email | Slack | Webhook | Notify] = (),
                      max_parallelism: int = 0,
                      concurrency: ConcurrencyPolicy | None = None,
                      execution_settings: Mapping[str, Any] | None = None,
                      labels: Mapping[str, str] | None = None,
                      annotations: Mapping[str, str] | None = None) -> LaunchPlan:
        """The launch plan ``name`` (the workflow's name when omitted), created on first use.

        ``execution_settings`` are what its executions run with, above the project's settings
        and below each task's own, by name: ``{"queue": "gpu:2", "labels.team": "ml",
        "interruptible": True, "default_resources.requests.cpu": "500m", ...}`` (``wingspan
        project settings --help`` lists the names).

        ``labels`` and ``annotations`` (flytekit's arguments) are the settings ``labels.KEY`` and
        ``annotations.KEY``.

        Asking again with the same settings returns the same plan; other settings under an
        existing name are an error.
        """
        if not isinstance(workflow, Workflow):
            raise CompilationError(f"LaunchPlan.get_or_create takes a @workflow, not {workflow!r}")
        named = {**{f"labels.{key}": value for key, value in (labels or {}).items()},
                 **{f"annotations.{key}": value for key, value in (annotations or {}).items()}}
        if doubled := sorted(set(named) & set(execution_settings or {})):
            raise CompilationError(f"launch plan {name or workflow.name!r}: {', '.join(doubled)} given both "
                                   "in labels=/annotations= and in execution_settings; give each once")
        execution_settings = {**named, **(execution_settings or {})}
        settings = {"default_inputs": dict(default_inputs or {}), "fixed_inputs": dict(fixed_inputs or {}),
                    "schedule": schedule, "notifications": tuple(notifications),
                    "max_parallelism": max_parallelism, "concurrency": concurrency,
                    "execution_settings": dict(execution_settings or {})}
        plan_name = name or workflow.name
        existing = cls._registry.get(plan_name)
        if existing is not None:
            if existing.workflow is workflow and existing.settings == settings:
                return existing
            if existing.workflow.name != workflow.name or existing.settings != settings:
                raise CompilationError(f"launch plan {plan_name!r} already exists with other settings; "
                                       "give this one another name")
        plan = cls(workflow, plan_name, settings)
        # where the plan was made, so that discovery can tell it from one imported from elsewhere
        plan.defined_in = caller_module()
        cls._registry[plan_name] = plan
        return plan

    @property
    def id(self) -> Identifier:
        return Identifier(ResourceType.LAUNCH_PLAN, name=self.name)

    def match_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        fixed = sorted(set(kwargs) & set(self.fixed))
        if fixed:
            raise TypeError(f"launch plan {self.name!r} fixes inputs {fixed}; they cannot be overridden")
        return super().match_arguments(args, kwargs)

    def optional_inputs(self) -> set[str]:
        return self._optional

    def node_kind_and_target(self) -> tuple[str, Any]:
        return "workflow_node", WorkflowNode("launch_plan_id", self.id)

    def compiler_interface(self) -> LaunchPlanInterface:
        return LaunchPlanInterface(self.workflow.interface.typed, frozenset(self._optional),
                                   frozenset(self.fixed))

    def run_local(self, values: dict[str, Any], signals: SignalAnswers | None = None) -> Any:
        return self.workflow.run_local(model.run_inputs(self.name, self.python_defaults, values, self.fixed),
                                       signals)

    def run(self, *args: Any, signals: SignalAnswers | None = None, **kwargs: Any) -> Any:
        """Runs the launch plan locally as calling it does, answering its workflow's gates from
        ``signals`` (see Workflow.run)."""
        return self.run_local(self.match_arguments(args, kwargs), signals)

    def spec(self) -> model.LaunchPlanSpec:
        s = self.settings
        wf_typed = {v.name: v for v in self.workflow.interface.typed.inputs}
        defaults = ParameterMap(tuple(
            Parameter(Variable(name, wf_typed[name].type), self._all_defaults.get(name),
                      name not in self._all_defaults)
            for name in self.interface.inputs
        ))
        return model.LaunchPlanSpec(
            workflow_id=self.workflow.id, default_inputs=defaults,
            fixed_inputs=LiteralMap(dict(self.fixed_literals)),
            schedule=s["schedule"].to_model() if s["schedule"] else None,
            notifications=tuple(n.to_model() for n in s["notifications"]),
            max_parallelism=s["max_parallelism"],
            concurrency=s["concurrency"].to_model() if s["concurrency"] else None,
            settings=self.execution_settings,
        )
