"""Flyte users' options, by flytekit's names: ``secret_requests=`` and ``cache_ignore_input_vars=``
on ``@task``, ``CronSchedule(schedule=...)`` / ``cron_expression=``, ``Email(recipients_email=...)``,
phases written in capitals, and ``labels=`` / ``annotations=`` on a launch plan. Giving one
option under both names is an error that says so."""

from __future__ import annotations

import pytest

from wingspan import CronSchedule, Email, LaunchPlan, Secret, task, workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.tasks import KeyValue


def test_secret_requests_and_cache_ignore_input_vars_are_the_task_options_they_name() -> None:
    @task(secret_requests=[Secret(group="db", key="password")], cache=True, cache_ignore_input_vars=["seed"])
    def load(table: str, seed: int) -> int:
        return seed

    template = load.template
    assert template.metadata is not None
    assert [(s.group, s.key) for s in template.secrets] == [("db", "password")]
    assert template.metadata.cache is not None and template.metadata.cache.ignored_inputs == ("seed",)


def test_an_option_under_both_names_is_refused() -> None:
    with pytest.raises(CompilationError, match=r"secret_requests and secrets are the same option"):
        @task(secrets=[Secret("a", "b")], secret_requests=[Secret("a", "b")])
        def twice() -> None: ...


def test_a_cron_expression_by_flytekits_names() -> None:
    assert CronSchedule(schedule="0 1 * * *").expression == "0 1 * * *"
    hourly = CronSchedule(cron_expression="@hourly", kickoff_time_input_arg="t")
    assert (hourly.expression, hourly.to_model().kickoff_time_input_arg) == ("@hourly", "t")
    assert CronSchedule(schedule="0 1 * * *").problems() == []
    assert CronSchedule("0 1 * * *", schedule="0 2 * * *").problems() == [
        "CronSchedule: give the cron expression once (as expression, schedule= or cron_expression=)"]


@workflow
def flow(x: int = 1) -> int:
    return x


def test_email_recipients_capital_phases_labels_and_annotations_by_flytekits_names() -> None:
    plan = LaunchPlan.get_or_create(
        flow, name="test_sdk_flytekit_options.nightly", schedule=CronSchedule(schedule="0 1 * * *"),
        notifications=[Email(phases=["FAILED", "SUCCEEDED"], recipients_email=["ops@example.com"])],
        labels={"team": "ml"}, annotations={"owner": "ana"})
    spec = plan.spec()
    (note,) = spec.notifications
    assert note.phases == (WorkflowPhase.FAILED, WorkflowPhase.SUCCEEDED)
    assert note.value.recipients == ("ops@example.com",)
    assert spec.schedule == CronSchedule("0 1 * * *").to_model()
    assert spec.settings is not None
    assert spec.settings.labels == (KeyValue("team", "ml"),)
    assert spec.settings.annotations == (KeyValue("owner", "ana"),)


def test_email_recipients_under_both_names_are_refused() -> None:
    # not the first list kept and the other dropped unsaid
    assert Email(["a@example.com"], recipients_email=["b@example.com"]).problems() == [
        "Email: give the recipients once (as recipients or recipients_email=)"]
    assert Email(recipients_email=["b@example.com"]).problems() == []


def test_a_label_also_in_execution_settings_is_refused() -> None:
    with pytest.raises(CompilationError, match=r"'test_sdk_flytekit_options.twice': labels.team given "
                                               r"both in labels=/annotations= and in execution_settings"):
        LaunchPlan.get_or_create(flow, name="test_sdk_flytekit_options.twice", labels={"team": "ml"},
                                 execution_settings={"labels.team": "data"})
