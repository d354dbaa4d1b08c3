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
    identity = (folder / "identity").read_text()
    try:
        # as after a reboot: the pid file names a live process that started at another time
        boot, started = identity.split()
        (folder / "identity").write_text(f"{boot} {int(started) + 1}")
        assert not base.pid_alive(folder / "pid")
    finally:
        (folder / "identity").write_text(identity)
        base.stop_daemon("sleeper", timeout=5)


def test_a_launcher_that_execs_another_program_is_alive(cache: Path) -> None:
    # as Keycloak's and Trino's launchers, which exec Java: the pid then runs a program other
    # than argv[0], named nowhere in what started it
    base.start_daemon("launched", ["/bin/sh", "-c", "exec sleep 30"])
    try:
        pid_file = base.state_dir("launched") / "pid"
        base.wait_until(lambda: Path(f"/proc/{pid_file.read_text()}/cmdline").read_text().startswith("sleep"),
                        timeout=10, what="the exec")
        assert base.pid_alive(pid_file)
    finally:
        base.stop_daemon("launched", timeout=5)


def test_an_unpacked_tarball_keeps_what_is_used_even_when_hard_linked(cache: Path) -> None:
    source = cache / "src" / "dist-1"
    for path in ("bin/launcher", "plugin/big/shared.jar", "plugin/unused/extra.jar"):
        (source / path).parent.mkdir(parents=True, exist_ok=True)
    (source / "bin" / "launcher").write_text("#!/bin/sh\n")
    (source / "plugin" / "big" / "shared.jar").write_text("jar")
    (source / "plugin" / "used").mkdir()
    # tar stores the second name of a file as a hard link to the first: unpacking the used
    # folder alone would fail on it
    (source / "plugin" / "used" / "shared.jar").hardlink_to(source / "plugin" / "big" / "shared.jar")
    (source / "plugin" / "unused" / "extra.jar").write_text("x")
    archive = cache / "dist.tar.gz"
    base.run(["tar", "-czf", str(archive), "-C", str(source.parent), "dist-1"])
    target = cache / "dist"
    base.unpack_tarball(archive, "dist-1", target,
                        keep=lambda p: p.parts[0] != "plugin" or len(p.parts) == 1 or p.parts[1] == "used")
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        "bin/launcher", "plugin/used/shared.jar"]
    assert not list(cache.glob(".dist.unpacking"))


def test_a_daemon_that_exits_while_starting_fails_the_wait_at_once_with_its_log(cache: Path) -> None:
    base.start_daemon("failing", [sys.executable, "-c", "print('bad config line 3'); raise SystemExit(2)"])
    with pytest.raises(base.ServiceError) as failed:
        base.await_ready("failing", lambda: False, timeout=60, what="never", name="Failing")
    assert "Failing exited while starting" in str(failed.value)
    assert "bad config line 3" in str(failed.value)
