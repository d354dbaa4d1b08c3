"""Data between this machine and a server's blob store, through the server's data proxy
(signed URLs), so a client needs no keys of the store: local files given as inputs go up
before a run, stored files and data frames of its outputs come down when they are read.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, cast

import anyio
import httpx
from grpclib.client import Channel

from wingspan._remote.endpoint import Endpoint
from wingspan._remote.transport import RemoteError, Transport, translate
from wingspan._remote.uploads import ProxyUploads, put_signed, upload_context
from wingspan.core.errors import UserError
from wingspan.core.model.interface import TypedInterface
from wingspan.core.model.literals import Blob, BlobDimensionality, BlobType, Literal, LiteralMap
from wingspan.core.types import default_engine
from wingspan.core.types.files import Directory, File
from wingspan.core.types.naturals import from_natural, to_natural
from wingspan.core.types.offload import load_offloaded
from wingspan.core.types.transformer import TransferContext
from wingspan.protos import v1

__all__ = ["ProxyDownloads", "input_literals", "output_values", "upload_local_files"]


async def input_literals(transport: Transport, values: dict[str, Any], interface: TypedInterface,
                         py_types: dict[str, Any] | None, project: str, domain: str) -> LiteralMap:
    """The inputs of a run as a LiteralMap: of ``py_types`` when the caller gave the entity,
    else read by the registered interface's literal types; local files uploaded first."""

    expected = {v.name: v.type for v in interface.inputs}
    unknown = sorted(set(values) - set(expected))
    if unknown:
        raise UserError(f"unknown inputs {unknown}; the inputs are {sorted(expected)}")
    literals = {}
    # arrays, frames and large values are written through the data proxy as they are converted
    uploads = ProxyUploads(transport, project, domain)
    ctx = upload_context(uploads)
    for key, value in values.items():
        lt = expected[key]
        assert lt is not None
        # local files go to the server first (through its data proxy): it cannot read them here
        value = await upload_local_files(transport, value, lt, project, domain)
        if py_types is not None and key in py_types:
            literal = await default_engine().to_literal(value, py_types[key], ctx, name=key)
            literals[key] = uploads.placed_literal(literal) if uploads.placed else literal
        elif lt.kind == "blob" and isinstance(value, str | File):
            uri = value if isinstance(value, str) else value.uri or value.path
            literals[key] = Literal("blob", Blob(uri, BlobType("", lt.value.dimensionality)))
        else:
            literals[key] = from_natural(value, lt, key)
    return LiteralMap(literals)


async def output_values(endpoint: Endpoint, literals: dict[str, Any],
                        py_types: dict[str, Any] | None) -> dict[str, Any]:
    """Output literals as Python values: of ``py_types`` when given, else plain ones; stored
    files, data frames and large values are read through the server (no store keys here)."""

    # reading needs no prefix, but readers ask for a store "with a prefix": one that names it
    ctx = TransferContext(store=cast(Any, ProxyDownloads(endpoint)), prefix="data-proxy://read-only")
    if py_types is None:
        return {k: to_natural(await load_offloaded(v, ctx) if v.kind == "offloaded" else v)
                for k, v in literals.items()}
    return {k: await default_engine().to_python(v, py_types[k], ctx, name=k) for k, v in literals.items()}


async def upload_local_files(transport: Transport, value: Any, lt: Any, project: str, domain: str) -> Any:
    """``value`` with each File on this machine (a File, or a path where the type is a file)
    uploaded through the server's data proxy and replaced by a File of its URI there, in
    lists and dicts too; a local Directory is refused with what to do instead."""

    if isinstance(value, Directory) and value.uri is None:
        raise UserError(f"a remote run cannot take the local folder {value.path} yet: upload it to the "
                        "server's blob store and give its URI")
    blob = lt.kind == "blob" and lt.value.dimensionality == BlobDimensionality.SINGLE
    local = (value.path if isinstance(value, File) and value.uri is None
             else value if blob and isinstance(value, str) and "://" not in value else None)
    if local is not None:
        path = anyio.Path(local)
        if not await path.is_file():
            raise UserError(f"no file {path} to upload for the remote run")
        data = await path.read_bytes()
        md5 = hashlib.md5(data).digest()
        location = await transport.call("create_upload_location", v1.CreateUploadLocationRequest(
            project=project, domain=domain, filename=path.name, content_md5=md5), f"upload {path}")
        await put_signed(transport.endpoint, location, data, md5, str(path))
        return File(str(location.native_url)) if isinstance(value, File) else str(location.native_url)
    if isinstance(value, list) and lt.kind == "collection_type":
        return [await upload_local_files(transport, item, lt.value, project, domain) for item in value]
    if isinstance(value, dict) and lt.kind == "map_value_type":
        return {k: await upload_local_files(transport, item, lt.value, project, domain)
                for k, item in value.items()}
    return value


class ProxyDownloads:
    """Reads stored objects through the data proxy: the ``store`` that File and DataFrame
    outputs of a remote run download with. It opens a channel per read, since a File may be
    read on an event loop of its own (``File.download()`` from synchronous code)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def _signed(self, uri: str) -> str:
        channel = Channel(self.endpoint.host, self.endpoint.port, ssl=self.endpoint.grpc_ssl())
        try:
            stub = v1.AdminServiceStub(channel, metadata=self.endpoint.metadata or None)
            answer = await stub.create_download_location(v1.CreateDownloadLocationRequest(native_url=uri))
        except Exception as exc:
            raise translate(exc, f"download {uri}", self.endpoint.address,
                            plain=not self.endpoint.tls) from exc
        finally:
            channel.close()
        return str(answer.signed_url)

    async def get(self, uri: str) -> bytes:
        async with httpx.AsyncClient(timeout=300, verify=self.endpoint.http_verify()) as http:
            response = await http.get(await self._signed(uri))
        _check(response, uri)
        return bytes(response.content)

    async def download_file(self, uri: str, path: str | os.PathLike[str]) -> int:
        size, signed = 0, await self._signed(uri)
        async with httpx.AsyncClient(timeout=300, verify=self.endpoint.http_verify()) as http, \
                http.stream("GET", signed) as response:
            _check(response, uri)
            async with await anyio.open_file(path, "wb") as file:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    await file.write(chunk)
        return size


def _check(response: Any, uri: str) -> None:
    if response.status_code >= 300:
        raise RemoteError(f"downloading {uri} failed with {response.status_code}")
