"""Where the test kube-apiserver runs and how to reach it, as scripts.testenv reports it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KubeApiserver:
    kubeconfig: Path  # admin user (system:masters)
    host: str
    pki_dir: Path  # ca.crt, and kubelet.crt/kubelet.key for the node agent

    @classmethod
    def from_env(cls, env: dict[str, str]) -> KubeApiserver:
        """From the variables scripts.testenv.kube.ensure() returns."""
        return cls(Path(env["WINGSPAN_KUBECONFIG"]), env["WINGSPAN_KUBE_HOST"],
                   Path(env["WINGSPAN_KUBE_PKI"]))
