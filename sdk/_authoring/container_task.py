"""``ContainerTask``: a task that runs a command in an image instead of Python code.

Inputs are given to the command as text in its arguments (``{{.inputs.name}}``) and
as files under ``input_dir``; each output is read from the file ``output_dir/<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wingspan._authoring.entity import Entity
from wingspan._authoring.interface import PythonInterface
from wingspan._authoring.naming import caller_module
from wingspan._authoring.task import TaskOptions, as_timedelta
from wingspan._authoring.workflow import run_called
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier, ResourceType, TypedInterface, Variable
from wingspan.core.model.tasks import Container, KeyValue, TaskMetadata, TaskTemplate
from wingspan.core.model.tasks import Resources as ResourcesModel
from wingspan.core.model.workflows import TaskNode
from wingspan.core.types import UnsupportedTypeError, default_engine

__all__ = ["ContainerTask"]


class ContainerTask(Entity):
    kind_label = "container task"

    def __init__(self, name: str, image: str, command: Sequence[str], *,
                 inputs: Mapping[str, Any] | None = None, outputs: Mapping[str, Any] | None = None,
                 input_dir: str = "/var/inputs", output_dir: str = "/var/outputs",
                 **options: Any) -> None:
        self.name = name
        # where it was made, so that discovery can tell it from one imported from elsewhere
        self.defined_in = caller_module(self)
        where = f"container task {name!r}"
        problems = []
        if not name:
            problems.append("ContainerTask needs a name")
        if not image or not isinstance(image, str):
            problems.append(f"{where}: image must be a non-empty str")
        if not command or isinstance(command, str):
            problems.append(f"{where}: command must be a list of strings, e.g. ['sh', '-c', '...']")
        self.options = TaskOptions(**options)
        engine = default_engine()
        typed_in: list[Variable] = []
        typed_out: list[Variable] = []
        for label, given, out in (("input", inputs or {}, typed_in), ("output", outputs or {}, typed_out)):
            for var, py_type in given.items():
                try:
                    out.append(Variable(var, engine.literal_type(py_type, where=f"{where}, {label} {var!r}")))
                except UnsupportedTypeError as exc:
                    problems.append(str(exc))
        problems += self.options.problems(where, dict(inputs or {}))
        if problems:
            raise CompilationError(problems)
        self.image, self.command = image, tuple(command)
        self.input_dir, self.output_dir = input_dir, output_dir
        style = "none" if not outputs else "single" if len(outputs) == 1 else "tuple"
        typed = TypedInterface(tuple(typed_in), tuple(typed_out), style)
        self.interface = PythonInterface(inputs=dict(inputs or {}), outputs=dict(outputs or {}),
                                         output_style=style, typed=typed)

    @property
    def id(self) -> Identifier:
        return Identifier(ResourceType.TASK, name=self.name)

    @property
    def template(self) -> TaskTemplate:
        opts = self.options
        resources = None
        if opts.requests is not None or opts.limits is not None:
            resources = ResourcesModel(opts.requests.to_model() if opts.requests else None,
                                       opts.limits.to_model() if opts.limits else None)
        container = Container(self.image, self.command, (),
                              tuple(KeyValue(k, v) for k, v in sorted(opts.environment.items())),
                              resources, self.input_dir, self.output_dir)

        metadata = TaskMetadata(opts.retries, as_timedelta(opts.timeout), None, opts.interruptible, opts.docs,
                                target=opts.target)
        return TaskTemplate(id=self.id, type="container", metadata=metadata, interface=self.interface.typed,
                            container=container, secrets=tuple(s.to_model() for s in opts.secrets))

    def node_kind_and_target(self) -> tuple[str, Any]:
        return "task_node", TaskNode(task_id=self.id)

    def run_command(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Runs the command on this machine (local runs have no container engine)."""
        from wingspan._runner.container import run_container_command  # subprocess, on first use

        return run_container_command(self, inputs)

    def run_local(self, values: dict[str, Any]) -> Any:
        return run_called(self, values)
