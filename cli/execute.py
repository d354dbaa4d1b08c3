"""``wingspan execute``: one attempt of a Python task, as a pod (or any remote worker) runs it.

The caller (the Kubernetes plugin) has written the task's inputs, a serialised
LiteralMap, to the blob store; this command fetches the code bundle when there is one,
imports the task by module and qualname, runs it once and writes ``outputs.pb`` (a
LiteralMap) under the output prefix, or ``error.pb`` (an ExecutionError) when the task
fails. Exit codes: 0 succeeded, 1 the task failed (error.pb says why), 2 bad arguments.
Files and data frames the task returns go to the blob store under the output prefix.
The file names and places are wingspan.core.engine.attempt_files, shared with the plugins.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from wingspan.core.config import Settings
    from wingspan.core.storage.interface import BlobStore

__all__ = ["execute"]


@dataclass(frozen=True)
class _Attempt:
    module: str
    qualname: str
    bundle: str
    inputs: str
    output_prefix: str
    execution_id: str
    node_id: str
    attempt: int


@click.command()
@click.option("--module", required=True, help="Module of the task (the template's code.module).")
@click.option("--qualname", required=True, help="Qualified name of the task in its module.")
@click.option("--bundle", default="", help="URI of the code bundle (tar.gz) to run the task from.")
@click.option("--inputs", "inputs_uri", required=True, help="URI of the inputs (a serialised LiteralMap).")
@click.option("--output-prefix", required=True, help="URI under which outputs.pb or error.pb is written.")
@click.option("--execution-id", required=True)
@click.option("--node-id", required=True)
@click.option("--attempt", type=int, required=True)
def execute(module: str, qualname: str, bundle: str, inputs_uri: str, output_prefix: str,
            execution_id: str, node_id: str, attempt: int) -> None:
    """Runs one attempt of a Python task (the entrypoint of a task pod)."""
    request = _Attempt(module, qualname, bundle, inputs_uri, output_prefix, execution_id, node_id, attempt)
    sys.exit(run_attempt(request))


def run_attempt(request: _Attempt) -> int:
    """Runs the attempt; returns the exit code (0 succeeded, 1 failed with error.pb written)."""
    import anyio

    code: int = anyio.run(_attempt, request)
    return code


async def _attempt(request: _Attempt) -> int:
    from wingspan.core.config import Settings
    from wingspan.core.engine.attempt_files import AttemptFiles
    from wingspan.core.engine.failures import error_from_exception

    files = AttemptFiles(request.output_prefix)
    store: BlobStore | None = None
    try:
        settings = Settings.load()
        store = _store(request.output_prefix, settings)
        outputs = await _run(store, settings, request)
        await store.put(files.outputs, outputs)
        return 0
    except Exception as exc:
        traceback.print_exc()
        error = error_from_exception(exc, request.node_id)
        if store is None:
            return 1  # no store to write error.pb to: the exit code and the log say it all
        from wingspan.core.model import codec

        try:
            await store.put(files.error, codec.encode(error))
        except Exception:
            print("wingspan execute: could not write error.pb", file=sys.stderr)
            traceback.print_exc()
        return 1


async def _run(store: BlobStore, settings: Settings, request: _Attempt) -> bytes:
    from wingspan.core.engine.context import ExecutionContext, ExecutionName
    from wingspan.core.engine.literal_attempt import run_attempt_from_literals
    from wingspan.core.engine.reports import save_report
    from wingspan.core.model import codec
    from wingspan.core.model.literals import LiteralMap
    from wingspan.core.plugins.localproc.worker import resolve_task
    from wingspan.core.plugins.manager import load_for_bodies
    from wingspan.core.types import TransferContext

    if request.bundle:
        from wingspan.core.bundles import BundleLimits, fetch_bundle

        bundle_store = _store(request.bundle, settings)
        folder = await fetch_bundle(bundle_store, request.bundle, settings.home / "bundles",
                                    BundleLimits.from_settings(settings))
        _enter(folder)
    runner: Any = resolve_task(request.module, request.qualname)
    load_for_bodies(runner.template.type)  # its plugin's environments and types, in this pod
    transfer = TransferContext(store, request.output_prefix, settings.offload_threshold_bytes)
    literals = codec.decode(LiteralMap, await _store(request.inputs, settings).get(request.inputs))
    context = ExecutionContext(ExecutionName(request.execution_id), request.node_id, request.attempt,
                               request.qualname.rpartition(".")[2], store, request.output_prefix)
    try:
        outputs = await run_attempt_from_literals(runner, literals, transfer, context)
    finally:
        if context.report:  # report.html beside the outputs, where the plugin looks for it
            await save_report(context, store)
    return codec.encode(outputs)


def _enter(folder: Path) -> None:
    """The bundle's folder first on sys.path and as the working directory, as at registration."""
    sys.path.insert(0, str(folder))
    os.chdir(folder)


_STORES: dict[str, BlobStore] = {}


def _store(uri: str, settings: Settings) -> BlobStore:
    from wingspan.core.storage import store_for_uri

    store = store_for_uri(uri, settings)
    return _STORES.setdefault(store.root, store)
