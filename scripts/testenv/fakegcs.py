"""fake-gcs-server, an emulator of Google Cloud Storage's JSON and XML APIs, for the GCS store's
tests: built once with ``go install github.com/fsouza/fake-gcs-server@VERSION`` into
``cache_dir()/bin`` (the Go caches shared with the other Go builds, see ``base.go_env``) and run
on 127.0.0.1 over plain HTTP, keeping its objects in memory (every start is empty).

It accepts any request without credentials and does not check V4 signatures on signed URLs
(it serves the signed path and ignores the query); the store's signing is checked against
Google's published conformance vectors instead (tests/unit/storage).
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.request
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
    record_install_seconds,
    run,
    save_env,
    service_port,
    start_daemon,
    state_dir,
    stop_daemon,
)

SERVICE = "fakegcs"
MODULE = "github.com/fsouza/fake-gcs-server"
VERSION = os.environ.get("WINGSPAN_TESTENV_FAKEGCS_VERSION", "v1.56.1")
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_FAKEGCS_PORT"
PROJECT = "wingspan-test"


def binary_path() -> Path:
    return cache_dir() / "bin" / f"fake-gcs-server-{VERSION}"


def build() -> Path:
    """Returns the cached binary, building it first if needed (serialised by a lock)."""
    target = binary_path()
    if target.exists():
        return target
    if not have("go"):
        raise ServiceError("go is not on PATH; fake-gcs-server is built with the Go toolchain")
    target.parent.mkdir(parents=True, exist_ok=True)
    with install_lock("fakegcs-build"):
        if target.exists():
            return target
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=target.parent) as gobin:
            run(["go", "install", f"{MODULE}@{VERSION}"], env={**go_env(), "GOBIN": gobin}, timeout=3600)
            os.replace(Path(gobin) / "fake-gcs-server", target)
        record_install_seconds(target.name, started)
    return target


def _endpoint() -> str:
    return f"http://{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _answers() -> bool:
    with urllib.request.urlopen(f"{_endpoint()}/storage/v1/b?project={PROJECT}", timeout=2) as response:
        return bool(response.status == 200)


def _start(binary: Path) -> None:
    if pid_alive(state_dir(SERVICE) / "pid"):
        return
    port = claim_port(SERVICE, PORT_ENV, "fake-gcs-server", HOST)
    start_daemon(SERVICE, [
        str(binary), "-scheme", "http", "-host", HOST, "-port", str(port), "-backend", "memory",
        "-public-host", f"{HOST}:{port}", "-external-url", f"http://{HOST}:{port}", "-log-level", "warn",
    ])


def ensure() -> dict[str, str]:
    """Builds fake-gcs-server unless cached, starts it unless it runs, and returns its env vars."""
    binary = build()
    _start(binary)
    await_ready(SERVICE, _answers, timeout=60, what=f"fake-gcs-server at {_endpoint()}",
                name="fake-gcs-server")
    return save_env(SERVICE, {
        "WINGSPAN_TEST_GCS_ENDPOINT": _endpoint(),
        "WINGSPAN_TEST_GCS_PROJECT": PROJECT,
    })


def stop() -> None:
    stop_daemon(SERVICE)
