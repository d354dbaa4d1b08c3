"""The IDL: generated code is current, fields only ever get added, messages round-trip."""

from __future__ import annotations

import copy
import datetime
import filecmp
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _genprotos() -> Any:
    spec = importlib.util.spec_from_file_location("genprotos", ROOT / "scripts" / "genprotos.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["genprotos"] = module
    spec.loader.exec_module(module)
    return module


genprotos = _genprotos()


def _differences(cmp: filecmp.dircmp[str]) -> list[str]:
    found = [*cmp.left_only, *cmp.right_only, *cmp.diff_files, *cmp.funny_files]
    for sub in cmp.subdirs.values():
        found += _differences(sub)
    return found


def test_generated_code_is_current(tmp_path: Path) -> None:
    genprotos.generate(tmp_path / "gen")
    cmp = filecmp.dircmp(tmp_path / "gen", ROOT / "protos" / "gen", ignore=["__pycache__"])
    stale = _differences(cmp)
    assert not stale, f"protos/gen is stale ({stale}); run: python scripts/genprotos.py"


def test_fields_are_only_added() -> None:
    snapshot = json.loads((ROOT / "protos" / "snapshot.json").read_text())
    problems = genprotos.evolution_problems(snapshot, genprotos.describe())
    assert not problems, "\n".join(problems)


def test_snapshot_records_every_current_field() -> None:
    snapshot = json.loads((ROOT / "protos" / "snapshot.json").read_text())
    current = genprotos.describe()
    missing = [
        f"{msg}.{field}"
        for msg, spec in current["messages"].items()
        for field in spec["fields"]
        if field not in snapshot["messages"].get(msg, {}).get("fields", {})
    ]
    assert not missing, f"record new fields: python scripts/genprotos.py --update-snapshot ({missing})"


@pytest.fixture
def snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "protos" / "snapshot.json").read_text())
    return data


def test_evolution_check_catches_renumbering(snapshot: dict[str, Any]) -> None:
    changed = copy.deepcopy(snapshot)
    changed["messages"]["wingspan.v1.Literal"]["fields"]["integer"]["number"] = 99
    assert any("integer" in p for p in genprotos.evolution_problems(snapshot, changed))


def test_evolution_check_catches_retyping(snapshot: dict[str, Any]) -> None:
    changed = copy.deepcopy(snapshot)
    changed["messages"]["wingspan.v1.Literal"]["fields"]["float"]["type"] = 2
    assert any("float" in p for p in genprotos.evolution_problems(snapshot, changed))


def test_evolution_check_catches_removal_unless_reserved(snapshot: dict[str, Any]) -> None:
    changed = copy.deepcopy(snapshot)
    del changed["messages"]["wingspan.v1.Literal"]["fields"]["binary"]
    assert genprotos.evolution_problems(snapshot, changed)
    changed["messages"]["wingspan.v1.Literal"]["reserved"] = [8]
    assert not genprotos.evolution_problems(snapshot, changed)


def test_evolution_check_allows_additions(snapshot: dict[str, Any]) -> None:
    changed = copy.deepcopy(snapshot)
    changed["messages"]["wingspan.v1.Literal"]["fields"]["new_kind"] = {
        "number": 99, "type": 9, "label": 1, "type_name": ""
    }
    assert not genprotos.evolution_problems(snapshot, changed)


def test_messages_round_trip_through_bytes() -> None:
    from wingspan.protos import v1

    when = datetime.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=datetime.UTC)
    literal = v1.Literal(
        map=v1.LiteralMap(
            literals={
                "n": v1.Literal(integer=-(2**63)),
                "when": v1.Literal(datetime=v1.DateTimeValue(instant=when, zone="Europe/Paris")),
                "items": v1.Literal(collection=v1.LiteralCollection(literals=[v1.Literal(float=0.1)])),
            }
        )
    )
    assert v1.Literal.parse(bytes(literal)) == literal


def test_a_message_class_resolves_its_type_hints_once() -> None:
    """betterproto2 resolved every annotation of a message (and of each nested one) on every
    ``to_dict``: three quarters of a list page's JSON time; now each class keeps its answer."""
    from wingspan.protos import v1

    first = v1.Execution._type_hints()
    assert v1.Execution._type_hints() is first
    assert first["closure"] == v1.ExecutionClosure | None
    # a class keeps its own hints, never those of another class resolved before it
    assert v1.NodeExecution._type_hints() is not first
    assert "closure" in v1.NodeExecution._type_hints()
    execution = v1.Execution(id=v1.ExecutionId(project="p", domain="d", name="n"))
    assert v1.Execution.from_dict(execution.to_dict()) == execution
