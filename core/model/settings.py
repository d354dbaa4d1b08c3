"""Execution settings (Flyte's matchable attributes), their one precedence, and how the
resolved ones reach the tasks of an execution.

A value may be set at several levels; the most specific that sets it wins:

    task > execution > launch plan > project-domain > project > deployment

(the execution level is what a create request asks for itself; the deployment's are the
settings stored for project ``*``). :func:`resolve` merges the levels from the launch plan
down and says where each value came from; :func:`apply_to_tasks` then gives each task of the
closure what it does not set itself (default resources, interruptible) and caps its
resources at the maximum.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction

from wingspan.core.errors import InvalidArgumentError
from wingspan.core.model.record import record, replace
from wingspan.core.model.tasks import Container, KeyValue, Resources, ResourceSet, TaskTemplate
from wingspan.core.model.workflows import CompiledWorkflowClosure

__all__ = [
    "DEPLOYMENT",
    "LEVELS",
    "NAMES",
    "ExecutionQueue",
    "ExecutionSettings",
    "SettingSource",
    "Toggle",
    "apply_to_tasks",
    "check_settings",
    "items",
    "quantity",
    "resolve",
    "with_items",
]

#: the project whose settings are the deployment's
DEPLOYMENT = "*"
#: the levels an execution's settings come from, most specific first (tasks come before all)
LEVELS = ("execution", "launch plan", "project-domain", "project", "deployment")
_RESOURCE_FIELDS = ("cpu", "memory", "gpu", "ephemeral_storage")


class Toggle(enum.IntEnum):
    UNSET = 0
    ON = 1
    OFF = 2


@record
class ExecutionQueue:
    name: str = ""
    max: int = 0


@record
class ExecutionSettings:
    default_resources: Resources | None = None
    max_resources: ResourceSet | None = None
    python_target: str = ""
    labels: tuple[KeyValue, ...] = ()
    annotations: tuple[KeyValue, ...] = ()
    max_parallelism: int = 0
    interruptible: Toggle = Toggle.UNSET
    service_account: str = ""
    namespace_template: str = ""
    queue: ExecutionQueue | None = None


@record
class SettingSource:
    name: str = ""
    level: str = ""


_SCALARS = ("python_target", "max_parallelism", "interruptible", "service_account", "namespace_template",
            "queue")


def resolve(levels: Sequence[tuple[str, ExecutionSettings | None]]
            ) -> tuple[ExecutionSettings, tuple[SettingSource, ...]]:
    """The settings of ``levels`` (``(level name, settings)``, most specific first) merged, and
    where each value set came from. Scalars come whole from the first level that sets them;
    labels and annotations key by key; resources resource by resource."""
    chosen: dict[str, object] = {}
    sources: list[SettingSource] = []
    for name in _SCALARS:
        for level, settings in levels:
            value = getattr(settings, name) if settings is not None else None
            if value:  # 0, "", UNSET and None leave it to the next level
                chosen[name] = value
                sources.append(SettingSource(name, level))
                break
    for name in ("labels", "annotations"):
        merged: dict[str, str] = {}
        for level, settings in reversed(levels):  # least specific first: the specific overwrite
            for kv in getattr(settings, name) if settings is not None else ():
                merged[kv.key] = kv.value
                sources = [s for s in sources if s.name != f"{name}.{kv.key}"]
                sources.append(SettingSource(f"{name}.{kv.key}", level))
        chosen[name] = tuple(KeyValue(k, v) for k, v in sorted(merged.items()))
    defaults, source_names = _resources(levels, "default_resources")
    maximum, max_names = _resource_set(levels, "max_resources", lambda s: s.max_resources)
    sources += source_names + max_names
    resolved = ExecutionSettings(default_resources=defaults, max_resources=maximum, **chosen)  # type: ignore[arg-type]
    return resolved, tuple(sorted(sources, key=lambda s: s.name))


def _resources(levels: Sequence[tuple[str, ExecutionSettings | None]], name: str
               ) -> tuple[Resources | None, list[SettingSource]]:
    requests, found = _resource_set(levels, f"{name}.requests",
                                    lambda s: s.default_resources.requests if s.default_resources else None)
    limits, more = _resource_set(levels, f"{name}.limits",
                                 lambda s: s.default_resources.limits if s.default_resources else None)
    if requests is None and limits is None:
        return None, []
    return Resources(requests, limits), found + more


def _resource_set(levels: Sequence[tuple[str, ExecutionSettings | None]], name: str, pick: object
                  ) -> tuple[ResourceSet | None, list[SettingSource]]:
    values: dict[str, str] = {}
    sources = []
    for field in _RESOURCE_FIELDS:
        for level, settings in levels:
            found = pick(settings) if settings is not None else None  # type: ignore[operator]
            if found is not None and getattr(found, field):
                values[field] = getattr(found, field)
                sources.append(SettingSource(f"{name}.{field}", level))
                break
    return (ResourceSet(**values) if values else None), sources


def check_settings(settings: ExecutionSettings | None, where: str) -> None:
    """Raises InvalidArgumentError naming each bad value (a resource that is no quantity, a
    queue without a name or a limit, a namespace template with an unknown placeholder)."""
    if settings is None:
        return
    problems = []
    sets = []
    if settings.default_resources is not None:
        sets += [("default_resources.requests", settings.default_resources.requests),
                 ("default_resources.limits", settings.default_resources.limits)]
    sets.append(("max_resources", settings.max_resources))
    for name, found in sets:
        for field in _RESOURCE_FIELDS:
            text = getattr(found, field) if found is not None else ""
            if text and quantity(text) is None:
                problems.append(f"{name}.{field} {text!r} is not a quantity (e.g. 500m, 2, 1.5, 512Mi, 4Gi)")
    queue = settings.queue
    if queue is not None and (not queue.name or queue.max <= 0):
        problems.append("queue needs a name and a max above 0")
    unknown = set(re.findall(r"{([^}]*)}", settings.namespace_template)) - {"project", "domain"}
    if unknown:
        problems.append(f"namespace_template {settings.namespace_template!r}: unknown placeholder(s) "
                        f"{', '.join(sorted(unknown))}; use {{project}} and {{domain}}")
    if problems:
        raise InvalidArgumentError(f"{where}: " + "; ".join(problems))


_SUFFIXES: dict[str, int | Fraction] = {
    "": 1, "m": Fraction(1, 1000), "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)([a-zA-Z]{0,2})")


def quantity(text: str) -> Fraction | None:
    """A Kubernetes quantity's value (``500m`` -> 1/2, ``1Gi`` -> 2**30), None if it is none."""
    found = _QUANTITY.fullmatch(text.strip())
    if found is None or found.group(2) not in _SUFFIXES:
        return None
    return Fraction(found.group(1)) * _SUFFIXES[found.group(2)]


