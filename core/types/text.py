"""Typed values from and to text: a task input given on a command line or in a file, and outputs
shown to a person."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import sys
import typing
from pathlib import Path
from typing import Any

from wingspan.core.types import type_repr
from wingspan.core.types.containers import union_variants
from wingspan.core.types.files import Directory, File, file_kind
from wingspan.core.types.frames import DataFrame
from wingspan.core.types.records import record_fields
from wingspan.core.types.untyped import is_untyped

__all__ = ["display", "parse_value"]

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def parse_value(text: str, py_type: Any, name: str) -> Any:
    """Scalars from their text, files from paths, everything else from JSON."""
    try:
        return _parse(text, py_type)
    except (ValueError, TypeError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"--{name.replace('_', '-')}: cannot read {text!r} as {type_repr(py_type)}: {exc}") from exc


def _parse(text: str, py_type: Any) -> Any:
    if py_type is str:
        return text
    if (kind := file_kind(py_type)) is not None:
        if not Path(text).exists():
            raise ValueError(f"no such {kind.__name__.lower().replace('directory', 'folder')}")
        return kind(text)
    if py_type is bytes:
        return text.encode()
    if py_type is bool:
        return _bool(text.strip().lower())
    if py_type in (int, float):
        return py_type(text)
    if py_type is dt.datetime:
        return dt.datetime.fromisoformat(text)
    if py_type is dt.date:
        return dt.date.fromisoformat(text)
    if py_type is dt.timedelta:
        return dt.timedelta(seconds=float(text))
    if isinstance(py_type, type) and issubclass(py_type, enum.Enum):
        return _enum(text, py_type)
    if py_type is decimal.Decimal:
        return _decimal(text)
    if typing.get_origin(py_type) is typing.Literal:
        return _literal(text, py_type)
    if typing.get_origin(py_type) is typing.Annotated:  # Annotated[DataFrame, {"col": int}] and such
        return _parse(text, typing.get_args(py_type)[0])
    pandas = sys.modules.get("pandas")
    if (pandas is not None and py_type is pandas.DataFrame) or py_type is DataFrame:
        return _frame_file(text, py_type)
    if _is_array(py_type) and text.endswith(".npy"):
        import numpy as np

        return np.load(text, allow_pickle=False)
    if (members := union_variants(py_type)) is not None:
        return _union(text, py_type, members)
    return from_json(json.loads(text), py_type)


def _union(text: str, py_type: Any, members: Any) -> Any:
    """JSON first (``null``, ``[1, 2]``, ``5``), then each member in order as its own text reads:
    a path for ``Optional[File]``, plain words for ``Union[int, str]``."""
    try:
        return from_json(json.loads(text), py_type)
    except (ValueError, TypeError, KeyError):
        pass
    reasons = []
    for member in members:
        if member is type(None):
            continue
        try:
            return _parse(text, member)
        except (ValueError, TypeError, KeyError) as exc:
            reasons.append(f"as {type_repr(member)}: {exc}")
    raise ValueError(f"fits none of {type_repr(py_type)} ({'; '.join(reasons)})")


def _frame_file(text: str, py_type: Any) -> Any:
    """A data frame from a local .parquet file (else CSV), for a pandas or a lazy frame input."""
    import pandas

    if not Path(text).is_file():
        raise ValueError("give the path of a .parquet or .csv file")
    reader = pandas.read_parquet if text.endswith(".parquet") else pandas.read_csv
    frame = reader(text)
    return DataFrame(frame) if py_type is DataFrame else frame


def _is_array(py_type: Any) -> bool:
    numpy = sys.modules.get("numpy")  # an annotation naming it means it is imported
    return numpy is not None and numpy.ndarray in (py_type, typing.get_origin(py_type))


def _key(text: str, py_type: Any) -> Any:
    """A dict key: JSON's keys are text, read as the declared key type (dict[int, str])."""
    return text if py_type is str or is_untyped(py_type) else _parse(text, py_type)


