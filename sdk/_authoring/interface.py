"""A function's typed interface, read from its signature and type hints."""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from typing import Any

from wingspan._authoring.naming import entity_name
from wingspan.core.model.interface import TypedInterface, Variable
from wingspan.core.model.literals import Literal
from wingspan.core.types import UnsupportedTypeError, default_engine
from wingspan.core.types.purity import to_literal_now

__all__ = ["PythonInterface", "read_interface"]

NO_DEFAULT = inspect.Parameter.empty


def _install_plugin_transformers() -> int:
    """The installed plugins' type transformers, loaded when a task's annotation names a type
    no built-in serves (``dd.DataFrame`` in a module imported before any run loaded them)."""
    from wingspan._runner.parts import local_plugins

    engine = default_engine()
    before = len(engine.transformers)
    local_plugins()
    return len(engine.transformers) - before


default_engine().before_fallback(_install_plugin_transformers)


@dataclass
class PythonInterface:
    """Inputs and outputs by name, with Python types, literal form and defaults."""

    inputs: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    # "none", "single", "tuple" or "named_tuple"
    output_style: str = "none"
    output_type: Any = None
    typed: TypedInterface = field(default_factory=TypedInterface)
    default_literals: dict[str, Literal] = field(default_factory=dict)

    def pack_outputs(self, values: dict[str, Any]) -> Any:
        """Outputs by name -> what the Python function returns."""
        match self.output_style:
            case "none":
                return None
            case "single":
                (only,) = values.values()
                return only
            case "tuple":
                return tuple(values[name] for name in self.outputs)
        return self.output_type(**values)

    def unpack_outputs(self, returned: Any, where: str) -> dict[str, Any]:
        """What the function returned -> outputs by name."""
        match self.output_style:
            case "none":
                return {}
            case "single":
                (name,) = self.outputs
                return {name: returned}
        names = list(self.outputs)
        if (self.output_style == "named_tuple" and len(names) == 1
                and not isinstance(returned, self.output_type)):
            return {names[0]: returned}  # a one-field NamedTuple returned bare, as Flyte allows
        if not isinstance(returned, tuple) or len(returned) != len(names):
            raise TypeError(f"{where} must return {len(names)} values ({', '.join(names)}), "
                            f"got {type(returned).__name__}")
        return dict(zip(names, returned, strict=True))


def _outputs(hint: Any) -> tuple[str, dict[str, Any], Any]:
    if hint is None or hint is type(None):
        return "none", {}, None
    if type(hint) is tuple:  # -> (int, str), as Flyte reads it: tuple[int, str]
        return "tuple", {f"o{i}": a for i, a in enumerate(hint)}, None
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        hints = typing.get_type_hints(hint)
        return "named_tuple", {name: hints[name] for name in hint._fields}, hint
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return "single", {"o0": hint}, None  # the type engine reports it as unsupported
        return "tuple", {f"o{i}": a for i, a in enumerate(args)}, None
    return "single", {"o0": hint}, None


def _type_hints(fn: Any) -> dict[str, Any]:
    """``typing.get_type_hints``, but a postponed ``-> (int, str)`` reads as the tuple it spells
    (get_type_hints refuses a string that evaluates to something other than a type)."""
    try:
        return typing.get_type_hints(fn, include_extras=True)  # Annotated columns of frames
    except TypeError:
        written = getattr(fn, "__annotations__", {}).get("return")
        if not isinstance(written, str):
            raise
        returned = eval(written, getattr(fn, "__globals__", {}))
        if type(returned) is not tuple:
            raise
        hints = typing.get_type_hints(_annotated({k: v for k, v in fn.__annotations__.items()
                                                  if k != "return"}), fn.__globals__,
                                   include_extras=True)
        hints["return"] = returned
        return hints


def _annotated(annotations: dict[str, Any]) -> Any:
    """Something ``typing.get_type_hints`` reads these annotations from."""

    def probe() -> None: ...

    probe.__annotations__ = annotations
    return probe


def read_interface(fn: Any, kind: str, problems: list[str]) -> PythonInterface:
    """Reads ``fn``'s interface, appending every problem found to ``problems``."""

    # named as the option checks and the compiler name it, so all problems read alike
    where = f"{kind} {entity_name(fn)!r}"
    engine = default_engine()
    try:
        hints = _type_hints(fn)
    except Exception as exc:  # an annotation that names something undefined
        problems.append(f"{where}: cannot read its type hints: {exc}")
        return PythonInterface()
    signature = inspect.signature(fn)
    interface = PythonInterface()
    inputs = []
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            problems.append(f"{where}: parameter {name!r}: *args and **kwargs are not supported; "
                            "declare each input")
            continue
        if name not in hints:
            problems.append(f"{where}: parameter {name!r} has no type annotation; add one, "
                            f"e.g. {name}: int")
            continue
        py_type = hints[name]
        try:
            lt = engine.literal_type(py_type, where=f"{where}, parameter {name!r}")
        except UnsupportedTypeError as exc:
            problems.append(str(exc))
            continue
        interface.inputs[name] = py_type
        inputs.append(Variable(name, lt))
        if param.default is not NO_DEFAULT:
            interface.defaults[name] = param.default
            try:
                interface.default_literals[name] = to_literal_now(param.default, py_type, name)
            except Exception as exc:
                problems.append(f"{where}: default of parameter {name!r}: {exc}")
    # no return annotation: no outputs, as in Flyte (what the function returns is dropped)
    style, outputs, output_type = _outputs(hints.get("return"))
    variables = []
    for name, py_type in outputs.items():
        try:
            lt = engine.literal_type(py_type, where=f"{where}, output {name!r}")
        except UnsupportedTypeError as exc:
            problems.append(str(exc))
            continue
        variables.append(Variable(name, lt))
    interface.outputs = outputs
    interface.output_style = style
    interface.output_type = output_type
    type_name = f"{output_type.__module__}.{output_type.__qualname__}" if output_type else ""
    interface.typed = TypedInterface(tuple(inputs), tuple(variables), style, type_name)
    return interface

