"""Running a ShellTask's script: the template rendered with the attempt's inputs, run by
its shell in the attempt's scratch folder, and its outputs found where it left them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from wingspan.core.engine.context import current_context
from wingspan.core.errors import UserError
from wingspan.core.types.files import Directory

__all__ = ["PLACEHOLDER", "placeholders", "run_shell_script"]

#: ``{{``, ``}}``, or a ``{inputs.name}`` / ``{outputs.name}`` placeholder
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{\s*(inputs|outputs)\.(\w+)\s*\}")


def placeholders(template: str) -> list[tuple[str, str]]:
    """The ``(inputs|outputs, name)`` pairs a template names."""
    return [(m.group(1), m.group(2)) for m in PLACEHOLDER.finditer(template) if m.group(1)]


def _as_text(value: Any) -> str:
    if hasattr(value, "download"):  # File, Directory: where it is on this machine
        return str(value.download())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, default=str)


def _render(template: str, texts: dict[str, dict[str, str]]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]  # {{ -> {, }} -> }
        return texts[match.group(1)][match.group(2)]
    return PLACEHOLDER.sub(one, template)


def run_shell_script(task: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Runs ``task``'s script with ``inputs``; returns its outputs by name (File or Directory)."""
    where = f"shell task {task.name!r}"
    try:
        folder = current_context().scratch_dir
    except UserError:  # run outside the engine (a test calling it directly)
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="wingspan-shell-"))
    texts: dict[str, dict[str, str]] = {"inputs": {k: _as_text(v) for k, v in inputs.items()}, "outputs": {}}
    for var, location in task.locations.items():
        path = Path(_render(location, texts))
        texts["outputs"][var] = str(path if path.is_absolute() else folder / path)
    script = _render(task.script, texts)
    if task.debug:
        print(f"{where} runs in {folder}:\n{script}", file=sys.stderr)
    env = {**os.environ, **task.options.environment}
    done = subprocess.run([task.shell, "-c", script], cwd=folder, env=env, capture_output=True,
                          text=True, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        tail = done.stderr.strip()[-2000:] or done.stdout.strip()[-2000:]
        raise RuntimeError(f"{where}: the script exited with status {done.returncode}"
                           + (f": {tail}" if tail else ""))
    outputs = {}
    for var, py_type in task.interface.outputs.items():
        path = Path(texts["outputs"][var])
        exists = path.is_dir() if issubclass(py_type, Directory) else path.is_file()
        if not exists:
            raise UserError(f"{where}: output {var!r} should be the {py_type.__name__.lower()} "
                            f"{path} (its location {task.locations[var]!r}), but the script left none "
                            "there")
        outputs[var] = py_type(str(path))
    return outputs