def apply_to_tasks(closure: CompiledWorkflowClosure, settings: ExecutionSettings | None
                   ) -> CompiledWorkflowClosure:
    """The closure with each task given the resolved defaults it does not set itself, capped at
    the maximum, and made interruptible when the settings say so (a task that is interruptible
    stays so)."""
    if settings is None or (settings.default_resources is None and settings.max_resources is None
                            and settings.interruptible != Toggle.ON):
        return closure
    tasks = tuple(replace(t, template=_task(t.template, settings)) if t.template else t
                  for t in closure.tasks)
    return replace(closure, tasks=tasks)


def _task(template: TaskTemplate, settings: ExecutionSettings) -> TaskTemplate:
    container = template.container or Container()
    own = container.resources or Resources()
    defaults = settings.default_resources or Resources()
    requests = _capped(_filled(own.requests, defaults.requests), settings.max_resources)
    limits = _capped(_filled(own.limits, defaults.limits), settings.max_resources)
    if requests is not None or limits is not None:
        template = replace(
            template, container=replace(container, resources=Resources(requests, limits)))
    if settings.interruptible == Toggle.ON and template.metadata is not None:
        template = replace(template, metadata=replace(template.metadata,
                                                                              interruptible=True))
    return template


def _filled(own: ResourceSet | None, default: ResourceSet | None) -> ResourceSet | None:
    if default is None:
        return own
    own = own or ResourceSet()
    return ResourceSet(**{f: getattr(own, f) or getattr(default, f) for f in _RESOURCE_FIELDS})


def _capped(found: ResourceSet | None, maximum: ResourceSet | None) -> ResourceSet | None:
    if found is None or maximum is None:
        return found
    values = {}
    for field in _RESOURCE_FIELDS:
        value, cap = getattr(found, field), getattr(maximum, field)
        wanted, most = quantity(value) if value else None, quantity(cap) if cap else None
        values[field] = cap if wanted is not None and most is not None and wanted > most else value
    return ResourceSet(**values)


