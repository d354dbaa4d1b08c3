"""The type engine against each object store (S3 on MinIO, Azure on Azurite, GCS on
fake-gcs-server): offloaded literals, files, directories and frames travel through the store by
URI and come back exactly."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from tests.unit.types.exactness import assert_exact, assert_same_frame, assert_same_tree, round_trip
from tests.unit.types.samples import Point, Shape, typed_values
from wingspan.core.config import Settings
from wingspan.core.errors import TypeTransformerError
from wingspan.core.model import codec
from wingspan.core.model.literals import Literal
from wingspan.core.storage import BlobStore, open_blob_store
from wingspan.core.types import TransferContext, default_engine
from wingspan.core.types.files import Directory, File
from wingspan.core.types.frames import DataFrame

pytestmark = pytest.mark.real

BIG = list(range(2000))


def context(store: BlobStore, tmp_path: Path, threshold: int = 1000) -> TransferContext:
    return TransferContext(store=store, prefix=store.uri("data"), offload_threshold=threshold,
                           download_dir=tmp_path / "downloads")


async def test_a_value_over_the_threshold_is_offloaded(blob_store: BlobStore, tmp_path: Path) -> None:
    ctx = context(blob_store, tmp_path)
    value = Shape(Point(1), [Point(i, i / 7) for i in range(400)], weights={"w": -0.0})
    back, literal = await round_trip(value, Shape, ctx)
    assert_exact(back, value)
    assert literal.kind == "offloaded" and literal.value.uri.startswith(blob_store.root + "/data/")
    stored = await blob_store.get(literal.value.uri)
    assert literal.value.size_bytes == len(stored) > ctx.offload_threshold
    assert literal.value.digest == hashlib.sha256(stored).hexdigest()
    assert codec.decode(Literal, stored) == await default_engine().to_literal(value, Shape)


async def test_a_tampered_object_is_refused(blob_store: BlobStore, tmp_path: Path) -> None:
    ctx = context(blob_store, tmp_path)
    literal = await default_engine().to_literal(BIG, list[int], ctx, name="xs")
    forged = codec.encode(await default_engine().to_literal([*BIG[:-1], 1998], list[int]))
    await blob_store.put(literal.value.uri, forged)
    with pytest.raises(TypeTransformerError, match="does not match its digest: it was altered"):
        await default_engine().to_python(literal, list[int], ctx, name="xs")
    await blob_store.delete(literal.value.uri)
    with pytest.raises(TypeTransformerError, match="is missing from the blob store"):
        await default_engine().to_python(literal, list[int], ctx, name="xs")


@pytest.mark.parametrize("name", ["plain.txt", "a#1.txt", "two words?.csv", "été%41.bin"])
async def test_a_file_goes_to_the_store_and_is_downloaded_only_when_asked(
        blob_store: BlobStore, tmp_path: Path, name: str) -> None:
    source = tmp_path / "src" / name
    source.parent.mkdir()
    source.write_bytes(name.encode() * 1000)
    ctx = context(blob_store, tmp_path)
    back, literal = await round_trip(File(source), File, ctx)
    assert literal.kind == "blob" and back.uri == literal.value.uri and back.uri.startswith(blob_store.root)
    assert back.path == back.uri and back.name == name  # a reference: nothing fetched yet
    assert not (tmp_path / "downloads").exists()
    local = anyio.Path(await back.download_async())
    assert local.parent == anyio.Path(tmp_path / "downloads")
    assert await local.read_bytes() == name.encode() * 1000
    assert (await round_trip(back, File, ctx))[0].uri == back.uri  # passes on without a copy


async def test_a_directory_goes_to_the_store_and_comes_back_whole(blob_store: BlobStore,
                                                                  tmp_path: Path) -> None:
    source = tmp_path / "model out"
    for rel, content in {"weights.bin": b"\x00" * 70_000, "cfg/a b.json": b"{}",
                         "cfg/deep/x#1.txt": b"x", "empty.txt": b""}.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(content)
    ctx = context(blob_store, tmp_path)
    back, literal = await round_trip(Directory(source), Directory, ctx)
    assert literal.value.uri.startswith(blob_store.root) and back.path == back.uri
    assert_same_tree(Path(await back.download_async()), source)


async def test_data_frames_go_to_the_store_as_parquet(blob_store: BlobStore, tmp_path: Path) -> None:
    ctx = context(blob_store, tmp_path)
    df = pd.DataFrame({"i": range(1000), "f": [i / 3 for i in range(1000)],
                       "s": [str(i) for i in range(1000)]})
    back, literal = await round_trip(df, pd.DataFrame, ctx)
    assert literal.value.uri.startswith(blob_store.root) and literal.value.uri.endswith(".parquet")
    assert_same_frame(back, df)
    lazy, literal = await round_trip(DataFrame(df), DataFrame, ctx)
    assert lazy.uri == literal.value.uri
    # task code is synchronous and runs in a worker thread: loading goes through the loop
    assert_same_frame(await anyio.to_thread.run_sync(lazy.to_pandas), df)


@hypothesis_settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=typed_values(max_leaves=4))
def test_any_value_round_trips_offloaded(store_settings: Settings, tmp_path: Path,
                                               typed: tuple[Any, Any]) -> None:
    py_type, value = typed

    async def check() -> None:
        async with open_blob_store(store_settings) as store:
            await store.ensure_bucket()
            back, literal = await round_trip(value, py_type, context(store, tmp_path, threshold=0))
            assert literal.kind == "offloaded" and literal.value.uri.startswith(store.root)
            assert_exact(back, value)
            await store.delete(literal.value.uri)

    asyncio.run(check())
