"""End to end: `wingspan serve` as a real process (on SQLite, and on PostgreSQL + MinIO), the
examples registered with `wingspan register`, each run with `wingspan run --remote` and
giving what the same run gives locally; gates driven through the CLI and through Remote;
logs, terminate, relaunch and recover on executions that really ran."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread
import asyncpg
import pytest

from tests.real.conftest import TEST_BUCKET
from tests.unit.api.served import Served, wingspan_serve
from wingspan._remote.sync import Remote

pytestmark = [pytest.mark.real, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
# (file, entity, inputs): every example's workflow (and the scheduled one's launch plan)
CASES = [
    ("branch.py", "branch", ["--x", "-2"]),
    ("chain.py", "chain", ["--x", "5"]),
    ("dataframes.py", "sales_pipeline", []),
    ("diamond.py", "diamond", ["--values", "[2, 4, 9]"]),
    ("dynamic_fanout.py", "dynamic_fanout", ["--n", "5"]),
    ("fanout_map.py", "fanout_map", []),
    ("files.py", "file_pipeline", ["--count", "7"]),
    ("scheduled.py", "daily_report", ["--day", "2026-03-04T05:06:07+00:00"]),
    ("scheduled.py", "nightly_report", ["--day", "2026-03-04T05:06:07+00:00"]),
    ("subworkflow.py", "two_greetings", ["--first", "ada"]),
]
# examples whose tasks read files or data frames from the blob store
FILES_ON_S3 = {"dataframes.py", "files.py"}
GATES = '''
import os
from datetime import timedelta
from wingspan import approve, task, wait_for_input, workflow

@task
def double(x: int) -> int:
    print(f"doubling {x}", flush=True)
    return 2 * x

@workflow
def reviewed(x: int) -> int:
    extra = wait_for_input("extra", timeout=timedelta(minutes=5), expected_type=int)
    return double(x=approve(double(x=extra), "ok", timeout=timedelta(minutes=5)))

@task
def stamp(path: str) -> int:
    with open(path + ".runs", "a") as runs:
        runs.write("ran\\n")
    return 1

@task
def needs(path: str, n: int) -> int:
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    return n

@workflow
def recoverable(path: str) -> int:
    return needs(path=path, n=stamp(path=path))
'''


async def wingspan(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT,
                   seconds: float = 180) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wingspan.cli", *args, cwd=cwd, env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), seconds)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture(scope="module")
def local_outputs() -> dict[tuple[str, str], object]:
    """What each case gives when run locally (computed once, in worker processes of this test)."""
    async def run_all() -> dict[tuple[str, str], object]:
        limit = asyncio.Semaphore(2)

        async def one(source: str, entity: str, inputs: list[str]) -> tuple[tuple[str, str], object]:
            async with limit:
                code, out, err = await wingspan("run", str(EXAMPLES / source), entity, *inputs, "-o", "json")
            assert code == 0, err
            return (source, entity), json.loads(out)

        return dict(await asyncio.gather(*(one(*case) for case in CASES)))

    return asyncio.run(run_all())


async def run_examples(endpoint: str, cases: list[tuple[str, str, list[str]]],
                       local: dict[tuple[str, str], object]) -> None:
    """Registers examples/, then runs each case remotely: the outputs of the local run."""
    where = {"WINGSPAN_ENDPOINT": endpoint}
    code, out, err = await wingspan("register", str(EXAMPLES), env=where)
    assert code == 0, err
    assert "0 unchanged" in out
    limit = asyncio.Semaphore(3)

    async def remote(source: str, entity: str, inputs: list[str]) -> None:
        async with limit:
            code, out, err = await wingspan("run", "--remote", str(EXAMPLES / source), entity, *inputs,
                                            "-o", "json", env=where)
        assert code == 0, f"{source} {entity}: {err}"
        assert "(0 new)" in err  # the examples were registered above: the same code, the same version
        assert json.loads(out) == local[(source, entity)], f"{source} {entity}"

    await asyncio.gather(*(remote(*case) for case in cases))


async def check_examples_and_gates(endpoint: str, cases: list[tuple[str, str, list[str]]],
                                   local: dict[tuple[str, str], object], gates: Path) -> None:
    await run_examples(endpoint, cases, local)
    where = {"WINGSPAN_ENDPOINT": endpoint}

    # gates through the CLI: started without waiting, given their values, then followed to the end
    code, out, err = await wingspan("run", "--remote", "--no-wait", str(gates / "e2e_gates.py"), "reviewed",
                                    "--x", "1", env=where)
    assert code == 0, err
    name = out.strip()
    code, out, err = await wingspan("signal", "set", name, "extra", "5", env=where)
    assert code == 0, err
    code, out, err = await wingspan("signal", "set", name, "ok", "true", env=where)
    assert code == 0, err

    def finish() -> tuple[str, dict[str, object]]:
        with Remote(endpoint) as client:
            done = client.execution(name).wait(timeout=120)
            return done.phase.name, done.outputs

    assert await anyio.to_thread.run_sync(finish) == ("SUCCEEDED", {"o0": 20})
    code, out, err = await wingspan("logs", name, env=where)
    assert code == 0, err
    assert "doubling 5" in out and "doubling 10" in out

    # gates through the client; a rejected approval fails the run
    def through_client() -> tuple[str, dict[str, object], str, str]:
        with Remote(endpoint) as client:
            run = client.execute("e2e_gates.reviewed", {"x": 3})
            client.set_signal(run.id, "extra", 4)
            client.set_signal(run.id, "ok", True)
            outputs = run.wait(timeout=120).outputs
            rejected = client.execute("e2e_gates.reviewed", {"x": 3})
            client.set_signal(rejected, "extra", 4)
            client.set_signal(rejected, "ok", False)
            rejected.wait(timeout=120)
            return run.phase.name, outputs, rejected.phase.name, rejected.error

    phase, outputs, rejected_phase, rejected_error = await anyio.to_thread.run_sync(through_client)
    assert (phase, outputs, rejected_phase) == ("SUCCEEDED", {"o0": 16}, "FAILED")
    assert "ok" in rejected_error

    # a run that waits, terminated from the CLI; relaunched and recovered
    code, out, err = await wingspan("run", "--remote", "--no-wait", str(gates / "e2e_gates.py"), "reviewed",
                                    "--x", "2", env=where)
    waiting = out.strip()
    code, out, err = await wingspan("execution", "terminate", waiting, "--reason", "e2e", env=where)
    assert code == 0, err

    def ended() -> tuple[str, str, str]:
        with Remote(endpoint) as client:
            stopped = client.execution(waiting).wait(timeout=60)
            again = client.relaunch(waiting)
            client.set_signal(again, "extra", 1)
            client.set_signal(again, "ok", True)
            return stopped.phase.name, again.wait(timeout=120).phase.name, str(again.outputs)

    assert await anyio.to_thread.run_sync(ended) == ("ABORTED", "SUCCEEDED", "{'o0': 4}")

    # recover: a failed run again, reusing what succeeded (stamp ran once)
    marker = gates / f"ready-{uuid.uuid4().hex[:8]}"
    code, out, err = await wingspan("run", "--remote", str(gates / "e2e_gates.py"), "recoverable",
                                    "--path", str(marker), env=where)
    assert code == 1 and "FileNotFoundError" in err, err
    failed = err.split("execution ", 1)[1].split()[0]
    await anyio.Path(marker).write_text("now")
    code, out, err = await wingspan("execution", "recover", failed, env=where)
    assert code == 0, err

    def recovered() -> tuple[str, dict[str, object]]:
        with Remote(endpoint) as client:
            done = client.execution(out.strip()).wait(timeout=120)
            return done.phase.name, done.outputs

    assert await anyio.to_thread.run_sync(recovered) == ("SUCCEEDED", {"o0": 1})
    assert await anyio.Path(f"{marker}.runs").read_text() == "ran\n"
    code, out, err = await wingspan("run", "--remote", str(EXAMPLES / "chain.py"), "chain", "--x", "nope",
                                    env=where)
    assert code == 2 and "--x: cannot read 'nope'" in err


@pytest.fixture(scope="module")
def gates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e") / "gates"
    folder.mkdir()
    (folder / "e2e_gates.py").write_text(GATES)
    return folder


async def test_on_sqlite(local_outputs: dict[tuple[str, str], object], gates: Path, tmp_path: Path) -> None:
    env = {"WINGSPAN_HOME": str(tmp_path / "home")}
    async with wingspan_serve(env=env) as (server, _, grpc_host, grpc_port):
        try:
            await check_examples_and_gates(f"{grpc_host}:{grpc_port}", CASES, local_outputs, gates)
        except BaseException:
            print("".join(server.lines), file=sys.stderr)
            raise


@pytest.fixture
async def served_on_postgres_and_minio(pg_url: str, pg_dsn: str, minio_env: dict[str, str],
                                       tmp_path: Path) -> AsyncIterator[tuple[Served, str]]:
    name = f"wingspan_e2e_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)
    await admin.execute(f'CREATE DATABASE "{name}"')
    # S3 settings as flags (the secret as a file), not environment: the server passes them on to its
    # task workers; the database URL holds a password, so it is never a flag
    env = {"WINGSPAN_HOME": str(tmp_path / "home"), "WINGSPAN_DB_URL": pg_url.rsplit("/", 1)[0] + f"/{name}"}
    secret = tmp_path / "s3-secret"
    secret.write_text(minio_env["WINGSPAN_TEST_S3_SECRET_KEY"])
    s3 = ["--s3-endpoint", minio_env["WINGSPAN_TEST_S3_ENDPOINT"],
          "--s3-access-key", minio_env["WINGSPAN_TEST_S3_ACCESS_KEY"],
          "--s3-secret-key-file", str(secret),
          "--s3-region", minio_env["WINGSPAN_TEST_S3_REGION"]]
    try:
        async with wingspan_serve("--storage", f"s3://{TEST_BUCKET}/{uuid.uuid4().hex[:12]}", *s3,
                                  env=env) as (server, _, grpc_host, grpc_port):
            yield server, f"{grpc_host}:{grpc_port}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_on_postgres_and_minio(local_outputs: dict[tuple[str, str], object], gates: Path,
                                     served_on_postgres_and_minio: tuple[Served, str]) -> None:
    server, endpoint = served_on_postgres_and_minio
    try:
        # the client needs no S3 keys: data goes through the server's signed URLs
        await check_examples_and_gates(endpoint, [c for c in CASES if c[0] not in FILES_ON_S3],
                                       local_outputs, gates)
    except BaseException:
        print("".join(server.lines), file=sys.stderr)
        raise


async def test_files_and_frames_on_postgres_and_minio(
        local_outputs: dict[tuple[str, str], object],
        served_on_postgres_and_minio: tuple[Served, str]) -> None:
    _, endpoint = served_on_postgres_and_minio
    await run_examples(endpoint, [c for c in CASES if c[0] in FILES_ON_S3], local_outputs)
