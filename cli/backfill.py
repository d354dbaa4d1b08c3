"""``wingspan backfill LAUNCHPLAN --from --to``: the executions of a schedule's past ticks.

Each tick's execution gets the name the scheduler gives that tick, so a tick that already
ran (scheduled, or by an earlier backfill) is not run again; ``--dry-run`` lists the ticks
and which of them would start.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import click

from wingspan.cli.remote import (
    chosen_ca,
    domain_option,
    endpoint_option,
    fail,
    output_option,
    project_option,
    show,
)
from wingspan.core.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError, WingspanError

__all__ = ["backfill"]


def _moment(value: str, flag: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as 2026-01-31T06:00 "
                                 "or 2026-01-31T06:00+01:00", param_hint=flag) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def plan_ticks(remote: Any, name: str, start: datetime, end: datetime, version: str | None,
                     limit: int) -> tuple[Any, Any, list[datetime]]:
    """The launch plan (its active version unless ``version``), its schedule, and its ticks
    in [start, end]."""
    from wingspan.core.model import codec
    from wingspan.core.model.launch_plans import LaunchPlanSpec
    from wingspan.core.schedules import ticks_between
    from wingspan.protos import v1

    named = v1.NamedEntityIdentifier(project=remote.project, domain=remote.domain, name=name)
    if version:
        plan = await remote.transport.call("get_launch_plan", v1.GetEntityRequest(id=v1.Identifier(
            resource_type=v1.ResourceType.LAUNCH_PLAN, project=remote.project, domain=remote.domain,
            name=name, version=version)), f"get launch plan {name}")
    else:
        plan = await remote.transport.call("get_active_launch_plan", v1.GetActiveLaunchPlanRequest(id=named),
                                  f"get the active version of launch plan {name}")
    spec: LaunchPlanSpec = codec.from_proto(plan.spec)
    if spec.schedule is None or not spec.schedule.kind:
        raise InvalidArgumentError(
            f"launch plan {name} version {plan.id.version} has no schedule to backfill")
    # a fixed rate counts from the activation, as the scheduler does
    anchor = plan.closure.updated_at if spec.schedule.kind == "rate" else None
    ticks = []
    for tick in ticks_between(spec.schedule, start - timedelta(microseconds=1), end, anchor=anchor):
        ticks.append(tick)
        if len(ticks) > limit:
            raise InvalidArgumentError(f"more than {limit} ticks of {name} between {start.isoformat()} and "
                                       f"{end.isoformat()}: narrow the range or raise --max")
    return plan, spec.schedule, ticks


async def run_backfill(remote: Any, name: str, start: datetime, end: datetime, *, version: str | None = None,
                       dry_run: bool = False, limit: int = 1000) -> list[dict[str, str]]:
    """Starts (or with ``dry_run`` lists) the executions of the plan's ticks in [start, end]."""
    from wingspan.core.model import codec
    from wingspan.core.schedules import tick_execution_name
    from wingspan.core.types import default_engine
    from wingspan.protos import v1

    plan, schedule, ticks = await plan_ticks(remote, name, start, end, version, limit)
    rows = []
    for tick in ticks:
        execution = tick_execution_name(remote.project, remote.domain, name, tick)
        row = {"tick": tick.isoformat(), "execution": execution}
        if dry_run:
            try:
                await remote.transport.call("get_execution", v1.GetExecutionRequest(id=v1.ExecutionId(
                    project=remote.project, domain=remote.domain, name=execution)), f"look for {execution}")
                row["status"] = "already ran"
            except NotFoundError:
                row["status"] = "would start"
            rows.append(row)
            continue
        inputs = None
        if schedule.kickoff_time_input_arg:
            literal = await default_engine().to_literal(tick, datetime, name=schedule.kickoff_time_input_arg)
            inputs = v1.LiteralMap(literals={schedule.kickoff_time_input_arg: codec.to_proto(literal)})
        request = v1.CreateExecutionRequest(
            project=remote.project, domain=remote.domain, name=execution,
            spec=v1.ExecutionSpec(entity_id=plan.id, inputs=inputs, metadata=v1.ExecutionMetadata(
                mode=v1.ExecutionMode.SCHEDULED, principal="backfill", scheduled_at=tick)))
        try:
            await remote.transport.call("create_execution", request,
                                        f"start tick {tick.isoformat()} of {name}")
            row["status"] = "started"
        except AlreadyExistsError:
            row["status"] = "already ran"
        rows.append(row)
    return rows


@click.command()
@click.argument("launch_plan")
@click.option("--from", "start", required=True, metavar="TIME",
              help="First tick time to run (ISO 8601; UTC unless it names an offset).")
@click.option("--to", "end", default=None, metavar="TIME", help="Last tick time to run (default: now).")
@click.option("--version", default=None, help="The launch plan version (default: the active one).")
@click.option("--dry-run", is_flag=True, help="List the ticks and what would start; start nothing.")
@click.option("--max", "limit", default=1000, show_default=True, help="Refuse ranges with more ticks.")
@project_option
@domain_option
@output_option
@endpoint_option
def backfill(launch_plan: str, start: str, end: str | None, version: str | None, dry_run: bool, limit: int,
             project: str, domain: str, output_format: str, endpoint: str | None) -> None:
    """Runs LAUNCH_PLAN for each tick of its schedule between --from and --to, as the scheduler
    would have (the tick time goes to its kickoff input); ticks that already ran are skipped."""
    from wingspan._remote.client import AsyncRemote

    first = _moment(start, "--from")
    last = _moment(end, "--to") if end else datetime.now(UTC)
    if last > datetime.now(UTC):
        raise click.BadParameter("is in the future: the scheduler runs those ticks", param_hint="--to")
    if last < first:
        raise click.BadParameter("comes before --from", param_hint="--to")

    async def main() -> list[dict[str, str]]:
        remote = AsyncRemote(endpoint, project=project, domain=domain, ca=chosen_ca())
        try:
            return await run_backfill(remote, launch_plan, first, last, version=version, dry_run=dry_run,
                                      limit=limit)
        finally:
            await remote.aclose()

    try:
        rows = anyio.run(main)
    except WingspanError as exc:
        fail(exc)
    show(rows, output_format, f"backfill of {launch_plan} in {project}/{domain}")
    if output_format == "table":
        counts = {s: sum(r["status"] == s for r in rows) for s in ("started", "already ran", "would start")}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        click.echo(summary or "no ticks in that range", err=True)
