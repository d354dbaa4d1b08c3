"""``wingspan execute``, as a pod runs it: in a subprocess, against a local-folder blob store.
Outputs land in outputs.pb; a task's error in error.pb with its kind and retryability;
code comes from a bundle when one is named; bad arguments exit 2."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from wingspan._runner.run import SdkResolver, SdkTaskRunner
from wingspan.core.model import codec
from wingspan.core.model.execution import ExecutionError
from wingspan.core.model.literals import ErrorKind, LiteralMap
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import TransferContext, default_engine

# mypy names this folder's modules by their path from the root; pytest imports them by
# bare name from the folder it puts on sys.path, the name the task code runs under
if TYPE_CHECKING:
    from tests.unit.k8s import execute_tasks as tasks
else:
    import execute_tasks as tasks

HERE = Path(__file__).resolve().parent


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def execute(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(HERE), "WINGSPAN_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "wingspan.cli", "execute", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)


def attempt(tmp_path: Path, store: LocalBlobStore, task: Any, inputs: dict[str, Any], *,
            module: str = "execute_tasks", qualname: str = "", bundle: str = "") -> tuple[int, str]:
    """Runs ``task`` through ``wingspan execute``; returns the exit code and the output prefix."""
    runner = SdkTaskRunner(task, SdkResolver({}))
    prefix = store.uri("data", "exec-1", "n3", "2")
    literals = asyncio.run(default_engine().to_literal_map(inputs, runner.input_types,
                                                           TransferContext(store, prefix)))
    inputs_uri = store.uri("data", "exec-1", "n3", "2", "inputs.pb")
    asyncio.run(store.put(inputs_uri, codec.encode(literals)))
    args = ["--module", module, "--qualname", qualname or task.name.rpartition(".")[2],
            "--inputs", inputs_uri, "--output-prefix", prefix, "--execution-id", "exec-1", "--node-id", "n3",
            "--attempt", "2"]
    if bundle:
        args += ["--bundle", bundle]
    done = execute(tmp_path, *args)
    print(done.stdout, done.stderr)
    return done.returncode, prefix


def outputs(store: LocalBlobStore, prefix: str, task: Any) -> dict[str, Any]:
    runner = SdkTaskRunner(task, SdkResolver({}))
    literals = codec.decode(LiteralMap, asyncio.run(store.get(f"{prefix}/outputs.pb")))
    values: dict[str, Any] = asyncio.run(default_engine().to_python_map(literals, runner.output_types))
    return values


def error(store: LocalBlobStore, prefix: str) -> ExecutionError:
    return codec.decode(ExecutionError, asyncio.run(store.get(f"{prefix}/error.pb")))


def test_a_task_runs_once_and_writes_its_outputs(tmp_path: Path, store: LocalBlobStore) -> None:
    code, prefix = attempt(tmp_path, store, tasks.scale, {"values": [1.0, 2.5], "factor": 3.0})
    assert code == 0
    assert outputs(store, prefix, tasks.scale) == {"o0": [3.0, 7.5], "o1": "exec-1/n3/2"}
    assert not asyncio.run(store.exists(f"{prefix}/error.pb"))


def test_a_non_retryable_error_is_written_as_such(tmp_path: Path, store: LocalBlobStore) -> None:
    code, prefix = attempt(tmp_path, store, tasks.refuse, {"reason": "bad input"})
    assert code == 1
    failure = error(store, prefix)
    assert failure.code == "USER:NonRetryableError" and failure.kind == ErrorKind.USER
    assert not failure.retryable and failure.node_id == "n3"
    assert "bad input" in failure.message
    assert not asyncio.run(store.exists(f"{prefix}/outputs.pb"))


def test_an_ordinary_exception_is_a_retryable_user_error(tmp_path: Path, store: LocalBlobStore) -> None:
    code, prefix = attempt(tmp_path, store, tasks.flaky, {"x": 5})
    assert code == 1
    failure = error(store, prefix)
    assert failure.code == "USER:ConnectionError" and failure.retryable
    assert "cannot reach the service for 5" in failure.message


def test_a_task_that_cannot_be_imported_fails_with_error_pb(tmp_path: Path, store: LocalBlobStore) -> None:
    code, prefix = attempt(tmp_path, store, tasks.where, {}, qualname="no_such_task")
    assert code == 1
    assert "no_such_task" in error(store, prefix).message


def bundle_of(store: LocalBlobStore, name: str, source: str) -> str:
    """A code bundle (tar.gz) holding one module, put in the store; returns its URI."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"{name}.py")
        info.size = len(source.encode())
        archive.addfile(info, io.BytesIO(source.encode()))
    uri = store.uri("bundles", f"{name}.tar.gz")
    asyncio.run(store.put(uri, data.getvalue()))
    return uri


def test_code_comes_from_the_bundle_which_is_the_working_directory(tmp_path: Path,
                                                                   store: LocalBlobStore) -> None:
    # a module found only in the bundle, with a task of the same interface as tasks.where
    bundle = bundle_of(store, "bundled_tasks", "import os\nfrom wingspan import task\n\n@task\n"
                       "def where() -> str:\n    return 'bundled in ' + os.getcwd()\n")
    code, prefix = attempt(tmp_path, store, tasks.where, {}, module="bundled_tasks", qualname="where",
                           bundle=bundle)
    assert code == 0
    unpacked = list((tmp_path / "home" / "bundles").iterdir())
    assert len(unpacked) == 1 and (unpacked[0] / "bundled_tasks.py").exists()
    assert outputs(store, prefix, tasks.where) == {"o0": f"bundled in {unpacked[0]}"}


def test_a_missing_argument_exits_2_naming_it(tmp_path: Path) -> None:
    done = execute(tmp_path, "--module", "execute_tasks", "--qualname", "scale")
    assert done.returncode == 2
    assert "--inputs" in done.stderr


def test_an_async_task_is_awaited(tmp_path: Path, store: LocalBlobStore) -> None:
    code, prefix = attempt(tmp_path, store, tasks.later, {"x": 40})
    assert code == 0
    assert outputs(store, prefix, tasks.later) == {"o0": 42}


def test_an_attempt_resumes_from_the_checkpoint_in_the_pods_blob_store(tmp_path: Path,
                                                                       store: LocalBlobStore) -> None:
    # what attempt 0 of the same node saved (attempt 1 saved none): the nearest save is restored
    earlier = store.uri("data", "exec-1", "n3", "0", "checkpoint")
    asyncio.run(store.put(f"{earlier}/s1/checkpoint", b"step 7"))
    asyncio.run(store.put(f"{earlier}/latest", b"s1"))
    code, prefix = attempt(tmp_path, store, tasks.resume, {"x": 1})
    assert code == 0
    assert outputs(store, prefix, tasks.resume) == {"o0": "step 7"}
    marker = asyncio.run(store.get(f"{prefix}/checkpoint/latest")).decode()
    assert asyncio.run(store.get(f"{prefix}/checkpoint/{marker}/checkpoint")) == b"saved by attempt 2"
