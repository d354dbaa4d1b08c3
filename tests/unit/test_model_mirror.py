"""The light model mirrors the IDL field for field, so the by-name codec loses nothing."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime, timedelta

import pytest

from wingspan.core.model import codec
from wingspan.core.model.interface import Identifier, ResourceType, TypedInterface, Variable
from wingspan.core.model.literals import Literal, LiteralMap, LiteralType, SimpleType
from wingspan.core.model.record import fields_of, is_record
from wingspan.core.model.workflows import (
    Binding,
    BindingData,
    BranchNode,
    GateNode,
    Node,
    NodeMetadata,
    OutputReference,
    PathStep,
    SleepCondition,
    TaskNode,
)
from wingspan.protos import v1

MODEL = codec.model_classes()


@pytest.mark.parametrize("name", sorted(n for n, c in MODEL.items() if is_record(c)))
def test_message_fields_match(name: str) -> None:
    model_cls = MODEL[name]
    message_cls = getattr(v1, name)
    oneof = getattr(model_cls, "__oneof__", None)
    message_fields = {f.name: f.metadata["betterproto"] for f in dataclasses.fields(message_cls)}
    plain = {n for n, meta in message_fields.items() if meta.group is None}
    grouped = {meta.group for meta in message_fields.values() if meta.group is not None}
    model_fields = {f.name for f in fields_of(model_cls)} - ({"kind", "value"} if oneof else set())
    assert model_fields == plain, f"{name}: model {sorted(model_fields)} vs IDL {sorted(plain)}"
    assert grouped == ({oneof} if oneof else set()), f"{name}: oneof {oneof!r} vs IDL {grouped}"


@pytest.mark.parametrize("name", sorted(n for n, c in MODEL.items() if issubclass(c, enum.Enum)))
def test_enum_values_match(name: str) -> None:
    model = MODEL[name]
    assert issubclass(model, enum.Enum)
    model_values = {m.name: m.value for m in model}
    message_values = {m.name: m.value for m in getattr(v1, name)}
    assert model_values == message_values


def test_nested_workflow_objects_round_trip() -> None:
    int_type = LiteralType("simple", SimpleType.INTEGER)
    node = Node(
        id="n0",
        metadata=NodeMetadata(name="add", timeout=timedelta(seconds=5), retries=0),
        inputs=(
            Binding("a", BindingData("promise", OutputReference("start", "x", (PathStep("index", 0),)))),
            Binding("b", BindingData("literal", Literal("integer", 1))),
        ),
        kind="task_node",
        value=TaskNode(task_id=Identifier(ResourceType.TASK, name="pkg.add")),
    )
    branch = Node(id="n1", kind="branch_node", value=BranchNode(kind="else_fail", value="no"))
    gate = Node(id="n2", kind="gate_node", value=GateNode(kind="sleep", value=SleepCondition(timedelta(0))))
    for obj in (node, branch, gate):
        assert codec.decode(Node, codec.encode(obj)) == obj
    iface = TypedInterface(inputs=(Variable("x", int_type),), outputs=(), output_style="none")
    assert codec.decode(TypedInterface, codec.encode(iface)) == iface


def test_maps_serialise_in_key_order() -> None:
    a = LiteralMap({"b": Literal("integer", 1), "a": Literal("string", "x")})
    b = LiteralMap({"a": Literal("string", "x"), "b": Literal("integer", 1)})
    assert codec.encode(a) == codec.encode(b)


def test_timestamps_stay_aware() -> None:
    from wingspan.core.model.literals import DateTimeValue

    value = DateTimeValue(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "UTC", 0)
    assert codec.decode(DateTimeValue, codec.encode(value)) == value
