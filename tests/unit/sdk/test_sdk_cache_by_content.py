"""Cached tasks with file, folder and frame inputs hit when the data is the same, by its
content or by a user's HashMethod (issue #22 item 5), in this process and through workers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.unit.sdk import cached_data_flows as flows
from wingspan import DataFrame, Directory, File
from wingspan._authoring.entity import Entity
from wingspan._authoring.workflow import Workflow, single_node_workflow
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.model.execution import CacheStatus
from wingspan.core.types.annotated import HashMethod


@pytest.fixture(params=["in-process", "local-process"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if request.param == "in-process" else request.param)
    return str(request.param)


def cache_statuses(entity: Entity, **inputs: object) -> tuple[object, list[CacheStatus]]:
    workflow = entity if isinstance(entity, Workflow) else single_node_workflow(entity)
    result = run_workflow_entity(workflow, inputs)
    statuses: list[CacheStatus] = [e.cache for e in result.events
                                   if e.kind == "node" and e.cache != CacheStatus.DISABLED]
    return outputs_of(workflow, result), statuses


def test_a_frame_input_hits_for_equal_data_and_misses_for_other_data(target: str) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3]})
    assert cache_statuses(flows.count_rows, df=frame) == (3, [CacheStatus.POPULATED])
    assert cache_statuses(flows.count_rows, df=frame.copy()) == (3, [CacheStatus.HIT])
    assert cache_statuses(flows.count_rows, df=pd.DataFrame({"a": [1, 2, 4]})) == (3, [CacheStatus.POPULATED])
    assert cache_statuses(flows.count_lazy_rows, df=DataFrame(frame)) == (3, [CacheStatus.POPULATED])
    assert cache_statuses(flows.count_lazy_rows, df=DataFrame(frame.copy())) == (3, [CacheStatus.HIT])


def test_a_frame_made_anew_by_an_upstream_task_hits(target: str) -> None:
    assert cache_statuses(flows.frame_rows, n=3, seed=1) == (3, [CacheStatus.POPULATED])
    assert cache_statuses(flows.frame_rows, n=3, seed=1) == (3, [CacheStatus.HIT])
    assert cache_statuses(flows.frame_rows, n=3, seed=2) == (3, [CacheStatus.POPULATED])


def test_file_and_folder_inputs_hit_by_content(target: str, tmp_path: Path) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("same bytes")
    two.write_text("same bytes")
    assert cache_statuses(flows.file_size, source=File(str(one))) == (10, [CacheStatus.POPULATED])
    assert cache_statuses(flows.file_size, source=File(str(two))) == (10, [CacheStatus.HIT])
    two.write_text("other byte")
    assert cache_statuses(flows.file_size, source=File(str(two))) == (10, [CacheStatus.POPULATED])
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    assert cache_statuses(flows.folder_files, folder=Directory(str(folder))) == (1, [CacheStatus.POPULATED])
    assert cache_statuses(flows.folder_files, folder=Directory(str(folder))) == (1, [CacheStatus.HIT])
    (folder / "b.txt").write_text("b")
    assert cache_statuses(flows.folder_files, folder=Directory(str(folder))) == (2, [CacheStatus.POPULATED])


def test_a_hash_method_on_the_producing_output_decides_the_key(target: str) -> None:
    assert cache_statuses(flows.hashed_first, n=3, seed=1) == (1, [CacheStatus.POPULATED])
    # other data of the same length: the user's hash says it is the same, so it hits
    assert cache_statuses(flows.hashed_first, n=3, seed=5) == (1, [CacheStatus.HIT])
    assert cache_statuses(flows.hashed_first, n=4, seed=5) == (5, [CacheStatus.POPULATED])


def test_a_hash_method_on_the_input_decides_the_key(target: str) -> None:
    first, other = pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"a": [7, 8]})
    assert cache_statuses(flows.first_of_input, df=first) == (1, [CacheStatus.POPULATED])
    assert cache_statuses(flows.first_of_input, df=other) == (1, [CacheStatus.HIT])


def test_hash_method_takes_a_function() -> None:
    with pytest.raises(TypeError, match="HashMethod takes a function"):
        HashMethod("rows")  # type: ignore[arg-type]
