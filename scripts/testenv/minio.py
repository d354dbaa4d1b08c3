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
import tempfile
import time
import urllib.request
from pathlib import Path

from scripts.testenv.base import (
    ServiceError,
    await_ready,
    cache_dir,
    claim_port,
    free_port,
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
    """Returns the cached binary, building it first if needed (serialised by a lock)."""
    target = binary_path()
    if target.exists():
        return target
    if not have("go"):
        raise ServiceError("go is not on PATH; MinIO is built with the Go toolchain (>= 1.24)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with install_lock("minio-build"):
        if target.exists():
            return target
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=target.parent) as gobin:
            argv, env = ["go", "install", f"{MODULE}@{VERSION}"], {**go_env(), "GOBIN": gobin}
            try:
                run(argv, env=env, timeout=3600)
            except ServiceError as first:
                # seen once here: a build sharing the Go caches with another build failed at
                # once with "package internal/abi is not in std" and went through on a retry
                try:
                    run(argv, env=env, timeout=3600)
                except ServiceError as second:
                    raise ServiceError(f"{second}\n(first attempt: {first})") from second
            os.replace(Path(gobin) / "minio", target)
        (target.parent / f"{target.name}.build-seconds").write_text(
            f"{time.monotonic() - started:.0f}\n")
    return target


def _endpoint() -> str:
    return f"http://{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _live() -> bool:
    url = f"{_endpoint()}/minio/health/live"
    with urllib.request.urlopen(url, timeout=2) as response:  # loopback only
        return bool(response.status == 200)


def _start(binary: Path) -> None:
    pid_file = state_dir(SERVICE) / "pid"
    if pid_alive(pid_file):
        return  # a second `up`: the readiness wait below covers a server still starting
    port = claim_port(SERVICE, PORT_ENV, "MinIO", HOST)
    data = state_dir(SERVICE) / "data"
    data.mkdir(exist_ok=True)
    start_daemon(SERVICE, [
        str(binary), "server", "--quiet", "--address", f"{HOST}:{port}",
        "--console-address", f"{HOST}:{free_port()}", str(data),
    ], env={
        "MINIO_ROOT_USER": ACCESS_KEY,
        "MINIO_ROOT_PASSWORD": SECRET_KEY,
        "MINIO_REGION": REGION,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    })


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
