"""A task module naming Dask's DataFrame gets the plugin's transformer when it is imported, before
anything loaded the plugins (no pickle warning, a structured dataset of kind dask)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_task_naming_a_plugins_type_gets_its_transformer_without_a_run() -> None:
    # a fresh process: nothing has loaded the plugins when the module defines the task
    code = textwrap.dedent("""
        import warnings
        warnings.simplefilter("error")
        import dask.dataframe as dd
        from wingspan import task

        @task
        def total(frame: dd.DataFrame) -> int:
            return 0

        print(total.template.interface.inputs[0].type.value.python_kind)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "dask"
