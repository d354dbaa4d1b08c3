"""NATS with JetStream for the event-stream tests, built from its Go module, run on 127.0.0.1.

NATS ships no Debian package of a recent server and prebuilt binaries cannot be downloaded
here, so ``go install github.com/nats-io/nats-server/v2@VERSION`` builds it once (about a
minute on 2 cores with warm Go caches) into ``cache_dir()/bin``, sharing the Go module and
build caches of the other Go builds. It starts in well under a second. Set
WINGSPAN_TESTENV_NATS_VERSION to try another release.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path

from scripts.testenv.base import (
    ServiceError,
    await_ready,
    cache_dir,
    claim_port,
    go_env,
    have,
    install_lock,
    pid_alive,
    run,
    save_env,
    service_port,
    start_daemon,
    state_dir,
    stop_daemon,
)

SERVICE = "nats"
MODULE = "github.com/nats-io/nats-server/v2"
VERSION = os.environ.get("WINGSPAN_TESTENV_NATS_VERSION", "v2.15.3")
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_NATS_PORT"


def binary_path() -> Path:
    return cache_dir() / "bin" / f"nats-server-{VERSION}"


def build() -> Path:
    """Returns the cached binary, building it first if needed (serialised by a lock)."""
    target = binary_path()
    if target.exists():
        return target
    if not have("go"):
        raise ServiceError("go is not on PATH; the NATS server is built with the Go toolchain")
    target.parent.mkdir(parents=True, exist_ok=True)
    with install_lock("nats-build"):
        if target.exists():
            return target
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=target.parent) as gobin:
            run(["go", "install", f"{MODULE}@{VERSION}"], env={**go_env(), "GOBIN": gobin}, timeout=3600)
            os.replace(Path(gobin) / "nats-server", target)
        (target.parent / f"{target.name}.build-seconds").write_text(f"{time.monotonic() - started:.0f}\n")
    return target


def _url() -> str:
    return f"nats://{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _ready() -> bool:
    # the server greets every client with an INFO line once it accepts connections
    with socket.create_connection((HOST, service_port(SERVICE, PORT_ENV)), timeout=2) as sock:
        return sock.recv(4).startswith(b"INFO")


def _start(binary: Path) -> None:
    pid_file = state_dir(SERVICE) / "pid"
    if pid_alive(pid_file):
        return
    port = claim_port(SERVICE, PORT_ENV, "NATS server", HOST)
    store = state_dir(SERVICE) / "jetstream"
    store.mkdir(exist_ok=True)
    start_daemon(SERVICE, [str(binary), "--addr", HOST, "--port", str(port), "--jetstream",
                           "--store_dir", str(store), "--http_port", "0"])


def ensure() -> dict[str, str]:
    """Builds the NATS server unless cached, starts it unless it runs, returns its env vars."""
    binary = build()
    _start(binary)
    await_ready(SERVICE, _ready, timeout=30, what=f"NATS at {_url()}", name="NATS")
    return save_env(SERVICE, {"WINGSPAN_TEST_NATS_URL": _url()})


def stop() -> None:
    stop_daemon(SERVICE)
