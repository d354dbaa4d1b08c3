"""The test session's own WINGSPAN_HOME (tests/conftest.py): a test that sets none writes into a
temporary folder of its process, never into ~/.wingspan, shared by xdist's workers and the user."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from wingspan.core.config import Settings, default_home


def test_a_test_that_sets_no_home_gets_its_processs_temporary_one() -> None:
    home = default_home()
    assert home != Path.home() / ".wingspan"
    assert home.is_dir() and home.is_relative_to(tempfile.gettempdir())
    # one per worker process: two workers never share a local cache or a server's files
    assert home.name.startswith(f"wingspan-home-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
    assert Settings().home == home
