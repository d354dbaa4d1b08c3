"""Reading a File or Directory from the URI it names when no blob store came with it (a
``File("https://...")`` or ``File("s3://...")`` given to a local run): http(s) directly,
object-store URIs through the store this process is configured for. Anything else gets
one error that names the URL and what to configure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from wingspan.core.errors import UserError

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore

__all__ = ["check_readable", "download_url", "store_reading", "unreadable_reason"]

_HTTP = ("http://", "https://")


def _scheme(uri: str) -> str:
    return uri.partition("://")[0].lower()


def unreadable_reason(uri: str, *, folder: bool = False) -> str:
    """Why this process cannot read ``uri`` (empty when it can)."""
    if uri.startswith(_HTTP):
        return "an http(s) URL is a single file, not a folder" if folder else ""
    scheme = _scheme(uri)
    if scheme == "file":
        return ""
    if scheme == "s3":
        from wingspan.core.config import Settings

        settings = Settings.load()
        if settings.s3_endpoint or settings.storage_root.startswith("s3://"):
            return ""
        return ("no S3 endpoint is configured: set WINGSPAN_S3_ENDPOINT (and "
                "WINGSPAN_S3_ACCESS_KEY, WINGSPAN_S3_SECRET_KEY), or s3_endpoint in the config file")
    if scheme in ("abfs", "az"):
        from wingspan.core.config import Settings

        if Settings.load().azure_account:
            return ""
        return ("no Azure storage account is configured: set WINGSPAN_AZURE_ACCOUNT and "
                "WINGSPAN_AZURE_ACCOUNT_KEY, or azure_account in the config file")
    if scheme == "gs":
        return ""  # Google's endpoint by default; credentials only if the bucket asks for them
    return f"no blob store serves {scheme}:// URLs (http(s), s3, abfs, gs and file ones are read)"


def check_readable(uri: str, what: str, *, folder: bool = False) -> None:
    reason = unreadable_reason(uri, folder=folder)
    if reason:
        raise UserError(f"{what} {uri} cannot be read: {reason}")


@asynccontextmanager
async def store_reading(uri: str, what: str, *, folder: bool = False) -> AsyncIterator[BlobStore]:
    """A store opened for reading ``uri`` (on this event loop), closed after."""
    check_readable(uri, what, folder=folder)
    from wingspan.core.config import Settings
    from wingspan.core.storage.factory import store_for_uri

    store = store_for_uri(uri, Settings.load())
    try:
        yield store
    finally:
        await store.aclose()


async def download_url(url: str, target: Path, what: str) -> None:
    """Fetches an http(s) URL into ``target``; a failed request names the URL and status."""
    import anyio
    import httpx

    try:
        async with httpx.AsyncClient(follow_redirects=True, timeout=60) as client, \
                client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise UserError(f"{what} {url} cannot be read: the server answered "
                                f"{response.status_code} {response.reason_phrase}")
            async with await anyio.open_file(target, "wb") as out:
                async for chunk in response.aiter_bytes():
                    await out.write(chunk)
    except httpx.HTTPError as exc:
        raise UserError(f"{what} {url} cannot be read: {type(exc).__name__}: {exc}") from exc
