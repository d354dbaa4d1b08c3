"""Lists: filters, sort and opaque page tokens, the same for every resource.

Pages are keyset pages: a token carries the sort key and the last row's sort value
and id, so the next page starts after that row however many rows arrive meanwhile,
and a deep page costs what the first one does (no OFFSET). Tokens are opaque to
clients (base64 of JSON), and a token is only valid with the sort it was made for.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, or_

from wingspan.core.errors import InvalidArgumentError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Field", "Filter", "ListQuery", "Listing", "Page", "Sort", "page"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

T = TypeVar("T")

# FilterOperator values of the IDL
EQ, NEQ, GT, GTE, LT, LTE, CONTAINS, IN, STARTS_WITH = range(9)
_OPERATOR_NAMES = ["eq", "neq", "gt", "gte", "lt", "lte", "contains", "in", "starts_with"]


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition of a list: ``field`` compared by ``operator`` (EQ ... IN) with ``values``
    (text, read by the field's kind; several for IN)."""

    field: str
    operator: int = EQ
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sort:
    key: str = ""
    ascending: bool = False


@dataclass(frozen=True, slots=True)
class Listing:
    """What a list call asks: a project and domain, perhaps one entity's name, and the page
    (limit, the previous page's token, filters, sort; newest first by default)."""

    project: str = ""
    domain: str = ""
    name: str = ""
    limit: int = 0
    token: str = ""
    filters: tuple[Filter, ...] = ()
    sort: Sort | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, and the token of the next one ("" after the last)."""

    items: list[T]
    next_token: str = ""


@dataclass(frozen=True)
class Field:
    """A column lists may filter (and perhaps sort) on, and how to read its values."""

    # a model attribute or a subquery's column
    column: Any
    # "str", "int", "time", or an IntEnum class whose member names are accepted
    kind: Any = "str"
    sortable: bool = False

    def parse(self, name: str, raw: str) -> Any:
        if self.kind == "str":
            return raw
        if self.kind == "int":
            try:
                return int(raw)
            except ValueError:
                raise InvalidArgumentError(f"filter on {name!r}: {raw!r} is not an integer") from None
        if self.kind == "time":
            return parse_time(raw, f"filter on {name!r}")
        if isinstance(self.kind, type) and issubclass(self.kind, enum.IntEnum):
            return _enum_value(self.kind, name, raw)
        raise AssertionError(self.kind)


def _enum_value(cls: type[enum.IntEnum], name: str, raw: str) -> int:
    """A member by number, name ("succeeded") or the IDL's spelling ("WORKFLOW_PHASE_SUCCEEDED")."""
    text = raw.strip().upper()
    if text.lstrip("-").isdigit():
        return int(text)
    matches = [m for m in cls if text == m.name or text.endswith("_" + m.name)]
    if matches:
        return int(max(matches, key=lambda m: len(m.name)))
    valid = ", ".join(m.name.lower() for m in cls)
    raise InvalidArgumentError(f"filter on {name!r}: unknown value {raw!r}; valid values: {valid}")


