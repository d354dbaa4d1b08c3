"""Servers of ours on loopback that follow the published API references of BigQuery (REST v2:
jobs.insert, jobs.get, jobs.getQueryResults, jobs.cancel), Snowflake (SQL API v2: statements,
partitions, cancel) and Databricks (Jobs API 2.1: run-now, runs/get, runs/get-output,
runs/cancel): the request shapes they check, the job states they go through, their error
documents and their pagination. They are NOT the services: each answers the queries a test gives
it (``answer``) and keeps each job running until the test ends it (``finish``), or finishes it at
its first look when ``instant`` is set. Every request is recorded."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

TOKEN = "test-token"
TASK_RUN_OFFSET = 500000
Answer = tuple[int, Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


class Provider:
    """One fake service: ``route(method, path, query, body)`` answers each request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Condition()
        self.instant = True
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with owner.lock:
                    owner.requests.append(
                        {
                            "method": self.command,
                            "path": parsed.path,
                            "query": query,
                            "headers": dict(self.headers),
                            "json": body,
                            "at": time.monotonic(),
                            # the client's end of the TCP connection: one per connection opened
                            "peer": self.client_address,
                        }
                    )
                    owner.lock.notify_all()
                    status, answer = owner.check_auth(dict(self.headers)) or owner.route(
                        self.command, parsed.path, query, body
                    )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def check_auth(self, headers: dict[str, str]) -> Answer | None:
        return None

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        raise NotImplementedError

    def count(self, method: str, pattern: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r["method"] == method and re.fullmatch(pattern, r["path"]))

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 30) -> None:
        with self.lock:
            if not self.lock.wait_for(check, timeout):
                raise AssertionError(f"{type(self).__name__}: {what} not seen within {timeout} s")

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _bearer(headers: dict[str, str]) -> bool:
    return headers.get("Authorization") == f"Bearer {TOKEN}"


