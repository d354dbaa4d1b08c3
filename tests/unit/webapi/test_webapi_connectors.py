"""The connectors through local workflow runs (the engine runs them through wingspan-webapi),
each against our loopback server that follows its provider's API reference (providers.py)."""

from __future__ import annotations

import pytest
from wingspan_webapi import BigQueryTask, DatabricksTask, HttpTask, SnowflakeTask

from tests.unit.webapi.providers import BigQuery, Databricks, Echo, Snowflake
from wingspan import kwtypes, workflow
from wingspan.core.errors import WingspanError

HOSTILE = "'; DROP TABLE x; --"


def test_a_bigquery_job_binds_named_parameters_and_reads_every_page(bigquery: BigQuery) -> None:
    bigquery.answer(
        "SELECT name, n FROM t WHERE region = <INT64:1> AND tag = <STRING:" + HOSTILE + ">",
        [("name", "STRING"), ("n", "INTEGER")],
        [["a", 1], ["b", 2], ["c", 3], ["d", 4], ["e", 5]],
    )
    names = BigQueryTask(
        "names",
        "SELECT name, n FROM t WHERE region = {{ .inputs.region }} AND tag = {{ .inputs.tag }}",
        inputs=kwtypes(region=int, tag=str),
        outputs=kwtypes(name=list[str], n=int),
    )

    @workflow
    def flow(region: int, tag: str) -> tuple[list[str], int]:
        return names(region=region, tag=tag)  # type: ignore[no-any-return]

    assert flow(region=1, tag=HOSTILE) == (["a", "b", "c", "d", "e"], 1)
    (insert,) = [r for r in bigquery.requests if r["method"] == "POST"]
    query = insert["json"]["configuration"]["query"]
    assert "@region" in query["query"] and HOSTILE not in query["query"]  # the value is a parameter
    assert {p["name"]: p["parameterValue"]["value"] for p in query["queryParameters"]} == {
        "region": "1",
        "tag": HOSTILE,
    }
    assert insert["json"]["jobReference"]["jobId"].startswith("wingspan_")
    assert bigquery.count("GET", "/projects/proj/queries/.*") == 3  # five rows, two a page


def test_a_failed_bigquery_job_reports_its_reason_and_message(bigquery: BigQuery) -> None:
    broken = BigQueryTask("broken", "SELEC 1", outputs=kwtypes(n=int))

    @workflow
    def flow() -> int:
        return broken()  # type: ignore[no-any-return]

    with pytest.raises(
        WingspanError, match=r"BigQuery job wingspan_\w+ failed with invalidQuery: Syntax error"
    ):
        flow()


def test_a_snowflake_statement_binds_its_inputs_and_reads_every_partition(snowflake: Snowflake) -> None:
    snowflake.answer(
        "SELECT id FROM orders WHERE note = <TEXT:" + HOSTILE + "> AND total > <REAL:2.5>",
        [("ID", "fixed")],
        [[["1"], ["2"]], [["3"]], [["4"]]],
    )
    ids = SnowflakeTask(
        "ids",
        "SELECT id FROM orders WHERE note = {{ .inputs.note }} AND total > {{ .inputs.total }}",
        inputs=kwtypes(note=str, total=float),
        outputs=kwtypes(id=list[int]),
        database="SHOP",
    )

    @workflow
    def flow(note: str, total: float) -> list[int]:
        return ids(note=note, total=total)  # type: ignore[no-any-return]

    assert flow(note=HOSTILE, total=2.5) == [1, 2, 3, 4]
    (submit,) = [r for r in snowflake.requests if r["method"] == "POST"]
    assert submit["query"]["async"] == "true" and submit["json"]["warehouse"] == "WH"
    assert submit["json"]["database"] == "SHOP" and submit["json"]["bindings"]["1"] == {
        "type": "TEXT",
        "value": HOSTILE,
    }
    assert snowflake.count("GET", "/api/v2/statements/.*") == 3  # the first answer and partitions 1, 2


def test_a_failed_snowflake_statement_reports_its_code_and_message(snowflake: Snowflake) -> None:
    missing = SnowflakeTask("missing", "SELECT * FROM nowhere", outputs=kwtypes(n=int))

    @workflow
    def flow() -> int:
        return missing()  # type: ignore[no-any-return]

    with pytest.raises(
        WingspanError,
        match=r"(?s)Snowflake statement \S+ failed with 002003 \(SQL state 42S02.*'nowhere' does not exist",
    ):
        flow()


def test_a_databricks_run_gives_its_notebook_result(databricks: Databricks) -> None:
    databricks.jobs[7] = "hello {name}"
    greet = DatabricksTask(
        "greet",
        7,
        inputs=kwtypes(name=str),
        job_parameters={"name": "{{ .inputs.name }}"},
        outputs=kwtypes(result=str, run_id=int),
    )

    @workflow
    def flow(name: str) -> tuple[str, int]:
        return greet(name=name)  # type: ignore[no-any-return]

    result, run_id = flow(name="ada")
    assert result == "hello ada" and run_id in databricks.runs
    (run_now,) = [r for r in databricks.requests if r["path"] == "/api/2.1/jobs/run-now"]
    assert run_now["json"]["job_parameters"] == {"name": "ada"} and run_now["json"]["idempotency_token"]


