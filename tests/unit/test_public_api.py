"""Pins the public names and the promise that importing wingspan has no side effects."""

from __future__ import annotations

import subprocess
import sys

import wingspan
from wingspan.core import errors


def test_error_tree_is_one_root() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.WingspanError), name
    assert errors.NonRetryableError.user_error and not errors.NonRetryableError.retryable
    assert errors.StorageError.retryable and not errors.StorageError.user_error


# DESIGN.md section 3
PUBLIC = {
    "Remote",
    "task", "workflow", "dynamic", "map_task", "conditional", "approve", "sleep", "wait_for_input",
    "LaunchPlan", "CronSchedule", "FixedRate", "ConcurrencyPolicy", "Email", "Slack", "Webhook",
    "Resources", "Secret", "ContainerTask", "File", "Directory", "DataFrame", "NonRetryableError",
    "current_context", "WingspanError", "__version__",
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
