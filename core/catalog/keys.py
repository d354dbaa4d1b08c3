"""Cache keys from literals: stable across processes and machines.

key = task name + cache version + sha256(interface in IDL bytes, input literals in IDL
bytes without the ignored inputs). The codec writes maps in key order, so equal inputs
give equal bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from wingspan.core.catalog.interface import CacheKey
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.tasks import TaskTemplate

__all__ = ["cache_key"]


def cache_key(template: TaskTemplate, inputs: LiteralMap, ignored: Iterable[str] = ()) -> CacheKey:
    """The key of ``template`` run on ``inputs`` (literals), leaving ``ignored`` inputs out."""
    from wingspan.core.model import codec

    skip = set(ignored)
    kept = LiteralMap({k: v for k, v in inputs.literals.items() if k not in skip})
    digest = hashlib.sha256()
    if template.interface is not None:
        digest.update(codec.encode(template.interface))
    digest.update(b"\0")
    digest.update(codec.encode(kept))
    version = template.metadata.cache.version if template.metadata and template.metadata.cache else ""
    name = template.id.name if template.id else ""
    return CacheKey(name, version, digest.hexdigest())
