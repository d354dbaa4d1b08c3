"""The examples compile; their closures round-trip through the IDL byte for byte; and the
same code always yields the same bytes, so their digest can version them."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wingspan import LaunchPlan
from wingspan._authoring.dynamic import DynamicTask
from wingspan._authoring.entity import Entity
from wingspan._authoring.workflow import Workflow
from wingspan._registration.discovery import load_entities
from wingspan.core.model import codec
from wingspan.core.model.launch_plans import LaunchPlanSpec
from wingspan.core.model.workflows import CompiledWorkflowClosure, DynamicJobSpec

EXAMPLES = Path(__file__).parents[3] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py"))


@pytest.fixture(scope="module")
def examples() -> Iterator[dict[str, dict[str, Entity]]]:
    """Every example's entities, by example; the modules are unloaded afterwards."""
    path = list(sys.path)
    yield {name: load_entities(EXAMPLES / f"{name}.py") for name in NAMES}
    sys.path[:] = path
    unload(EXAMPLES)


def unload(folder: Path) -> None:
    """Forgets the modules loaded from ``folder`` (and only those: library modules imported
    on the way stay, their classes are in use)."""
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(folder)):
            del sys.modules[name]


def digests(entities: dict[str, Entity]) -> dict[str, str]:
    """sha256 of each workflow's closure and each launch plan's spec."""
    found = {}
    for name, entity in entities.items():
        if isinstance(entity, Workflow):
            found[name] = hashlib.sha256(codec.encode(entity.closure)).hexdigest()
        elif isinstance(entity, LaunchPlan):
            found[name] = hashlib.sha256(codec.encode(entity.spec())).hexdigest()
    return found


def test_the_examples_are_all_here() -> None:
    assert NAMES == ["branch", "chain", "dask_frames", "dataframes", "diamond", "dynamic_fanout",
                     "fanout_map", "files", "mpi_pi", "ray_squares", "scheduled", "spark_sales",
                     "subworkflow", "trino_report"]


@pytest.mark.parametrize("name", NAMES)
def test_each_example_defines_a_compiled_workflow(examples: dict[str, dict[str, Entity]], name: str) -> None:
    workflows = [e for e in examples[name].values() if isinstance(e, Workflow)]
    assert workflows, name
    for wf in workflows:
        primary = wf.closure.primary
        assert primary is not None and primary.template is not None and primary.connections is not None
        assert set(primary.connections.order) == {n.id for n in primary.template.nodes}
        assert wf.closure.tasks, wf.name


@pytest.mark.parametrize("name", NAMES)
def test_closures_round_trip_through_the_idl_byte_for_byte(examples: dict[str, dict[str, Entity]],
                                                           name: str) -> None:
    for entity in examples[name].values():
        if isinstance(entity, Workflow):
            data = codec.encode(entity.closure)
            back = codec.decode(CompiledWorkflowClosure, data)
            assert back == entity.closure, entity.name
            assert codec.encode(back) == data, entity.name
        elif isinstance(entity, LaunchPlan):
            spec = entity.spec()
            data = codec.encode(spec)
            assert codec.decode(LaunchPlanSpec, data) == spec
            assert codec.encode(codec.decode(LaunchPlanSpec, data)) == data


def test_a_dynamic_tasks_graph_round_trips_too(examples: dict[str, dict[str, Entity]]) -> None:
    dynamic = examples["dynamic_fanout"]["dynamic_fanout.squares_up_to"]
    assert isinstance(dynamic, DynamicTask)
    spec, _ = dynamic.build({"n": 3})
    data = codec.encode(spec)
    assert codec.decode(DynamicJobSpec, data) == spec
    assert codec.encode(codec.decode(DynamicJobSpec, data)) == data


def test_compiling_the_same_module_again_yields_the_same_bytes(
        examples: dict[str, dict[str, Entity]]) -> None:
    for name in NAMES:
        before = digests(examples[name])
        module = importlib.reload(sys.modules[name])
        after = digests({e.name: e for e in vars(module).values() if isinstance(e, (Workflow, LaunchPlan))})
        assert after == before, name


def test_a_fresh_interpreter_with_another_hash_seed_yields_the_same_bytes(
        examples: dict[str, dict[str, Entity]]) -> None:
    here = {name: digests(entities) for name, entities in examples.items()}
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_sdk_examples import EXAMPLES, NAMES, digests\n"
        "from wingspan._registration.discovery import load_entities\n"
        "print(json.dumps({n: digests(load_entities(EXAMPLES / f'{n}.py')) for n in NAMES}))\n"
    )
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONHASHSEED": seed}, timeout=120)
    assert json.loads(result.stdout) == here


def test_a_change_of_code_changes_the_bytes(tmp_path: Path) -> None:
    source = (EXAMPLES / "chain.py").read_text()
    changed = source.replace("return 2 * x", "return x + x")
    assert changed != source
    path = list(sys.path)
    try:
        (tmp_path / "chain_changed").mkdir()
        original = tmp_path / "chain_changed" / "chain_a.py"
        edited = tmp_path / "chain_changed" / "chain_b.py"
        original.write_text(source)
        edited.write_text(changed)
        first = load_entities(original)["chain_a.chain"]
        second = load_entities(edited)["chain_b.chain"]
        assert isinstance(first, Workflow) and isinstance(second, Workflow)
        digest_of = {t.template.id.name.split(".", 1)[1]: t.template.code.source_digest
                     for t in first.closure.tasks if t.template and t.template.id and t.template.code}
        changed_of = {t.template.id.name.split(".", 1)[1]: t.template.code.source_digest
                      for t in second.closure.tasks if t.template and t.template.id and t.template.code}
        assert digest_of["add"] == changed_of["add"]
        assert digest_of["double"] != changed_of["double"]
    finally:
        sys.path[:] = path
        unload(tmp_path)
