"""Shared plumbing for the test services: folders, daemons, readiness waits."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar, cast


class ServiceError(RuntimeError):
    """A test service could not be installed or started; the message says why."""


def cache_dir() -> Path:
    """Builds and downloads that survive between runs."""
    root = Path(os.environ.get("WINGSPAN_TESTENV_CACHE", Path.home() / ".cache/wingspan-testenv"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def state_dir(service: str) -> Path:
    """Data, logs and pid file of one running service."""
    path = cache_dir() / "run" / service
    path.mkdir(parents=True, exist_ok=True)
    return path


def env_file(service: str) -> Path:
    return state_dir(service) / "env.json"


def save_env(service: str, values: dict[str, str]) -> dict[str, str]:
    env_file(service).write_text(json.dumps(values, indent=2, sort_keys=True))
    return values


def load_env(service: str) -> dict[str, str] | None:
    path = env_file(service)
    if not path.exists():
        return None
    data: dict[str, str] = json.loads(path.read_text())
    return data


def run(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs a command to completion, raising ServiceError with its output on failure."""
    proc = subprocess.run(
        list(argv), env={**os.environ, **(env or {})}, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False,
    )
    if check and proc.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} exited with {proc.returncode}:\n{proc.stdout[-4000:]}")
    return proc


def go_env(flags: str = "") -> dict[str, str]:
    """Go's module and build caches under cache_dir(), shared by every Go build here so CI
    and later runs reuse them; ``flags`` are added to GOFLAGS."""
    root = cache_dir() / "go"
    return {
        "GOPATH": str(root / "path"),
        "GOMODCACHE": str(root / "mod"),
        "GOCACHE": str(root / "cache"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": " ".join(f for f in (flags, "-buildvcs=false") if f),
        "CGO_ENABLED": "0",
    }


def have(program: str) -> bool:
    return shutil.which(program) is not None


_apt_updated = False


def apt_install(*packages: str) -> None:
    """Installs Debian packages (the machine runs tests as root)."""
    global _apt_updated
    with install_lock("apt"):  # apt-get fails at once, not waits, when another one holds its lock
        if not _apt_updated:
            run(["apt-get", "update", "-q"], timeout=600)
            _apt_updated = True
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
            env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=1200)


def pid_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return False
    return not _zombie(pid) and _runs_what_we_started(pid_file, pid)


def _runs_what_we_started(pid_file: Path, pid: int) -> bool:
    """The cache folder outlives machines and reboots; a pid saved there may since belong to any
    other process, which must not pass for our service. A process is known by the boot it runs in
    and the moment it started: unlike its command line, these survive a launcher's exec (Keycloak's
    and Trino's scripts exec Java)."""
    identity_file = pid_file.with_name("identity")
    if not identity_file.exists():
        return True
    return identity_file.read_text().strip() == _identity(pid)


