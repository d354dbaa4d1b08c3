"""The operators' own CRDs (from their Go modules, through scripts.testenv.operator_crds) for the
custom-object tests: installed on the test API server in place of the plugins' compact
schemas, and compared with them field by field. No tests here."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio.client import ApiClient, ApiextensionsV1Api
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.watch import Watch

from scripts.testenv.base import ServiceError
from scripts.testenv.operator_crds import crd_file

__all__ = ["differences", "install_operator_crd", "operator_crd", "operator_schema"]


def operator_crd(module: tuple[str, str], relative: str) -> dict[str, Any]:
    """The operator's CRD, read from its module (fails the test when the module cannot be had)."""
    import pytest

    try:
        path: Path = crd_file(module, relative)
    except ServiceError as exc:
        pytest.fail(f"the operator's CRD could not be fetched: {exc}", pytrace=False)
    for document in yaml.safe_load_all(path.read_text()):
        if document and document.get("kind") == "CustomResourceDefinition":
            crd: dict[str, Any] = document
            return crd
    raise AssertionError(f"{path} holds no CustomResourceDefinition")


def operator_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
    return schema


def differences(ours: dict[str, Any], theirs: dict[str, Any], path: str = "") -> list[str]:
    """Where ``ours`` names a field ``theirs`` lacks, types one otherwise, or allows a value
    of an enum that theirs refuses (what ours leaves open is not compared)."""
    found: list[str] = []
    kind, other = ours.get("type"), theirs.get("type")
    if kind and other and kind != other and not (kind == "integer" and other == "number"):
        found.append(f"{path or '(top)'}: ours is {kind}, theirs {other}")
    if "enum" in ours and "enum" in theirs:
        extra = set(ours["enum"]) - set(theirs["enum"])
        if extra:
            found.append(f"{path}: ours allows {sorted(extra)}, theirs not")
    their_fields = theirs.get("properties", {})
    open_ended = theirs.get("x-kubernetes-preserve-unknown-fields") or theirs.get("additionalProperties")
    for name, schema in ours.get("properties", {}).items():
        where = f"{path}.{name}" if path else name
        if name in their_fields:
            found += differences(schema, their_fields[name], where)
        elif isinstance(theirs.get("additionalProperties"), dict):  # a map: its values' schema
            found += differences(schema, theirs["additionalProperties"], where)
        elif not open_ended:
            found.append(f"{where}: not a field of theirs")
    if isinstance(ours.get("items"), dict) and isinstance(theirs.get("items"), dict):
        found += differences(ours["items"], theirs["items"], f"{path}[]")
    if isinstance(ours.get("additionalProperties"), dict) and isinstance(theirs.get("additionalProperties"),
                                                                         dict):
        found += differences(ours["additionalProperties"], theirs["additionalProperties"], f"{path}.*")
    return found


_SOURCE = "wingspan.io/test-crd-source"


async def install_operator_crd(client: ApiClient, crd: dict[str, Any], source: tuple[str, str]) -> None:
    """Puts the operator's CRD (from the module ``source``) on the API server in place of any
    other of its name (ours, or another version's), and waits until it is served; does
    nothing when it is there already."""
    ext = ApiextensionsV1Api(client)
    name = crd["metadata"]["name"]
    origin = "@".join(source)
    crd = {**crd, "metadata": {**crd["metadata"],
                               "annotations": {**crd["metadata"].get("annotations", {}), _SOURCE: origin}}}
    selector = f"metadata.name={name}"
    listed = await ext.list_custom_resource_definition(field_selector=selector)
    if listed.items:
        current = client.sanitize_for_serialization(listed.items[0])
        if (current["metadata"].get("annotations") or {}).get(_SOURCE) == origin and _established(current):
            return
        await ext.delete_custom_resource_definition(name)
        async with asyncio.timeout(60), Watch() as watch:  # until the API server has removed it
            async for event in watch.stream(ext.list_custom_resource_definition, field_selector=selector,
                                            resource_version=listed.metadata.resource_version):
                if event["type"] == "DELETED":
                    break
    try:
        await ext.create_custom_resource_definition(crd)  # type: ignore[arg-type]  # the client takes dicts
    except ApiException as exc:
        if exc.status != 409:  # another test run made it meanwhile
            raise
    async with asyncio.timeout(60), Watch() as watch:
        async for event in watch.stream(ext.list_custom_resource_definition, field_selector=selector):
            if _established(client.sanitize_for_serialization(event["object"])):
                return


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
