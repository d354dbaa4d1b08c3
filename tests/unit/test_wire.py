"""The direct wire codec writes exactly what betterproto2 writes, and reads it back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from tests.unit.types.samples import examples, typed_values
from wingspan.core.model import codec
from wingspan.core.model.literals import Literal, LiteralType
from wingspan.core.model.workflows import CompiledWorkflowClosure
from wingspan.core.types import default_engine
from wingspan.core.types.purity import run_pure
from wingspan.protos import v1

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _through_betterproto(obj: Any) -> bytes:
    return bytes(codec.to_proto(obj))


def _check(obj: Any) -> None:
    ours = codec.encode(obj)
    assert ours == _through_betterproto(obj)
    # compared as bytes: a float NaN inside is never equal to itself
    assert codec.encode(codec.decode(type(obj), ours)) == ours
    message = getattr(v1, type(obj).__name__).parse(ours)
    assert codec.encode(codec.from_proto(message)) == ours


@examples(200)
@given(typed_values())
def test_literals_and_their_types_match_betterproto(case: tuple[Any, Any]) -> None:
    py_type, value = case
    engine = default_engine()
    literal = run_pure(engine.to_literal(value, py_type), "value")
    _check(literal)
    _check(engine.literal_type(py_type))


@pytest.mark.parametrize("module", ["chain", "diamond", "branch", "fanout_map", "dynamic_fanout",
                                    "subworkflow", "scheduled", "files"])
def test_example_closures_match_betterproto(module: str) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        loaded = __import__(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    from wingspan._authoring.workflow import Workflow

    for value in vars(loaded).values():
        if isinstance(value, Workflow):
            _check(value.closure)


def test_unknown_fields_are_skipped() -> None:
    # a newer writer may add fields: an older reader ignores them
    newer = codec.encode(Literal("string", "x")) + b"\xa8\x1f\x05" + b"\xb2\x1f\x02ab"
    assert codec.decode(Literal, newer) == Literal("string", "x")


def test_absent_scalars_read_as_proto_defaults_not_model_defaults() -> None:
    from wingspan.core.model.workflows import ArrayNode

    node = ArrayNode(min_success_ratio=0.0)
    assert codec.decode(ArrayNode, codec.encode(node)).min_success_ratio == 0.0
    assert codec.decode(LiteralType, codec.encode(LiteralType("simple", 0))).kind == "simple"
    assert codec.decode(CompiledWorkflowClosure, b"") == CompiledWorkflowClosure()
