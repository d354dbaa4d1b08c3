"""Inputs that travel through a blob store (numpy arrays, data frames, large values), converted
on this machine and uploaded through the server's data proxy.

A client holds no keys of the server's store: each object goes up through a signed URL of
the data proxy, which names its place from the content's digest. The type engine writes
under a placeholder prefix; the literals are then pointed at where the objects landed.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, cast

import anyio
import httpx

from wingspan._remote.endpoint import Endpoint
from wingspan._remote.transport import RemoteError, Transport
from wingspan.core.errors import UserError
from wingspan.core.model.literals import Literal, LiteralCollection, LiteralMap, RecordFieldValue, RecordValue
from wingspan.core.model.record import replace
from wingspan.core.types.transformer import TransferContext
from wingspan.protos import v1

__all__ = ["ProxyUploads", "put_signed", "upload_context"]

# where the type engine writes before the objects have their place on the server
_PENDING = "s3://wingspan-pending-upload/inputs"


class ProxyUploads:
    """The ``store`` that input conversions write to: each object is uploaded through the data
    proxy and its placeholder URI remembered with the URI it got there."""

    def __init__(self, transport: Transport, project: str, domain: str) -> None:
        self.transport, self.project, self.domain = transport, project, domain
        self.placed: dict[str, str] = {}

    async def put(self, uri: str, data: bytes) -> None:
        md5 = hashlib.md5(data).digest()
        name = uri.rsplit("/", 1)[-1]
        location = await self.transport.call("create_upload_location", v1.CreateUploadLocationRequest(
            project=self.project, domain=self.domain, filename=name, content_md5=md5), f"upload {name}")
        await put_signed(self.transport.endpoint, location, data, md5, name)
        self.placed[uri] = str(location.native_url)

    async def upload_file(self, path: Path, uri: str) -> None:
        await self.put(uri, await anyio.Path(path).read_bytes())

    def placed_literal(self, literal: Literal) -> Literal:
        """``literal`` with every placeholder URI replaced by the place its object got."""
        value = literal.value
        match literal.kind:
            case "blob" | "structured_dataset" | "offloaded":
                if value.uri.startswith(_PENDING):
                    if value.uri not in self.placed:  # a folder: many objects under one prefix
                        raise UserError("a remote run cannot take this value's folder of objects yet: "
                                        "upload it to the server's blob store and give its URI")
                    return Literal(literal.kind, replace(value, uri=self.placed[value.uri]))
            case "collection":
                return Literal("collection", LiteralCollection(tuple(
                    self.placed_literal(item) for item in value.literals)))
            case "map":
                return Literal("map", LiteralMap({key: self.placed_literal(item)
                                                  for key, item in value.literals.items()}))
            case "union":
                assert value.value is not None
                return Literal("union", replace(value, value=self.placed_literal(value.value)))
            case "record":
                return Literal("record", RecordValue(value.type_name, tuple(
                    RecordFieldValue(f.name, None if f.value is None else self.placed_literal(f.value))
                    for f in value.fields)))
        return literal


async def put_signed(endpoint: Endpoint, location: v1.CreateUploadLocationResponse, data: bytes, md5: bytes,
                     what: str) -> None:
    """PUTs ``data`` to the signed URL of an upload location of the server at ``endpoint``, with
    the headers the store asks for and the digest for it to check (verified as the endpoint's
    TLS settings say)."""
    headers = {**location.headers, "Content-MD5": base64.b64encode(md5).decode()}
    async with httpx.AsyncClient(timeout=300, verify=endpoint.http_verify()) as http:
        response = await http.put(location.signed_url, content=data, headers=headers)
    if response.status_code >= 300:
        raise RemoteError(f"uploading {what} failed with {response.status_code}: {response.text[:200]}")


def upload_context(uploads: ProxyUploads) -> TransferContext:
    """A context whose conversions write through ``uploads``."""
    return TransferContext(store=cast(Any, uploads), prefix=_PENDING)
