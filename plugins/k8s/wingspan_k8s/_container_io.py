"""A container task's inputs and outputs as text files, as ``ContainerTask`` defines them.

Each input is written to ``<input_dir>/<name>`` and can be placed in the command with
``{{.inputs.<name>}}``; each output is read from ``<output_dir>/<name>``. Scalars are
plain text, files and folders are copied in (the placeholder is their path), anything
else is JSON. The pod knows only the task's literal types, so the Python type each value
takes on its way to text is read from the literal type.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

from wingspan.core.errors import UserError
from wingspan.core.model.interface import TypedInterface
from wingspan.core.model.literals import BlobDimensionality, LiteralMap, LiteralType, SimpleType
from wingspan.core.types import TransferContext, default_engine
from wingspan.core.types.files import Directory, File, file_kind

__all__ = ["collect_outputs", "input_texts", "python_type", "render_command", "stage_inputs"]

_PLACEHOLDER = re.compile(r"\{\{\s*\.(inputs\.(\w+)|inputDir|outputDir)\s*\}\}")
_SIMPLE: dict[SimpleType, Any] = {
    SimpleType.INTEGER: int, SimpleType.FLOAT: float, SimpleType.STRING: str, SimpleType.BOOLEAN: bool,
    SimpleType.DATETIME: dt.datetime, SimpleType.DURATION: dt.timedelta, SimpleType.NONE: type(None),
}


def python_type(literal_type: LiteralType | None, where: str) -> Any:
    """The Python type a value of ``literal_type`` is read as, for the kinds a text file holds."""
    if literal_type is not None:
        kind, value = literal_type.kind, literal_type.value
        if kind == "simple" and SimpleType(value) in _SIMPLE:
            return _SIMPLE[SimpleType(value)]
        if kind == "collection_type":
            return list[python_type(value, where)]  # type: ignore[misc]
        if kind == "map_value_type":
            return dict[str, python_type(value, where)]  # type: ignore[misc]
        if kind == "blob":
            return Directory if value.dimensionality == BlobDimensionality.MULTIPART else File
        if kind == "union_type":
            variants = [python_type(v, where) for v in value.variants]
            if len(variants) == 2 and type(None) in variants:
                other = next(v for v in variants if v is not type(None))
                return other | None
    raise UserError(f"{where}: a container task on Kubernetes passes scalars, lists, dicts, files and "
                    f"folders; {literal_type} is not one of them")


def _types(interface: TypedInterface | None, outputs: bool, task: str) -> dict[str, Any]:
    variables = (interface.outputs if outputs else interface.inputs) if interface else ()
    label = "output" if outputs else "input"
    return {v.name: python_type(v.type, f"container task {task!r}, {label} {v.name!r}") for v in variables}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds():g}"
    return json.dumps(value, default=str)


async def input_texts(literals: LiteralMap, interface: TypedInterface | None, transfer: TransferContext,
                      input_dir: str, task: str) -> dict[str, str]:
    """Each input as the text its placeholder stands for (files and folders: their path)."""
    types = _types(interface, False, task)
    texts: dict[str, str] = {}
    for name, py_type in types.items():
        if file_kind(py_type) is not None:
            texts[name] = f"{input_dir.rstrip('/')}/{name}"
        elif name in literals.literals:
            value = await default_engine().to_python(literals.literals[name], py_type, transfer, name=name)
            texts[name] = _text(value)
    return texts


def render_command(command: list[str] | tuple[str, ...], texts: dict[str, str], input_dir: str,
                   output_dir: str, task: str) -> list[str]:
    """The command with ``{{.inputs.x}}``, ``{{.inputDir}}`` and ``{{.outputDir}}`` replaced."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) == "inputDir":
            return input_dir
        if match.group(1) == "outputDir":
            return output_dir
        name = match.group(2)
        if name not in texts:
            raise UserError(f"container task {task!r}: the command names input {name!r}, which the task "
                            f"does not have (inputs: {sorted(texts)})")
        return texts[name]

    return [_PLACEHOLDER.sub(one, arg) for arg in command]


async def stage_inputs(literals: LiteralMap, interface: TypedInterface | None, transfer: TransferContext,
                       folder: Path, task: str) -> None:
    """Writes each input to ``folder/<name>`` (files and folders are downloaded there)."""
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a pod's own disk, before the task runs
    for name, py_type in _types(interface, False, task).items():
        if name not in literals.literals:
            continue
        value = await default_engine().to_python(literals.literals[name], py_type, transfer, name=name)
        target = folder / name
        if isinstance(value, File):
            shutil.copyfile(await value.download_async(), target)
        elif isinstance(value, Directory):
            shutil.copytree(await value.download_async(), target, dirs_exist_ok=True)
        else:
            target.write_text(_text(value))


async def collect_outputs(interface: TypedInterface | None, transfer: TransferContext, folder: Path,
                          task: str) -> LiteralMap:
    """Reads each output from ``folder/<name>`` into literals (files are uploaded)."""
    types = _types(interface, True, task)
    values: dict[str, Any] = {}
    for name, py_type in types.items():
        path = folder / name
        if not path.exists():
            raise UserError(f"container task {task!r}: the command wrote no output {name!r} (expected the "
                            f"file {{{{.outputDir}}}}/{name})")
        values[name] = _parse(path, py_type, name, task)
    return await default_engine().to_literal_map(values, types, transfer)


def _parse(path: Path, py_type: Any, name: str, task: str) -> Any:
    if (kind := file_kind(py_type)) is not None:
        return kind(str(path))
    text = path.read_text()
    try:
        if py_type is str:
            return text.rstrip("\n")
        text = text.strip()
        if py_type is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError("expected true or false")
            return text.lower() in ("true", "1")
        if py_type in (int, float):
            return py_type(text)
        if py_type is dt.datetime:
            return dt.datetime.fromisoformat(text)
        if py_type is dt.timedelta:
            return dt.timedelta(seconds=float(text))
        return json.loads(text)
    except ValueError as exc:
        raise UserError(f"container task {task!r}: output {name!r} holds {text[:100]!r}, which is not a "
                        f"{getattr(py_type, '__name__', py_type)}: {exc}") from exc
