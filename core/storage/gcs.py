"""The Google Cloud Storage store: objects in one bucket, spoken to over GCS's JSON API.

Credentials are a service account's JSON key file (``gcs_credentials_file``): requests carry
OAuth access tokens obtained with it (a JWT signed by its key, exchanged at its ``token_uri``,
kept until shortly before they expire), and the data proxy's URLs are V4 signed URLs
(``GOOG4-RSA-SHA256``) signed with it. Without a key file requests carry no credentials, as
an emulator (fake-gcs-server) takes them, and there are no signed URLs. No Google SDK: its
async story is thin and the JSON API and both signatures fit here, on httpx (RSA through
cryptography, which joserfc already brings).

Objects larger than ``part_size`` go up by a resumable upload, part by part as they arrive,
one part in memory; GCS makes the object visible only when the last part lands. Like the
other stores, a store's HTTP client belongs to the event loop that first used it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, final
from urllib.parse import quote, urlencode, urlsplit

import anyio
import httpx

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError, FailedPreconditionError, NotFoundError, StorageError
from wingspan.core.storage.interface import DEFAULT_CHUNK_SIZE, BlobInfo, BlobSource, BlobStore, Method
from wingspan.core.storage.sources import parts_of
from wingspan.core.storage.uris import BlobUri

__all__ = ["DEFAULT_PART_SIZE", "GcsBlobStore", "ServiceAccount"]

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
#: objects above this size go up by a resumable upload in parts of this size
DEFAULT_PART_SIZE = 16 * 1024 * 1024
_PART_GRANULE = 256 * 1024  # every part of a resumable upload but the last is a multiple of this
_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
_TOKEN_MARGIN = 300  # seconds before its expiry that a token is renewed
_DELETE_CONCURRENCY = 16
_MAX_EXPIRY = timedelta(days=7)  # the longest a V4 signed URL may live


class _GcsError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


@contextlib.asynccontextmanager
async def _translated(uri: BlobUri | str, action: str) -> AsyncIterator[None]:
    """The one place where GCS, HTTP and socket errors become platform errors."""
    try:
        yield
    except _GcsError as exc:
        if exc.status == 404:
            # an upload has only the bucket to miss (the emulator does not say which is missing)
            if action == "write" or "bucket" in exc.message.lower():
                raise NotFoundError(f"no blob at {uri}: the bucket does not exist") from exc
            raise NotFoundError(f"no blob at {uri}") from exc
        raise StorageError(f"GCS could not {action} {uri}: {exc.status}: {exc.message}") from exc
    except (httpx.HTTPError, OSError) as exc:
        raise StorageError(f"GCS could not {action} {uri}: {type(exc).__name__}: {exc}") from exc


async def _raise_for(response: httpx.Response, *, ok: tuple[int, ...] = ()) -> None:
    if response.status_code < 300 or response.status_code in ok:
        return
    await response.aread()
    message = response.reason_phrase
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        message = str(response.json()["error"]["message"])
    if message == response.reason_phrase and response.text:
        message = response.text.strip()[:200]
    raise _GcsError(response.status_code, message)


class ServiceAccount:
    """A service account's JSON key: its e-mail, private key and token endpoint."""

    def __init__(self, info: Mapping[str, Any], where: str) -> None:
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            self.email = str(info["client_email"])
            key = load_pem_private_key(str(info["private_key"]).encode(), password=None)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"{where} is not a service account key file (it needs client_email and "
                              f"an RSA private_key): {exc}") from exc
        if not isinstance(key, RSAPrivateKey):
            raise ConfigError(f"{where}: the service account's private_key is not an RSA key")
        self._key = key
        self.token_uri = str(info.get("token_uri") or "https://oauth2.googleapis.com/token")

    @classmethod
    def from_file(cls, path: str | Path) -> ServiceAccount:
        try:
            info = json.loads(Path(path).expanduser().read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the GCS credentials file {path} (gcs_credentials_file): "
                              f"{exc}") from exc
        return cls(info, f"gcs_credentials_file {path}")

    def sign(self, message: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256, as GOOG4-RSA-SHA256 and RS256 JWTs use."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def assertion(self, now: float) -> str:
        """The JWT that the token endpoint exchanges for an access token (RFC 7523)."""
        def encoded(part: Mapping[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(part, separators=(",", ":")).encode()).rstrip(
                b"=").decode()

        claims = {"iss": self.email, "scope": _SCOPE, "aud": self.token_uri,
                  "iat": int(now), "exp": int(now) + 3600}
        head = f"{encoded({'alg': 'RS256', 'typ': 'JWT'})}.{encoded(claims)}"
        signature = base64.urlsafe_b64encode(self.sign(head.encode())).rstrip(b"=").decode()
        return f"{head}.{signature}"

    def signed_url(self, endpoint: str, bucket: str, key: str, *, method: str, expires_in: timedelta,
                   now: datetime) -> str:
        """A V4 signed URL (``GOOG4-RSA-SHA256``) for ``method`` on the object, path-style below
        ``endpoint``, signing only the host header."""
        if not timedelta(0) < expires_in <= _MAX_EXPIRY:
            raise ValueError(f"expires_in must be positive and at most {_MAX_EXPIRY}, not {expires_in}")
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        scope = f"{stamp[:8]}/auto/storage/goog4_request"
        path = f"/{bucket}/{quote(key, safe='/~')}"
        query = {
            "X-Goog-Algorithm": "GOOG4-RSA-SHA256", "X-Goog-Credential": f"{self.email}/{scope}",
            "X-Goog-Date": stamp, "X-Goog-Expires": str(int(expires_in.total_seconds())),
            "X-Goog-SignedHeaders": "host",
        }
        canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                                   for k, v in sorted(query.items()))
        host = urlsplit(endpoint).netloc
        request = "\n".join([method, path, canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"])
        to_sign = "\n".join(["GOOG4-RSA-SHA256", stamp, scope, hashlib.sha256(request.encode()).hexdigest()])
        signature = self.sign(to_sign.encode()).hex()
        return f"{endpoint.rstrip('/')}{path}?{canonical_query}&X-Goog-Signature={signature}"


@final
class GcsBlobStore(BlobStore):
    """Blobs as objects in one GCS bucket, below an optional key prefix."""

    scheme = "gs"

    def __init__(self, root: str, *, endpoint: str = "", credentials_file: str = "", project: str = "",
                 part_size: int = DEFAULT_PART_SIZE) -> None:
        super().__init__(root)
        if part_size <= 0 or part_size % _PART_GRANULE:
            raise ConfigError(f"part_size must be a positive multiple of 256 KiB, not {part_size}")
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"gcs_endpoint {endpoint!r} must start with http:// or https://")
        self._endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self._credentials_file = credentials_file
        self._account = ServiceAccount.from_file(credentials_file) if credentials_file else None
        self._project = project
        self.part_size = part_size
        self._token = ""
        self._token_expires = 0.0
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._renewing: asyncio.Lock | None = None  # made with the client, on its loop

    @classmethod
    def from_settings(cls, settings: Settings, *, root: str | None = None) -> GcsBlobStore:
        """A store on ``settings.gcs_*`` rooted at ``root`` (default ``settings.storage_root``)."""
        return cls(root or settings.storage_root, endpoint=settings.gcs_endpoint,
                   credentials_file=settings.gcs_credentials_file, project=settings.gcs_project)

    def environment(self) -> dict[str, str]:
        return {"WINGSPAN_GCS_ENDPOINT": self._endpoint,
                "WINGSPAN_GCS_CREDENTIALS_FILE": self._credentials_file,
                "WINGSPAN_GCS_PROJECT": self._project}

    @property
    def bucket(self) -> str:
        return self._root.bucket

    def _object_url(self, key: str, **query: str) -> str:
        url = f"{self._endpoint}/storage/v1/b/{self.bucket}/o/{quote(key, safe='')}"
        return f"{url}?{urlencode(query)}" if query else url

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(60, connect=20))
            self._loop = loop
            self._renewing = asyncio.Lock()
        elif self._loop is not loop:
            raise FailedPreconditionError(
                f"{self!r} was first used on another event loop; its HTTP client belongs "
                "there: open one store per event loop"
            )
        return self._client

    async def _authorization(self) -> dict[str, str]:
        if self._account is None:
            return {}
        self._http()
        assert self._renewing is not None
        async with self._renewing:  # concurrent calls (a delete_prefix) share one renewal
            await self._renew_token(self._account)
        return {"Authorization": f"Bearer {self._token}"}

    async def _renew_token(self, account: ServiceAccount) -> None:
        if time.time() > self._token_expires - _TOKEN_MARGIN:
            now = time.time()
            response = await self._http().post(account.token_uri, data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": account.assertion(now)})
            if response.status_code != 200:
                raise StorageError(f"GCS: the token endpoint {account.token_uri} refused the service "
                                   f"account {account.email}: {response.status_code} "
                                   f"{response.text[:200]}")
            answer = response.json()
            self._token = str(answer["access_token"])
            self._token_expires = now + float(answer.get("expires_in", 3600))

    async def _call(self, method: str, url: str, *, ok: tuple[int, ...] = (),
                    **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **await self._authorization()}
        response = await self._http().request(method, url, headers=headers, **kwargs)
        await _raise_for(response, ok=ok)
        return response

    async def aclose(self) -> None:
        client, self._client, self._loop, self._renewing = self._client, None, None, None
        if client is not None:
            await client.aclose()

    async def ensure_bucket(self) -> None:
        """Creates the root's bucket (in ``gcs_project``) unless it exists."""
        async with _translated(self.root, "create the bucket of"):
            response = await self._call("GET", f"{self._endpoint}/storage/v1/b/{self.bucket}", ok=(404,))
            if response.status_code == 404:
                await self._call("POST", f"{self._endpoint}/storage/v1/b", params={"project": self._project},
                                 json={"name": self.bucket}, ok=(409,))

    # ---- writing -------------------------------------------------------------------------

    async def put(self, uri: str, data: BlobSource) -> int:
        target = self._object(uri)
        upload = f"{self._endpoint}/upload/storage/v1/b/{self.bucket}/o"
        session, total = "", 0
        async with _translated(uri, "write"):
            try:
                async for part, last in parts_of(data, uri, self.part_size):
                    start, total = total, total + len(part)
                    if last and not session:  # it all fits in one request
                        await self._call("POST", upload, params={"uploadType": "media", "name": target.key},
                                         content=part, headers={"Content-Type": "application/octet-stream"})
                        return total
                    if not session:
                        response = await self._call("POST", upload, json={"name": target.key},
                                                    params={"uploadType": "resumable", "name": target.key})
                        session = response.headers["location"]
                    span = f"bytes {start}-{total - 1}" if part else "bytes *"
                    await self._call("PUT", session, content=part, ok=(308,),
                                     headers={"Content-Range": f"{span}/{total if last else '*'}"})
            except BaseException:
                if session:  # cancel the session: its parts never become an object
                    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                        await self._call("DELETE", session, ok=(499,))
                raise
        return total

    # ---- reading -------------------------------------------------------------------------

    async def stream(self, uri: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        target = self._object(uri)
        async with _translated(uri, "read"):
            request = self._http().build_request("GET", self._object_url(target.key, alt="media"),
                                                 headers=await self._authorization())
            response = await self._http().send(request, stream=True)
            try:
                await _raise_for(response)
                async for chunk in response.aiter_bytes(chunk_size):
                    yield chunk
            finally:
                await response.aclose()

    async def get(self, uri: str) -> bytes:
        target = self._object(uri)
        async with _translated(uri, "read"):
            return (await self._call("GET", self._object_url(target.key, alt="media"))).content

    async def stat(self, uri: str) -> BlobInfo:
        target = self._object(uri)
        async with _translated(uri, "stat"):
            meta = (await self._call("GET", self._object_url(target.key))).json()
        updated = meta.get("updated")
        return BlobInfo(uri=uri, size=int(meta.get("size", 0)),
                        modified=datetime.fromisoformat(updated.replace("Z", "+00:00")).astimezone(UTC)
                        if updated else datetime.now(UTC),
                        etag=str(meta.get("etag", "")))

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        parsed = self._prefix(prefix)
        token = ""
        while True:
            query = {"prefix": parsed.key, **({"pageToken": token} if token else {})}
            async with _translated(prefix, "list"):
                page = (await self._call("GET", f"{self._endpoint}/storage/v1/b/{self.bucket}/o",
                                         params=query)).json()
            for item in page.get("items", []):
                yield str(BlobUri("gs", self.bucket, item["name"]))
            token = page.get("nextPageToken", "")
            if not token:
                return

    # ---- deleting ------------------------------------------------------------------------

    async def delete(self, uri: str, *, missing_ok: bool = False) -> None:
        target = self._object(uri)
        async with _translated(uri, "delete"):
            await self._call("DELETE", self._object_url(target.key), ok=(404,) if missing_ok else ())

    async def delete_prefix(self, prefix: str) -> int:
        return await self._delete_listed(prefix, concurrency=_DELETE_CONCURRENCY)

    # ---- sharing -------------------------------------------------------------------------

    async def presigned_url(self, uri: str, *, method: Method = "GET",
                            expires_in: timedelta = timedelta(hours=1), max_bytes: int | None = None) -> str:
        # a V4 signed PUT signs no length either (as on S3): the limit is checked where it is used
        target = self._object(uri)
        if method not in ("GET", "PUT"):
            raise ValueError(f"method must be GET or PUT, not {method!r}")
        if self._account is None:
            raise ConfigError(f"the GCS store {self.root} signs URLs with a service account key: set "
                              "gcs_credentials_file (WINGSPAN_GCS_CREDENTIALS_FILE)")
        return self._account.signed_url(self._endpoint, self.bucket, target.key, method=method,
                                        expires_in=expires_in, now=datetime.now(UTC))
