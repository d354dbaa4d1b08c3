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
import urllib.request
from pathlib import Path

from scripts.testenv.base import (
    await_ready,
    cache_dir,
    go_binary,
    one_at_a_time,
    save_env,
    service_port,
    start_once,
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
    """Returns the cached binary, building it first if needed."""
    return go_binary(binary_path(), package=MODULE, version=VERSION, what="fake-gcs-server")


def _endpoint() -> str:
    return f"http://{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _answers() -> bool:
    with urllib.request.urlopen(f"{_endpoint()}/storage/v1/b?project={PROJECT}", timeout=2) as response:
        return bool(response.status == 200)


def _start(binary: Path) -> None:
    start_once(SERVICE, PORT_ENV, "fake-gcs-server", lambda port: [
        str(binary), "-scheme", "http", "-host", HOST, "-port", str(port), "-backend", "memory",
        "-public-host", f"{HOST}:{port}", "-external-url", f"http://{HOST}:{port}", "-log-level", "warn",
    ], host=HOST)


@one_at_a_time(SERVICE)
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
