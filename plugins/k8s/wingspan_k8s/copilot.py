"""``python -m wingspan_k8s.copilot stage|collect``: a container task pod's helpers.

``stage`` (an init container before the task's command) writes the inputs as files;
``collect`` (the container after it) reads the output files and writes ``outputs.pb``
under the output prefix, or ``error.pb`` when they cannot be read. Exit codes as
``wingspan execute``: 0 done, 1 failed (error.pb written when possible), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import traceback
from pathlib import Path

__all__ = ["main"]


async def _stage(task_uri: str, inputs_uri: str, folder: str) -> None:
    from wingspan.core.config import Settings
    from wingspan.core.model import codec
    from wingspan.core.model.literals import LiteralMap
    from wingspan.core.model.tasks import TaskTemplate
    from wingspan.core.storage import store_for_uri
    from wingspan.core.types import TransferContext
    from wingspan_k8s._container_io import stage_inputs

    settings = Settings.load()
    store = store_for_uri(inputs_uri, settings)
    template = codec.decode(TaskTemplate, await store.get(task_uri))
    literals = codec.decode(LiteralMap, await store.get(inputs_uri))
    name = template.id.name if template.id else ""
    await stage_inputs(literals, template.interface, TransferContext(store, inputs_uri.rsplit("/", 1)[0]),
                       Path(folder), name)


async def _collect(task_uri: str, prefix: str, folder: str, node_id: str) -> int:
    from wingspan.core.config import Settings
    from wingspan.core.engine.attempt_files import AttemptFiles
    from wingspan.core.engine.failures import error_from_exception
    from wingspan.core.model import codec
    from wingspan.core.model.tasks import TaskTemplate
    from wingspan.core.storage import store_for_uri
    from wingspan.core.types import TransferContext
    from wingspan_k8s._container_io import collect_outputs

    settings = Settings.load()
    store = store_for_uri(prefix, settings)
    files = AttemptFiles(prefix)
    try:
        template = codec.decode(TaskTemplate, await store.get(task_uri))
        name = template.id.name if template.id else ""
        transfer = TransferContext(store, prefix)
        outputs = await collect_outputs(template.interface, transfer, Path(folder), name)
    except Exception as exc:
        traceback.print_exc()
        await store.put(files.error, codec.encode(error_from_exception(exc, node_id)))
        return 1
    await store.put(files.outputs, codec.encode(outputs))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wingspan_k8s.copilot")
    steps = parser.add_subparsers(dest="step", required=True)
    stage = steps.add_parser("stage", help="write a container task's inputs as files")
    stage.add_argument("--task", required=True)
    stage.add_argument("--inputs", required=True)
    stage.add_argument("--dir", required=True)
    collect = steps.add_parser("collect", help="read a container task's output files into outputs.pb")
    collect.add_argument("--task", required=True)
    collect.add_argument("--output-prefix", required=True)
    collect.add_argument("--dir", required=True)
    collect.add_argument("--node-id", default="")
    args = parser.parse_args(argv)
    if args.step == "stage":
        try:
            asyncio.run(_stage(args.task, args.inputs, args.dir))
        except Exception:
            traceback.print_exc()
            return 1
        return 0
    return asyncio.run(_collect(args.task, args.output_prefix, args.dir, args.node_id))


if __name__ == "__main__":
    sys.exit(main())
