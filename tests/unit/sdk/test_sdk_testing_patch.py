"""wingspan.testing (issue #22 item 21): a workflow run with chosen tasks replaced by stubs."""

from __future__ import annotations

from pathlib import Path

import pytest

from wingspan import map_task, task, workflow
from wingspan.core.errors import ExecutionFailedError, TypeTransformerError, UserError
from wingspan.testing import TaskStub, patch, task_mock

fetched: list[str] = []


@task
def fetch(day: str) -> list[int]:
    fetched.append(day)
    raise ConnectionError("the real service is not reachable from a unit test")


@task
def total(values: list[int]) -> int:
    return sum(values)


@workflow
def report(day: str) -> int:
    reported: int = total(values=fetch(day=day))
    return reported


@task
def square(x: int) -> int:
    return x * x


@workflow
def squares(xs: list[int]) -> list[int]:
    squared: list[int] = map_task(square)(x=xs)
    return squared


def test_a_fixed_return_value_replaces_the_task_in_a_workflow() -> None:
    with patch(fetch, return_value=[1, 2, 3]) as stub:
        assert report(day="2024-01-01") == 6
    stub.assert_called_once_with(day="2024-01-01")
    assert fetched == []  # the body never ran
    with pytest.raises(ExecutionFailedError, match="ConnectionError"):
        report(day="2024-01-02")  # the patch ended with its block
    assert fetched == ["2024-01-02"]


def test_a_side_effect_gets_the_inputs_and_may_raise() -> None:
    with patch(fetch, side_effect=lambda day: [len(day)]):
        assert report(day="abc") == 3
    with patch(fetch, side_effect=ValueError("no data for that day")), \
            pytest.raises(ExecutionFailedError, match="no data for that day"):
        report(day="abc")


def test_a_task_called_directly_is_patched_too() -> None:
    with patch(square, return_value=7) as stub:
        assert square(x=3) == 7
        assert squares(xs=[1, 2, 3]) == [7, 7, 7]  # each map item
    assert stub.call_count == 4 and sorted(c["x"] for c in stub.calls) == [1, 2, 3, 3]


@patch(fetch)
def test_flytekits_decorator_form_passes_the_stub_last(stub: TaskStub) -> None:
    stub.return_value = [10, 20]
    assert report(day="d") == 30
    assert stub.called


def test_flytekits_task_mock_spelling() -> None:
    with task_mock(fetch) as stub:
        stub.return_value = [4]
        assert report(day="d") == 4


def test_a_stub_output_is_checked_against_the_declared_type() -> None:
    with patch(square, return_value="seven"), \
            pytest.raises(TypeTransformerError, match="str 'seven' for output 'o0', which is declared int"):
        square(x=1)


def test_a_stub_without_a_value_says_what_to_set() -> None:
    with task_mock(square), pytest.raises(AssertionError, match=r"neither a return_value nor a side_effect"):
        square(x=1)


def test_only_tasks_can_be_patched() -> None:
    with pytest.raises(TypeError, match=r"patch\(\) replaces a task, not workflow '.*report': patch the"):
        patch(report, return_value=1)
    with pytest.raises(TypeError, match=r"not map task .*: patch the task it maps instead"):
        patch(map_task(square), return_value=1)
    with pytest.raises(TypeError, match=r"not 'fetch': patch the tasks it calls instead"):
        patch("fetch", return_value=1)


def test_a_stub_never_reaches_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path))
    calls: list[int] = []

    @task(cache=True, cache_version="1")
    def costly(x: int) -> int:
        calls.append(x)
        return x + 1

    with patch(costly, return_value=100):
        assert costly(x=1) == 100
    assert costly(x=1) == 2  # the stub's 100 was not cached
    assert costly(x=1) == 2 and calls == [1]  # the real value was (the cache works)


def test_a_patched_task_sent_to_another_process_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "local-process")
    with patch(square, return_value=1), \
            pytest.raises(UserError, match=r"task '.*square' is patched .* sends it to another process"):
        square(x=2)


def test_a_task_is_patched_once_at_a_time() -> None:
    with patch(square, return_value=1), pytest.raises(RuntimeError, match="is already patched"), \
            patch(square, return_value=2):
        pass


@task
async def fetch_async(day: str) -> int:
    raise ConnectionError("not from a unit test")


def test_an_async_task_is_patched_too() -> None:
    async def answer(day: str) -> int:
        return len(day)

    with patch(fetch_async, side_effect=answer):
        assert fetch_async(day="four") == 4
    with patch(fetch_async, return_value=9):
        assert fetch_async(day="four") == 9


@patch(fetch, return_value=[5, 6])
async def test_the_decorator_form_on_an_async_test(stub: TaskStub) -> None:
    # the stub stays for as long as the test is awaited, not just until it is called
    import anyio.to_thread

    assert await anyio.to_thread.run_sync(lambda: report(day="d")) == 11
    assert stub.call_count == 1
