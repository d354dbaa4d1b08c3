"""A ``datetime.date`` is a value of its own, not a pickle: stored as its midnight (a naive
datetime, as flytekit stores dates), read back as the same date, given on the command line as
``2024-01-02``; a datetime given where a date is declared arrives as its date."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.types.exactness import assert_exact, round_trip
from tests.unit.types.samples import examples
from wingspan import task, workflow
from wingspan.core.model.literals import SimpleType
from wingspan.core.types import default_engine
from wingspan.core.types.text import parse_value


@examples(100)
@given(st.dates())
def test_a_date_round_trips(value: dt.date) -> None:
    back, literal = anyio.run(round_trip, value, dt.date)
    assert_exact(back, value)
    assert literal.kind == "datetime" and literal.value.zone == ""


def test_a_date_is_a_datetime_literal_type() -> None:
    literal_type = default_engine().literal_type(dt.date)
    assert (literal_type.kind, literal_type.value) == ("simple", SimpleType.DATETIME)


@task
def day_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=1)


@task
def stamp() -> dt.datetime:
    return dt.datetime(2024, 2, 28, 23, 30)


@workflow
def days() -> tuple[dt.date, dt.date]:
    return day_after(day=dt.date(2024, 1, 31)), day_after(day=stamp())


@pytest.fixture(params=["in-process", "local-process"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if request.param == "in-process" else request.param)
    return str(request.param)


def test_dates_pass_between_tasks_and_a_datetime_arrives_as_its_date(target: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pickled date would warn
        assert days() == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))


def test_a_date_is_read_from_the_command_line() -> None:
    assert parse_value("2024-01-02", dt.date, "day") == dt.date(2024, 1, 2)


@task
def kind_of(day: dt.date | None) -> str:
    return type(day).__name__


@workflow
def optional_day() -> str:
    kind: str = kind_of(day=stamp())
    return kind


def test_a_datetime_where_an_optional_date_is_declared_arrives_as_its_date(target: str) -> None:
    # it failed on a worker ('expected date | None, got datetime') and stayed a datetime in one process
    assert optional_day() == "date"


async def test_a_datetime_is_stored_as_its_date_unless_a_datetime_is_declared_beside_it() -> None:
    engine = default_engine()
    noon = dt.datetime(2024, 1, 2, 12, 30)
    optional = dt.date | None
    assert await engine.to_python(await engine.to_literal(noon, optional), optional) == noon.date()
    both = dt.date | dt.datetime
    assert await engine.to_python(await engine.to_literal(noon, both), both) == noon
