"""MinIO for the tests, built from source through the Go module proxy and run on 127.0.0.1.

MinIO ships no Debian package and no PyPI wheel, and prebuilt binaries cannot be
downloaded here, so ``go install github.com/minio/minio@VERSION`` builds it once
(several minutes on 2 cores) into ``cache_dir()/bin``; the Go module and build
caches live under ``cache_dir()/go`` too (shared with kube_build.py), so later runs
and CI on the same machine start it in about a second.

VERSION pins what ``@latest`` resolved to when this was written: MinIO tags its
releases ``RELEASE.<date>``, which are not semantic versions, so the module proxy
only knows pseudo-versions of commits and ``@latest`` would move under us. Set
WINGSPAN_TESTENV_MINIO_VERSION to try another one (``latest`` works too).
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from scripts.testenv.base import (
    await_ready,
    cache_dir,
    free_port,
    go_binary,
    one_at_a_time,
    save_env,
    service_port,
    start_once,
    state_dir,
    stop_daemon,
)

SERVICE = "minio"
MODULE = "github.com/minio/minio"
VERSION = os.environ.get("WINGSPAN_TESTENV_MINIO_VERSION", "v0.0.0-20260212201848-7aac2a2c5b7c")
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_MINIO_PORT"
ACCESS_KEY = "wingspan-test"
SECRET_KEY = "wingspan-test-secret-key"
REGION = "us-east-1"


def binary_path() -> Path:
    return cache_dir() / "bin" / f"minio-{VERSION}"


def build() -> Path:
    """Returns the cached binary, building it first if needed."""
    return go_binary(binary_path(), package=MODULE, version=VERSION, what="MinIO")


def _endpoint() -> str:
    return f"http://{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _live() -> bool:
    url = f"{_endpoint()}/minio/health/live"
    with urllib.request.urlopen(url, timeout=2) as response:  # loopback only
        return bool(response.status == 200)


def _start(binary: Path) -> None:
    data = state_dir(SERVICE) / "data"
    data.mkdir(exist_ok=True)
    start_once(SERVICE, PORT_ENV, "MinIO", lambda port: [
        str(binary), "server", "--quiet", "--address", f"{HOST}:{port}",
        "--console-address", f"{HOST}:{free_port()}", str(data),
    ], env={
        "MINIO_ROOT_USER": ACCESS_KEY,
        "MINIO_ROOT_PASSWORD": SECRET_KEY,
        "MINIO_REGION": REGION,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }, host=HOST)


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Builds MinIO unless cached, starts it unless it runs, and returns its env vars."""
    binary = build()
    _start(binary)
    await_ready(SERVICE, _live, timeout=60, what=f"MinIO at {_endpoint()}", name="MinIO")
    return save_env(SERVICE, {
        "WINGSPAN_TEST_S3_ENDPOINT": _endpoint(),
        "WINGSPAN_TEST_S3_ACCESS_KEY": ACCESS_KEY,
        "WINGSPAN_TEST_S3_SECRET_KEY": SECRET_KEY,
        "WINGSPAN_TEST_S3_REGION": REGION,
    })


def stop() -> None:
    stop_daemon(SERVICE)