def _identity(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""
    start_ticks = stat.rsplit(")", 1)[-1].split()[19]  # field 22, counted after the command name
    return f"{boot} {start_ticks}"


def _zombie(pid: int) -> bool:
    """A process that died stays a zombie until its parent reaps it (a daemon's parent is the
    system's first process, which need not be quick about it); kill(pid, 0) still succeeds on
    it, so a wait for 'ready or dead' would run to its timeout."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state == "Z"


def start_daemon(service: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> int:
    """Starts a long-running process detached from the caller (in a session of its own, not our
    child: a short-lived launcher starts it and exits); logs go to the state dir. Not being our
    child, it is reaped by the system when it ends, and no Popen of ours is left to warn at our
    exit that it is "still running" (the services outlive the test run that started them)."""
    folder = state_dir(service)
    with open(folder / "service.log", "ab") as log:  # the daemon keeps its own copy of the descriptor
        launcher = subprocess.run(
            [sys.executable, "-c", _DETACH, *argv], env={**os.environ, **(env or {})}, cwd=cwd,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, timeout=60, check=False,
        )
    if launcher.returncode != 0:
        raise ServiceError(f"could not start {argv[0]} for {service}; last log lines:\n{log_tail(service)}")
    pid = int(launcher.stdout)
    (folder / "identity").write_text(_identity(pid))
    (folder / "command").unlink(missing_ok=True)  # what an older version checked instead
    (folder / "pid").write_text(str(pid))
    return pid


# the launcher: starts argv with the launcher's stderr (the service log) as its output, prints its pid
_DETACH = ("import subprocess, sys; print(subprocess.Popen(sys.argv[1:], start_new_session=True, "
           "stdin=subprocess.DEVNULL, stdout=2, stderr=2).pid)")


def stop_daemon(service: str, timeout: float = 20) -> None:
    """Stops a daemon and whatever it started (its session's process group), SIGKILL after
    ``timeout``. The daemon may exit on its own at any moment meanwhile: a signal that finds it
    gone is not an error (it was, between the liveness check and the kill)."""
    pid_file = state_dir(service) / "pid"
    if not pid_alive(pid_file):
        pid_file.unlink(missing_ok=True)
        return
    pid = int(pid_file.read_text())
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid_file):
        time.sleep(0.1)
    if pid_alive(pid_file):
        _signal_group(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid_file), timeout=10, what=f"{service} (pid {pid}) to die")
    pid_file.unlink(missing_ok=True)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    """Signals the process group a daemon leads (start_daemon gives it a session of its own), or
    the process alone if it no longer leads one."""
    with contextlib.suppress(ProcessLookupError):
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            os.kill(pid, signum)


def log_tail(service: str, lines: int = 40) -> str:
    path = state_dir(service) / "service.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, service: str = "") -> None:
    """Polls a readiness check (services offer no event to wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    tail = f"\nlast log lines:\n{log_tail(service)}" if service else ""
    raise ServiceError(f"{what} not ready after {timeout:.0f}s{tail}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def service_port(service: str, override_env: str) -> int:
    """The port a service listens on: the one saved when it was started, else the one the
    environment variable names, else a port free now. No fixed default: Linux hands out ports of
    32768-60999 to outgoing connections, so a fixed port there is sometimes held by a client (CI
    once failed on exactly that)."""
    saved = state_dir(service) / "port"
    if saved.exists():
        return int(saved.read_text())
    return choose_port(service, override_env)


def choose_port(service: str, override_env: str) -> int:
    """Picks the port for a service about to start, and saves it for the later `service_port`."""
    port = int(os.environ.get(override_env) or free_port())
    (state_dir(service) / "port").write_text(f"{port}\n")
    return port


def claim_port(service: str, override_env: str, name: str, host: str = "127.0.0.1") -> int:
    """Chooses a service's port as `choose_port` does, refusing one that something else holds."""
    port = choose_port(service, override_env)
    if port_open(port, host):
        raise ServiceError(f"port {port} on {host} is taken by a process that is not our {name}; stop it "
                           f"or set {override_env} to another")
    return port


def await_ready(service: str, ready: Callable[[], bool], *, timeout: float, what: str, name: str) -> None:
    """Returns once the daemon just started answers ``ready``; fails at once, with its log, if it
    exits instead."""
    pid_file = state_dir(service) / "pid"
    wait_until(lambda: not pid_alive(pid_file) or ready(), timeout=timeout, what=what, service=service)
    if not pid_alive(pid_file):
        raise ServiceError(f"{name} exited while starting; last log lines:\n{log_tail(service)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---- installs cached under cache_dir(): one process installs, the others wait and reuse ----------

@contextlib.contextmanager
def install_lock(name: str) -> Iterator[None]:
    """Serialises the install (or start) of ``name`` across processes (parallel test workers,
    worktrees): a second process waits here for the first one's work instead of starting its own.
    Re-entered in the same process (ensure_database calls ensure), it does not wait on itself."""
    if name in _held:
        yield
        return
    with open(cache_dir() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _held.add(name)
        try:
            yield
        finally:
            _held.discard(name)


_held: set[str] = set()

_Ensure = TypeVar("_Ensure", bound=Callable[[], dict[str, str]])


def one_at_a_time(service: str) -> Callable[[_Ensure], _Ensure]:
    """Makes a service's ``ensure`` run in one process at a time. Each pytest worker (xdist)
    ensures the services its tests need; two that both found a service down would otherwise
    both start it, on two ports over one data folder, and one pid file would name only one."""
    def wrap(ensure: _Ensure) -> _Ensure:
        @functools.wraps(ensure)
        def ensured() -> dict[str, str]:
            with install_lock(f"{service}-ensure"):
                return ensure()
        return cast(_Ensure, ensured)
    return wrap


def record_install_seconds(name: str, started: float) -> None:
    """Keeps how long a first-time install took beside it (docstrings quote these)."""
    (cache_dir() / f"{name}.install-seconds").write_text(f"{time.monotonic() - started:.0f}\n")


def maven_artifact(group: str, artifact: str, version: str, packaging: str) -> Path:
    """One file from Maven Central, fetched by Maven itself (``mvn dependency:get``) into the
    local repository ``cache_dir()/m2``. Maven downloads into a temporary file and renames it
    when complete and checksummed, so an interrupted fetch leaves no half file that passes for
    the artifact, and the next call fetches it again."""
    path = (cache_dir() / "m2" / group.replace(".", "/") / artifact / version /
            f"{artifact}-{version}.{packaging}")
    if path.exists():
        return path
    if not have("mvn"):
        apt_install("maven")
    run(["mvn", "-q", "-B", f"-Dmaven.repo.local={cache_dir() / 'm2'}", "dependency:get",
         f"-Dartifact={group}:{artifact}:{version}:{packaging}", "-Dtransitive=false"], timeout=1800)
    if not path.exists():
        raise ServiceError(f"mvn dependency:get reported success but {path} is missing")
    return path


def unpack_tarball(archive: Path, top_folder: str, target: Path,
                   keep: Callable[[Path], bool] | None = None) -> Path:
    """Unpacks ``archive`` (whose entries sit under ``top_folder``) to ``target``, atomically:
    into a scratch folder first, renamed into place when complete, so an interrupted unpack is
    never taken for an install. ``keep`` (given each first- and second-level path relative to
    ``top_folder``) drops what a service does not use before the rename; the archive is unpacked
    whole first, since its entries may be hard links to ones a member list would leave out."""
    unpacking = target.with_name(f".{target.name}.unpacking")
    shutil.rmtree(unpacking, ignore_errors=True)
    unpacking.mkdir(parents=True)
    run(["tar", "-xzf", str(archive), "-C", str(unpacking)], timeout=1200)
    top = unpacking / top_folder
    if keep is not None:
        for path in [*top.glob("*"), *top.glob("*/*")]:
            if path.exists() and not keep(path.relative_to(top)):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    os.replace(top, target)
    shutil.rmtree(unpacking, ignore_errors=True)
    return target


# ---- Go programs built from their modules, and daemons started once -------------------------------

def go_binary(target: Path, *, package: str, version: str, what: str, via_tool_module: bool = False) -> Path:
    """Returns ``target``, building Go ``package@version`` into it first when missing (one
    process builds, others wait; the time taken is kept beside it as ``.build-seconds``).

    ``go install`` builds most programs; a program whose module has replace directives (which
    ``go install`` refuses) is built ``via_tool_module``: added with ``go get -tool`` to a small
    module of our own, then ``go build``. A failed build is tried once more: seen here, a build
    sharing the Go caches with another build failed at once with "package internal/abi is not in
    std" and went through on a retry."""
    if target.exists():
        return target
    if not have("go"):
        raise ServiceError(f"go is not on PATH; {what} is built with the Go toolchain (>= 1.24)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with install_lock(f"{target.name}-build"):
        if target.exists():
            return target
        started = time.monotonic()
        try:
            _go_build(target, package, version, via_tool_module)
        except ServiceError as first:
            try:
                _go_build(target, package, version, via_tool_module)
            except ServiceError as second:
                raise ServiceError(f"{second}\n(first attempt: {first})") from second
        (target.parent / f"{target.name}.build-seconds").write_text(f"{time.monotonic() - started:.0f}\n")
    return target


def _go_build(target: Path, package: str, version: str, via_tool_module: bool) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        folder, env = Path(scratch), go_env()
        built = folder / "program"
        if via_tool_module:
            run(["go", "mod", "init", "wingspan-testenv/tool"], env=env, cwd=folder, timeout=60)
            run(["go", "get", "-tool", f"{package}@{version}"], env=env, cwd=folder, timeout=3600)
            run(["go", "build", "-o", str(built), package], env=env, cwd=folder, timeout=3600)
        else:
            bin_dir = folder / "bin"
            bin_dir.mkdir()
            run(["go", "install", f"{package}@{version}"], env={**env, "GOBIN": str(bin_dir)}, timeout=3600)
            [built] = bin_dir.iterdir()  # go install names the binary after the package's last element
        os.replace(built, target)


def start_once(service: str, port_env: str, name: str, argv: Callable[[int], Sequence[str]], *,
               env: dict[str, str] | None = None, host: str = "127.0.0.1") -> None:
    """Starts ``service``'s daemon unless it runs: claims its port (see ``claim_port``) and runs
    ``argv(port)``. A second ``up`` finds it running; the caller's readiness wait then covers a
    daemon still starting."""
    if pid_alive(state_dir(service) / "pid"):
        return
    port = claim_port(service, port_env, name, host)
    start_daemon(service, argv(port), env=env)
