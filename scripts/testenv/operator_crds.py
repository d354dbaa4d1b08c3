"""Operators' own CustomResourceDefinitions, fetched from their published Go modules.

The plugins ship compact schemas of their custom resources written from the operators'
field lists; the real tests install the operator's own CRD (generated from its Go types,
over a megabyte for a RayJob) to check that what a plugin makes is accepted by it. The
modules come through the Go module proxy (``go mod download``, checksummed against
sum.golang.org) into the shared Go module cache under cache_dir(); nothing is vendored.
"""

from __future__ import annotations

import json
from pathlib import Path

from scripts.testenv.base import ServiceError, go_env, have, run

__all__ = ["KUBERAY", "MPI_OPERATOR", "crd_file"]

#: KubeRay's operator: config/crd/bases/ray.io_rayjobs.yaml
KUBERAY = ("github.com/ray-project/kuberay/ray-operator", "v1.4.0")
#: Kubeflow's MPI operator: manifests/base/kubeflow.org_mpijobs.yaml
MPI_OPERATOR = ("github.com/kubeflow/mpi-operator", "v0.6.0")


def module_dir(module: tuple[str, str]) -> Path:
    """The module's unpacked folder in the Go module cache (downloaded when missing)."""
    if not have("go"):
        raise ServiceError("go is not on PATH; the operators' CRDs come from their Go modules")
    path, version = module
    proc = run(["go", "mod", "download", "-json", f"{path}@{version}"], env=go_env(), timeout=600,
               check=False)
    text = proc.stdout
    try:  # stderr is merged in: the JSON object is the part from its first brace
        info = json.loads(text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        raise ServiceError(f"go mod download {path}@{version} exited with {proc.returncode}:\n"
                           f"{text[-4000:]}") from None
    if info.get("Error") or proc.returncode != 0:
        raise ServiceError(f"go mod download {path}@{version}: {info.get('Error') or text[-4000:]}")
    return Path(info["Dir"])


def crd_file(module: tuple[str, str], relative: str) -> Path:
    """The CRD file ``relative`` inside ``module``."""
    found = module_dir(module) / relative
    if not found.is_file():
        raise ServiceError(f"{module[0]}@{module[1]} has no {relative}")
    return found
