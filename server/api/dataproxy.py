"""The data proxy: where clients upload code bundles and data, and download results.

Large data never travels in API messages: a client asks for a location, then PUTs
or GETs the bytes straight at the blob store with a signed, expiring URL
(presigned S3 URLs on S3/MinIO, SAS URLs on Azure, V4 signed URLs on GCS; on the local
folder store, HMAC-signed URLs to the server's own HTTP port, served by
:mod:`wingspan.server.api.blobs`). An upload location names the headers its PUT must carry
(Azure's kind of blob), which the store says.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from wingspan.core.config import Settings
from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.core.storage import BlobStore, InvalidUriError
from wingspan.core.storage.signing import MAX_EXPIRY
from wingspan.core.storage.uploads import UPLOAD_PREFIX
from wingspan.protos import v1

__all__ = ["DEFAULT_EXPIRY", "UPLOAD_PREFIX", "DataProxy"]

DEFAULT_EXPIRY = timedelta(hours=1)
#: what `wingspan register` names a code bundle: such uploads get the bundle size limit
_BUNDLE_NAME = re.compile(r"^bundle.*\.tar\.gz$")
_FILENAME = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
_MD5_BYTES = 16
#: a folder key a client chose for the uploads of one Directory
_FOLDER = re.compile(r"^[a-z0-9]{16,64}$")


def _expiry(requested: timedelta | None) -> timedelta:
    if requested is None or requested == timedelta(0):
        return DEFAULT_EXPIRY
    if not timedelta(0) < requested <= MAX_EXPIRY:
        raise InvalidArgumentError(f"expires_in must be positive and at most {MAX_EXPIRY}, not {requested}")
    return requested


def _is_bundle_name(filename: str) -> bool:
    """Whether an upload's file name is a code bundle's (``bundle*.tar.gz``)."""
    return bool(_BUNDLE_NAME.match(filename))


class DataProxy:
    """Signed upload and download locations below the store's ``uploads/`` prefix."""

    def __init__(self, store: BlobStore, check_scope: Any, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        # ProjectService.check_scope: the project must exist (and be active) and the domain known
        self._check_scope = check_scope

    async def create_upload_location(self, request: Any) -> Any:
        """A PUT URL for ``filename``; equal content (same md5) lands at the same place. The URL
        accepts a body up to the size limit of its kind (a code bundle, by its name, or data)
        where the store can enforce it (see BlobStore.presigned_url)."""
        await self._check_scope(request.project, request.domain)
        if request.folder:
            return await self._folder_upload_location(request)
        if not _FILENAME.match(request.filename):
            raise InvalidArgumentError(
                f"filename {request.filename[:60]!r} must be 1-255 letters, digits, '_', '.' or '-'"
            )
        if request.content_md5 and len(request.content_md5) != _MD5_BYTES:
            raise InvalidArgumentError(
                f"content_md5 must be the {_MD5_BYTES} bytes of an MD5 digest, not {len(request.content_md5)}"
            )
        # without a digest, a random folder that no digest check mistakes for one (see named_md5)
        folder = request.content_md5.hex() if request.content_md5 else "r-" + secrets.token_hex(16)
        expires_in = _expiry(request.expires_in)
        uri = self.store.uri(UPLOAD_PREFIX, request.project, request.domain, folder, request.filename)
        limit = (self.settings.max_bundle_upload_bytes if _is_bundle_name(request.filename)
                 else self.settings.max_data_upload_bytes)
        url = await self.store.presigned_url(uri, method="PUT", expires_in=expires_in, max_bytes=limit)
        return v1.CreateUploadLocationResponse(
            signed_url=url, native_url=uri, expires_at=datetime.now(UTC) + expires_in,
            headers=self.store.upload_headers(),
        )

    async def _folder_upload_location(self, request: Any) -> Any:
        """A PUT URL for one file of a folder the client names by a key (several files, one
        Directory): every upload with that key lands below ``uploads/<project>/<domain>/d-<key>/``,
        at ``filename``, which may be a relative path there."""
        if not _FOLDER.match(request.folder):
            raise InvalidArgumentError(
                f"folder {request.folder[:70]!r} must be 16-64 lowercase letters and digits (a random key "
                "the client chose for the files of one folder)")
        segments = request.filename.split("/")
        if len(request.filename) > 255 or any(
                not _FILENAME.match(part) or part in (".", "..") for part in segments):
            raise InvalidArgumentError(
                f"filename {request.filename[:60]!r} in a folder must be a relative path of at most 255 "
                "characters whose parts are letters, digits, '_', '.' or '-' (no '.' or '..' parts)")
        expires_in = _expiry(request.expires_in)
        uri = self.store.uri(UPLOAD_PREFIX, request.project, request.domain, "d-" + request.folder, *segments)
        url = await self.store.presigned_url(uri, method="PUT", expires_in=expires_in,
                                             max_bytes=self.settings.max_data_upload_bytes)
        return v1.CreateUploadLocationResponse(
            signed_url=url, native_url=uri, expires_at=datetime.now(UTC) + expires_in,
            headers=self.store.upload_headers(),
        )

    async def create_download_location(self, request: Any) -> Any:
        """A GET URL for an object of this server's store (which must exist)."""
        if not request.native_url:
            raise InvalidArgumentError("native_url is missing")
        expires_in = _expiry(request.expires_in)
        try:
            self.store.key_of(request.native_url)
        except (InvalidUriError, ValueError) as exc:
            raise InvalidArgumentError(
                f"native_url {request.native_url[:200]!r} is not an object of this server's store "
                f"({self.store.root}): {exc}"
            ) from exc
        if not await self.store.exists(request.native_url):
            raise NotFoundError(f"no object at {request.native_url}")
        url = await self.store.presigned_url(request.native_url, method="GET", expires_in=expires_in)
        return v1.CreateDownloadLocationResponse(signed_url=url, expires_at=datetime.now(UTC) + expires_in)
