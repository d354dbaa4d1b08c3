"""A real kube-apiserver on 127.0.0.1 backed by etcd (the envtest approach, built here).

There is no controller manager, scheduler or kubelet: tests bind pods to nodes
themselves and tests/k8s_agent plays the kubelet. The apiserver reaches that agent
for pod logs with the kubelet client certificate of kube_pki.py.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

from scripts.testenv import etcd
from scripts.testenv.base import (
    free_port,
    load_env,
    one_at_a_time,
    pid_alive,
    save_env,
    start_daemon,
    state_dir,
    stop_daemon,
    wait_until,
)
from scripts.testenv.kube_build import K8S_VERSION, build_apiserver
from scripts.testenv.kube_pki import Pki, ensure_pki

SERVICE = "kube"
SERVICE_CIDR = "10.0.0.0/24"


def _pki() -> Pki:
    return ensure_pki(state_dir(SERVICE) / "pki")


def _ready(host: str, pki: Pki) -> bool:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.path("admin.crt")), str(pki.path("admin.key")))
    with urllib.request.urlopen(f"{host}/readyz", timeout=3, context=context) as response:
        return bool(response.status == 200)


def _running(etcd_url: str, pki: Pki) -> dict[str, str] | None:
    env = load_env(SERVICE)
    if env is None or not pid_alive(state_dir(SERVICE) / "pid"):
        return None
    # An apiserver pointed at an etcd that has since been replaced holds stale caches.
    if env.get("WINGSPAN_ETCD_URL") != etcd_url:
        return None
    try:
        return env if _ready(env["WINGSPAN_KUBE_HOST"], pki) else None
    except OSError:
        return None


def write_kubeconfig(path: Path, host: str, pki: Pki) -> None:
    """JSON is valid YAML, so every kubeconfig loader reads this file."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "wingspan-test",
        "clusters": [{"name": "wingspan-test", "cluster": {
            "server": host, "certificate-authority": str(pki.ca_cert)}}],
        "users": [{"name": "admin", "user": {
            "client-certificate": str(pki.path("admin.crt")),
            "client-key": str(pki.path("admin.key"))}}],
        "contexts": [{"name": "wingspan-test", "context": {
            "cluster": "wingspan-test", "user": "admin"}}],
    }
    path.write_text(json.dumps(config, indent=2))


def _flags(etcd_url: str, port: int, pki: Pki) -> list[str]:
    folder = state_dir(SERVICE)
    host = f"https://127.0.0.1:{port}"
    return [
        f"--etcd-servers={etcd_url}",
        f"--secure-port={port}", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        f"--cert-dir={folder / 'cert-dir'}",
        f"--tls-cert-file={pki.path('apiserver.crt')}",
        f"--tls-private-key-file={pki.path('apiserver.key')}",
        f"--client-ca-file={pki.ca_cert}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true", "--authorization-mode=RBAC",
        # Nothing creates the per-namespace "default" ServiceAccount (no controller manager),
        # and with this plugin on every pod would wait for it.
        "--disable-admission-plugins=ServiceAccount",
        f"--service-account-issuer={host}",
        f"--service-account-key-file={pki.path('sa.pub')}",
        f"--service-account-signing-key-file={pki.path('sa.key')}",
        # Pod logs, exec and port-forward are proxied to the node agent's kubelet port.
        f"--kubelet-client-certificate={pki.path('kubelet-client.crt')}",
        f"--kubelet-client-key={pki.path('kubelet-client.key')}",
        f"--kubelet-certificate-authority={pki.ca_cert}",
        "--kubelet-preferred-address-types=InternalIP",
        # One apiserver and no Service controller: the endpoint reconciler only adds noise.
        "--endpoint-reconciler-type=none",
        "--profiling=false",
    ]


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Starts etcd and kube-apiserver unless they already answer.

    Returns WINGSPAN_KUBECONFIG (admin user), WINGSPAN_KUBE_HOST and WINGSPAN_KUBE_PKI
    (the folder with ca.crt and the node agent's kubelet.crt/kubelet.key).
    """
    etcd_url = etcd.ensure()["WINGSPAN_ETCD_URL"]
    pki = _pki()
    running = _running(etcd_url, pki)
    if running is not None:
        return running
    stop_daemon(SERVICE)
    binary = build_apiserver()
    port = free_port()
    host = f"https://127.0.0.1:{port}"
    start_daemon(SERVICE, [str(binary), *_flags(etcd_url, port, pki)])
    wait_until(lambda: _ready(host, pki), timeout=180, what=f"kube-apiserver v{K8S_VERSION}",
               service=SERVICE)
    kubeconfig = state_dir(SERVICE) / "kubeconfig"
    write_kubeconfig(kubeconfig, host, pki)
    return save_env(SERVICE, {
        "WINGSPAN_KUBECONFIG": str(kubeconfig),
        "WINGSPAN_KUBE_HOST": host,
        "WINGSPAN_KUBE_PKI": str(pki.folder),
        "WINGSPAN_ETCD_URL": etcd_url,
    })


def stop() -> None:
    stop_daemon(SERVICE)
