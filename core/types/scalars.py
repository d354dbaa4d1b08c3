"""Transformers of the scalar types: int, float, bool, str, bytes, datetime, date, timedelta, None."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from wingspan.core.model.literals import (
    VOID,
    DateTimeValue,
    DurationValue,
    Literal,
    LiteralType,
    SimpleType,
)
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = ["SCALAR_TRANSFORMERS", "check_text"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)


def check_text(text: str) -> None:
    """Refuses a str the wire cannot carry: literals hold UTF-8, which has no lone surrogates."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError as exc:
            raise ValueMismatch.of("str encodable as UTF-8", text,
                                   f"lone surrogate at position {exc.start}") from None


class _Scalar(TypeTransformer):
    """A Python type that maps onto one literal kind; subclasses say how."""

    python_type: type
    simple: SimpleType
    # the literal kinds this type is stored as; any other kind is a mismatch
    literal_kinds: tuple[str, ...]

    def handles(self, py_type: Any) -> bool:
        return py_type is self.python_type

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("simple", self.simple, annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        # bool is an int subclass and an Enum member may be one too: neither is an int here
        return type(value) is self.python_type

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not self.fits(value, py_type, engine, exact=False):
            raise ValueMismatch.of(type_repr(py_type), value)
        return self.encode(value)

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind not in self.literal_kinds:
            raise mismatch_from_literal(py_type, literal)
        return self.decode(literal, py_type)

    def encode(self, value: Any) -> Literal:
        raise NotImplementedError

    def decode(self, literal: Literal, py_type: Any) -> Any:
        """The value of a literal already known to be of one of ``literal_kinds``."""
        raise NotImplementedError


class IntTransformer(_Scalar):
    name = "int"
    python_type = int
    simple = SimpleType.INTEGER
    literal_kinds = ("integer", "big_integer")

    def encode(self, value: int) -> Literal:
        if INT64_MIN <= value <= INT64_MAX:
            return Literal("integer", value)
        return Literal("big_integer", str(value))

    def decode(self, literal: Literal, py_type: Any) -> int:
        return int(literal.value)


class FloatTransformer(_Scalar):
    name = "float"
    python_type = float
    simple = SimpleType.FLOAT
    literal_kinds = ("float",)

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        if type(value) is float:
            return True
        # an int is a valid float argument (PEP 484), but only when nothing fits better
        return not exact and type(value) is int

    def encode(self, value: float) -> Literal:
        try:
            return Literal("float", float(value))
        except OverflowError:  # an int beyond the float range
            raise ValueMismatch.of("float", value, "too large for a float") from None

    def decode(self, literal: Literal, py_type: Any) -> float:
        return float(literal.value)


class BoolTransformer(_Scalar):
    name = "bool"
    python_type = bool
    simple = SimpleType.BOOLEAN
    literal_kinds = ("boolean",)

    def encode(self, value: bool) -> Literal:
        return Literal("boolean", value)

    def decode(self, literal: Literal, py_type: Any) -> bool:
        return bool(literal.value)


class StrTransformer(_Scalar):
    name = "str"
    python_type = str
    simple = SimpleType.STRING
    literal_kinds = ("string",)

    def encode(self, value: str) -> Literal:
        check_text(value)
        return Literal("string", value)

    def decode(self, literal: Literal, py_type: Any) -> str:
        return str(literal.value)


class BytesTransformer(_Scalar):
    name = "bytes"
    python_type = bytes
    simple = SimpleType.BINARY
    literal_kinds = ("binary",)

    def encode(self, value: bytes) -> Literal:
        return Literal("binary", value)

    def decode(self, literal: Literal, py_type: Any) -> bytes:
        return bytes(literal.value)


class DateTimeTransformer(_Scalar):
    """Aware datetimes keep their zone (IANA name or fixed offset); naive ones stay naive.

    ``zone`` is "" for a naive value, the IANA key of a ZoneInfo (``ZoneInfo("UTC")``
    included), or the text of a fixed offset (``"+00:00"`` for ``datetime.UTC``,
    ``"+05:45"``); a fixed offset comes back as a ``datetime.timezone`` without its name.
    """

    name = "datetime"
    python_type = dt.datetime
    simple = SimpleType.DATETIME
    literal_kinds = ("datetime",)

    def encode(self, value: dt.datetime) -> Literal:
        offset = value.utcoffset()
        if offset is None:
            return Literal("datetime", DateTimeValue(value.replace(tzinfo=_UTC), ""))
        tz = value.tzinfo
        zone = tz.key if isinstance(tz, zoneinfo.ZoneInfo) and tz.key else _offset_text(offset)
        micros = offset // dt.timedelta(microseconds=1)
        instant = (value.replace(tzinfo=None) - offset).replace(tzinfo=_UTC)
        return Literal("datetime", DateTimeValue(instant, zone, micros))

    def decode(self, literal: Literal, py_type: Any) -> dt.datetime:
        value: DateTimeValue = literal.value
        naive_utc = value.instant.replace(tzinfo=None)
        if not value.zone:
            return naive_utc  # type: ignore[no-any-return]
        offset = dt.timedelta(microseconds=value.utc_offset_micros)
        wall = naive_utc + offset
        if value.zone[0] in "+-":
            # timezone(timedelta(0)) is datetime.UTC itself
            return wall.replace(tzinfo=dt.timezone(offset))  # type: ignore[no-any-return]
        zone = zoneinfo.ZoneInfo(value.zone)
        for fold in (0, 1):
            candidate: dt.datetime = wall.replace(tzinfo=zone, fold=fold)
            if candidate.utcoffset() == offset:
                return candidate
        # the zone's rules changed since the value was written: keep the instant
        return value.instant.astimezone(zone)  # type: ignore[no-any-return]


class DateTransformer(_Scalar):
    """A date is stored as its midnight, a naive datetime (as flytekit stores one): a datetime
    given where a date is declared arrives as its date."""

    name = "date"
    python_type = dt.date
    simple = SimpleType.DATETIME
    literal_kinds = ("datetime",)

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        if type(value) is dt.date:
            return True
        # a datetime is stored as its date (flytekit takes one too), but only when nothing fits
        # better: date | datetime keeps a datetime's time
        return not exact and type(value) is dt.datetime

    def encode(self, value: dt.date) -> Literal:
        midnight = dt.datetime(value.year, value.month, value.day, tzinfo=_UTC)
        return Literal("datetime", DateTimeValue(midnight, ""))

    def decode(self, literal: Literal, py_type: Any) -> dt.date:
        return DATETIMES.decode(literal, dt.datetime).date()


def _offset_text(offset: dt.timedelta) -> str:
    """``+05:45``, ``-03:00``; seconds and microseconds only when there are some."""
    sign = "-" if offset < dt.timedelta(0) else "+"
    micros = abs(offset) // dt.timedelta(microseconds=1)
    seconds, micros = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    if seconds or micros:
        text += f":{seconds:02d}" + (f".{micros:06d}" if micros else "")
    return text


class TimedeltaTransformer(_Scalar):
    name = "timedelta"
    python_type = dt.timedelta
    simple = SimpleType.DURATION
    literal_kinds = ("duration",)

    def encode(self, value: dt.timedelta) -> Literal:
        micros = value // dt.timedelta(microseconds=1)
        sign = -1 if micros < 0 else 1
        seconds, rest = divmod(abs(micros), 1_000_000)
        return Literal("duration", DurationValue(sign * seconds, sign * rest * 1000))

    def decode(self, literal: Literal, py_type: Any) -> dt.timedelta:
        value: DurationValue = literal.value
        return dt.timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


class NoneTransformer(_Scalar):
    name = "none"
    python_type = type(None)
    simple = SimpleType.NONE
    literal_kinds = ("none",)

    def handles(self, py_type: Any) -> bool:
        return py_type is None or py_type is type(None)

    def encode(self, value: None) -> Literal:
        return Literal("none", VOID)

    def decode(self, literal: Literal, py_type: Any) -> None:
        return None


DATETIMES = DateTimeTransformer()
SCALAR_TRANSFORMERS: tuple[TypeTransformer, ...] = (
    BoolTransformer(), IntTransformer(), FloatTransformer(), StrTransformer(), BytesTransformer(),
    DATETIMES, DateTransformer(), TimedeltaTransformer(), NoneTransformer(),
)
