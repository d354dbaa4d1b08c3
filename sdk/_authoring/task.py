"""``@task``: a typed Python function that runs as one step of a workflow."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar, overload

from wingspan._authoring.code_version import code_version
from wingspan._authoring.entity import Entity
from wingspan._authoring.interface import read_interface
from wingspan._authoring.naming import entity_name
from wingspan._authoring.resources import Resources, Secret
from wingspan._authoring.workflow import run_called
from wingspan.core.errors import CompilationError
from wingspan.core.images.spec import ImageSpec, remember
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.tasks import (
    CacheSettings,
    CodeReference,
    Container,
    KeyValue,
    TaskMetadata,
    TaskTemplate,
)
from wingspan.core.model.tasks import Resources as ResourcesModel
from wingspan.core.model.workflows import TaskNode
from wingspan.core.version import VERSION

__all__ = ["PythonTask", "TaskOptions", "source_digest", "task"]

F = TypeVar("F", bound=Callable[..., Any])


def source_digest(fn: Callable[..., Any]) -> str:
    """A digest of the function's source (its bytecode when the source is not available)."""
    try:
        text = inspect.getsource(fn).encode()
    except (OSError, TypeError):
        code = fn.__code__
        text = code.co_code + repr(code.co_consts).encode()
    return hashlib.sha256(text).hexdigest()[:32]


def as_timedelta(value: timedelta | int | float | None) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


_DEFAULTS: dict[str, Any] = {
    "retries": 0, "timeout": None, "cache": False, "cache_version": "", "cache_serialize": False,
    "cache_ignore_inputs": (), "requests": None, "limits": None, "secrets": (), "image": "",
    "interruptible": False, "environment": None, "task_config": None, "docs": "", "target": "",
    "enable_deck": True, "container_image": None,
}


#: flytekit's names of options that Wingspan spells its own way
_FLYTEKIT_NAMES = {"secret_requests": "secrets", "cache_ignore_input_vars": "cache_ignore_inputs"}


