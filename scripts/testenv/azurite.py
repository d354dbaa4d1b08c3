"""Azurite, Microsoft's Azure Storage emulator, for the Azure Blob store's tests (blob service only).

Installed from npm (``azurite`` VERSION) with Debian's Node into ``cache_dir()/azurite-VERSION``
(``npm install`` into a scratch folder, renamed into place when complete, so an interrupted
install is never taken for one) and run on 127.0.0.1 with the emulator's well-known account
``devstoreaccount1``. Azurite checks Shared Key signatures and SAS tokens like the service does,
so the store's request signing and its SAS URLs are really checked here.

Data lives in memory (``--inMemoryPersistence``): every start is empty, and nothing is left on
disk between runs.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from scripts.testenv.base import (
    ServiceError,
    await_ready,
    cache_dir,
    claim_port,
    have,
    install_lock,
    one_at_a_time,
    pid_alive,
    record_install_seconds,
    run,
    save_env,
    service_port,
    start_daemon,
    state_dir,
    stop_daemon,
)

SERVICE = "azurite"
VERSION = os.environ.get("WINGSPAN_TESTENV_AZURITE_VERSION", "3.37.0")
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_AZURITE_PORT"
# the emulator's documented development account and key (public, not a secret)
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def install_dir() -> Path:
    return cache_dir() / f"azurite-{VERSION}"


def install() -> Path:
    """The cached Azurite blob server's launcher, installing it from npm first if needed."""
    launcher = install_dir() / "node_modules" / ".bin" / "azurite-blob"
    if launcher.exists():
        return launcher
    if not have("npm") or not have("node"):
        raise ServiceError("node and npm are not on PATH; Azurite is installed from npm "
                           "(apt-get install nodejs npm)")
    with install_lock(f"azurite-{VERSION}"):
        if launcher.exists():
            return launcher
        started = time.monotonic()
        scratch = install_dir().with_name(f".{install_dir().name}.installing")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        run(["npm", "install", "--no-audit", "--no-fund", "--omit=dev", "--prefix", str(scratch),
             f"azurite@{VERSION}"], timeout=1800)
        os.replace(scratch, install_dir())
        record_install_seconds(f"azurite-{VERSION}", started)
    if not launcher.exists():
        raise ServiceError(f"npm installed azurite@{VERSION} but {launcher} is missing")
    return launcher


def _endpoint() -> str:
    return f"http://{HOST}:{service_port(SERVICE, PORT_ENV)}/{ACCOUNT}"


def _answers() -> bool:
    # any HTTP answer (an unauthenticated request is refused with 403) means it serves
    try:
        with urllib.request.urlopen(f"{_endpoint()}?comp=list", timeout=2):  # loopback only
            return True
    except urllib.error.HTTPError:
        return True


def _start(launcher: Path) -> None:
    if pid_alive(state_dir(SERVICE) / "pid"):
        return
    port = claim_port(SERVICE, PORT_ENV, "Azurite", HOST)
    folder = state_dir(SERVICE)
    # in memory, it takes no --location; its working folder is the state folder all the same
    start_daemon(SERVICE, [
        str(launcher), "--blobHost", HOST, "--blobPort", str(port), "--inMemoryPersistence",
        "--skipApiVersionCheck", "--disableProductStyleUrl", "--silent",
    ], cwd=folder)


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Installs Azurite unless cached, starts it unless it runs, and returns its env vars."""
    launcher = install()
    _start(launcher)
    await_ready(SERVICE, _answers, timeout=60, what=f"Azurite at {_endpoint()}", name="Azurite")
    return save_env(SERVICE, {
        "WINGSPAN_TEST_AZURE_ENDPOINT": _endpoint(),
        "WINGSPAN_TEST_AZURE_ACCOUNT": ACCOUNT,
        "WINGSPAN_TEST_AZURE_ACCOUNT_KEY": ACCOUNT_KEY,
    })


def stop() -> None:
    stop_daemon(SERVICE)
