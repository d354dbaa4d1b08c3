"""What every resource's converters share: model records from messages, and list requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from wingspan.core.model import codec
from wingspan.protos import v1
from wingspan.server.services.pagination import Filter, Listing, Sort

__all__ = ["listing", "model", "page_of"]

T = TypeVar("T")


def model(cls: type[T], message: object | None) -> T | None:
    """The ``cls`` record of a message that it mirrors (None for an unset field)."""
    if message is None:
        return None
    found = codec.from_proto(message)
    if not isinstance(found, cls):
        raise TypeError(f"{type(message).__name__} is not the message of {cls.__name__}")
    return found


def listing(message: v1.ListRequest | None) -> Listing:
    if message is None:
        return Listing()
    sort = message.sort
    return Listing(
        project=message.project,
        domain=message.domain,
        name=message.name,
        limit=message.limit,
        token=message.token,
        filters=_filters(message.filters),
        sort=Sort(sort.key, sort.ascending) if sort is not None else None,
    )


def page_of(limit: int, token: str, filters: Iterable[v1.Filter] = (), sort: v1.Sort | None = None
            ) -> Listing:
    """The page a request asks for that is no ListRequest (its own limit, token, filters, sort)."""
    return Listing(limit=limit, token=token, filters=_filters(filters),
                   sort=Sort(sort.key, sort.ascending) if sort is not None else None)


def _filters(filters: Iterable[v1.Filter]) -> tuple[Filter, ...]:
    return tuple(Filter(f.field, int(f.operator), tuple(f.values)) for f in filters)
