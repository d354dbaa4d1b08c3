"""Registration's check of a task's code bundle: the code a version runs is the code uploaded.

An upload location is named by the MD5 of the content the client promised (see
:mod:`wingspan.core.storage.uploads`), and anyone may ask for that location again. So
before a task version naming a bundle is accepted, the server reads the bundle and
checks it: it is an object of this server's store, named by a digest, within the upload
size limit, its bytes have that digest, and it passes every unpacking check (names,
member kinds, member count and unpacked size) without being written anywhere.

What this holds against: on the local folder store, uploads are write-once and checked
against their digest as they arrive, so a registered bundle cannot change. On S3 a
presigned PUT can replace an object at any time; this check refuses a replaced bundle
at registration, and the worker checks the digest again when it fetches the bundle
(:func:`wingspan.core.bundles.fetch_bundle`), so replaced code is refused, never run.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import anyio
import anyio.to_thread

from wingspan.core.bundles import BundleLimits, check_bundle
from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.core.storage import BlobStore, InvalidUriError
from wingspan.core.storage.uploads import named_md5

__all__ = ["BundleCheck"]

#: bundles remembered as checked (by URI and etag), so a registration of many tasks reads one once
_REMEMBERED = 256


class BundleCheck:
    def __init__(self, store: BlobStore, limits: BundleLimits) -> None:
        self.store = store
        self.limits = limits
        self._checked: OrderedDict[str, str] = OrderedDict()
        # the tasks of one registration arrive at once, naming one bundle: it is read once
        self._reading: dict[str, anyio.Lock] = {}

    async def check(self, uri: str, where: str) -> None:
        """Raises InvalidArgumentError, saying what is wrong and what to do, unless the bundle
        at ``uri`` is one this server may run."""
        what = f"{where}: its code bundle {uri[:300]}"
        try:
            self.store.key_of(uri)
        except (InvalidUriError, ValueError) as exc:
            raise InvalidArgumentError(f"{what} is not an object of this server's store ({self.store.root}); "
                                       "upload it to a location from CreateUploadLocation") from exc
        md5 = named_md5(uri)
        if md5 is None:
            raise InvalidArgumentError(f"{what} is not at a location named by its MD5; ask "
                                       "CreateUploadLocation for one with content_md5 set and upload the "
                                       "bundle there")
        lock = self._reading.setdefault(uri, anyio.Lock())
        try:
            async with lock:
                await self._check_object(uri, md5, what)
        finally:
            if not lock.statistics().tasks_waiting and not lock.locked():
                self._reading.pop(uri, None)

    async def _check_object(self, uri: str, md5: str, what: str) -> None:
        try:
            info = await self.store.stat(uri)
        except NotFoundError:
            raise InvalidArgumentError(f"{what} was not uploaded; upload it to its location, then "
                                       "register") from None
        if info.size > self.limits.max_upload_bytes:
            raise InvalidArgumentError(f"{what} is {info.size} bytes, over the limit of "
                                       f"{self.limits.max_upload_bytes} (setting max_bundle_upload_bytes)")
        if info.etag and self._checked.get(uri) == info.etag:
            self._checked.move_to_end(uri)
            return
        data = await self.store.get(uri)
        found = hashlib.md5(data).hexdigest()
        if found != md5:
            raise InvalidArgumentError(f"{what} holds content with MD5 {found}, not the {md5} its "
                                       "location is named by (replaced after it was uploaded?); upload the "
                                       "bundle again and register under a new version")
        await anyio.to_thread.run_sync(check_bundle, data, self.limits, what)
        self._checked[uri] = info.etag
        while len(self._checked) > _REMEMBERED:
            self._checked.popitem(last=False)
