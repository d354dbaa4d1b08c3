"""The plugin costs nothing until used: its hooks load no Ray; and a task module naming Ray's
Dataset gets the plugin's transformer when it is imported (a structured dataset of kind ray)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_hooks_load_no_ray() -> None:
    assert fresh("""
        import sys
        import wingspan_ray.hooks
        print("ray" in sys.modules)
    """) == "False"


@pytest.mark.slow  # importing Ray takes seconds here
def test_a_task_naming_a_dataset_gets_the_ray_transformer_without_a_run() -> None:
    assert fresh("""
        import warnings
        warnings.simplefilter("error")
        import ray.data
        from wingspan import task

        @task
        def rows(frame: ray.data.Dataset) -> int:
            return 0

        print(rows.template.interface.inputs[0].type.value.python_kind)
    """) == "ray"
