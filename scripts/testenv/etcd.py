"""etcd for the test kube-apiserver: Debian's etcd-server, on 127.0.0.1.

Version: Debian 12's etcd-server 3.4.23, paired with kube-apiserver 1.33 (kube_build.py),
whose etcd client still works against a 3.4 server.
"""

from __future__ import annotations

import shutil
import urllib.request

from scripts.testenv.base import (
    ServiceError,
    apt_install,
    free_port,
    have,
    load_env,
    one_at_a_time,
    pid_alive,
    save_env,
    start_daemon,
    state_dir,
    stop_daemon,
    wait_until,
)

SERVICE = "etcd"
ETCD_VERSION = "3.4.23"  # Debian 12's etcd-server


def _healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
        return b'"health":"true"' in response.read()


def _running() -> dict[str, str] | None:
    env = load_env(SERVICE)
    if env is None or not pid_alive(state_dir(SERVICE) / "pid"):
        return None
    try:
        return env if _healthy(env["WINGSPAN_ETCD_URL"]) else None
    except OSError:
        return None


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Starts etcd unless it already answers; returns WINGSPAN_ETCD_URL."""
    running = _running()
    if running is not None:
        return running
    stop_daemon(SERVICE)
    if not have("etcd"):
        apt_install("etcd-server")
    etcd = shutil.which("etcd")
    if etcd is None:
        raise ServiceError("etcd-server installed but no etcd on PATH")
    folder = state_dir(SERVICE)
    # A fresh etcd starts empty: objects left by an earlier run would leak into the tests.
    shutil.rmtree(folder / "data", ignore_errors=True)
    client, peer = free_port(), free_port()
    url = f"http://127.0.0.1:{client}"
    peer_url = f"http://127.0.0.1:{peer}"
    start_daemon(SERVICE, [
        etcd, "--name=wingspan-test", f"--data-dir={folder / 'data'}",
        f"--listen-client-urls={url}", f"--advertise-client-urls={url}",
        f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=wingspan-test={peer_url}",
        # 3.4 has no --unsafe-no-fsync; only keep its log short
        "--log-level=warn", "--logger=zap",
    ])
    wait_until(lambda: _healthy(url), timeout=60, what="etcd", service=SERVICE)
    return save_env(SERVICE, {"WINGSPAN_ETCD_URL": url})


def stop() -> None:
    stop_daemon(SERVICE)
