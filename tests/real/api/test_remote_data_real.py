"""Data of remote runs on a server whose blob store is MinIO, read by a client without the
store's keys: a File and a data frame a run returns come down through the data proxy."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from wingspan._registration.discovery import load_entities
from wingspan._remote.client import AsyncRemote
from wingspan.core.types.files import File
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.real

PRODUCES = '''
import pandas as pd
from wingspan import File, task, workflow

@task
def write(text: str) -> File:
    with open("note.txt", "w") as out:
        out.write(text)
    return File("note.txt")

@task
def table(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"n": list(range(rows))})

@workflow
def note(text: str) -> File:
    return write(text=text)

@workflow
def numbers(rows: int) -> pd.DataFrame:
    return table(rows=rows)
'''


async def test_stored_outputs_come_down_through_the_server(s3_server: ApiServer, tmp_path: Path) -> None:
    assert s3_server.settings.storage.startswith("s3://")
    code = tmp_path / "code"
    code.mkdir()
    (code / "remote_produces.py").write_text(PRODUCES)
    entities = load_entities(code / "remote_produces.py")
    client = AsyncRemote(s3_server.grpc_address)  # no S3 keys here: only the endpoint
    try:
        await client.register(code)
        noted = await client.execute(entities["remote_produces.note"], {"text": "kept on minio"},
                                     wait=True, timeout=60)
        [stored] = (await noted.outputs()).values()
        assert isinstance(stored, File) and (stored.uri or "").startswith("s3://")
        assert await anyio.Path(await stored.download_async()).read_text() == "kept on minio"
        by_name = await client.execute("remote_produces.note", {"text": "again"}, wait=True, timeout=60)
        assert (await by_name.outputs())["o0"].startswith("s3://")  # plain values: its URI
        numbers = await client.execute(entities["remote_produces.numbers"], {"rows": 4}, wait=True,
                                       timeout=60)
        frame = (await numbers.outputs())["o0"]
        assert list(frame["n"]) == [0, 1, 2, 3]
    finally:
        await client.aclose()
    # a File read from synchronous code opens its own event loop; the proxy follows it there
    again = File(str(stored.uri), _store=stored._store)
    assert await anyio.to_thread.run_sync(lambda: Path(again.download()).read_text()) == "kept on minio"
