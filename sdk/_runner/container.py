"""Running a ContainerTask's command on this machine, for local runs.

There is no container engine on a laptop run (and none is needed to try a workflow):
the command runs as a local process with the task's environment. Its placeholders
``{{.inputs.<name>}}``, ``{{.inputDir}}`` and ``{{.outputDir}}`` are replaced, each
input is also written to ``<inputDir>/<name>``, and each output is read back from
``<outputDir>/<name>``: scalars as text, anything else as JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from wingspan.core.errors import UserError

__all__ = ["run_container_command"]

_PLACEHOLDER = re.compile(r"\{\{\s*\.(inputs\.(\w+)|inputDir|outputDir)\s*\}\}")
_SCALARS = (str, int, float, bool)


def _as_text(value: Any) -> str:
    if isinstance(value, _SCALARS) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "path"):  # File, Directory
        return str(value.download())
    return json.dumps(value, default=str)


def _read(text: str, py_type: Any, name: str) -> Any:
    from wingspan.core.types.text import parse_value

    try:
        return parse_value(text.strip() if py_type is not str else text.rstrip("\n"), py_type, name)
    except ValueError as exc:
        raise UserError(f"output {name!r} of the container command: {exc}") from None


def run_container_command(task: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Runs the task's command with ``inputs``; returns its outputs by name."""
    with tempfile.TemporaryDirectory(prefix="wingspan-container-") as scratch:
        input_dir, output_dir = Path(scratch) / "inputs", Path(scratch) / "outputs"
        input_dir.mkdir()
        output_dir.mkdir()
        texts = {name: _as_text(value) for name, value in inputs.items()}
        for name, text in texts.items():
            (input_dir / name).write_text(text)

        def substitute(arg: str) -> str:
            def one(match: re.Match[str]) -> str:
                if match.group(1) == "inputDir":
                    return str(input_dir)
                if match.group(1) == "outputDir":
                    return str(output_dir)
                name = match.group(2)
                if name not in texts:
                    raise UserError(f"container task {task.name!r}: the command names input {name!r}, "
                                    f"which the task does not have (inputs: {sorted(texts)})")
                return texts[name]
            return _PLACEHOLDER.sub(one, arg)

        argv = [substitute(a) for a in task.command]
        env = {**os.environ, **task.options.environment}
        done = subprocess.run(argv, env=env, cwd=scratch, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"container task {task.name!r}: {' '.join(argv)!r} exited with "
                               f"{done.returncode}: {done.stderr.strip()[-2000:]}")
        outputs = {}
        for name, py_type in task.interface.outputs.items():
            path = output_dir / name
            if not path.exists():
                raise UserError(f"container task {task.name!r}: the command wrote no output {name!r} "
                                f"(expected the file {{{{.outputDir}}}}/{name})")
            outputs[name] = _read(path.read_text(), py_type, name)
        return outputs
