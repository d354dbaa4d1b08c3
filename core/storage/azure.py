"""The Azure Blob Storage store: block blobs in one container, spoken to over Azure's REST API.

Requests are signed with the storage account's key (Shared Key), and the URLs the data proxy
hands out are service SAS URLs signed with the same key; both are HMAC-SHA256 over strings
the REST API documents, so no Azure SDK is needed (the official one is heavy, its async half
rides on aiohttp, and it would add a dozen packages for what fits in this module). The
emulator Azurite checks both signatures as the service does; the tests run against it.

Objects larger than ``part_size`` go up as staged blocks committed by one block list, so a
reader sees the old blob or the whole new one; a stream of chunks is staged block by block
as it arrives, one block in memory. Like the S3 store, a store's HTTP client belongs to the
event loop that first used it: open one store per event loop and close it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError, FailedPreconditionError, NotFoundError, StorageError
from wingspan.core.storage.interface import DEFAULT_CHUNK_SIZE, BlobInfo, BlobSource, BlobStore, Method
from wingspan.core.storage.sources import parts_of
from wingspan.core.storage.uris import BlobUri

__all__ = ["API_VERSION", "DEFAULT_PART_SIZE", "AzureBlobStore"]

#: the REST API version every request and SAS names
API_VERSION = "2021-08-06"
#: objects above this size go up as blocks of this size (Azure allows up to 4000 MiB a block)
DEFAULT_PART_SIZE = 16 * 1024 * 1024
_DELETE_CONCURRENCY = 16
_NOT_FOUND_CODES = frozenset({"BlobNotFound", "ContainerNotFound", "ResourceNotFound"})
# the standard headers Shared Key signs, in its order (an absent one signs as an empty line)
_SIGNED_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5",
                   "content-type", "date", "if-modified-since", "if-match", "if-none-match",
                   "if-unmodified-since", "range")


class _AzureError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@contextlib.asynccontextmanager
async def _translated(uri: BlobUri | str, action: str) -> AsyncIterator[None]:
    """The one place where Azure, HTTP and socket errors become platform errors."""
    try:
        yield
    except _AzureError as exc:
        if exc.code == "ContainerNotFound":
            raise NotFoundError(f"no blob at {uri}: the container does not exist") from exc
        if exc.code in _NOT_FOUND_CODES or exc.status == 404:
            raise NotFoundError(f"no blob at {uri}") from exc
        raise StorageError(f"Azure could not {action} {uri}: {exc.code}: {exc.message}") from exc
    except (httpx.HTTPError, OSError) as exc:
        raise StorageError(f"Azure could not {action} {uri}: {type(exc).__name__}: {exc}") from exc


async def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 300:
        return
    await response.aread()
    code = response.headers.get("x-ms-error-code", "")
    message = response.reason_phrase
    if response.content:
        with contextlib.suppress(ElementTree.ParseError):
            root = ElementTree.fromstring(response.content)
            code = code or (root.findtext("Code") or "")
            message = (root.findtext("Message") or message).splitlines()[0]
    raise _AzureError(response.status_code, code or str(response.status_code), message)


def shared_key_signature(key: bytes, account: str, method: str, url: str,
                         headers: Mapping[str, str]) -> str:
    """The ``Authorization`` header of a request under Shared Key (REST API 2009-09-19 and later).

    The canonical resource is the account and the URL's path as sent (with an emulator's
    path-style URL, the path begins with the account again, as the service expects)."""
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("content-length") == "0":
        lower["content-length"] = ""
    lines = [method.upper(), *(lower.get(name, "") for name in _SIGNED_HEADERS)]
    lines += [f"{name}:{lower[name].strip()}" for name in sorted(lower) if name.startswith("x-ms-")]
    parts = urlsplit(url)
    resource = f"/{account}{parts.path or '/'}"
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(name.lower(), []).append(value)
    resource += "".join(f"\n{name}:{','.join(sorted(query[name]))}" for name in sorted(query))
    digest = hmac.new(key, "\n".join([*lines, resource]).encode(), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(digest).decode()}"


def sas_query(key: bytes, account: str, container: str, blob: str, *, permissions: str,
              expiry: datetime) -> dict[str, str]:
    """The query of a service SAS granting ``permissions`` on one blob until ``expiry`` (signed
    version API_VERSION: the string to sign of versions 2020-12-06 and later)."""
    expires = expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    string_to_sign = "\n".join([
        permissions, "", expires, f"/blob/{account}/{container}/{blob}", "", "", "", API_VERSION,
        "b", "", "", "", "", "", "", "",
    ])
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).digest()
    return {"sv": API_VERSION, "sr": "b", "sp": permissions, "se": expires,
            "sig": base64.b64encode(signature).decode()}


def _block_id(number: int) -> str:
    # every id of one blob must have the same length before base64
    return base64.b64encode(f"{number:08d}".encode()).decode()


@final
class AzureBlobStore(BlobStore):
    """Blobs as block blobs in one Azure container, below an optional key prefix."""

    scheme = "abfs"

    def __init__(self, root: str, *, account: str, account_key: str, endpoint: str = "",
                 part_size: int = DEFAULT_PART_SIZE) -> None:
        super().__init__(root)
        if not account:
            raise ConfigError(f"the Azure store {root} needs a storage account: set azure_account "
                              "(WINGSPAN_AZURE_ACCOUNT)")
        try:
            self._key = base64.b64decode(account_key, validate=True)
        except ValueError:
            self._key = b""
        if not self._key:
            raise ConfigError(f"the Azure store {root} needs the account's access key (base64) in "
                              "azure_account_key (WINGSPAN_AZURE_ACCOUNT_KEY or azure_account_key_file)")
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"azure_endpoint {endpoint!r} must start with http:// or https://")
        self._account = account
        self._account_key = account_key
        self._endpoint = (endpoint or f"https://{account}.blob.core.windows.net").rstrip("/")
        self.part_size = part_size
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, root: str | None = None) -> AzureBlobStore:
        """A store on ``settings.azure_*`` rooted at ``root`` (default ``settings.storage_root``)."""
        return cls(root or settings.storage_root, account=settings.azure_account,
                   account_key=settings.azure_account_key, endpoint=settings.azure_endpoint)

    def environment(self) -> dict[str, str]:
        return {"WINGSPAN_AZURE_ACCOUNT": self._account, "WINGSPAN_AZURE_ACCOUNT_KEY": self._account_key,
                "WINGSPAN_AZURE_ENDPOINT": self._endpoint}

    @property
    def container(self) -> str:
        return self._root.bucket

    def _url(self, key: str = "", **query: str) -> str:
        path = f"{self._endpoint}/{self.container}"
        if key:
            path += "/" + quote(key, safe="/~")
        return f"{path}?{urlencode(query, quote_via=quote)}" if query else path

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(60, connect=20))
            self._loop = loop
        elif self._loop is not loop:
            raise FailedPreconditionError(
                f"{self!r} was first used on another event loop; its HTTP client belongs "
                "there: open one store per event loop"
            )
        return self._client

    def _request(self, method: str, url: str, *, content: bytes | None = None,
                 headers: Mapping[str, str] | None = None) -> httpx.Request:
        sent = {"x-ms-date": format_datetime(datetime.now(UTC), usegmt=True),
                "x-ms-version": API_VERSION, **(headers or {})}
        if content is not None or method in ("PUT", "POST"):
            sent["Content-Length"] = str(len(content or b""))
        sent["Authorization"] = shared_key_signature(self._key, self._account, method, url, sent)
        return self._http().build_request(method, url, content=content, headers=sent)

    async def _call(self, method: str, url: str, *, content: bytes | None = None,
                    headers: Mapping[str, str] | None = None) -> httpx.Response:
        response = await self._http().send(self._request(method, url, content=content, headers=headers))
        await _raise_for(response)
        return response

    async def aclose(self) -> None:
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.aclose()

    async def ensure_bucket(self) -> None:
        """Creates the root's container unless it exists."""
        async with _translated(self.root, "create the container of"):
            try:
                await self._call("PUT", self._url(restype="container"))
            except _AzureError as exc:
                if exc.code != "ContainerAlreadyExists":
                    raise

    # ---- writing -------------------------------------------------------------------------

    async def put(self, uri: str, data: BlobSource) -> int:
        target = self._object(uri)
        total = 0
        blocks: list[str] = []
        async with _translated(uri, "write"):
            async for part, last in parts_of(data, uri, self.part_size):
                total += len(part)
                if last and not blocks:  # it all fits in one request
                    await self._call("PUT", self._url(target.key), content=part,
                                     headers={"x-ms-blob-type": "BlockBlob"})
                    return total
                blocks.append(_block_id(len(blocks)))
                # staged blocks stay invisible until the list commits them (and expire unused)
                await self._call("PUT", self._url(target.key, comp="block", blockid=blocks[-1]),
                                 content=part)
            listing = "".join(f"<Latest>{block}</Latest>" for block in blocks)
            await self._call("PUT", self._url(target.key, comp="blocklist"),
                             content=f'<?xml version="1.0" encoding="utf-8"?><BlockList>{listing}</BlockList>'
                             .encode())
        return total

    # ---- reading -------------------------------------------------------------------------

    async def stream(self, uri: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        target = self._object(uri)
        async with _translated(uri, "read"):
            response = await self._http().send(self._request("GET", self._url(target.key)), stream=True)
            try:
                await _raise_for(response)
                async for chunk in response.aiter_bytes(chunk_size):
                    yield chunk
            finally:
                await response.aclose()

    async def get(self, uri: str) -> bytes:
        target = self._object(uri)
        async with _translated(uri, "read"):
            return (await self._call("GET", self._url(target.key))).content

    async def stat(self, uri: str) -> BlobInfo:
        target = self._object(uri)
        async with _translated(uri, "stat"):
            response = await self._call("HEAD", self._url(target.key))
        modified = response.headers.get("last-modified")
        return BlobInfo(uri=uri, size=int(response.headers.get("content-length", 0)),
                        modified=parsedate_to_datetime(modified).astimezone(UTC) if modified
                        else datetime.now(UTC),
                        etag=response.headers.get("etag", "").strip('"'))

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        parsed = self._prefix(prefix)
        marker = ""
        while True:
            query = {"restype": "container", "comp": "list", "prefix": parsed.key}
            if marker:
                query["marker"] = marker
            async with _translated(prefix, "list"):
                body = (await self._call("GET", self._url(**query))).content
            root = ElementTree.fromstring(body)
            for name in root.iterfind("Blobs/Blob/Name"):
                yield str(BlobUri("abfs", self.container, name.text or ""))
            marker = root.findtext("NextMarker") or ""
            if not marker:
                return

    # ---- deleting ------------------------------------------------------------------------

    async def delete(self, uri: str, *, missing_ok: bool = False) -> None:
        target = self._object(uri)
        async with _translated(uri, "delete"):
            try:
                await self._call("DELETE", self._url(target.key))
            except _AzureError as exc:
                if not (missing_ok and exc.code == "BlobNotFound"):
                    raise

    async def delete_prefix(self, prefix: str) -> int:
        return await self._delete_listed(prefix, concurrency=_DELETE_CONCURRENCY)

    # ---- sharing -------------------------------------------------------------------------

    async def presigned_url(self, uri: str, *, method: Method = "GET",
                            expires_in: timedelta = timedelta(hours=1), max_bytes: int | None = None) -> str:
        # a SAS cannot bound a body's size (as on S3): the limit is checked where it is used
        target = self._object(uri)
        if method not in ("GET", "PUT"):
            raise ValueError(f"method must be GET or PUT, not {method!r}")
        query = sas_query(self._key, self._account, self.container, target.key,
                          permissions="r" if method == "GET" else "cw",
                          expiry=datetime.now(UTC) + expires_in)
        return self._url(target.key, **query)

    def upload_headers(self) -> dict[str, str]:
        # Put Blob refuses a body without the kind of blob to make
        return {"x-ms-blob-type": "BlockBlob"}
