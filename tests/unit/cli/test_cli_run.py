"""``wingspan run``: inputs from flags, outputs printed, failures exit non-zero."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"

SOURCE = '''
import dataclasses
from datetime import timedelta
from wingspan import File, approve, task, workflow


@dataclasses.dataclass
class Box:
    width: int
    height: float = 1.0


@task
def area(box: Box, scale: list[int], label: str) -> str:
    return f"{label}={box.width * box.height * sum(scale)}"


@workflow
def measure(box: Box, scale: list[int] = [1], label: str = "area") -> str:
    return area(box=box, scale=scale, label=label)


@task
def size(source: File) -> int:
    return len(open(source.download()).read())


@task
def twice(x: int) -> int:
    return 2 * x


@workflow
def gated(x: int) -> int:
    return twice(x=approve(twice(x=x), "ok", timeout=timedelta(seconds=10)))
'''


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "shapes.py"
    path.write_text(SOURCE)
    return path


def wingspan(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wingspan.cli", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120)


def test_runs_an_example_and_prints_its_output() -> None:
    done = wingspan("run", str(EXAMPLES / "chain.py"), "chain", "--x", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "24"
    assert "SUCCEEDED" in done.stderr


def test_json_records_and_lists_from_flags(source: Path) -> None:
    done = wingspan("run", str(source), "measure", "--box", '{"width": 3, "height": 2.0}',
                    "--scale=[1,2]", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"o0": "area=18.0"}


def test_files_from_paths_and_tasks_by_short_name(source: Path, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("12345")
    done = wingspan("run", str(source), "size", "--source", str(data))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"


def test_failure_exits_non_zero_naming_the_node() -> None:
    done = wingspan("run", str(EXAMPLES / "branch.py"), "branch", "--x", "0")
    assert done.returncode == 1
    assert "failed at node 'n1': zero has no sign" in done.stderr


def test_unknown_and_missing_inputs_are_usage_errors(source: Path) -> None:
    unknown = wingspan("run", str(source), "measure", "--bx", "{}")
    assert unknown.returncode == 2
    assert "has no input '--bx'; its inputs: --box BOX" in unknown.stderr
    missing = wingspan("run", str(source), "measure")
    assert missing.returncode == 2 and "missing inputs: --box" in missing.stderr
    bad = wingspan("run", str(source), "measure", "--box", '{"width": "wide"}')
    assert bad.returncode == 2 and "cannot read" in bad.stderr


def test_unknown_entity_lists_what_the_file_defines(source: Path) -> None:
    done = wingspan("run", str(source), "nope")
    assert done.returncode == 2
    assert "defines no task, workflow or launch plan 'nope'" in done.stderr
    assert "shapes.measure" in done.stderr


def test_gate_signal_from_the_command_line(source: Path) -> None:
    approved = wingspan("run", str(source), "gated", "--x", "3", "--signal", "ok=true")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == "12"
    rejected = wingspan("run", str(source), "gated", "--x", "3", "--signal", "ok=false")
    assert rejected.returncode == 1 and "rejected" in rejected.stderr
    unanswered = wingspan("run", str(source), "gated", "--x", "3")
    assert unanswered.returncode == 1 and "--signal ok=VALUE" in unanswered.stderr


@pytest.mark.parametrize(("text", "said"), [
    (None, "no such file"),
    ("import not_a_module_anywhere\n", "importing it failed with ModuleNotFoundError: No module named "
                                       "'not_a_module_anywhere'"),
    ("from wingspan import task, workflow\n\n@task\ndef f(a: int) -> int:\n    return a\n\n"
     "@workflow\ndef wf(x: str) -> int:\n    return f(a=x)\n", "input 'a' expects int"),
], ids=["missing file", "failing import", "rejected workflow"])
def test_a_file_that_cannot_be_loaded_is_one_line_without_a_traceback(tmp_path: Path, text: str | None,
                                                                     said: str) -> None:
    path = tmp_path / "flows.py"
    if text is not None:
        path.write_text(text)
    done = wingspan("run", str(path), "wf")
    assert done.returncode == 1 and said in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_gate_without_signal_or_terminal_says_so_without_a_traceback(source: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "run", str(source), "gated", "--x", "3"],
                          cwd=ROOT, text=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and "give it with --signal ok=VALUE" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
