"""Round trips through the type engine and the wire, and a deep check that nothing changed.

``round_trip`` converts a value to a literal, encodes it to IDL bytes, decodes them
and converts back; ``assert_exact`` then requires the same value with exactly the
same type at every level: an int stays an int inside a list inside a record, a
float keeps its sign and NaN-ness, a datetime keeps its wall time, offset and zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import zoneinfo
from pathlib import Path
from typing import Any

import pydantic

from wingspan.core.model import codec
from wingspan.core.model.literals import Literal
from wingspan.core.types import TransferContext, TypeEngine, default_engine
from wingspan.core.types.files import Directory, File
from wingspan.core.types.frames import DataFrame


async def round_trip(value: Any, py_type: Any, ctx: TransferContext | None = None,
                     engine: TypeEngine | None = None) -> tuple[Any, Literal]:
    """(the value after a trip through a literal and its bytes, the literal)."""
    engine = engine or default_engine()
    literal = await engine.to_literal(value, py_type, ctx, name="v")
    decoded = codec.decode(Literal, codec.encode(literal))
    back = await engine.to_python(decoded, py_type, ctx, name="v")
    return back, literal


def assert_exact(actual: Any, expected: Any, path: str = "v") -> None:
    """Fails, naming the place, unless ``actual`` equals ``expected`` with the same types."""
    assert type(actual) is type(expected), (
        f"{path}: type {type(actual).__qualname__}, expected {type(expected).__qualname__}"
    )
    if isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(actual), f"{path}: {actual!r}, expected nan"
        else:
            assert actual == expected and math.copysign(1, actual) == math.copysign(1, expected), (
                f"{path}: {actual!r}, expected {expected!r}"
            )
    elif isinstance(expected, dt.datetime):
        _assert_same_datetime(actual, expected, path)
    elif isinstance(expected, enum.Enum):
        assert actual is expected, f"{path}: {actual!r}, expected {expected!r}"
    elif isinstance(expected, list | tuple):  # NamedTuples included
        assert len(actual) == len(expected), f"{path}: {len(actual)} items, expected {len(expected)}"
        names = getattr(expected, "_fields", None)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_exact(a, e, f"{path}.{names[i]}" if names else f"{path}[{i}]")
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), f"{path}: keys {list(actual)}, expected {list(expected)}"
        for key, e in expected.items():
            assert_exact(actual[key], e, f"{path}[{key!r}]")
    elif dataclasses.is_dataclass(expected):
        for field in dataclasses.fields(expected):
            assert_exact(getattr(actual, field.name), getattr(expected, field.name),
                         f"{path}.{field.name}")
    elif isinstance(expected, pydantic.BaseModel):
        for name in type(expected).model_fields:
            assert_exact(getattr(actual, name), getattr(expected, name), f"{path}.{name}")
    elif isinstance(expected, File | Directory):
        assert_same_tree(Path(actual.download()), Path(expected.path), path)
    elif isinstance(expected, DataFrame):
        assert_same_frame(actual.to_pandas(), expected.to_pandas(), path)
    elif _is_frame(expected):
        assert_same_frame(actual, expected, path)
    else:
        assert actual == expected, f"{path}: {actual!r}, expected {expected!r}"


def _assert_same_datetime(actual: dt.datetime, expected: dt.datetime, path: str) -> None:
    # == ignores fold within one zone and compares instants across zones: neither is enough
    assert actual.replace(tzinfo=None, fold=0) == expected.replace(tzinfo=None, fold=0), (
        f"{path}: wall time {actual!r}, expected {expected!r}"
    )
    assert actual.utcoffset() == expected.utcoffset(), (
        f"{path}: offset {actual.utcoffset()}, expected {expected.utcoffset()} ({expected!r})"
    )
    assert type(actual.tzinfo) is type(expected.tzinfo), (
        f"{path}: tzinfo {actual.tzinfo!r}, expected {expected.tzinfo!r}"
    )
    if isinstance(expected.tzinfo, zoneinfo.ZoneInfo):
        assert actual.tzinfo is expected.tzinfo, f"{path}: zone {actual.tzinfo}, expected {expected.tzinfo}"
    elif expected.tzinfo is not None:
        assert actual.tzname() == expected.tzname(), (
            f"{path}: zone name {actual.tzname()}, expected {expected.tzname()}"
        )


def _is_frame(value: Any) -> bool:
    return type(value).__module__.split(".")[0] in ("pandas", "pyarrow")


def assert_same_frame(actual: Any, expected: Any, path: str = "v") -> None:
    import pandas as pd
    import pyarrow as pa

    assert type(actual) is type(expected), f"{path}: {type(actual)}, expected {type(expected)}"
    if isinstance(expected, pa.Table):
        # Table.equals treats nan as unequal to itself: compare the schema, then the cells
        assert actual.schema.equals(expected.schema), f"{path}: {actual.schema}, expected {expected.schema}"
        assert_exact(actual.to_pylist(), expected.to_pylist(), f"{path} rows")
    else:
        pd.testing.assert_frame_equal(actual, expected, check_exact=True)


def assert_same_tree(actual: Path, expected: Path, path: str = "v") -> None:
    """Same file bytes, or the same relative file names with the same bytes."""
    if expected.is_file():
        assert actual.read_bytes() == expected.read_bytes(), f"{path}: contents differ"
        return

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert files(actual) == files(expected), f"{path}: directory contents differ"
