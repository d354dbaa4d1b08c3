"""Opening blob stores: the configured one, or the one that serves a given URI.

The object-store implementations (S3, Azure, GCS) are imported here, on first use, so that
``import wingspan.core.storage`` loads neither miniopy-async, aiohttp nor their HTTP code.
"""

from __future__ import annotations

from wingspan.core.config import Settings
from wingspan.core.storage.interface import BlobStore
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.storage.signing import UrlSigner
from wingspan.core.storage.uris import BlobUri, parse_uri, relative_key

__all__ = ["open_blob_store", "store_for_uri"]


def open_blob_store(settings: Settings, *, base_url: str | None = None) -> BlobStore:
    """The platform's blob store: ``settings.storage`` (an ``s3://``, ``abfs://``, ``gs://`` or
    ``file://`` root), else the folder ``$WINGSPAN_HOME/blobs``.

    A local store signs its presigned URLs for the server's HTTP port
    (``base_url``, default ``http[s]://{http_host}:{http_port}``).
    """
    root = parse_uri(settings.storage_root, prefix=True)
    if root.scheme != "file":
        return _object_store(root.scheme, settings, str(root))
    return LocalBlobStore(str(root), signer=UrlSigner.from_settings(settings, base_url=base_url))


def store_for_uri(uri: str, settings: Settings) -> BlobStore:
    """A store that can read and write ``uri``: the configured one when ``uri`` lies below
    its root, else one rooted at the URI's bucket (``s3``, ``abfs``, ``gs``, with the
    configured endpoint and credentials of that kind) or at ``/`` (``file``, without URL
    signing)."""
    target = parse_uri(uri, prefix=True)
    configured = parse_uri(settings.storage_root, prefix=True)
    if _below(configured, target):
        return open_blob_store(settings)
    if target.scheme != "file":
        return _object_store(target.scheme, settings, f"{target.scheme}://{target.bucket}/")
    return LocalBlobStore("file:///")


def _object_store(scheme: str, settings: Settings, root: str) -> BlobStore:
    # each import loads that store's HTTP stack: on first use only
    if scheme == "s3":
        from wingspan.core.storage.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings, root=root)
    if scheme == "abfs":
        from wingspan.core.storage.azure import AzureBlobStore

        return AzureBlobStore.from_settings(settings, root=root)
    from wingspan.core.storage.gcs import GcsBlobStore

    return GcsBlobStore.from_settings(settings, root=root)


def _below(root: BlobUri, target: BlobUri) -> bool:
    try:
        relative_key(root, target)
    except ValueError:
        return False
    return True
