"""What a container sees besides its command: environment variables and volume files.

Resolves ``env``/``envFrom`` (literal values, Secret and ConfigMap keys, pod fields) and
writes Secret, ConfigMap and emptyDir volumes under the pod's folder, from where
process.py bind-mounts them at each ``volumeMount``'s path.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

from kubernetes_asyncio.client import CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from tests.k8s_agent.process import Mount

# Passed through from the agent so commands such as "python" resolve as on the host.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV")
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigError(Exception):
    """The kubelet's CreateContainerConfigError: a missing Secret, key or unsupported field."""


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: unknown references stay as written, $$ escapes."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


class Sandbox:
    """The pod-level facts a container's environment and volumes are built from."""

    def __init__(self, core: CoreV1Api, pod: dict[str, Any], folder: Path,
                 extra_env: dict[str, str]) -> None:
        self.core = core
        self.pod = pod
        self.folder = folder
        self.extra_env = extra_env
        self.namespace: str = pod["metadata"]["namespace"]

    async def _object_data(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        """A Secret's (decoded) or ConfigMap's data; None when optional and missing."""
        try:
            if kind == "Secret":
                secret = await self.core.read_namespaced_secret(name, self.namespace)
                return {key: base64.b64decode(value).decode()
                        for key, value in (secret.data or {}).items()}
            config_map = await self.core.read_namespaced_config_map(name, self.namespace)
            return dict(config_map.data or {})
        except ApiException as exc:
            if exc.status == 404:
                if optional:
                    return None
                raise ConfigError(f'{kind.lower()} "{name}" not found') from exc
            raise

    async def _key(self, kind: str, ref: dict[str, Any]) -> str | None:
        optional = bool(ref.get("optional"))
        data = await self._object_data(kind, ref["name"], optional)
        if data is None:
            return None
        if ref["key"] not in data:
            if optional:
                return None
            raise ConfigError(f'couldn\'t find key {ref["key"]} in {kind} '
                              f'{self.namespace}/{ref["name"]}')
        return data[ref["key"]]

    def _field(self, path: str) -> str:
        meta, spec = self.pod["metadata"], self.pod["spec"]
        simple: dict[str, str] = {
            "metadata.name": meta["name"], "metadata.namespace": meta["namespace"],
            "metadata.uid": meta["uid"], "spec.nodeName": spec.get("nodeName", ""),
            "spec.serviceAccountName": spec.get("serviceAccountName", ""),
            "status.hostIP": "127.0.0.1", "status.podIP": "127.0.0.1",
        }
        if path in simple:
            return simple[path]
        found = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
        if found:
            return str((meta.get(found.group(1)) or {}).get(found.group(2), ""))
        raise ConfigError(f"fieldRef {path!r} is not supported by the test node agent")

    async def environment(self, container: dict[str, Any]) -> dict[str, str]:
        env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
        env["HOSTNAME"] = self.pod["metadata"]["name"]
        env.update(self.extra_env)
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                if key in source:
                    ref = source[key]
                    data = await self._object_data(kind, ref["name"], bool(ref.get("optional")))
                    env.update({prefix + name: value for name, value in (data or {}).items()})
        for item in container.get("env") or []:
            value = await self._env_value(item, env)
            if value is not None:
                env[item["name"]] = value
        return env

    async def _env_value(self, item: dict[str, Any], env: dict[str, str]) -> str | None:
        if "valueFrom" not in item:
            return expand(item.get("value", ""), env)
        source = item["valueFrom"]
        if "secretKeyRef" in source:
            return await self._key("Secret", source["secretKeyRef"])
        if "configMapKeyRef" in source:
            return await self._key("ConfigMap", source["configMapKeyRef"])
        if "fieldRef" in source:
            return self._field(source["fieldRef"]["fieldPath"])
        raise ConfigError(f"env {item['name']}: valueFrom {sorted(source)} is not supported")

    async def prepare_volumes(self) -> dict[str, Path]:
        """Writes each volume's files; returns volume name -> folder (or host path)."""
        folders: dict[str, Path] = {}
        for volume in self.pod["spec"].get("volumes") or []:
            name = volume["name"]
            folder = self.folder / "volumes" / name
            if "secret" in volume or "configMap" in volume:
                kind, key = ("Secret", "secret") if "secret" in volume else ("ConfigMap",
                                                                              "configMap")
                source = volume[key]
                object_name = source.get("secretName") or source.get("name")
                data = await self._object_data(kind, object_name, bool(source.get("optional")))
                self._write_files(folder, data or {}, source)
            elif "emptyDir" in volume:
                folder.mkdir(parents=True, exist_ok=True)
            elif "hostPath" in volume:
                folder = Path(volume["hostPath"]["path"])
            else:
                kinds = sorted(set(volume) - {"name"})
                raise ConfigError(f"volume {name}: {kinds} not supported by the test node agent")
            folders[name] = folder
        return folders

    @staticmethod
    def _write_files(folder: Path, data: dict[str, str], source: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        mode = int(source.get("defaultMode", 0o644))
        items = source.get("items") or [{"key": key, "path": key} for key in data]
        for item in items:
            if item["key"] not in data:
                raise ConfigError(f"key {item['key']} not found for volume item {item['path']}")
            target = folder / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(data[item["key"]])
            target.chmod(int(item.get("mode", mode)))

    @staticmethod
    def mounts(container: dict[str, Any], folders: dict[str, Path]) -> list[Mount]:
        mounts = []
        for mount in container.get("volumeMounts") or []:
            if mount["name"] not in folders:
                raise ConfigError(f"volumeMount {mount['name']} names no volume of the pod")
            source = folders[mount["name"]]
            if mount.get("subPath"):
                source = source / mount["subPath"]
            mounts.append(Mount(source, mount["mountPath"]))
        return mounts
