"""Builds kube-apiserver once through the Go module proxy, cached under cache_dir().

``k8s.io/kubernetes`` requires its staging modules at v0.0.0 and points them at local
folders with ``replace`` lines, which a dependent module does not inherit; so we build
from a small wrapper module that requires ``k8s.io/kubernetes`` and replaces every
staging module with its published v0.X.Y tag.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from scripts.testenv.base import ServiceError, cache_dir, go_env, have, run

# Paired with Debian's etcd-server 3.4 (see etcd.py): 1.33 still speaks the etcd 3.5 client
# API that 3.4 serves; 1.34 moved to the 3.6 client.
K8S_VERSION = "1.33.13"
STAGING_VERSION = "0.33.13"

# The "=> ./staging/src/..." lines of k8s.io/kubernetes v1.33.13's go.mod.
STAGING_MODULES = (
    "api", "apiextensions-apiserver", "apimachinery", "apiserver", "cli-runtime",
    "client-go", "cloud-provider", "cluster-bootstrap", "code-generator", "component-base",
    "component-helpers", "controller-manager", "cri-api", "cri-client", "csi-translation-lib",
    "dynamic-resource-allocation", "endpointslice", "externaljwt", "kms", "kube-aggregator",
    "kube-controller-manager", "kube-proxy", "kube-scheduler", "kubectl", "kubelet", "metrics",
    "mount-utils", "pod-security-admission", "sample-apiserver", "sample-cli-plugin",
    "sample-controller",
)

MAIN_GO = """\
package main

import (
\t"os"

\t"k8s.io/component-base/cli"
\t"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
\tos.Exit(cli.Run(app.NewAPIServerCommand()))
}
"""


def binary_path() -> Path:
    return cache_dir() / "bin" / f"kube-apiserver-v{K8S_VERSION}"


def _go_mod() -> str:
    replaces = "\n".join(
        f"\tk8s.io/{name} => k8s.io/{name} v{STAGING_VERSION}" for name in STAGING_MODULES
    )
    return (
        "module wingspan.test/kube-apiserver\n\n"
        "go 1.24.0\n\n"
        # upstream's go.mod pins this; without it newer Go defaults change TLS/x509 behaviour
        "godebug default=go1.24\n\n"
        f"require k8s.io/kubernetes v{K8S_VERSION}\n\n"
        f"replace (\n{replaces}\n)\n"
    )


def build_apiserver() -> Path:
    """Returns the cached binary, building it first if needed (serialised by a lock)."""
    target = binary_path()
    if target.exists():
        return target
    if not have("go"):
        raise ServiceError("go is not on PATH; kube-apiserver is built with the Go toolchain")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = cache_dir() / f"kube-apiserver-src-v{K8S_VERSION}"
    src.mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / "kube-build.lock", "w") as lock:
        # A second process waits here for the first one's build instead of starting its own.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        (src / "go.mod").write_text(_go_mod())
        (src / "main.go").write_text(MAIN_GO)
        env = go_env("-mod=mod")
        started = time.monotonic()
        run(["go", "mod", "tidy"], env=env, cwd=src, timeout=1800)
        prefix = "k8s.io/component-base/version"
        minor = K8S_VERSION.split(".")[1]
        ldflags = (
            f"-s -w -X {prefix}.gitVersion=v{K8S_VERSION} -X {prefix}.gitMajor=1"
            f" -X {prefix}.gitMinor={minor}"
        )
        partial = target.with_suffix(".partial")
        run(["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(partial), "."],
            env=env, cwd=src, timeout=3600)
        os.replace(partial, target)
        (target.parent / f"{target.name}.build-seconds").write_text(
            f"{time.monotonic() - started:.0f}\n")
    return target


if __name__ == "__main__":
    print(build_apiserver())
