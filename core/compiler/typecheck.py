"""When a value of one literal type may flow into an input of another."""

from __future__ import annotations

from wingspan.core.model.literals import (
    DICT_ITEM,
    VALUE_BLOB_FORMATS,
    Literal,
    LiteralType,
    SimpleType,
    StructuredDatasetType,
    UnionType,
)

__all__ = ["ANY_TAG", "assignable", "frames_connect", "literal_fits", "plain", "same_type"]

# the tag of the opaque literal type of a value of no declared type (Any): every value fits it
ANY_TAG = "any"


def plain(lt: LiteralType) -> LiteralType:
    """The type without union tags and annotations, at every level, for comparison.

    Tags name union variants as the producing SDK spelled them; two workflows that
    agree on the types agree on the data, whatever the spelling.
    """
    value = lt.value
    match lt.kind:
        case "collection_type" | "map_value_type":
            value = plain(value)
        case "union_type":
            value = UnionType(tuple(plain(v) for v in value.variants))
    if not lt.tag and not lt.annotation and value is lt.value:
        return lt
    return LiteralType(lt.kind, value)


def same_type(a: LiteralType, b: LiteralType) -> bool:
    """Equal types, whatever their union tags and annotations: ``plain(a) == plain(b)``
    without building the copies, which cost more than every other check on a
    10,000-node workflow (the compiler asks this once per binding)."""
    if a is b:
        return True
    if a.kind != b.kind:
        return False
    match a.kind:
        case "collection_type" | "map_value_type":
            return same_type(a.value, b.value)
        case "union_type":
            left, right = a.value.variants, b.value.variants
            return len(left) == len(right) and all(map(same_type, left, right))
    return bool(a.value == b.value)


def assignable(source: LiteralType, target: LiteralType) -> tuple[bool, str]:
    """Whether ``source`` values fit ``target``, and the union tag to wrap them in (or "").

    Types must match exactly (an int never silently becomes a float); a value may flow
    into a union that has its type as a variant.
    """
    if same_type(source, target):
        return True, ""
    if target.kind == "simple" and target.value == SimpleType.OPAQUE and target.tag == ANY_TAG:
        # Any takes plain data, which reads back the same from its literal; a record would come
        # back a dict in another process but stay the object in this one
        return _plain_data(source), ""
    if target.kind == source.kind and target.kind in ("collection_type", "map_value_type") and not (
            source.value.kind == "record_type" and source.value.value.name == DICT_ITEM):  # a dict
        ok, tag = assignable(source.value, target.value)
        if ok and not tag:  # list[int] into list[Any]; never a conversion inside (a union's tag)
            return True, ""
    if source.kind == target.kind == "blob":
        # a File of no format takes and gives any file; two formats must agree, whatever their case
        # (File[TypeVar("CSV")] is a csv file too); an array's blob is no file
        given, wanted = source.value.format, target.value.format
        if given in VALUE_BLOB_FORMATS or wanted in VALUE_BLOB_FORMATS:
            return False, ""
        return source.value.dimensionality == target.value.dimensionality and (
            not given or not wanted or given.lower() == wanted.lower()), ""
    if source.kind == target.kind == "structured_dataset_type":
        return frames_connect(source.value, target.value), ""
    if target.kind == "union_type":
        for variant in target.value.variants:
            if same_type(variant, source):
                return True, variant.tag
        if source.kind == "union_type":
            targets = {plain(v) for v in target.value.variants}
            if all(plain(v) in targets for v in source.value.variants):
                return True, ""
    return False, ""


def _plain_data(lt: LiteralType) -> bool:
    """Scalars, pickles, and lists, str-keyed dicts and unions of them."""
    match lt.kind:
        case "simple":
            return True
        case "collection_type" | "map_value_type":
            return _plain_data(lt.value)
        case "union_type":
            return all(_plain_data(v) for v in lt.value.variants)
    return False


def frames_connect(source: StructuredDatasetType, target: StructuredDatasetType) -> bool:
    """Whether frames of one type feed an input of another: any kind of frame (pandas, arrow,
    the lazy DataFrame) feeds any other, as they share a stored format; declared columns must
    be among those the source declares (a source that declares none is checked at run time)."""
    if source.format and target.format and source.format != target.format:
        return False
    if not source.columns or not target.columns:
        return True
    have = {column.name: column.type for column in source.columns}
    for column in target.columns:
        if column.name not in have:
            return False
        source_type = have[column.name]
        if source_type is not None and column.type is not None and not same_type(source_type, column.type):
            return False
    return True


_SIMPLE_KINDS = {
    SimpleType.NONE: {"none"},
    SimpleType.INTEGER: {"integer", "big_integer"},
    SimpleType.FLOAT: {"float"},
    SimpleType.STRING: {"string"},
    SimpleType.BOOLEAN: {"boolean"},
    SimpleType.DATETIME: {"datetime"},
    SimpleType.DURATION: {"duration"},
    SimpleType.BINARY: {"binary"},
    SimpleType.ERROR: {"error"},
    SimpleType.OPAQUE: {"opaque"},
}


def literal_fits(literal: Literal, lt: LiteralType) -> bool:
    """Whether a literal has the shape of a literal type (for constants in templates)."""
    if literal.kind == "offloaded":
        return literal.value.type is None or assignable(literal.value.type, lt)[0]
    match lt.kind:
        case "simple":
            # an opaque type (Any, or a pickled class) is read by Python: any literal may be one
            return lt.value == SimpleType.OPAQUE or literal.kind in _SIMPLE_KINDS.get(lt.value, set())
        case "collection_type":
            return literal.kind == "collection" and all(
                literal_fits(item, lt.value) for item in literal.value.literals)
        case "map_value_type":
            return literal.kind == "map" and all(
                literal_fits(item, lt.value) for item in literal.value.literals.values())
        case "union_type":
            if literal.kind != "union":
                return False
            variant = next((v for v in lt.value.variants if v.tag == literal.value.tag), None)
            return variant is not None and literal_fits(literal.value.value, variant)
        case "enum_type":
            return literal.kind == "enum" and literal.value.name in lt.value.values
        case "record_type":
            if literal.kind != "record":
                return False
            fields = {f.name: f for f in lt.value.fields}
            given = {f.name: f.value for f in literal.value.fields}
            return all(name in fields and literal_fits(value, fields[name].type)
                       for name, value in given.items()) and all(
                f.optional or f.name in given for f in fields.values())
        case "blob":
            return literal.kind == "blob"
        case "structured_dataset_type":
            return literal.kind == "structured_dataset"
    return False
