"""An image registry for the ImageSpec build tests: Debian's ``docker-registry`` (Docker's
distribution) on 127.0.0.1, with buildah to build into it and a base image pushed to it.

Images cannot be pulled from Docker Hub here, so the base the tests build on is made on the
machine: ``debootstrap`` lays a minimal Debian bookworm with python3 from the Debian mirror,
buildah packs it as an image and pushes it to the registry (about 2 minutes, once: the
registry keeps its data under ``cache_dir()``, and a running registry that has the base is
used as it is). The base trusts the CA certificates this machine trusts, so a build step
that fetches packages reaches them the way this machine does.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from scripts.testenv.base import (
    apt_install,
    await_ready,
    cache_dir,
    claim_port,
    have,
    one_at_a_time,
    pid_alive,
    run,
    save_env,
    service_port,
    start_daemon,
    state_dir,
    stop_daemon,
)

SERVICE = "registry"
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_REGISTRY_PORT"
BASE_REPOSITORY = "wingspan-testenv/debian-python"
BASE_TAG = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# the programs and the Debian packages that bring them
PROGRAMS = {"docker-registry": "docker-registry", "buildah": "buildah", "debootstrap": "debootstrap"}
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _address() -> str:
    return f"{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _install() -> None:
    missing = [package for program, package in PROGRAMS.items() if not have(program)]
    if missing:
        apt_install(*missing)


def _live() -> bool:
    with urllib.request.urlopen(f"http://{_address()}/v2/", timeout=2) as response:  # loopback only
        return bool(response.status == 200)


def _start() -> None:
    pid_file = state_dir(SERVICE) / "pid"
    if pid_alive(pid_file):
        return
    port = claim_port(SERVICE, PORT_ENV, "registry", HOST)
    data = state_dir(SERVICE) / "data"
    data.mkdir(exist_ok=True)
    config = state_dir(SERVICE) / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {HOST}:{port}\n  secret: wingspan-testenv\n")
    start_daemon(SERVICE, ["docker-registry", "serve", str(config)])


def _has_base() -> bool:
    request = urllib.request.Request(
        f"http://{_address()}/v2/{BASE_REPOSITORY}/manifests/{BASE_TAG}", method="HEAD",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                           "application/vnd.docker.distribution.manifest.v2+json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise


def base_image() -> str:
    return f"{_address()}/{BASE_REPOSITORY}:{BASE_TAG}"


def _push_base() -> None:
    """Lays the base's file tree with debootstrap and pushes it as an image (once)."""
    with open(cache_dir() / "registry-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits for the first one's base
        if _has_base():
            return
        with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="registry-base-") as folder:
            rootfs = Path(folder) / "rootfs"
            run(["debootstrap", "--variant=minbase", "--include=python3,ca-certificates", "bookworm",
                 str(rootfs), MIRROR], timeout=1800)
            shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
            if HOST_CA_BUNDLE.is_file():
                shutil.copy(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
            (Path(folder) / "Containerfile").write_text('FROM scratch\nCOPY rootfs/ /\nCMD ["/bin/sh"]\n')
            storage = ["--root", f"{folder}/storage", "--runroot", f"{folder}/run", "--storage-driver", "vfs"]
            run(["buildah", *storage, "bud", "-f", f"{folder}/Containerfile", "-t", base_image(), folder],
                env={"BUILDAH_ISOLATION": "chroot"}, timeout=1800)
            run(["buildah", *storage, "push", "--tls-verify=false", base_image()], timeout=1800)
            run(["buildah", *storage, "rmi", "--all", "--force"], check=False)


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Installs what it needs, starts the registry unless it runs, pushes the base image unless
    the registry has it, and returns the registry's address and the base image's name."""
    _install()
    _start()
    await_ready(SERVICE, _live, timeout=60, what=f"the registry at {_address()}", name="the registry")
    _push_base()
    return save_env(SERVICE, {"WINGSPAN_TEST_REGISTRY": _address(), "WINGSPAN_TEST_BASE_IMAGE": base_image()})


def stop() -> None:
    stop_daemon(SERVICE)
