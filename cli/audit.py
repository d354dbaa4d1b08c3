"""``wingspan audit``: the calls that changed something on a server, who made them, how they ended."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from wingspan.cli.remote import endpoint_option, fail, output_option, remote_client, show
from wingspan.core.errors import WingspanError

__all__ = ["audit"]

_AGO = re.compile(r"(\d+)([smhd])")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """``30m``, ``12h``, ``7d`` ago, or an ISO 8601 time (UTC unless it names its offset)."""
    if not value:
        return None
    ago = _AGO.fullmatch(value.strip())
    if ago:
        return datetime.now(UTC) - timedelta(**{_UNIT[ago.group(2)]: int(ago.group(1))})
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a time like 2026-12-03T14:00 nor an age like 30m, "
                                 "12h or 7d") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@click.command()
@click.option("--principal", default="", help="only the calls of this user or service account")
@click.option("--method", default="", help="only this API method, e.g. CreateExecution")
@click.option("--project", "-p", default="", help="only the calls on this project")
@click.option("--since", callback=_since, metavar="TIME|AGE",
              help="only calls from then on: an ISO 8601 time or an age (30m, 12h, 7d)")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000),
              help="at most this many events, newest first")
@endpoint_option
@output_option
def audit(principal: str, method: str, project: str, since: datetime | None, limit: int,
          endpoint: str | None, output_format: str) -> None:
    """The calls that changed something (registrations, runs, terminations, signals, role
    changes...), refused ones included, and refused logins: who, what, on which target, and the
    result. Needs the admin role (of the --project, or of the whole deployment)."""
    with remote_client(endpoint, "default", "development") as remote:
        try:
            rows = remote.audit_events(principal=principal, method=method, project=project, since=since,
                                       limit=limit)
        except WingspanError as exc:
            fail(exc)
    show(rows, output_format, "audit log")
