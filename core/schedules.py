"""The ticks of a cron or fixed-rate schedule, and which are due after downtime."""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from wingspan.core.errors import UserError
from wingspan.core.model.launch_plans import CatchUpPolicy, Schedule

__all__ = ["MAX_CATCH_UP", "due_ticks", "tick_execution_name", "ticks_between"]

# a plan that has been off for a year must not flood the server with executions
MAX_CATCH_UP = 1000


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise UserError(f"schedule times must carry a time zone, got {moment!r}")
    return moment


def ticks_between(schedule: Schedule, start: datetime, end: datetime, *,
                  anchor: datetime | None = None) -> Iterator[datetime]:
    """Ticks t with start < t <= end, in order, as aware UTC datetimes.

    Cron expressions are read in the schedule's time zone (so "0 2 * * *" follows
    daylight saving time); a fixed rate counts whole intervals from ``anchor`` (when the
    plan was activated), or from ``start`` when there is none.
    """
    start, end = _aware(start), _aware(end)
    if schedule.kind == "cron":
        from croniter import croniter

        cron = schedule.value
        zone = zoneinfo.ZoneInfo(cron.timezone or "UTC")
        iterator = croniter(cron.expression, start.astimezone(zone))
        while True:
            tick: datetime = iterator.get_next(datetime)
            if tick > end:
                return
            yield tick.astimezone(UTC)
    elif schedule.kind == "rate":
        interval: timedelta = schedule.value.interval
        if interval is None or interval <= timedelta(0):
            raise UserError("a fixed-rate schedule needs a positive interval")
        origin = _aware(anchor) if anchor is not None else start
        steps = max(0, (start - origin) // interval)
        tick = origin + steps * interval
        while tick <= start:
            tick += interval
        while tick <= end:
            yield tick.astimezone(UTC)
            tick += interval
    else:
        raise UserError(f"a schedule needs a cron expression or a fixed rate, got {schedule.kind!r}")


def due_ticks(schedule: Schedule, last_tick: datetime | None, now: datetime, *,
              anchor: datetime | None = None, grace: timedelta = timedelta(minutes=1)
              ) -> list[datetime]:
    """The ticks to fire now: those after ``last_tick`` up to ``now``, filtered by the plan's
    catch-up policy: ALL fires every missed tick (at most MAX_CATCH_UP), LATEST only the
    most recent, NONE only ticks that are on time (no older than ``grace``).

    With no ``last_tick`` (a plan just activated) only ticks after ``anchor`` count.
    """
    now = _aware(now)
    since = last_tick if last_tick is not None else (anchor or now)
    ticks = list(_bounded(ticks_between(schedule, since, now, anchor=anchor)))
    if not ticks:
        return []
    if schedule.catch_up == CatchUpPolicy.ALL:
        return ticks[-MAX_CATCH_UP:]
    if schedule.catch_up == CatchUpPolicy.NONE:
        return [tick for tick in ticks[-1:] if now - tick <= grace]
    return ticks[-1:]


def _bounded(ticks: Iterator[datetime]) -> Iterator[datetime]:
    """Keeps the last MAX_CATCH_UP * 2 ticks of a long gap without holding all of them."""
    window: list[datetime] = []
    for tick in ticks:
        window.append(tick)
        if len(window) > MAX_CATCH_UP * 2:
            del window[:MAX_CATCH_UP]
    yield from window


def tick_execution_name(project: str, domain: str, plan: str, tick: datetime) -> str:
    """The execution of one tick of a plan: the same name on every scheduler replica and for a
    backfill of that tick (so a tick runs once), starting with a letter like generated names."""
    moment = _aware(tick).astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    digest = hashlib.sha256(f"{project}/{domain}/{plan}@{moment}".encode()).hexdigest()
    return f"s{digest[:19]}"