def test_a_failed_databricks_run_and_a_refused_one_say_why(databricks: Databricks) -> None:
    databricks.jobs[8] = None
    failing, unknown = DatabricksTask("failing", 8), DatabricksTask("unknown", 99)

    @workflow
    def fails() -> None:
        failing()

    @workflow
    def refused() -> None:
        unknown()

    with pytest.raises(WingspanError, match=r"Databricks run \d+ of job 8 ended TERMINATED/FAILED"):
        fails()
    with pytest.raises(WingspanError, match=r"INVALID_PARAMETER_VALUE.*Job 99 does not exist"):
        refused()


def test_an_http_task_sends_its_templated_request_and_types_the_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Echo() as echo:
        call = HttpTask(
            "call",
            echo.url + "/items/{{ .inputs.name }}",
            method="POST",
            inputs=kwtypes(name=str, count=int),
            outputs=kwtypes(second=int, sent=dict[str, int]),
            headers={"X-Tag": "n={{ .inputs.count }}"},
            body={"count": "{{ .inputs.count }}"},
            fields={"second": "items.1.id", "sent": "body"},
        )
        refused = HttpTask("refused", echo.url + "/status/404")

        @workflow
        def flow(name: str, count: int) -> tuple[int, dict[str, int]]:
            return call(name=name, count=count)  # type: ignore[no-any-return]

        @workflow
        def fails() -> None:
            refused()

        assert flow(name="a b/c", count=3) == (42, {"count": 3})
        (got,) = echo.requests
        assert got["path"] == "/items/a%20b%2Fc" and got["headers"]["X-Tag"] == "n=3"
        with pytest.raises(WingspanError, match=r"http task 'refused'.*answered GET .* with 404"):
            fails()


@pytest.mark.parametrize(("limit", "most"), [("0", 4), ("2", 2)])
def test_a_connectors_concurrency_limit_caps_its_jobs_in_flight(
    databricks: Databricks, monkeypatch: pytest.MonkeyPatch, limit: str, most: int
) -> None:
    monkeypatch.setenv("WINGSPAN_PLUGINS__WEBAPI__CONCURRENCY", f'{{"databricks": {limit}}}')
    databricks.jobs[5] = "done"
    databricks.instant = False
    run = DatabricksTask("run", 5)

    @workflow
    def four() -> None:
        run()
        run()
        run()
        run()

    def finish_runs() -> None:  # the service ends each run a while after it started
        while not stop.is_set():
            with databricks.lock:
                for _run_id, state in list(databricks.runs.items()):
                    if state["state"] == "running":
                        state["state"] = "done"
            stop.wait(0.1)

    import threading

    stop = threading.Event()
    finisher = threading.Thread(target=finish_runs)
    finisher.start()
    try:
        four()
    finally:
        stop.set()
        finisher.join()
    assert len(databricks.runs) == 4 and databricks.most_in_flight == most


def test_a_connectors_rate_limit_spaces_its_requests(
    databricks: Databricks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINGSPAN_PLUGINS__WEBAPI__RATE", '{"databricks": 10}')
    databricks.jobs[5] = "done"
    run = DatabricksTask("run", 5)

    @workflow
    def three() -> None:
        run()
        run()
        run()

    three()
    times = sorted(r["at"] for r in databricks.requests)
    assert len(times) == 6  # run-now and runs/get for each
    # 10 a second: the six are spread over half a second at least (arrivals jitter a little;
    # unthrottled, they all arrive within the first look's delay, 0.05 s)
    assert times[-1] - times[0] >= 0.45, times


def test_many_jobs_share_a_few_kept_open_connections(
    bigquery: BigQuery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests beyond the plugin's connections wait in the plugin, not in the HTTP client's pool,
    # whose every request rescans all it queued (a thousand jobs in flight cost quadratic CPU) and
    # which closes connections beyond its keep-alive count (a TCP connect per look)
    monkeypatch.setenv("WINGSPAN_PLUGINS__WEBAPI__CONNECTIONS", "4")
    bigquery.answer("SELECT 1 AS n", [("n", "INTEGER")], [["1"]])
    one = BigQueryTask("one", "SELECT 1 AS n", outputs=kwtypes(n=int))

    @workflow
    def wide() -> None:
        for _ in range(40):
            one()

    wide()
    assert bigquery.count("POST", "/projects/proj/jobs") == 40
    peers = {r["peer"] for r in bigquery.requests}
    assert len(peers) <= 4, f"{len(peers)} connections opened for {len(bigquery.requests)} requests"