def items(settings: ExecutionSettings | None) -> dict[str, str]:
    """Every value ``settings`` sets, as text, by its name (the names of :class:`SettingSource`
    and of :func:`with_items`): ``max_parallelism``, ``labels.team``, ``max_resources.cpu``..."""
    found: dict[str, str] = {}
    if settings is None:
        return found
    for part in ("requests", "limits"):
        chosen = getattr(settings.default_resources, part) if settings.default_resources else None
        for field in _RESOURCE_FIELDS:
            if chosen is not None and getattr(chosen, field):
                found[f"default_resources.{part}.{field}"] = getattr(chosen, field)
    for field in _RESOURCE_FIELDS:
        if settings.max_resources is not None and getattr(settings.max_resources, field):
            found[f"max_resources.{field}"] = getattr(settings.max_resources, field)
    for name in ("python_target", "service_account", "namespace_template"):
        if getattr(settings, name):
            found[name] = getattr(settings, name)
    if settings.max_parallelism:
        found["max_parallelism"] = str(settings.max_parallelism)
    if settings.interruptible != Toggle.UNSET:
        found["interruptible"] = "yes" if settings.interruptible == Toggle.ON else "no"
    if settings.queue is not None:
        found["queue"] = f"{settings.queue.name}:{settings.queue.max}"
    for name in ("labels", "annotations"):
        for kv in getattr(settings, name):
            found[f"{name}.{kv.key}"] = kv.value
    return dict(sorted(found.items()))


#: the names :func:`with_items` takes (besides ``labels.KEY`` and ``annotations.KEY``)
NAMES = (*(f"default_resources.{p}.{f}" for p in ("requests", "limits") for f in _RESOURCE_FIELDS),
         *(f"max_resources.{f}" for f in _RESOURCE_FIELDS), "python_target", "max_parallelism",
         "interruptible", "service_account", "namespace_template", "queue")
_YES, _NO = frozenset({"yes", "true", "on", "1"}), frozenset({"no", "false", "off", "0"})


def with_items(settings: ExecutionSettings | None, changes: Mapping[str, object]) -> ExecutionSettings:
    """``settings`` with each named value set (text, or an int or bool where one fits) or
    unset (None); every unknown name and bad value is reported at once."""
    values = items(settings)
    problems = []
    for name, value in changes.items():
        head = name.partition(".")[0]
        if name not in NAMES and not (head in ("labels", "annotations") and name.count(".") >= 1
                                      and name.partition(".")[2]):
            problems.append(f"unknown setting {name!r}; settings: {', '.join(NAMES)}, labels.KEY, "
                            f"annotations.KEY")
        elif value is None:
            values.pop(name, None)
        elif isinstance(value, bool):
            values[name] = "yes" if value else "no"
        else:
            values[name] = str(value)
    built = ExecutionSettings()
    try:
        built = _built(values)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    if problems:
        raise InvalidArgumentError("; ".join(problems))
    check_settings(built, "settings")
    return built


def _built(values: Mapping[str, str]) -> ExecutionSettings:
    def resource_set(prefix: str) -> ResourceSet | None:
        found = {f: values.get(f"{prefix}.{f}", "") for f in _RESOURCE_FIELDS}
        return ResourceSet(**found) if any(found.values()) else None

    requests, limits = resource_set("default_resources.requests"), resource_set("default_resources.limits")
    parallelism = values.get("max_parallelism", "0")
    if not parallelism.isdigit():
        raise InvalidArgumentError(f"max_parallelism {parallelism!r} is not a whole number")
    interruptible = values.get("interruptible", "").lower()
    if interruptible and interruptible not in _YES | _NO:
        raise InvalidArgumentError(f"interruptible {interruptible!r}: say yes or no")
    queue = None
    if "queue" in values:
        name, _, most = values["queue"].rpartition(":")
        if not name or not most.isdigit():
            raise InvalidArgumentError(f"queue {values['queue']!r}: write NAME:MAX (e.g. gpu:2)")
        queue = ExecutionQueue(name, int(most))
    return ExecutionSettings(
        default_resources=Resources(requests, limits) if requests or limits else None,
        max_resources=resource_set("max_resources"),
        python_target=values.get("python_target", ""),
        labels=tuple(KeyValue(k.partition(".")[2], v) for k, v in values.items() if k.startswith("labels.")),
        annotations=tuple(KeyValue(k.partition(".")[2], v) for k, v in values.items()
                          if k.startswith("annotations.")),
        max_parallelism=int(parallelism),
        interruptible=Toggle.ON if interruptible in _YES else Toggle.OFF if interruptible else Toggle.UNSET,
        service_account=values.get("service_account", ""),
        namespace_template=values.get("namespace_template", ""),
        queue=queue,
    )
