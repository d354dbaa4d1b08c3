"""``python -m scripts.testenv up|down|env [SERVICE ...]``.

``up`` ensures each service runs and prints ``export NAME=value`` lines for a
shell; ``env`` prints them for services already up; ``down`` stops them.
"""

from __future__ import annotations

import importlib
import shlex
import sys
from types import ModuleType

from scripts.testenv.base import ServiceError, load_env

# name -> module under scripts.testenv; each has ensure() -> dict[str, str] and stop()
SERVICES = {
    "postgres": "scripts.testenv.postgres",
    "minio": "scripts.testenv.minio",
    "azurite": "scripts.testenv.azurite",
    "fakegcs": "scripts.testenv.fakegcs",
    "etcd": "scripts.testenv.etcd",
    "kube": "scripts.testenv.kube",
    "keycloak": "scripts.testenv.keycloak",
    "registry": "scripts.testenv.registry",
    "trino": "scripts.testenv.trino",
    "chromium": "scripts.testenv.chromium",
    "openmpi": "scripts.testenv.openmpi",
    "jaeger": "scripts.testenv.jaeger",
    "nats": "scripts.testenv.nats",
}


def _module(name: str) -> ModuleType:
    if name not in SERVICES:
        raise SystemExit(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
    return importlib.import_module(SERVICES[name])


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("up", "down", "env"):
        print(__doc__, file=sys.stderr)
        return 2
    command, names = argv[0], argv[1:] or list(SERVICES)
    exports: dict[str, str] = {}
    for name in names:
        module = _module(name)
        try:
            if command == "up":
                exports.update(module.ensure())
            elif command == "down":
                module.stop()
            else:
                exports.update(load_env(name) or {})
        except ServiceError as exc:
            print(f"testenv: {name} failed: {exc}", file=sys.stderr)
            return 1
    for key, value in sorted(exports.items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
