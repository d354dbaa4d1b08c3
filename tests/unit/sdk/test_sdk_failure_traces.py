"""A failed task reads as one failure: one traceback of the user's code, the node named,
nothing of the engine's own machinery before it (issue #22 item 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from wingspan import task, workflow
from wingspan.core.errors import ExecutionFailedError

TASKS = '''
from wingspan import task, workflow


@task
def boom(x: int) -> int:
    raise ValueError(f"bad x {x}")


@workflow
def wf(x: int) -> int:
    return boom(x=x)
'''


@task
def boom(x: int) -> int:
    raise ValueError(f"bad x {x}")


@workflow
def fails(x: int) -> int:
    result: int = boom(x=x)
    return result


def test_the_cause_is_the_users_exception_with_only_user_frames() -> None:
    with pytest.raises(ExecutionFailedError) as caught:
        fails(x=1)
    assert str(caught.value) == ("workflow 'test_sdk_failure_traces.fails' failed at node 'n0': "
                                 "ValueError: bad x 1")
    cause = caught.value.__cause__
    assert isinstance(cause, ValueError)
    assert cause.__context__ is None
    frames = traceback.extract_tb(cause.__traceback__)
    assert [f.name for f in frames] == ["boom"]


@pytest.mark.parametrize("target", ["", "local-process"])
def test_an_uncaught_failure_prints_one_clean_traceback(tmp_path: Path, target: str) -> None:
    (tmp_path / "failing_tasks.py").write_text(TASKS)
    (tmp_path / "main.py").write_text("from failing_tasks import wf\n\nwf(x=1)\n")
    env = {**os.environ, "WINGSPAN_HOME": str(tmp_path / "home"), "PYTHONPATH": str(tmp_path),
           "WINGSPAN_TASK_TARGETS": target}
    done = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 1
    err = done.stderr
    assert "no running event loop" not in err and "During handling" not in err, err
    assert err.count('raise ValueError(f"bad x {x}")') == 1, err
    assert "failed at node 'n0': ValueError: bad x 1" in err
    # the user's frames, not the engine's or the worker's, before the user's code (the
    # caller's own frames down to where the failure is raised stay, as for any exception)
    assert "wingspan/core/" not in err, err
    if not target:  # in this process the user's exception is the cause, printed first
        assert "wingspan/" not in err.split("The above exception was the direct cause")[0], err


@pytest.mark.parametrize("target", ["in-process", "local-process"])
def test_wingspan_run_prints_the_users_traceback_once(tmp_path: Path, target: str) -> None:
    (tmp_path / "failing_tasks.py").write_text(TASKS)
    env = {**os.environ, "WINGSPAN_HOME": str(tmp_path / "home")}
    command = ["run", "--target", target, "failing_tasks.py", "wf", "--x", "1"]
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", *command], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    err = done.stderr
    assert err.count('raise ValueError(f"bad x {x}")') == 1, err
    assert "failed at node 'n0': ValueError: bad x 1" in err
    assert "wingspan/" not in err, err