def parse_time(raw: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgumentError(f"{where}: {raw!r} is not an RFC 3339 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class ListQuery:
    """A list request, read: the resource's fields and the caller's filters, sort and page."""

    fields: Mapping[str, Field]
    id_column: Any
    default_sort: str = "created_at"
    limit: int = 0
    token: str = ""
    filters: Sequence[Filter] = ()
    sort_key: str = ""
    ascending: bool = False
    #: how a prefix filter reads on SQLite, whose text compares by code point but whose LIKE
    #: ignores ASCII case and reads no index: "" (LIKE, as on PostgreSQL, whose collation may
    #: order otherwise); "scan" (the text's first characters compared, case-sensitive, while
    #: the list's order index is read); "range" (that, and the column's range from the prefix to
    #: its successor, which an index on the column answers: for prefixes of few rows)
    prefix_reading: str = ""

    @classmethod
    def of(
        cls,
        listing: Listing,
        fields: Mapping[str, Field],
        id_column: Any,
        default_sort: str = "created_at",
        *,
        prefix_reading: str = "",
    ) -> ListQuery:
        """From a Listing: its limit, token, filters and sort."""
        sort = listing.sort
        return cls(
            fields,
            id_column,
            default_sort,
            listing.limit,
            listing.token,
            listing.filters,
            sort.key if sort is not None and sort.key else "",
            sort.ascending if sort is not None and sort.key else False,
            prefix_reading,
        )


def _conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    found = []
    for f in query.filters:
        field = query.fields.get(f.field)
        if field is None:
            valid = ", ".join(sorted(query.fields))
            raise InvalidArgumentError(f"cannot filter on {f.field!r}; valid fields: {valid}")
        op = int(f.operator)
        values = [field.parse(f.field, v) for v in f.values]
        if op == IN:
            if not values:
                raise InvalidArgumentError(f"filter 'in' on {f.field!r} needs at least one value")
            found.append(field.column.in_(values))
            continue
        if len(values) != 1:
            raise InvalidArgumentError(
                f"filter {_OPERATOR_NAMES[op]!r} on {f.field!r} takes one value, got {len(values)}"
            )
        value = values[0]
        column = field.column
        match op:
            case 0:
                found.append(column == value)
            case 1:
                found.append(column != value)
            case 2:
                found.append(column > value)
            case 3:
                found.append(column >= value)
            case 4:
                found.append(column < value)
            case 5:
                found.append(column <= value)
            case 6:
                if field.kind != "str":
                    raise InvalidArgumentError(f"'contains' applies to text fields, not {f.field!r}")
                found.append(column.contains(value, autoescape=True))
            case 8:
                if field.kind != "str":
                    raise InvalidArgumentError(f"'starts_with' applies to text fields, not {f.field!r}")
                if not query.prefix_reading:
                    found.append(column.startswith(value, autoescape=True))
                else:
                    found.append(func.substr(column, 1, len(value)) == value)
                    if query.prefix_reading == "range":
                        found.extend(prefix_range(column, value))
            case _:
                raise InvalidArgumentError(f"unknown filter operator {op}")
    return found


def prefix_range(column: Any, prefix: str) -> list[ColumnElement[bool]]:
    """``prefix <= column < the prefix's successor``: by code point, exactly the texts that
    begin with ``prefix`` (the successor: its last character's next code point)."""
    if not prefix:
        return []
    bounds = [column >= prefix]
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are no characters of a stored text
        following = 0xE000
    if following <= sys.maxunicode:
        bounds.append(column < prefix[:-1] + chr(following))
    return bounds


def _encode_token(key: str, ascending: bool, value: Any, row_id: Any) -> str:
    if isinstance(value, datetime):
        value = {"t": value.astimezone(UTC).isoformat()}
    raw = json.dumps({"k": key, "a": ascending, "v": value, "i": row_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str, key: str, ascending: bool) -> tuple[Any, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        value, row_id = data["v"], data["i"]
        same = data["k"] == key and bool(data["a"]) == ascending
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidArgumentError("invalid page token: pass next_token of the previous page as is") from None
    if not same:
        raise InvalidArgumentError(
            "the page token was made for another sort order; start from the first page"
        )
    if isinstance(value, dict) and "t" in value:
        value = datetime.fromisoformat(value["t"])
    return value, row_id


def page(
    statement: Any, query: ListQuery, *, sort_value: Callable[[Any, str], Any] | None = None
) -> tuple[Any, Callable[[list[T]], tuple[list[T], str]]]:
    """Adds filters, order, keyset position and limit to ``statement`` (a select of one
    model); returns it and a function that turns the fetched rows into (page, next token)."""
    key = query.sort_key or query.default_sort
    field = query.fields.get(key)
    if field is None or not field.sortable:
        valid = ", ".join(sorted(k for k, f in query.fields.items() if f.sortable))
        raise InvalidArgumentError(f"cannot sort by {key!r}; valid sort keys: {valid}")
    limit = query.limit or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise InvalidArgumentError(f"limit {limit} is above the maximum of {MAX_LIMIT}")
    column, id_column, ascending = field.column, query.id_column, query.ascending
    conditions = _conditions(query)
    if query.token:
        value, row_id = _decode_token(query.token, key, ascending)
        if ascending:
            conditions.append(or_(column > value, and_(column == value, id_column > row_id)))
        else:
            conditions.append(or_(column < value, and_(column == value, id_column < row_id)))
    if conditions:
        statement = statement.where(*conditions)
    if ascending:
        statement = statement.order_by(column.asc(), id_column.asc())
    else:
        statement = statement.order_by(column.desc(), id_column.desc())
    statement = statement.limit(limit + 1)
    attribute = column.key
    id_attribute = id_column.key

    def finish(rows: list[T]) -> tuple[list[T], str]:
        if len(rows) <= limit:
            return rows, ""
        rows = rows[:limit]
        last = rows[-1]
        value = sort_value(last, key) if sort_value else getattr(last, attribute)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return rows, _encode_token(key, ascending, value, getattr(last, id_attribute))

    return statement, finish
