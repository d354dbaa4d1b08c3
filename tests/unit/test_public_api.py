"""Pins the public names and the promise that importing wingspan has no side effects."""

from __future__ import annotations

import subprocess
import sys

import wingspan
from wingspan.core import errors


def test_error_tree_is_one_root() -> None:
    for name in set(errors.__all__) - {"error_class_for"}:  # the one function: a status's class
        assert issubclass(getattr(errors, name), errors.WingspanError), name
    assert errors.NonRetryableError.user_error and not errors.NonRetryableError.retryable
    assert errors.StorageError.retryable and not errors.StorageError.user_error


# DESIGN.md section 3
PUBLIC = {
    "Remote",
    "task", "workflow", "dynamic", "map_task", "conditional", "approve", "sleep", "wait_for_input",
    "LaunchPlan", "CronSchedule", "FixedRate", "ConcurrencyPolicy", "Email", "Slack", "Webhook",
    "Notify", "PagerDuty",  # issue #26 item 3: notifications of any kind a notifier declares
    "Resources", "Secret", "ContainerTask", "File", "Directory", "DataFrame", "NonRetryableError",
    "current_context", "WingspanError", "__version__",
    "HashMethod",  # issue #22 item 5: a user's hash of a value for cache keys, as Flyte spells it
    # issue #22: Flyte's spellings
    "Workflow", "ShellTask", "OutputLocation", "kwtypes", "WorkflowFailure", "eager", "PluginTask",
    "Deck",  # issue #22 item 20: a task's reports
    "ImageSpec",  # issue #22 item 23: an image declared in code
}


def test_exported_names_are_pinned() -> None:
    assert set(wingspan.__all__) == PUBLIC
    for name in wingspan.__all__:
        assert hasattr(wingspan, name), name


def test_import_loads_no_heavy_library() -> None:
    heavy = ["pandas", "pyarrow", "grpclib", "betterproto2", "sqlalchemy", "litestar",
             "kubernetes_asyncio", "miniopy_async", "pluggy", "wingspan.protos.gen"]
    script = (
        "import sys, wingspan\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_version_is_the_distributions() -> None:
    import tomllib
    from pathlib import Path

    from wingspan.core.version import VERSION

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert wingspan.__version__ == VERSION == pyproject["project"]["version"]


def test_core_and_server_modules_load_no_sdk_module() -> None:
    # the SDK sits above core and beside the server: `import wingspan` (run for any wingspan.*
    # module) must not drag it in, nor may any core or server module import it
    script = (
        "import importlib, pkgutil, sys\n"
        "import wingspan.core, wingspan.server\n"
        "for package in (wingspan.core, wingspan.server):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if '.migrations.' not in info.name:\n"
        "            importlib.import_module(info.name)\n"
        "low = ('wingspan.core', 'wingspan.server', 'wingspan.protos')\n"
        "print(sorted(m for m in sys.modules if m.startswith('wingspan.')\n"
        "             and not m.startswith(low)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