class TaskOptions:
    """The options of ``@task`` (and of dynamic and container tasks), checked all at once.

    Construction never fails: every problem, unknown option names included, is reported
    by ``problems()`` together with the function's own.
    """

    retries: int
    timeout: timedelta | int | float | None
    cache: bool
    cache_version: str
    cache_serialize: bool
    cache_ignore_inputs: tuple[str, ...]
    requests: Resources | None
    limits: Resources | None
    secrets: tuple[Secret, ...]
    # a name, or an ImageSpec whose reference the template carries (``container_image``,
    # flytekit's name, is the same option)
    image: str | ImageSpec
    container_image: str | ImageSpec | None
    image_reference: str
    interruptible: bool
    environment: dict[str, str]
    task_config: Any
    docs: str
    # the task plugin that runs it on a server ("k8s"), over the deployment's task_targets
    target: str
    # flytekit's name: whether the decks the task makes are kept as its attempts' reports
    enable_deck: bool

    def __init__(self, **options: Any) -> None:
        # a flytekit name stands for ours; given with ours too, it is reported by problems()
        self.doubled = sorted(f"{theirs} and {_FLYTEKIT_NAMES[theirs]}" for theirs in options
                              if theirs in _FLYTEKIT_NAMES and _FLYTEKIT_NAMES[theirs] in options)
        options = {_FLYTEKIT_NAMES.get(name, name): value for name, value in options.items()}
        self.unknown = sorted(set(options) - set(_DEFAULTS))
        self._raw = {**_DEFAULTS, **{k: v for k, v in options.items() if k in _DEFAULTS}}
        for name, value in self._raw.items():
            setattr(self, name, value)
        # normalised only when given in the expected shape; problems() reports any other
        if isinstance(self._raw["cache_ignore_inputs"], (list, tuple)):
            self.cache_ignore_inputs = tuple(self._raw["cache_ignore_inputs"])
        if isinstance(self._raw["secrets"], (list, tuple)):
            self.secrets = tuple(self._raw["secrets"])
        if self.container_image is not None and not self.image:
            self.image = self.container_image
        # what the template carries: a spec's full reference (recorded for `wingspan build`)
        self.image_reference = (remember(self.image) if isinstance(self.image, ImageSpec)
                                else self.image if isinstance(self.image, str) else "")
        env = self._raw["environment"]
        self.environment = dict(env) if isinstance(env, Mapping) else {} if env is None else env

    def problems(self, where: str, inputs: Mapping[str, Any]) -> list[str]:
        found = []
        if self.unknown:
            found.append(f"{where}: unknown options {self.unknown}; valid options: "
                         f"{', '.join(sorted(_DEFAULTS))}")
        if self.doubled:
            found.append(f"{where}: options {', '.join(self.doubled)} are the same option (flytekit's "
                         "name and Wingspan's); give one")
        raw = self._raw
        if not isinstance(raw["cache_ignore_inputs"], (list, tuple)) or not all(
                isinstance(n, str) for n in raw["cache_ignore_inputs"]):
            found.append(f"{where}: cache_ignore_inputs takes a list of input names, "
                         f"not {raw['cache_ignore_inputs']!r}")
        if not isinstance(raw["secrets"], (list, tuple)):
            found.append(f"{where}: secrets takes a list, e.g. secrets=[Secret('group', 'key')], "
                         f"not {raw['secrets']!r}")
        if raw["environment"] is not None and not isinstance(raw["environment"], Mapping):
            found.append(f"{where}: environment takes a dict of str to str, "
                         f"not {raw['environment']!r}")
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            found.append(f"{where}: retries={self.retries!r} must be an int >= 0")
        if self.timeout is not None:
            seconds = (self.timeout.total_seconds() if isinstance(self.timeout, timedelta)
                       else self.timeout)
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
                found.append(f"{where}: timeout={self.timeout!r} must be a positive timedelta "
                             "(or seconds)")
        for flag in ("cache", "cache_serialize", "interruptible", "enable_deck"):
            if not isinstance(getattr(self, flag), bool):
                found.append(f"{where}: {flag} must be True or False")
        if not isinstance(self.cache_version, str):
            found.append(f"{where}: cache_version must be a str")
        if not isinstance(self.target, str):
            found.append(f"{where}: target must be the name of a task plugin (a str), e.g. 'k8s'")
        if (self.cache_serialize or self.cache_ignore_inputs or self.cache_version) and not self.cache:
            found.append(f"{where}: cache_version, cache_serialize and cache_ignore_inputs "
                         "need cache=True")
        for name in self.cache_ignore_inputs if isinstance(self.cache_ignore_inputs, tuple) else ():
            if name not in inputs:
                found.append(f"{where}: cache_ignore_inputs names {name!r}, which is not an input "
                             f"(inputs: {', '.join(inputs) or 'none'})")
        for label, res in (("requests", self.requests), ("limits", self.limits)):
            if res is not None and not isinstance(res, Resources):
                found.append(f"{where}: {label} must be Resources(cpu=..., mem=...)")
            elif res is not None:
                found += [f"{where}: {label}: {p}" for p in res.problems()]
        for secret in self.secrets if isinstance(self.secrets, tuple) else ():
            if not isinstance(secret, Secret):
                found.append(f"{where}: secrets must be Secret(group, key) objects, got {secret!r}")
            else:
                found += [f"{where}: {p}" for p in secret.problems()]
        if not isinstance(self.image, str | ImageSpec):
            found.append(f"{where}: image must be an image name (a str) or an ImageSpec, "
                         f"not {self.image!r}")
        if self.container_image is not None and self._raw["image"]:
            found.append(f"{where}: give image or container_image (the same option), not both")
        if isinstance(self.environment, dict) and not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.environment.items()):
            found.append(f"{where}: environment must map str to str")
        config = self.task_config
        if config is not None and not (hasattr(config, "task_type") and hasattr(config, "to_custom")):
            found.append(f"{where}: task_config {config!r} is not a plugin task config "
                         "(it needs task_type and to_custom())")
        return found


