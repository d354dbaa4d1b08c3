"""Literal types (the static type of a value) and literals (values as data)."""

from __future__ import annotations

import enum
from dataclasses import field
from typing import Any, ClassVar, Final

from wingspan.core.model.record import record

__all__ = [
    "DICT_ITEM",
    "NPY_FORMAT",
    "VALUE_BLOB_FORMATS",
    "Blob",
    "BlobDimensionality",
    "BlobType",
    "DateTimeValue",
    "DurationValue",
    "EnumType",
    "EnumValue",
    "ErrorKind",
    "ErrorValue",
    "Literal",
    "LiteralCollection",
    "LiteralMap",
    "LiteralType",
    "OffloadedLiteral",
    "RecordField",
    "RecordFieldValue",
    "RecordKind",
    "RecordType",
    "RecordValue",
    "SimpleType",
    "StructuredDataset",
    "StructuredDatasetColumn",
    "StructuredDatasetType",
    "UnionType",
    "UnionValue",
    "Void",
]


class SimpleType(enum.IntEnum):
    NONE = 0
    INTEGER = 1
    FLOAT = 2
    STRING = 3
    BOOLEAN = 4
    DATETIME = 5
    DURATION = 6
    BINARY = 7
    ERROR = 8
    OPAQUE = 9


class RecordKind(enum.IntEnum):
    UNSPECIFIED = 0
    DATACLASS = 1
    PYDANTIC = 2
    NAMED_TUPLE = 3


class BlobDimensionality(enum.IntEnum):
    SINGLE = 0
    MULTIPART = 1


class ErrorKind(enum.IntEnum):
    UNSPECIFIED = 0
    USER = 1
    SYSTEM = 2


# ---- literal types ---------------------------------------------------------------------------


@record
class EnumType:
    name: str = ""
    values: tuple[str, ...] = ()


@record
class UnionType:
    variants: tuple[LiteralType, ...] = ()


@record
class RecordField:
    name: str = ""
    type: LiteralType | None = None
    optional: bool = False


@record
class RecordType:
    name: str = ""
    kind: RecordKind = RecordKind.UNSPECIFIED
    fields: tuple[RecordField, ...] = ()


@record
class BlobType:
    format: str = ""
    dimensionality: BlobDimensionality = BlobDimensionality.SINGLE


#: the blob format of a numpy array
NPY_FORMAT = "npy"
#: blob formats that hold a value read back as an object (an array), not a file a task opens: such
#: a blob connects only with its own format, never with a File of no format
VALUE_BLOB_FORMATS = frozenset({NPY_FORMAT})


@record
class StructuredDatasetColumn:
    name: str = ""
    type: LiteralType | None = None


@record
class StructuredDatasetType:
    format: str = ""
    columns: tuple[StructuredDatasetColumn, ...] = ()
    python_kind: str = ""


@record
class LiteralType:
    """One of: simple, collection_type, map_value_type, union_type, enum_type, record_type,
    blob, structured_dataset_type (``kind`` names it, ``value`` holds it)."""

    __oneof__: ClassVar[str] = "type"

    kind: str = ""
    value: Any = None
    tag: str = ""
    annotation: str = field(default="", compare=False)

    def __str__(self) -> str:
        return self.annotation or describe(self)


def describe(t: LiteralType) -> str:
    """A short human rendering of a literal type, for messages."""
    match t.kind:
        case "simple":
            return SimpleType(t.value).name.lower()
        case "collection_type":
            return f"list[{t.value}]"
        case "map_value_type":
            return f"dict[str, {t.value}]"
        case "union_type":
            return " | ".join(str(v) for v in t.value.variants)
        case "enum_type" | "record_type":
            return str(t.value.name)
        case "blob":
            return "Directory" if t.value.dimensionality == BlobDimensionality.MULTIPART else "File"
        case "structured_dataset_type":
            return "DataFrame"
    return "unknown"


# a dict with keys other than str is a list of records of this name (fields key and value)
DICT_ITEM: Final = "dict.item"


# ---- literals --------------------------------------------------------------------------------


@record
class Void:
    pass


VOID: Final = Void()


@record
class DateTimeValue:
    instant: Any = None  # datetime, aware, UTC
    zone: str = ""
    utc_offset_micros: int = 0


@record
class DurationValue:
    seconds: int = 0
    nanos: int = 0


@record
class LiteralCollection:
    literals: tuple[Literal, ...] = ()


@record
class LiteralMap:
    literals: dict[str, Literal] = field(default_factory=dict)


@record
class UnionValue:
    value: Literal | None = None
    tag: str = ""


@record
class EnumValue:
    name: str = ""


@record
class RecordFieldValue:
    name: str = ""
    value: Literal | None = None


@record
class RecordValue:
    type_name: str = ""
    fields: tuple[RecordFieldValue, ...] = ()


@record
class Blob:
    uri: str = ""
    type: BlobType | None = None


@record
class StructuredDataset:
    uri: str = ""
    type: StructuredDatasetType | None = None


@record
class OffloadedLiteral:
    uri: str = ""
    size_bytes: int = 0
    type: LiteralType | None = None
    digest: str = ""


@record
class ErrorValue:
    failed_node_id: str = ""
    message: str = ""
    kind: ErrorKind = ErrorKind.UNSPECIFIED


@record
class Literal:
    """One of: none, integer, float, string, boolean, datetime, duration, binary, collection,
    map, union, enum, record, blob, structured_dataset, offloaded, error, big_integer, opaque."""

    __oneof__: ClassVar[str] = "value"

    kind: str = ""
    value: Any = None
