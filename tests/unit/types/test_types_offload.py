"""Literals over the context's threshold go to the blob store, travel by URI and are checked
against their digest when read back."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.types.exactness import assert_exact, round_trip
from tests.unit.types.samples import Color, Perm, Point, Shape, examples, typed_values, values_for
from wingspan.core.errors import TypeTransformerError
from wingspan.core.model import codec
from wingspan.core.model.literals import Literal, OffloadedLiteral
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import TransferContext, default_engine
from wingspan.core.types.files import Directory, File
from wingspan.core.types.offload import estimate_size


def context(folder: Path, threshold: int) -> TransferContext:
    store = LocalBlobStore(folder / "blobs")
    return TransferContext(store=store, prefix=store.uri("data"), offload_threshold=threshold)


@pytest.fixture
def ctx(tmp_path: Path) -> TransferContext:
    return context(tmp_path, threshold=1000)


BIG = list(range(2000))


async def test_a_value_over_the_threshold_travels_by_uri(ctx: TransferContext) -> None:
    assert ctx.store is not None
    back, literal = await round_trip(BIG, list[int], ctx)
    assert_exact(back, BIG)
    assert literal.kind == "offloaded"
    ref: OffloadedLiteral = literal.value
    stored = await ctx.store.get(ref.uri)
    assert ctx.uploaded == [ref.uri] and ref.uri.startswith(ctx.prefix + "/")
    assert ref.size_bytes == len(stored) > 1000
    assert ref.digest == hashlib.sha256(stored).hexdigest()
    assert ref.type == default_engine().literal_type(list[int])
    assert codec.decode(Literal, stored) == await default_engine().to_literal(BIG, list[int])
    assert len(codec.encode(literal)) < 300  # what travels is the reference


@pytest.mark.parametrize(("value", "py_type"), [
    ("é" * 1000, str), (b"\x00" * 5000, bytes), ({"k": BIG}, dict[str, list[int]]),
    (Shape(Point(1), [Point(i, i / 3) for i in range(300)]), Shape), (BIG, list[int] | None),
], ids=["str", "bytes", "dict", "dataclass", "optional"])
async def test_every_kind_of_large_value_is_offloaded(value: Any, py_type: Any, ctx: TransferContext) -> None:
    back, literal = await round_trip(value, py_type, ctx)
    assert literal.kind == "offloaded"
    assert_exact(back, value)


async def test_the_threshold_is_the_largest_size_kept_inline(tmp_path: Path) -> None:
    size = len(codec.encode(await default_engine().to_literal(BIG, list[int])))
    _, at = await round_trip(BIG, list[int], context(tmp_path, threshold=size))
    _, over = await round_trip(BIG, list[int], context(tmp_path, threshold=size - 1))
    assert (at.kind, over.kind) == ("collection", "offloaded")
    assert over.value.size_bytes == size


async def test_small_values_and_values_without_a_store_stay_inline(ctx: TransferContext) -> None:
    _, literal = await round_trip([1, 2, 3], list[int], ctx)
    assert literal.kind == "collection" and ctx.uploaded == []
    _, literal = await round_trip(BIG, list[int], TransferContext(offload_threshold=10))
    assert literal.kind == "collection"


async def test_each_variable_of_a_map_is_offloaded_on_its_own(ctx: TransferContext) -> None:
    engine = default_engine()
    types = {"big": list[int], "small": int}
    literals = await engine.to_literal_map({"big": BIG, "small": 3}, types, ctx)
    assert {k: v.kind for k, v in literals.literals.items()} == {"big": "offloaded", "small": "integer"}
    decoded = codec.decode(type(literals), codec.encode(literals))
    assert await engine.to_python_map(decoded, types, ctx) == {"big": BIG, "small": 3}


async def test_an_altered_object_is_refused(ctx: TransferContext) -> None:
    assert ctx.store is not None
    literal = await default_engine().to_literal(BIG, list[int], ctx, name="v")
    uri = literal.value.uri
    stored = await ctx.store.get(uri)
    forged = codec.encode(await default_engine().to_literal([*BIG[:-1], 1998], list[int]))
    assert len(forged) == len(stored)  # same size, other content
    await ctx.store.put(uri, forged)
    with pytest.raises(TypeTransformerError, match=f"offloaded value {uri} does not match its digest"):
        await default_engine().to_python(literal, list[int], ctx, name="v")


async def test_a_missing_object_or_store_is_named(ctx: TransferContext) -> None:
    assert ctx.store is not None
    literal = await default_engine().to_literal(BIG, list[int], ctx)
    with pytest.raises(TypeTransformerError, match="needs a blob store to be read"):
        await default_engine().to_python(literal, list[int], TransferContext())
    await ctx.store.delete(literal.value.uri)
    with pytest.raises(TypeTransformerError, match="is missing from the blob store"):
        await default_engine().to_python(literal, list[int], ctx)


@examples(150)
@given(typed_values())
def test_any_value_round_trips_offloaded(typed: tuple[Any, Any]) -> None:
    py_type, value = typed
    with tempfile.TemporaryDirectory(prefix="types-offload-") as folder:
        ctx = context(Path(folder), threshold=0)
        back, literal = anyio.run(round_trip, value, py_type, ctx)
        assert literal.kind == "offloaded"
        assert_exact(back, value)


scalar_lists = st.sampled_from([dt.datetime, dt.timedelta, Perm, Color, int, float, bool, bytes]).flatmap(
    lambda t: st.tuples(st.just(list[t]), values_for(list[t])))  # type: ignore[valid-type]


@examples(300)
@given(typed_values() | scalar_lists)
def test_the_size_estimate_is_never_below_the_encoded_size(typed: tuple[Any, Any]) -> None:
    py_type, value = typed
    literal = anyio.run(default_engine().to_literal, value, py_type)
    assert estimate_size(literal) >= len(codec.encode(literal))


async def test_the_size_estimate_bounds_references_to_files_frames_and_offloaded_values(
        ctx: TransferContext, tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "f é.txt").write_text("x")
    (tmp_path / "d").mkdir()
    wide = pd.DataFrame({f"column {i} ü": [i] for i in range(40)})
    cases: list[tuple[Any, Any]] = [
        (File(tmp_path / "f é.txt"), File), (Directory(tmp_path / "d"), Directory),
        (wide, pd.DataFrame), (BIG, list[int]), ([wide], list[pd.DataFrame]),
    ]
    for value, py_type in cases:
        literal = await default_engine().to_literal(value, py_type, ctx)
        assert estimate_size(literal) >= len(codec.encode(literal)), py_type