class BigQuery(Provider):
    """BigQuery REST v2. ``answer(sql, fields, rows)``: a query job of that text gives those rows
    (``fields``: (name, type) pairs); any other text fails the job as BigQuery fails invalid SQL.
    Query results come ``page_size`` rows a page, with ``pageToken``."""

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.answers: dict[str, tuple[list[tuple[str, str]], list[list[Any]]]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}

    def answer(self, sql: str, fields: list[tuple[str, str]], rows: list[list[Any]]) -> None:
        self.answers[sql] = (fields, rows)

    def check_auth(self, headers: dict[str, str]) -> Answer | None:
        if _bearer(headers):
            return None
        return self._error(
            401, "Request is missing required authentication credential.", "UNAUTHENTICATED", "unauthorized"
        )

    @staticmethod
    def _error(code: int, message: str, status: str, reason: str) -> Answer:
        return code, {
            "error": {
                "code": code,
                "message": message,
                "status": status,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
            }
        }

    def finish(self, job_id: str) -> None:
        with self.lock:
            self.jobs[job_id]["status"] = {"state": "DONE"}

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        if m := re.fullmatch(r"/projects/([^/]+)/jobs", path):
            return self._insert(m.group(1), body) if method == "POST" else (405, {})
        if m := re.fullmatch(r"/projects/([^/]+)/jobs/([^/]+)/cancel", path):
            job = self.jobs.get(m.group(2))
            if job is None:
                return self._error(404, f"Not found: Job {m.group(1)}:{m.group(2)}", "NOT_FOUND", "notFound")
            if job["status"]["state"] != "DONE":
                job["status"] = {
                    "state": "DONE",
                    "errorResult": {
                        "reason": "stopped",
                        "message": "Job execution was cancelled: User requested cancellation",
                    },
                }
            return 200, {"kind": "bigquery#jobCancelResponse", "job": self._resource(job)}
        if m := re.fullmatch(r"/projects/([^/]+)/jobs/([^/]+)", path):
            job = self.jobs.get(m.group(2))
            if job is None:
                return self._error(404, f"Not found: Job {m.group(1)}:{m.group(2)}", "NOT_FOUND", "notFound")
            if self.instant and job["status"]["state"] != "DONE":
                job["status"] = {"state": "DONE"}
            elif job["status"]["state"] == "PENDING":
                job["status"] = {"state": "RUNNING"}
            if (
                job["status"]["state"] == "DONE"
                and job["sql"] not in self.answers
                and "errorResult" not in job["status"]
            ):
                job["status"] = {
                    "state": "DONE",
                    "errorResult": {
                        "reason": "invalidQuery",
                        "location": "query",
                        "message": f"Syntax error: Unexpected identifier at [1:1] in {job['sql'][:40]!r}",
                    },
                }
            return 200, self._resource(job)
        if m := re.fullmatch(r"/projects/([^/]+)/queries/([^/]+)", path):
            job = self.jobs.get(m.group(2))
            if job is None:
                return self._error(404, f"Not found: Job {m.group(1)}:{m.group(2)}", "NOT_FOUND", "notFound")
            fields, rows = self.answers[job["sql"]]
            start = int(query.get("pageToken") or 0)
            page = rows[start : start + self.page_size]
            answer: dict[str, Any] = {
                "kind": "bigquery#getQueryResultsResponse",
                "jobReference": job["reference"],
                "jobComplete": True,
                "totalRows": str(len(rows)),
                "schema": {"fields": [{"name": n, "type": t, "mode": "NULLABLE"} for n, t in fields]},
                "rows": [{"f": [{"v": None if v is None else str(v)} for v in row]} for row in page],
            }
            if start + self.page_size < len(rows):
                answer["pageToken"] = str(start + self.page_size)
            return 200, answer
        return self._error(404, f"Not found: {path}", "NOT_FOUND", "notFound")

    def _insert(self, project: str, body: Any) -> Answer:
        reference = (body or {}).get("jobReference") or {}
        query = ((body or {}).get("configuration") or {}).get("query") or {}
        problems = []
        if not isinstance(query.get("query"), str):
            problems.append("configuration.query.query is required")
        if query.get("useLegacySql") is not False:
            problems.append("this server runs GoogleSQL only: useLegacySql must be false")
        for p in query.get("queryParameters") or ():
            if (
                query.get("parameterMode") != "NAMED"
                or not p.get("name")
                or not isinstance((p.get("parameterValue") or {}).get("value"), str)
                or (p.get("parameterType") or {}).get("type") not in ("INT64", "FLOAT64", "STRING", "BOOL")
            ):
                problems.append(f"invalid query parameter {p!r}")
        if problems:
            return self._error(400, "; ".join(problems), "INVALID_ARGUMENT", "invalid")
        job_id = reference.get("jobId") or f"job_{uuid.uuid4().hex}"
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,1024}", job_id):
            return self._error(400, f"Invalid job ID {job_id!r}", "INVALID_ARGUMENT", "invalid")
        if job_id in self.jobs:
            return self._error(
                409,
                f"Already Exists: Job {project}:{reference.get('location', 'US')}.{job_id}",
                "ALREADY_EXISTS",
                "duplicate",
            )
        sql = query["query"]
        for p in query.get("queryParameters") or ():  # the fake's own substitution, to pick its answer
            sql = sql.replace(
                f"@{p['name']}", f"<{p['parameterType']['type']}:{p['parameterValue']['value']}>"
            )
        job = {
            "reference": {"projectId": project, "jobId": job_id, "location": reference.get("location", "US")},
            "sql": sql,
            "status": {"state": "PENDING"},
        }
        self.jobs[job_id] = job
        return 200, self._resource(job)

    @staticmethod
    def _resource(job: dict[str, Any]) -> dict[str, Any]:
        ref = job["reference"]
        return {
            "kind": "bigquery#job",
            "id": f"{ref['projectId']}:{ref['location']}.{ref['jobId']}",
            "jobReference": ref,
            "status": dict(job["status"]),
            "configuration": {"jobType": "QUERY", "query": {"query": job["sql"]}},
        }


