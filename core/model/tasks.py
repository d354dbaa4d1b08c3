"""Task templates: everything needed to run one task attempt anywhere."""

from __future__ import annotations

import enum
from datetime import timedelta

from wingspan.core.model.interface import Identifier, TypedInterface
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.record import record

__all__ = [
    "CacheSettings",
    "CodeReference",
    "Container",
    "KeyValue",
    "ResourceSet",
    "Resources",
    "Secret",
    "SecretMount",
    "TaskMetadata",
    "TaskTemplate",
]


@record
class KeyValue:
    key: str = ""
    value: str = ""


@record
class ResourceSet:
    cpu: str = ""
    memory: str = ""
    gpu: str = ""
    ephemeral_storage: str = ""


@record
class Resources:
    requests: ResourceSet | None = None
    limits: ResourceSet | None = None


class SecretMount(enum.IntEnum):
    ANY = 0
    ENV = 1
    FILE = 2


@record
class Secret:
    group: str = ""
    key: str = ""
    mount: SecretMount = SecretMount.ANY


@record
class Container:
    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[KeyValue, ...] = ()
    resources: Resources | None = None
    input_dir: str = ""
    output_dir: str = ""


@record
class CacheSettings:
    enabled: bool = False
    version: str = ""
    serialize: bool = False
    ignored_inputs: tuple[str, ...] = ()


@record
class TaskMetadata:
    retries: int = 0
    timeout: timedelta | None = None
    cache: CacheSettings | None = None
    interruptible: bool = False
    docs: str = ""
    runtime: str = ""
    # the task plugin that runs it ("k8s", "local-process"), over the deployment's choice
    target: str = ""


@record
class CodeReference:
    module: str = ""
    qualname: str = ""
    bundle_uri: str = ""
    source_digest: str = ""


@record
class TaskTemplate:
    id: Identifier | None = None
    type: str = ""
    metadata: TaskMetadata | None = None
    interface: TypedInterface | None = None
    container: Container | None = None
    secrets: tuple[Secret, ...] = ()
    custom: LiteralMap | None = None
    code: CodeReference | None = None
    custom_version: int = 0