def _bool(text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("use true or false")


def _enum(value: Any, py_type: type[enum.Enum]) -> enum.Enum:
    try:
        return py_type[value]
    except KeyError:
        return py_type(value)


def _decimal(value: Any) -> decimal.Decimal:
    try:
        return decimal.Decimal(value)
    except decimal.InvalidOperation:
        raise ValueError("not a decimal number") from None


def _literal(value: Any, py_type: Any) -> Any:
    """One of a ``Literal[...]``'s values, matched as given or by its text (a command line's)."""
    allowed = typing.get_args(py_type)
    for choice in allowed:
        if type(value) is type(choice) and value == choice:
            return choice
    for choice in allowed:
        if isinstance(value, str) and not isinstance(choice, str) and value == str(choice):
            return choice
    raise ValueError(f"use one of {', '.join(repr(c) for c in allowed)}")


def from_json(value: Any, py_type: Any) -> Any:
    """A JSON value as ``py_type``: records from objects, enums from names, and so on."""
    if is_untyped(py_type):
        return value
    if _is_array(py_type):
        import numpy as np

        return np.asarray(value)
    if typing.get_origin(py_type) is typing.Literal:
        return _literal(value, py_type)
    if py_type is decimal.Decimal and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return _decimal(str(value))  # a JSON number by its text: 0.1 stays 0.1
    members = union_variants(py_type)
    if members is not None:
        if value is None and type(None) in members:
            return None
        for member in members:
            if member is type(None):
                continue
            try:
                return from_json(value, member)
            except (ValueError, TypeError, KeyError):
                continue
        raise ValueError(f"fits none of {type_repr(py_type)}")
    origin = typing.get_origin(py_type)
    if origin is list:
        (item,) = typing.get_args(py_type)
        return [from_json(v, item) for v in _expect(value, list)]
    if origin is tuple:  # tuple[int, ...] or tuple[int, str], from a JSON array
        args = typing.get_args(py_type)
        items = _expect(value, list)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(v, args[0]) for v in items)
        if len(items) != len(args):
            raise ValueError(f"expected {len(args)} items, got {len(items)}")
        return tuple(from_json(v, t) for v, t in zip(items, args, strict=True))
    if origin is dict:
        key, item = typing.get_args(py_type)
        return {_key(k, key): from_json(v, item) for k, v in _expect(value, dict).items()}
    if typing.get_origin(py_type) is typing.Annotated:
        return from_json(value, typing.get_args(py_type)[0])
    frame_given_by_path = isinstance(value, str) and (py_type is DataFrame or (
        "pandas" in sys.modules and py_type is sys.modules["pandas"].DataFrame))
    if py_type in (dt.datetime, dt.date, dt.timedelta) or file_kind(py_type) is not None or (
            isinstance(py_type, type) and issubclass(py_type, enum.Enum)) or frame_given_by_path:
        return _parse(str(value), py_type)
    if isinstance(py_type, type) and (dataclasses.is_dataclass(py_type) or hasattr(py_type, "model_fields")
                                      or hasattr(py_type, "_fields")):
        fields = {n: t for n, t, _ in record_fields(py_type)}
        given = _expect(value, dict)
        unknown = sorted(set(given) - set(fields))
        if unknown:
            raise ValueError(f"{type_repr(py_type)} has no fields {unknown}")
        return py_type(**{k: _field_from_json(k, v, fields[k]) for k, v in given.items()})
    if py_type is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, py_type) or (py_type is int and isinstance(value, bool)):
        raise TypeError(f"expected {type_repr(py_type)}, got {type(value).__name__}")
    return value


def _field_from_json(name: str, value: Any, py_type: Any) -> Any:
    try:
        return from_json(value, py_type)
    except (ValueError, TypeError, KeyError) as exc:
        # a ValueError whatever was raised: type(exc)(text) fails for an error whose constructor
        # takes other arguments (a record's own check may raise one), hiding its message
        raise ValueError(f"field {name!r}: {exc}") from None


def _expect(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"expected a JSON {'array' if kind is list else 'object'}")
    return value


def display(value: Any) -> Any:
    """A JSON-friendly form of an output, for printing."""
    if isinstance(value, (File, Directory)):
        return value.path
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (dt.datetime, dt.date, dt.timedelta)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, list):
        return [display(v) for v in value]
    if isinstance(value, dict):
        return {k: display(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: display(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return display(value.model_dump())
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return display(value._asdict())
    if type(value).__name__ in ("DataFrame", "Table"):
        return str(value)
    if type(value).__name__ == "ndarray" and hasattr(value, "tolist"):
        return value.tolist()
    return value
