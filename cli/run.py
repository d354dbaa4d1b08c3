"""``wingspan run FILE ENTITY --<input> VALUE ...``: run a workflow, task or launch plan."""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

import click

from wingspan.cli.remote import ca_option
from wingspan.core.errors import ConfigError, UserError, WingspanError

__all__ = ["run"]


def _find(entities: dict[str, Any], name: str, source: str) -> Any:
    if name in entities:
        return entities[name]
    matches = [e for full, e in entities.items() if full.rsplit(".", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(entities)) or "none"
    if len(matches) > 1:
        raise click.UsageError(f"{name!r} is ambiguous in {source}; use one of: {known}")
    raise click.UsageError(f"{source} defines no task, workflow or launch plan {name!r}; "
                           f"it defines: {known}")


def _inputs(entity: Any, args: list[str]) -> dict[str, Any]:
    from wingspan.core.types.text import parse_value

    types = entity.interface.inputs
    flags = {f"--{name.replace('_', '-')}": name for name in types} | {f"--{n}": n for n in types}
    values: dict[str, Any] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        flag, _, text = arg.partition("=")
        if flag not in flags:
            usage = " ".join(f"--{n.replace('_', '-')} {_hint(t)}" for n, t in types.items())
            raise click.UsageError(f"{entity.name} has no input {flag!r}; its inputs: {usage or 'none'}")
        name = flags[flag]
        if not _:
            position += 1
            if position >= len(args):
                raise click.UsageError(f"{flag} needs a value")
            text = args[position]
        try:
            values[name] = parse_value(text, types[name], name)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        position += 1
    optional = set(entity.interface.defaults) | set(getattr(entity, "optional_inputs", lambda: set())())
    missing = [n for n in types if n not in values and n not in optional]
    if missing:
        raise click.UsageError("missing inputs: " + ", ".join(f"--{n.replace('_', '-')}" for n in missing))
    return values


def _hint(py_type: Any) -> str:
    from wingspan.core.types import type_repr

    return type_repr(py_type).upper().replace(" ", "")


def _python_target(target: str | None) -> str:
    """Where a server runs the Python tasks of a run (the one choice a run makes there)."""
    from wingspan.core.plugins.registry import parse_targets

    try:
        chosen = parse_targets(target or "", "--target")
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    others = sorted(set(chosen) - {"python"})
    if others:
        raise click.UsageError(f"--target with --remote chooses where Python tasks run; the server "
                               f"decides for {', '.join(others)} tasks")
    return chosen.get("python", "")


def _show_reports(events: list[Any]) -> None:
    """Where the reports (pages of decks) of the run's task attempts were stored."""
    from wingspan.core.engine.reports import REPORT_LOG

    for event in events:
        for name, uri in event.logs if event.kind == "task" else ():
            if name == REPORT_LOG:
                click.echo(f"report of {event.node_id} (attempt {event.attempt}): {uri}", err=True)


def _presets(presets: tuple[str, ...]) -> dict[str, Any]:
    given: dict[str, Any] = {}
    for preset in presets:
        name, sep, text = preset.partition("=")
        if not sep:
            raise click.UsageError(f"--signal {preset!r}: write NAME=VALUE")
        try:
            given[name] = json.loads(text)
        except json.JSONDecodeError:
            given[name] = text
    return given


class _UnansweredSignal(UserError):
    """A gate's signal neither given with --signal nor asked on a terminal: the run's own
    words, not the user's code failing, so it is shown without a traceback."""


def _signals(presets: tuple[str, ...]) -> Any:
    from wingspan.core.engine import CallbackSignals, TerminalSignals

    given = _presets(presets)
    terminal = TerminalSignals() if sys.stdin.isatty() else None

    def answer(name: str, expected: Any) -> Any:
        if name in given:
            return given[name]
        if terminal is not None:
            return terminal.ask(name, expected)
        raise _UnansweredSignal(f"the run waits for signal {name!r}: give it with --signal {name}=VALUE")

    return CallbackSignals(answer)


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("source")
@click.argument("entity")
@click.option("--signal", "signals", multiple=True, metavar="NAME=VALUE",
              help="Value for an approve/wait_for_input gate (JSON); asked on the terminal otherwise.")
@click.option("-o", "--output", "output_format", type=click.Choice(["text", "json"]), default="text",
              help="How to print the outputs.")
@click.option("--max-parallelism", type=int, default=0, help="At most this many nodes at once.")
@click.option("--target", default=None, metavar="NAME",
              help="Where Python tasks run: in-process (default) or local-process (warm worker "
                   "processes); TYPE=NAME,... for other task types. Default: $WINGSPAN_TASK_TARGETS.")
@click.option("--remote", is_flag=True, help="Register SOURCE's folder with a Wingspan server and run "
              "ENTITY there (see wingspan serve).")
@click.option("--no-wait", is_flag=True, help="With --remote: print the execution's name and return.")
@click.option("--endpoint", default=None, metavar="[https://]HOST:PORT", help="With --remote: the server's "
              "gRPC address (default: $WINGSPAN_ENDPOINT, the config file, 127.0.0.1:8089).")
@ca_option
@click.option("--project", "-p", default="default", show_default=True, help="With --remote.")
@click.option("--domain", "-d", default="development", show_default=True, help="With --remote.")
@click.option("--version", default=None, help="With --remote: the version to register (default: a "
              "digest of the code).")
@click.option("--build-images", is_flag=True, help="With --remote: build and push the ImageSpec images "
              "the tasks use first (as `wingspan build`).")
@click.pass_context
def run(ctx: click.Context, source: str, entity: str, signals: tuple[str, ...], output_format: str,
        max_parallelism: int, target: str | None, remote: bool, no_wait: bool, endpoint: str | None,
        project: str, domain: str, version: str | None, build_images: bool) -> None:
    """Runs ENTITY (a workflow, task or launch plan) from SOURCE (a .py file or a module).

    Give each input as --<input-name> VALUE: scalars as text, lists, dicts and records as
    JSON, files and folders as paths. Prints the outputs; exits non-zero on failure.
    With --remote it runs on a server, following its progress there.
    """
    from wingspan._authoring.launch_plan import LaunchPlan
    from wingspan._authoring.workflow import Workflow, single_node_workflow
    from wingspan._registration.discovery import load_entities
    from wingspan._runner.run import outputs_of, run_workflow_entity
    from wingspan.cli.progress import ProgressView, print_outputs
    from wingspan.core.engine import MemorySink
    from wingspan.core.model.launch_plans import run_inputs

    try:
        loaded = load_entities(source)
    except WingspanError as exc:  # a missing file, an import that fails, a workflow the compiler rejects
        raise click.ClickException(str(exc)) from exc
    found = _find(loaded, entity, source)
    values = _inputs(found, ctx.args)
    if remote:
        from wingspan.cli.run_remote import RemoteRun

        RemoteRun(ctx, endpoint, project, domain, output_format).run(
            source, found, values, version=version, presets=_presets(signals), no_wait=no_wait,
            max_parallelism=max_parallelism, target=_python_target(target), build_images=build_images)
        return
    if isinstance(found, LaunchPlan):
        values = run_inputs(found.name, found.python_defaults, values, found.fixed)
        found = found.workflow
    workflow = found if isinstance(found, Workflow) else single_node_workflow(found)
    names = {node.id: node.metadata.name for node in workflow.template.nodes if node.metadata}
    with ProgressView(names) as view:
        try:
            result = run_workflow_entity(workflow, values, sink=MemorySink(view), signals=_signals(signals),
                                         max_parallelism=max_parallelism, target=target)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
    _show_reports(result.events)
    try:
        returned = outputs_of(workflow, result)
    except Exception as exc:
        cause = exc.__cause__
        if (cause is not None and cause.__traceback__ is not None  # the user's code failed here
                and not isinstance(cause, _UnansweredSignal)):
            click.echo("".join(traceback.format_exception(cause)).rstrip(), err=True)
        click.secho(f"{exc}", fg="red", err=True)
        ctx.exit(1)
    print_outputs(workflow.interface.unpack_outputs(returned, workflow.name), output_format)
