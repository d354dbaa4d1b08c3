"""No task sees another task's changes to a value, in a local run as on a server (issue #22
item 1): mutable values are copied per consumer, files and folders on first use; immutable
values pass as they are."""

from __future__ import annotations

import datetime
import enum
from pathlib import Path

import pytest

from tests.unit.sdk.isolation_flows import Settings, files, folders, shared_settings, siblings
from wingspan.core.engine.values import isolated

TARGETS = ["in-process", "local-process"]


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if request.param == "in-process" else request.param)
    return str(request.param)


def test_siblings_do_not_see_each_others_appends(target: str) -> None:
    first, second, third, made = siblings()
    assert (first, second, third) == (4, 4, 3)
    assert made == [1, 2, 3]


def test_map_items_each_get_their_own_copy_of_a_bound_value(target: str) -> None:
    settings = Settings(tags=["base"], limits={})
    assert shared_settings(items=[1, 2, 3], settings=settings) == [201, 201, 201]
    assert settings == Settings(tags=["base"], limits={})


def test_a_folder_rewritten_downstream_stays_as_its_task_returned_it(target: str) -> None:
    scribbled, seen, folder = folders()
    assert scribbled == "scribbled"
    assert seen == "a.txt=original"
    assert sorted(p.name for p in Path(folder.download()).iterdir()) == ["a.txt"]


def test_a_file_overwritten_by_one_task_is_unchanged_for_the_next(target: str, tmp_path: Path) -> None:
    from wingspan import File

    source = tmp_path / "input.txt"
    source.write_text("original")
    assert files(source=File(str(source))) == ("overwritten", "original")
    assert source.read_text() == "original"


class Color(enum.Enum):
    RED = 1


@pytest.mark.parametrize("value", [1, 2.5, True, "text", b"bytes", None, Color.RED,
                                   datetime.datetime(2026, 1, 1), datetime.timedelta(seconds=3)])
def test_immutable_values_pass_without_a_copy(value: object) -> None:
    assert isolated(value) is value


def test_mutable_values_are_copied_deeply() -> None:
    value = {"a": [1, 2]}
    copied = isolated(value)
    assert copied == value and copied is not value and copied["a"] is not value["a"]


class Uncopyable:
    def __deepcopy__(self, memo: dict[int, object]) -> Uncopyable:
        raise RuntimeError("holds a lock")


def test_a_value_that_cannot_be_copied_fails_naming_the_input() -> None:
    from wingspan.core.engine.values import own_inputs
    from wingspan.core.errors import TypeTransformerError

    with pytest.raises(TypeTransformerError, match=r"input 'thing': its Uncopyable value cannot be copied "
                                                   r"for this task \(RuntimeError: holds a lock\)"):
        own_inputs({"thing": Uncopyable()}, {"thing": object})
