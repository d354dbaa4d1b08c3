"""Schedule ticks: cron in a time zone, fixed rates, and catch-up after downtime (no waiting:
every function takes the clock as an argument)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wingspan.core.errors import UserError
from wingspan.core.model.launch_plans import CatchUpPolicy, CronSchedule, FixedRate, Schedule
from wingspan.core.schedules import MAX_CATCH_UP, due_ticks, ticks_between


def cron(expression: str, timezone: str = "UTC",
         catch_up: CatchUpPolicy = CatchUpPolicy.LATEST) -> Schedule:
    return Schedule("cron", CronSchedule(expression, timezone), "kickoff", catch_up)


def rate(interval: timedelta, catch_up: CatchUpPolicy = CatchUpPolicy.LATEST) -> Schedule:
    return Schedule("rate", FixedRate(interval), "", catch_up)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_cron_ticks_in_utc() -> None:
    ticks = list(ticks_between(cron("*/15 * * * *"), at(2026, 1, 1, 0, 0), at(2026, 1, 1, 1, 0)))
    assert ticks == [at(2026, 1, 1, 0, 15), at(2026, 1, 1, 0, 30), at(2026, 1, 1, 0, 45),
                     at(2026, 1, 1, 1, 0)]


def test_cron_follows_daylight_saving_time_in_its_zone() -> None:
    # 02:00 in Paris is 01:00 UTC in winter and 00:00 UTC in summer (clocks moved on 29 March)
    ticks = list(ticks_between(cron("0 2 * * *", "Europe/Paris"), at(2026, 3, 27, 12), at(2026, 3, 31, 12)))
    assert ticks[0] == at(2026, 3, 28, 1)
    assert at(2026, 3, 30, 0) in ticks and at(2026, 3, 31, 0) in ticks


def test_aliases() -> None:
    ticks = list(ticks_between(cron("@hourly"), at(2026, 1, 1, 0, 30), at(2026, 1, 1, 3, 0)))
    assert ticks == [at(2026, 1, 1, 1), at(2026, 1, 1, 2), at(2026, 1, 1, 3)]
    daily = list(ticks_between(cron("@daily"), at(2026, 1, 1), at(2026, 1, 3)))
    assert daily == [at(2026, 1, 2), at(2026, 1, 3)]


def test_fixed_rate_counts_from_its_anchor() -> None:
    anchor = at(2026, 1, 1, 0, 0, 7)
    ticks = list(ticks_between(rate(timedelta(minutes=10)), at(2026, 1, 1, 0, 25), at(2026, 1, 1, 1, 0),
                               anchor=anchor))
    assert ticks == [at(2026, 1, 1, 0, 30, 7), at(2026, 1, 1, 0, 40, 7), at(2026, 1, 1, 0, 50, 7)]


def test_catch_up_policies_after_downtime() -> None:
    last = at(2026, 1, 1, 0, 0)
    now = at(2026, 1, 1, 5, 0, 20)
    assert due_ticks(cron("@hourly", catch_up=CatchUpPolicy.ALL), last, now) == [
        at(2026, 1, 1, h) for h in range(1, 6)]
    assert due_ticks(cron("@hourly", catch_up=CatchUpPolicy.LATEST), last, now) == [at(2026, 1, 1, 5)]
    # NONE: only a tick on time runs; one an hour late does not
    assert due_ticks(cron("@hourly", catch_up=CatchUpPolicy.NONE), last, now) == [at(2026, 1, 1, 5)]
    late = at(2026, 1, 1, 5, 30)
    assert due_ticks(cron("@hourly", catch_up=CatchUpPolicy.NONE), last, late) == []


def test_nothing_due_between_ticks_and_nothing_fires_twice() -> None:
    schedule = cron("@hourly", catch_up=CatchUpPolicy.ALL)
    assert due_ticks(schedule, at(2026, 1, 1, 5), at(2026, 1, 1, 5, 59)) == []
    assert due_ticks(schedule, at(2026, 1, 1, 5), at(2026, 1, 1, 6)) == [at(2026, 1, 1, 6)]


def test_a_new_plan_starts_from_its_activation() -> None:
    anchor = at(2026, 1, 1, 4, 30)
    schedule = cron("@hourly", catch_up=CatchUpPolicy.ALL)
    assert due_ticks(schedule, None, at(2026, 1, 1, 6, 0, 1), anchor=anchor) == [
        at(2026, 1, 1, 5), at(2026, 1, 1, 6)]


def test_catch_up_is_bounded() -> None:
    ticks = due_ticks(rate(timedelta(minutes=1), CatchUpPolicy.ALL), at(2020, 1, 1), at(2026, 1, 1),
                      anchor=at(2020, 1, 1))
    assert len(ticks) == MAX_CATCH_UP
    assert ticks[-1] == at(2026, 1, 1)


def test_bad_schedules_are_user_errors() -> None:
    with pytest.raises(UserError, match="positive interval"):
        list(ticks_between(rate(timedelta(0)), at(2026, 1, 1), at(2026, 1, 2)))
    with pytest.raises(UserError, match="time zone"):
        list(ticks_between(cron("@hourly"), datetime(2026, 1, 1), at(2026, 1, 2)))
    with pytest.raises(UserError, match="cron expression or a fixed rate"):
        list(ticks_between(Schedule(), at(2026, 1, 1), at(2026, 1, 2)))
