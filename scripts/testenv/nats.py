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
from pathlib import Path

from scripts.testenv.base import (
    await_ready,
    cache_dir,
    go_binary,
    one_at_a_time,
    save_env,
    service_port,
    start_once,
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
    """Returns the cached binary, building it first if needed."""
    return go_binary(binary_path(), package=MODULE, version=VERSION, what="the NATS server")


def _url() -> str:
    return f"nats://{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _ready() -> bool:
    # the server greets every client with an INFO line once it accepts connections
    with socket.create_connection((HOST, service_port(SERVICE, PORT_ENV)), timeout=2) as sock:
        return sock.recv(4).startswith(b"INFO")


def _start(binary: Path) -> None:
    store = state_dir(SERVICE) / "jetstream"
    store.mkdir(exist_ok=True)
    start_once(SERVICE, PORT_ENV, "NATS server", lambda port: [
        str(binary), "--addr", HOST, "--port", str(port), "--jetstream", "--store_dir", str(store),
        "--http_port", "0"], host=HOST)


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Builds the NATS server unless cached, starts it unless it runs, returns its env vars."""
    binary = build()
    _start(binary)
    await_ready(SERVICE, _ready, timeout=30, what=f"NATS at {_url()}", name="NATS")
    return save_env(SERVICE, {"WINGSPAN_TEST_NATS_URL": _url()})


def stop() -> None:
    stop_daemon(SERVICE)
