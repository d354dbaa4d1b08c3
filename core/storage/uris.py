"""Blob URIs: ``file:///abs/path``, ``s3://bucket/key``, ``abfs://container/key`` (Azure Blob
Storage) and ``gs://bucket/key`` (Google Cloud Storage), parsed, checked and joined.

Every kind parses into one :class:`BlobUri` of ``scheme``, ``bucket`` (empty for
``file``; the container for ``abfs``) and ``key``, the slash-separated path below the
bucket, or below the filesystem root for ``file`` (``file:///data/a.bin`` has key
``data/a.bin``).

``file`` URIs percent-encode their path exactly as :meth:`pathlib.Path.as_uri`
does, so the settings' ``storage_root`` round-trips. Object-store URIs carry the key
as written, the way the providers' tools print them (``s3://b/my key``).

Azure is spelled as fsspec's adlfs and Flyte spell it: ``abfs://container/key``; adlfs's
other spelling ``az://container/key`` is read as the same URI (and printed as ``abfs://``).
The account is a setting (``azure_account``), not part of the URI: adlfs's
``abfs://container@account.dfs.core.windows.net/key`` form is refused with a message saying so.

A key is a list of segments joined by ``/``; no segment may be empty, ``.`` or
``..`` or hold a NUL, so no key can climb out of its root. A *prefix* (for
listing and deleting many) may also be empty or end with ``/``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal
from urllib.parse import quote, unquote

from wingspan.core.errors import UserError

__all__ = [
    "SCHEMES",
    "BlobUri",
    "InvalidUriError",
    "Scheme",
    "check_key",
    "join_uri",
    "parse_uri",
    "relative_key",
]

Scheme = Literal["file", "s3", "abfs", "gs"]
SCHEMES: tuple[Scheme, ...] = ("file", "s3", "abfs", "gs")
# other spellings of a scheme, read as that scheme
_ALIASES: dict[str, Scheme] = {"az": "abfs"}

# what each provider accepts as a bucket (Azure: a container) name, and how to say it
_BUCKETS: dict[str, tuple[re.Pattern[str], str]] = {
    "s3": (re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
           "3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"),
    "abfs": (re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"),
             "3-63 characters of a-z, 0-9 and single '-', starting and ending with a letter or digit"),
    "gs": (re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$"),
           "3-63 characters of a-z, 0-9, '.', '_' and '-', starting and ending with a letter or digit"),
}
_PROVIDERS = {"s3": "S3", "abfs": "Azure", "gs": "GCS"}
_KEY_MAX_BYTES = 1024  # S3's and GCS's limit (Azure allows 1024 characters)


class InvalidUriError(UserError, ValueError):
    """A blob URI or key is malformed; the message says what is wrong and what is valid."""


def check_key(key: str, *, prefix: bool = False, uri: str | None = None) -> str:
    """Returns ``key`` if every segment is a valid name, else raises :class:`InvalidUriError`.

    With ``prefix=True`` the key may also be empty or end with ``/``.
    """
    where = f" in {uri!r}" if uri is not None else ""
    if prefix and key == "":
        return key
    body = key[:-1] if prefix and key.endswith("/") else key
    if body == "":
        raise InvalidUriError(f"empty blob key{where}: name an object below the root")
    for segment in body.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidUriError(
                f"invalid blob key {key!r}{where}: segments may not be empty, '.' or '..'"
            )
        if "\x00" in segment:
            raise InvalidUriError(f"invalid blob key {key!r}{where}: NUL character")
    return key


@dataclasses.dataclass(frozen=True, slots=True)
class BlobUri:
    """A parsed blob URI; ``str()`` gives its canonical text."""

    scheme: Scheme
    bucket: str
    key: str

    def __str__(self) -> str:
        if self.scheme == "file":
            return "file:///" + quote(self.key, safe="/")
        return f"{self.scheme}://{self.bucket}/{self.key}"

    @property
    def is_prefix(self) -> bool:
        """True for the root or a key ending in ``/``: names a folder, not an object."""
        return self.key == "" or self.key.endswith("/")

    @property
    def path(self) -> str:
        """The absolute filesystem path of a ``file`` URI."""
        if self.scheme != "file":
            raise InvalidUriError(f"{self} is not a file:// URI and has no local path")
        return "/" + self.key

    def child(self, *parts: str) -> BlobUri:
        """This URI with ``parts`` (each one or more segments) appended below it."""
        if not parts:
            return self
        tail = "/".join(p.strip("/") for p in parts)
        trailing = "/" if parts[-1].endswith("/") and tail else ""
        check_key(tail + trailing, prefix=True)
        head = self.key if self.key == "" or self.key.endswith("/") else self.key + "/"
        return dataclasses.replace(self, key=head + tail + trailing)


def parse_uri(text: str, *, prefix: bool = False) -> BlobUri:
    """Parses ``file:///...``, ``s3://bucket/...``, ``abfs://container/...`` (or ``az://``) or
    ``gs://bucket/...``; ``prefix=True`` also accepts folders."""
    written, sep, rest = text.partition("://")
    scheme = _ALIASES.get(written, written)
    if not sep or scheme not in SCHEMES:
        raise InvalidUriError(
            f"unsupported blob URI {text!r}: expected one of "
            + ", ".join(f"{s}://" for s in SCHEMES)
        )
    if scheme == "file":
        host, slash, path = rest.partition("/")
        if host not in ("", "localhost") or not slash:
            raise InvalidUriError(
                f"invalid file URI {text!r}: expected file:///absolute/path (no host)"
            )
        if "?" in path or "#" in path:
            raise InvalidUriError(f"invalid file URI {text!r}: no query or fragment allowed")
        key = unquote(path, errors="strict")
        return BlobUri("file", "", check_key(key, prefix=prefix, uri=text))
    bucket, _, key = rest.partition("/")
    provider = _PROVIDERS[scheme]
    if scheme == "abfs" and "@" in bucket:
        raise InvalidUriError(
            f"invalid Azure URI {text!r}: write abfs://CONTAINER/path and set the storage account "
            "as azure_account (WINGSPAN_AZURE_ACCOUNT); the container@account.host form is not read"
        )
    pattern, rule = _BUCKETS[scheme]
    if not pattern.match(bucket) or ".." in bucket:
        what = "container" if scheme == "abfs" else "bucket"
        raise InvalidUriError(f"invalid {provider} {what} {bucket!r} in {text!r}: {rule}")
    if len(key.encode()) > _KEY_MAX_BYTES:
        raise InvalidUriError(f"{provider} key in {text[:80]!r}... is longer than 1024 bytes")
    return BlobUri(scheme, bucket, check_key(key, prefix=prefix, uri=text))


def join_uri(base: str, *parts: str) -> str:
    """``join_uri("s3://b/runs", "r1/out.pb") == "s3://b/runs/r1/out.pb"``."""
    return str(parse_uri(base, prefix=True).child(*parts))


def relative_key(root: str | BlobUri, uri: str | BlobUri) -> str:
    """The key of ``uri`` relative to ``root``; InvalidUriError if it lies outside."""
    base = root if isinstance(root, BlobUri) else parse_uri(root, prefix=True)
    target = uri if isinstance(uri, BlobUri) else parse_uri(uri, prefix=True)
    if (target.scheme, target.bucket) != (base.scheme, base.bucket):
        raise InvalidUriError(f"{target} is not below the blob store root {base}")
    head = base.key if base.key == "" or base.key.endswith("/") else base.key + "/"
    if target.key.startswith(head):
        return target.key[len(head):]
    if target.key == base.key.rstrip("/"):
        return ""
    raise InvalidUriError(f"{target} is not below the blob store root {base}")
