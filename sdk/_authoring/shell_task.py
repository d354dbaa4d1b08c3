"""``ShellTask``: a shell script template with typed inputs and File/Directory outputs
(Flyte's spelling: ``ShellTask(name=, script=, inputs=kwtypes(...), output_locs=[...])``).

The script names inputs as ``{inputs.x}`` and outputs as ``{outputs.y}``; ``{{`` and
``}}`` stand for literal braces (``${{HOME}}``), as in Flyte, whose scripts are
``str.format`` templates. A File or Directory input is its local path, anything else
its text. Each output is found at its location (itself a template) after the script ran.
The task runs as a Python task: in this process locally, in a worker on a server.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wingspan._authoring.entity import Entity
from wingspan._authoring.interface import PythonInterface
from wingspan._authoring.naming import caller_module
from wingspan._authoring.task import TaskOptions, as_timedelta
from wingspan._authoring.workflow import run_called
from wingspan._runner.shell import placeholders
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier, ResourceType, TypedInterface, Variable
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
from wingspan.core.types import UnsupportedTypeError, default_engine, type_repr
from wingspan.core.types.files import file_kind
from wingspan.core.version import VERSION

__all__ = ["OutputLocation", "ShellTask", "kwtypes"]


def kwtypes(**types: Any) -> dict[str, Any]:
    """Names and types, in order: ``inputs=kwtypes(x=File, n=int)``."""
    return dict(types)


@dataclass(frozen=True)
class OutputLocation:
    """Where the script leaves output ``var``: a path template, relative to the task's
    working folder unless absolute, e.g. ``"{inputs.name}.tar.gz"``."""

    var: str
    var_type: Any
    location: str


class ShellTask(Entity):
    kind_label = "shell task"

    def __init__(self, name: str, script: str | None = None, *, inputs: Mapping[str, Any] | None = None,
                 output_locs: Sequence[OutputLocation] | None = None, script_file: str | None = None,
                 shell: str = "/bin/sh", debug: bool = False, **options: Any) -> None:
        self.name = name
        # where it was made: discovery tells it from one imported from elsewhere, and a worker
        # imports this module to find it
        self.defined_in = caller_module(self)
        self.shell, self.debug = shell, debug
        where = f"shell task {name!r}"
        problems: list[str] = []
        if not isinstance(name, str) or not name:
            problems.append("ShellTask needs a name, e.g. ShellTask(name='compress', script=...)")
        if (script is None) == (script_file is None):
            problems.append(f"{where}: give the script either as script='...' or as script_file='path'")
        if script_file is not None:
            try:
                script = Path(script_file).read_text()
            except OSError as exc:
                problems.append(f"{where}: cannot read script_file {script_file!r}: {exc.strerror}")
        self.script = script or ""
        self.options = TaskOptions(**options)
        engine = default_engine()
        self.locations: dict[str, str] = {}
        input_types, output_types = dict(inputs or {}), {}
        typed_in, typed_out = [], []
        for var, py_type in input_types.items():
            try:
                typed_in.append(Variable(var, engine.literal_type(py_type, where=f"{where}, input {var!r}")))
            except UnsupportedTypeError as exc:
                problems.append(str(exc))
        for loc in output_locs or ():
            if not isinstance(loc, OutputLocation):
                problems.append(f"{where}: output_locs takes OutputLocation(var=, var_type=, location=) "
                                f"objects, not {loc!r}")
                continue
            if file_kind(loc.var_type) is None:
                problems.append(f"{where}, output {loc.var!r}: a shell task's outputs are File or "
                                f"Directory (found at their location), not {type_repr(loc.var_type)}")
                continue
            output_types[loc.var] = loc.var_type
            self.locations[loc.var] = loc.location
            typed_out.append(Variable(loc.var, engine.literal_type(loc.var_type)))
        templates = [(self.script, "the script"),
                     *((loc, f"the location of output {var!r}") for var, loc in self.locations.items())]
        for template, what in templates:
            for kind, var in placeholders(template):
                known = input_types if kind == "inputs" else output_types
                if var not in known:
                    problems.append(f"{where}: {what} names {{{kind}.{var}}}, which the task does not "
                                    f"have ({kind}: {', '.join(known) or 'none'})")
        problems += self.options.problems(where, input_types)
        if problems:
            raise CompilationError(problems)
        style = "none" if not output_types else "single" if len(output_types) == 1 else "tuple"
        self.interface = PythonInterface(inputs=input_types, outputs=output_types, output_style=style,
                                         typed=TypedInterface(tuple(typed_in), tuple(typed_out), style))
        self._template: TaskTemplate | None = None

    @property
    def id(self) -> Identifier:
        return Identifier(ResourceType.TASK, name=self.name)

    @property
    def digest(self) -> str:
        """What the task does: its script, shell and output locations (its default cache version)."""
        text = "\0".join([self.shell, self.script, *(f"{k}={v}" for k, v in sorted(self.locations.items()))])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def template(self) -> TaskTemplate:
        if self._template is None:
            opts = self.options
            resources = None
            if opts.requests is not None or opts.limits is not None:
                resources = ResourcesModel(opts.requests.to_model() if opts.requests else None,
                                           opts.limits.to_model() if opts.limits else None)
            container = Container(image=opts.image_reference, resources=resources,
                                  env=tuple(KeyValue(k, v) for k, v in sorted(opts.environment.items())))
            cache = (CacheSettings(True, opts.cache_version or self.digest, opts.cache_serialize,
                                   opts.cache_ignore_inputs) if opts.cache else None)
            metadata = TaskMetadata(opts.retries, as_timedelta(opts.timeout), cache, opts.interruptible,
                                    opts.docs, f"wingspan {VERSION}", opts.target)
            self._template = TaskTemplate(
                id=self.id, type="python", metadata=metadata, interface=self.interface.typed,
                container=container, secrets=tuple(s.to_model() for s in opts.secrets),
                code=CodeReference(self.defined_in, self._attribute_name(), "", self.digest))
        return self._template

    def _attribute_name(self) -> str:
        """The module-level name this task is bound to: how a worker process finds it."""
        module = sys.modules.get(self.defined_in)
        for attribute, value in vars(module).items() if module is not None else ():
            if value is self:
                return attribute
        # a worker reports a task that is not at module level by this mark
        return f"<locals>.{self.name}"

    def node_kind_and_target(self) -> tuple[str, Any]:
        return "task_node", TaskNode(task_id=self.id)

    def run_command(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Renders the script with ``inputs`` and runs it (the engine calls this per attempt)."""
        from wingspan._runner.shell import run_shell_script  # subprocess, on first use

        return run_shell_script(self, inputs)

    def task_runner(self) -> Any:
        """The task as the engine runs it (a worker process asks for it by module and name)."""
        from wingspan._runner.run import SdkResolver, SdkTaskRunner

        return SdkTaskRunner(self, SdkResolver({}))

    def run_local(self, values: dict[str, Any]) -> Any:
        return run_called(self, values)
