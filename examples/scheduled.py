"""A launch plan with a schedule: each tick passes its time to the workflow."""

from datetime import datetime

from wingspan import ConcurrencyPolicy, CronSchedule, LaunchPlan, Webhook, task, workflow


@task
def report(day: datetime, region: str) -> str:
    return f"report for {region} at {day.isoformat()}"


@workflow
def daily_report(day: datetime, region: str = "eu") -> str:
    return report(day=day, region=region)


nightly = LaunchPlan.get_or_create(
    daily_report,
    name="nightly_report",
    default_inputs={"region": "us"},
    schedule=CronSchedule("0 2 * * *", kickoff_time_input_arg="day", timezone="Europe/Paris"),
    notifications=[Webhook(url="http://127.0.0.1:9/hook", phases=["failed"])],
    concurrency=ConcurrencyPolicy(max=1, when_full="skip"),
)
