"""Blob storage: objects named by ``file://``, ``s3://``, ``abfs://`` (Azure Blob Storage) and
``gs://`` (Google Cloud Storage) URIs, behind one async interface.

``open_blob_store(settings)`` gives the configured store: the folder
``$WINGSPAN_HOME/blobs`` by default, else the object store ``settings.storage`` names.
The object stores live in :mod:`wingspan.core.storage.s3`, :mod:`~wingspan.core.storage.azure`
and :mod:`~wingspan.core.storage.gcs`, imported on first use; signed URLs for the local store
are in :mod:`wingspan.core.storage.signing`.
"""

from __future__ import annotations

from wingspan.core.storage.factory import open_blob_store, store_for_uri
from wingspan.core.storage.interface import DEFAULT_CHUNK_SIZE, BlobInfo, BlobSource, BlobStore
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.storage.signing import SignatureError, UrlSigner
from wingspan.core.storage.uris import BlobUri, InvalidUriError, join_uri, parse_uri, relative_key

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "BlobInfo",
    "BlobSource",
    "BlobStore",
    "BlobUri",
    "InvalidUriError",
    "LocalBlobStore",
    "SignatureError",
    "UrlSigner",
    "join_uri",
    "open_blob_store",
    "parse_uri",
    "relative_key",
    "store_for_uri",
]