class Snowflake(Provider):
    """The Snowflake SQL API v2. ``answer(sql, columns, partitions)``: a statement of that text
    (bindings written in as ``<TYPE:value>``) gives those rows in those partitions; any other
    text fails with a compilation error (422)."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, tuple[list[tuple[str, str]], list[list[list[Any]]]]] = {}
        self.statements: dict[str, dict[str, Any]] = {}
        self.by_request: dict[str, str] = {}

    def answer(self, sql: str, columns: list[tuple[str, str]], partitions: list[list[list[Any]]]) -> None:
        self.answers[sql] = (columns, partitions)

    def check_auth(self, headers: dict[str, str]) -> Answer | None:
        if _bearer(headers) and headers.get("X-Snowflake-Authorization-Token-Type") in (
            "OAUTH",
            "KEYPAIR_JWT",
            "PROGRAMMATIC_ACCESS_TOKEN",
        ):
            return None
        return 401, {"code": "390303", "message": "Invalid OAuth access token. "}

    def finish(self, handle: str) -> None:
        with self.lock:
            self.statements[handle]["state"] = "done"

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        if path == "/api/v2/statements" and method == "POST":
            return self._submit(query, body)
        if m := re.fullmatch(r"/api/v2/statements/([^/]+)/cancel", path):
            st = self.statements.get(m.group(1))
            if st is None:
                return 404, {"code": "333333", "message": "statement not found"}
            if st["state"] == "running":
                st["state"] = "cancelled"
            return 200, {
                "code": "000604",
                "sqlState": "57014",
                "message": "successfully canceled",
                "statementHandle": m.group(1),
                "statementStatusUrl": f"/api/v2/statements/{m.group(1)}",
            }
        if m := re.fullmatch(r"/api/v2/statements/([^/]+)", path):
            return self._status(m.group(1), query)
        return 404, {"code": "390404", "message": f"no such path {path}"}

    def _submit(self, query: dict[str, str], body: Any) -> Answer:
        try:
            request_id = str(uuid.UUID(query.get("requestId", "")))
        except ValueError:
            return 400, {"code": "391902", "message": "requestId must be a UUID"}
        if request_id in self.by_request:  # a resubmitted request runs once
            return self._running(self.by_request[request_id])
        if not isinstance((body or {}).get("statement"), str):
            return 400, {"code": "391903", "message": "statement is required"}
        sql = body["statement"]
        bindings = body.get("bindings") or {}
        for i in range(1, sql.count("?") + 1):
            b = bindings.get(str(i))
            if (
                not b
                or b.get("type") not in ("FIXED", "REAL", "TEXT", "BOOLEAN")
                or not isinstance(b.get("value"), str)
            ):
                return 400, {"code": "391905", "message": f"binding {i} is missing or malformed: {b!r}"}
            sql = sql.replace("?", f"<{b['type']}:{b['value']}>", 1)
        handle = str(uuid.uuid4())
        self.by_request[request_id] = handle
        self.statements[handle] = {"sql": sql, "state": "running", "body": body}
        return self._running(handle)

    @staticmethod
    def _running(handle: str) -> Answer:
        return 202, {
            "code": "333334",
            "message": "Asynchronous execution in progress. Use provided query id "
            "to perform query monitoring and management.",
            "statementHandle": handle,
            "statementStatusUrl": f"/api/v2/statements/{handle}",
        }

    def _status(self, handle: str, query: dict[str, str]) -> Answer:
        st = self.statements.get(handle)
        if st is None:
            return 404, {"code": "333333", "message": f"statement {handle} not found"}
        if self.instant and st["state"] == "running":
            st["state"] = "done"
        if st["state"] == "running":
            return self._running(handle)
        if st["state"] == "cancelled":
            return 422, {
                "code": "000604",
                "sqlState": "57014",
                "message": "SQL execution canceled",
                "statementHandle": handle,
            }
        if st["sql"] not in self.answers:
            return 422, {
                "code": "002003",
                "sqlState": "42S02",
                "statementHandle": handle,
                "message": (
                    f"SQL compilation error:\nObject '{st['sql'].split()[-1]}' "
                    "does not exist or not authorized."
                ),
            }
        columns, partitions = self.answers[st["sql"]]
        partition = int(query.get("partition", "0"))
        if partition:
            return 200, {"data": partitions[partition]}
        return 200, {
            "code": "090001",
            "statementHandle": handle,
            "sqlState": "00000",
            "message": "Statement executed successfully.",
            "createdOn": 1620151693299,
            "statementStatusUrl": f"/api/v2/statements/{handle}",
            "resultSetMetaData": {
                "numRows": sum(len(p) for p in partitions),
                "format": "jsonv2",
                "rowType": [{"name": n, "type": t, "nullable": True} for n, t in columns],
                "partitionInfo": [{"rowCount": len(p), "uncompressedSize": 100} for p in partitions],
            },
            "data": partitions[0],
        }


class Databricks(Provider):
    """The Databricks Jobs API 2.1 for the jobs in ``jobs`` (job id: the notebook's exit value,
    or None for a run that fails). A run goes PENDING, RUNNING, then TERMINATED."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[int, str | None] = {}
        self.runs: dict[int, dict[str, Any]] = {}
        self.by_token: dict[str, int] = {}
        # the most runs in flight at once, as seen when a run is started
        self.most_in_flight = 0

    def check_auth(self, headers: dict[str, str]) -> Answer | None:
        if _bearer(headers):
            return None
        return 401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."}

    def finish(self, run_id: int) -> None:
        with self.lock:
            self.runs[run_id]["state"] = "done"

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        if path == "/api/2.1/jobs/run-now" and method == "POST":
            job_id = (body or {}).get("job_id")
            if not isinstance(job_id, int):
                return 400, {
                    "error_code": "INVALID_PARAMETER_VALUE",
                    "message": "Missing required field: job_id",
                }
            if job_id not in self.jobs:
                return 400, {
                    "error_code": "INVALID_PARAMETER_VALUE",
                    "message": f"Job {job_id} does not exist.",
                }
            params = body.get("job_parameters") or {}
            if not all(isinstance(v, str) for v in params.values()):
                return 400, {
                    "error_code": "INVALID_PARAMETER_VALUE",
                    "message": "job_parameters values are strings",
                }
            token = body.get("idempotency_token")
            if token in self.by_token:
                run_id = self.by_token[token]
            else:
                run_id = 1000 + len(self.runs)
                self.runs[run_id] = {"job_id": job_id, "state": "pending", "params": params}
                if token:
                    self.by_token[token] = run_id
                in_flight = sum(1 for r in self.runs.values() if r["state"] in ("pending", "running"))
                self.most_in_flight = max(self.most_in_flight, in_flight)
            return 200, {"run_id": run_id, "number_in_job": run_id}
        run_id = int(query.get("run_id") or (body or {}).get("run_id") or 0)
        if path == "/api/2.1/jobs/runs/get-output":
            if run_id in self.runs:  # as Databricks: a job's run has tasks, and get-output takes a task's run
                return 400, {
                    "error_code": "INVALID_PARAMETER_VALUE",
                    "message": (
                        "Retrieving the output of runs with multiple tasks is not supported. Please retrieve "
                        "the output of each individual task run instead."
                    ),
                }
            run_id -= TASK_RUN_OFFSET
        run = self.runs.get(run_id) if path.startswith("/api/2.1/jobs/runs/") else None
        if run is None:
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Run {run_id} does not exist."}
        if path == "/api/2.1/jobs/runs/cancel" and method == "POST":
            if run["state"] != "done":
                run["state"] = "cancelled"
            return 200, {}
        if path == "/api/2.1/jobs/runs/get":
            if self.instant and run["state"] in ("pending", "running"):
                run["state"] = "done"
            elif run["state"] == "pending":
                run["state"] = "running"
            return 200, self._run(run_id, run)
        if path == "/api/2.1/jobs/runs/get-output":
            result = self.jobs[run["job_id"]]
            output: dict[str, Any] = {"metadata": self._run(run_id, run), "logs": f"run {run_id} log line\n"}
            if result is None:
                output["error"] = "ZeroDivisionError: division by zero"
                output["error_trace"] = "Traceback (most recent call last): ..."
            else:
                output["notebook_output"] = {"result": result.format(**run["params"]), "truncated": False}
            return 200, output
        return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{method} {path}'"}

    def _run(self, run_id: int, run: dict[str, Any]) -> dict[str, Any]:
        state = {
            "pending": {"life_cycle_state": "PENDING", "state_message": "Waiting for cluster"},
            "running": {"life_cycle_state": "RUNNING", "state_message": "In run"},
            "cancelled": {
                "life_cycle_state": "TERMINATED",
                "result_state": "CANCELED",
                "state_message": "Run cancelled.",
            },
        }.get(run["state"])
        if state is None:
            ok = self.jobs[run["job_id"]] is not None
            state = {
                "life_cycle_state": "TERMINATED",
                "result_state": "SUCCESS" if ok else "FAILED",
                "state_message": "" if ok else "Workload failed, see run output for details",
            }
        return {
            "job_id": run["job_id"],
            "run_id": run_id,
            "number_in_job": run_id,
            "state": state,
            "run_page_url": f"{self.url}/?o=1#job/{run['job_id']}/run/{run_id}",
            "tasks": [{"run_id": run_id + TASK_RUN_OFFSET, "task_key": "main"}],
        }


class Echo(Provider):
    """Answers every request with what it got (for the http task); ``/status/<code>`` answers
    that status."""

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        if m := re.fullmatch(r"/status/(\d+)", path):
            return int(m.group(1)), {"error": f"answered {m.group(1)} as asked"}
        return 200, {
            "method": method,
            "path": path,
            "query": query,
            "body": body,
            "items": [{"id": 41}, {"id": 42}],
        }
