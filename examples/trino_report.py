"""Trino queries as tasks (wingspan-presto): a region's nations as a data frame for the next
task, a count as a typed scalar, and one query joining Trino's tpch catalog with a table in
PostgreSQL. The region is a parameter of the query, never part of its text.

Needs a Trino coordinator with the tpch catalog (and, for ``vip_report``, a ``postgresql``
catalog holding ``shop.vip``, as the test server has: ``python -m scripts.testenv up trino``)::

    export WINGSPAN_PLUGINS__PRESTO__TRINO_URL=http://127.0.0.1:8080
    wingspan run examples/trino_report.py region_report --region 1

On a server, set the same in ``wingspan serve``'s environment (or ``[plugins.presto]
trino_url``): the engine runs the queries itself, no worker is involved.
"""

from wingspan_presto import TrinoTask

from wingspan import DataFrame, kwtypes, task, workflow

nations = TrinoTask(
    "trino_report.nations",
    "SELECT n.name, count(*) AS customers FROM tpch.tiny.nation n "
    "JOIN tpch.tiny.customer c ON c.nationkey = n.nationkey "
    "WHERE n.regionkey = {{ .inputs.region }} GROUP BY n.name ORDER BY n.name",
    inputs=kwtypes(region=int), output=DataFrame)

region_name = TrinoTask(
    "trino_report.region_name",
    "SELECT name FROM region WHERE regionkey = {{ .inputs.region }}",
    catalog="tpch", schema="tiny", inputs=kwtypes(region=int), output=kwtypes(name=str))

vip_notes = TrinoTask(
    "trino_report.vip_notes",
    "SELECT c.name, v.note FROM tpch.tiny.customer c JOIN postgresql.shop.vip v ON c.custkey = v.custkey "
    "ORDER BY c.custkey", output=DataFrame, cache=True)


@task
def summarize(region: str, frame: DataFrame) -> str:
    table = frame.to_pandas()
    lines = [f"{name}: {count}" for name, count in zip(table["name"], table["customers"], strict=True)]
    return f"{region}\n" + "\n".join(lines)


@task
def as_lines(frame: DataFrame) -> list[str]:
    table = frame.to_pandas()
    return [f"{name} ({note})" for name, note in zip(table["name"], table["note"], strict=True)]


@workflow
def region_report(region: int = 1) -> str:
    return summarize(region=region_name(region=region), frame=nations(region=region))


@workflow
def vip_report() -> list[str]:
    return as_lines(frame=vip_notes())


if __name__ == "__main__":
    print(region_report(region=1))
