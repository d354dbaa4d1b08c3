"""The test-service plumbing: a dead daemon is seen dead at once, ports are chosen, not fixed,
daemons are detached and stopped whole, and a service is started by one process at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts.testenv import base

ROOT = Path(__file__).resolve().parents[3]


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


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not base._zombie(pid)


def test_a_daemon_is_not_a_child_of_the_process_that_started_it(cache: Path) -> None:
    # a child would be a Popen of ours that warns "subprocess ... is still running" at our exit
    pid = base.start_daemon("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        assert base.pid_alive(base.state_dir("sleeper") / "pid")
    finally:
        base.stop_daemon("sleeper", timeout=5)


def test_stopping_a_daemon_stops_what_it_started(cache: Path) -> None:
    folder = base.state_dir("parent")
    # the shell ignores nothing: SIGTERM ends it in its wait, and a signal to it alone would leave
    # the sleep running, orphaned
    base.start_daemon("parent", ["/bin/sh", "-c", f"sleep 300 & echo $! > {folder}/child; wait"])
    base.wait_until(lambda: (folder / "child").read_text().strip() != "", timeout=10, what="the child")
    child = int((folder / "child").read_text())
    assert _running(child)
    base.stop_daemon("parent", timeout=5)
    base.wait_until(lambda: not _running(child), timeout=10, what=f"the daemon's child {child} to end")


def test_a_daemon_that_exits_as_it_is_being_stopped_is_stopped(cache: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # as when the daemon exits on its own between the liveness check and the signal: its pid is gone
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    folder = base.state_dir("gone")
    (folder / "pid").write_text(gone.stdout.strip())
    checks = iter([True])
    monkeypatch.setattr(base, "pid_alive", lambda pid_file: next(checks, False))
    base.stop_daemon("gone", timeout=5)
    assert not (folder / "pid").exists()


def test_two_processes_ensuring_a_service_start_it_once(cache: Path) -> None:
    # as two pytest workers whose session fixtures both find the service down
    ensure = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from scripts.testenv import base

        @base.one_at_a_time("demo")
        def ensure():
            if not base.pid_alive(base.state_dir("demo") / "pid"):
                time.sleep(0.5)  # as a real start takes a while: the other process comes meanwhile
                base.start_daemon("demo", [sys.executable, "-c", "import time; time.sleep(30)"])
                with open(Path({str(cache)!r}) / "starts", "a") as starts:
                    starts.write("started\\n")
            return {{}}

        ensure()
    """)
    env = {**os.environ, "WINGSPAN_TESTENV_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", ensure], env=env, cwd=ROOT) for _ in range(2)]
    try:
        assert [p.wait(60) for p in processes] == [0, 0]
        assert (cache / "starts").read_text().splitlines() == ["started"]
    finally:
        base.stop_daemon("demo", timeout=5)