class PythonTask(Entity):
    """A decorated function; call it in a workflow to add a node, elsewhere to run it."""

    kind_label = "task"
    task_type = "python"

    def __init__(self, fn: Callable[..., Any], options: TaskOptions) -> None:
        self.fn = fn
        self.options = options
        self.name = entity_name(fn)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        problems: list[str] = []
        self.interface = read_interface(fn, "task", problems)
        problems += options.problems(f"task {self.name!r}", self.interface.inputs)
        if problems:
            raise CompilationError(problems)
        self.code_digest = source_digest(fn)
        self._template: TaskTemplate | None = None

    @property
    def id(self) -> Identifier:
        return Identifier(ResourceType.TASK, name=self.name)

    @property
    def type(self) -> str:
        config = self.options.task_config
        return str(config.task_type) if config is not None else self.task_type

    def custom(self) -> LiteralMap | None:
        config = self.options.task_config
        if config is None:
            return None
        custom = config.to_custom()
        if isinstance(custom, LiteralMap):
            return custom
        from wingspan.core.types.purity import to_literal_now

        return LiteralMap({k: to_literal_now(v, type(v), k) for k, v in custom.items()})

    @property
    def template(self) -> TaskTemplate:
        if self._template is None:
            self._template = self.build_template()
        return self._template

    def build_template(self) -> TaskTemplate:
        opts = self.options
        resources = None
        if opts.requests is not None or opts.limits is not None:
            resources = ResourcesModel(opts.requests.to_model() if opts.requests else None,
                                       opts.limits.to_model() if opts.limits else None)
        container = Container(
            image=opts.image_reference,
            env=tuple(KeyValue(k, v) for k, v in sorted(opts.environment.items())),
            resources=resources,
        )
        cache = None
        if opts.cache:
            cache = CacheSettings(True, opts.cache_version or self.cache_version(), opts.cache_serialize,
                                  opts.cache_ignore_inputs)
        metadata = TaskMetadata(opts.retries, as_timedelta(opts.timeout), cache, opts.interruptible,
                                opts.docs or inspect.cleandoc(self.fn.__doc__ or ""),
                                f"wingspan {VERSION}", opts.target)
        return TaskTemplate(
            id=self.id, type=self.type, metadata=metadata, interface=self.interface.typed,
            container=container, secrets=tuple(s.to_model() for s in opts.secrets),
            custom=self.custom(), code=CodeReference(self.fn.__module__, self.fn.__qualname__, "",
                                                     self.code_digest),
        )

    def cache_version(self) -> str:
        """The default cache version: a digest of this task's source and of the user code it
        calls (an explicit ``cache_version`` pins it instead)."""
        return code_version(self.fn)

    def task_runner(self) -> Any:
        """The task as the engine runs it in this process (a worker process asks for it too)."""
        from wingspan._runner.run import SdkResolver, SdkTaskRunner  # loaded on the first run

        return SdkTaskRunner(self, SdkResolver({}))

    def node_kind_and_target(self) -> tuple[str, Any]:
        return "task_node", TaskNode(task_id=self.id)

    def run_local(self, values: dict[str, Any]) -> Any:
        return run_called(self, values)


@overload
def task(fn: F) -> PythonTask: ...


@overload
def task(fn: None = None, **options: Any) -> Callable[[F], PythonTask]: ...


def task(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Makes a typed function a task: ``@task`` or ``@task(retries=2, cache=True, ...)``.

    Options: retries, timeout, cache, cache_version, cache_serialize, cache_ignore_inputs,
    requests, limits (Resources), secrets (Secret), image, interruptible, environment,
    task_config (a plugin's config), docs. Every problem with the function or the options
    is reported at once, here.
    """
    parsed = TaskOptions(**options)

    def decorate(func: Callable[..., Any]) -> PythonTask:
        return PythonTask(func, parsed)

    return decorate(fn) if fn is not None else decorate
