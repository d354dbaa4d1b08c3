"""The test-service plumbing: a dead daemon is seen dead at once, and ports are chosen, not fixed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scripts.testenv import base


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WINGSPAN_TESTENV_CACHE", str(tmp_path))
    return tmp_path


def test_a_daemon_that_died_is_not_alive_though_unreaped(cache: Path) -> None:
    pid = base.start_daemon("quick", [sys.executable, "-c", "raise SystemExit(3)"])
    pid_file = base.state_dir("quick") / "pid"
    # the child stays a zombie until reaped; pid_alive must still answer 'dead' soon
    base.wait_until(lambda: not base.pid_alive(pid_file), timeout=10, what=f"daemon {pid} to be seen dead")


def test_a_running_daemon_is_alive(cache: Path) -> None:
    base.start_daemon("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert base.pid_alive(base.state_dir("sleeper") / "pid")
    finally:
        base.stop_daemon("sleeper", timeout=5)
    assert not base.pid_alive(base.state_dir("sleeper") / "pid")


def test_a_service_keeps_the_port_chosen_when_it_started(cache: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WINGSPAN_TESTENV_DEMO_PORT", raising=False)
    chosen = base.choose_port("demo", "WINGSPAN_TESTENV_DEMO_PORT")
    assert base.service_port("demo", "WINGSPAN_TESTENV_DEMO_PORT") == chosen
    assert not base.port_open(chosen)


def test_the_environment_names_the_port_when_set(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_TESTENV_DEMO_PORT", "40123")
    assert base.choose_port("demo", "WINGSPAN_TESTENV_DEMO_PORT") == 40123
    assert base.service_port("demo", "WINGSPAN_TESTENV_DEMO_PORT") == 40123




def test_a_saved_pid_now_used_by_another_program_is_not_our_service(cache: Path) -> None:
    base.start_daemon("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"])
    folder = base.state_dir("sleeper")
    try:
        # as after a reboot: the pid file names a live process that runs something else
        (folder / "command").write_text("/usr/bin/minio")
        assert not base.pid_alive(folder / "pid")
    finally:
        (folder / "command").write_text(sys.executable)
        base.stop_daemon("sleeper", timeout=5)
