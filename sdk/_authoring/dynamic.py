"""``@dynamic``: a task whose body builds a graph at run time from its actual inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from wingspan._authoring.entity import Entity
from wingspan._authoring.graph import GraphBuilder
from wingspan._authoring.promises import bind
from wingspan._authoring.task import PythonTask, TaskOptions
from wingspan._authoring.workflow import collect_entities, templates_of
from wingspan.core.compiler import compile_workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier, ResourceType, TypedInterface
from wingspan.core.model.workflows import Binding, DynamicJobSpec, WorkflowTemplate
from wingspan.core.types import TransferContext

__all__ = ["DynamicTask", "dynamic"]

F = TypeVar("F", bound=Callable[..., Any])


class DynamicTask(PythonTask):
    """Runs like a task; what it returns is a sub-graph that the engine then runs."""

    kind_label = "dynamic task"
    task_type = "dynamic"

    def build(self, values: dict[str, Any], constants: TransferContext | None = None
              ) -> tuple[DynamicJobSpec, dict[Identifier, Entity]]:
        """Runs the body with real values; returns the graph it made and the entities it uses.

        ``constants`` says how values the body passes on become literals; by default local
        files are referenced where they are, which suits a graph run in this process.
        """
        where = f"dynamic task {self.name!r}"
        builder = GraphBuilder(where, constants or TransferContext(reference_local_files=True))
        with builder.active():
            returned = self.fn(**values)
        if builder.capturing:
            raise CompilationError(f"{where}: a conditional was left without .then(...)")
        outputs = []
        for name, value in self.interface.unpack_outputs(returned, where).items():
            variable = self.interface.typed.output(name)
            assert variable is not None and variable.type is not None
            outputs.append(Binding(name, bind(value, self.interface.outputs[name], variable.type,
                                              f"{where}, output {name!r}")))
        entities = collect_entities(builder.nodes)
        template = WorkflowTemplate(
            id=Identifier(ResourceType.WORKFLOW, name=f"{self.name}[dynamic]"),
            interface=TypedInterface((), self.interface.typed.outputs, self.interface.typed.output_style),
            nodes=tuple(spec.to_model() for spec in builder.nodes),
            outputs=tuple(outputs),
        )
        closure = compile_workflow(template, *templates_of(entities))
        assert closure.primary is not None
        spec = DynamicJobSpec(template.nodes, template.outputs, closure.sub_workflows, closure.tasks,
                              closure.primary.connections)
        return spec, entities


@overload
def dynamic(fn: F) -> DynamicTask: ...


@overload
def dynamic(fn: None = None, **options: Any) -> Callable[[F], DynamicTask]: ...


def dynamic(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Makes a function a dynamic task: ``@dynamic`` or ``@dynamic(retries=1, ...)``.

    Its body runs when the task runs, with real input values; the tasks and workflows
    it calls become a sub-graph of the execution, visible node by node.
    """
    parsed = TaskOptions(**options)

    def decorate(func: Callable[..., Any]) -> DynamicTask:
        return DynamicTask(func, parsed)

    return decorate(fn) if fn is not None else decorate
