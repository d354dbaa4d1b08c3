"""The connector contract: what one web-API service must do for its task type.

An asynchronous ``Connector`` submits a job (``create``), looks at it (``get``) and stops it
(``delete``); it may read the job's log (``logs``) and name pages about it (``links``). What
``create`` returns (the job's id and whatever else ``get`` needs) is plain JSON: the plugin
stores it with the attempt, so a replica that takes the execution over after a crash polls the
same job instead of submitting another. A ``SyncConnector`` answers at once (``call``).

Connectors speak their service through ``Api``, which holds the plugin's rate limit for them.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar

import anyio
import httpx

from wingspan.core.model.interface import Variable
from wingspan.plugin import TaskLog, TaskPhase

__all__ = ["Api", "ApiError", "Connector", "Job", "JobRequest", "SyncConnector"]

#: what ``create`` returns: plain JSON-able data naming the job on its service
Resource = dict[str, Any]


@dataclass(frozen=True)
class JobRequest:
    """One attempt of a task, as a connector receives it."""

    task_type: str
    task_name: str
    spec: Mapping[str, Any]  # the task's settings as its SDK half stored them
    inputs: Mapping[str, Any]  # the inputs as plain values
    outputs: tuple[Variable, ...]
    execution_id: str
    node_id: str
    attempt: int

    @property
    def where(self) -> str:
        return f"{self.task_type} task {self.task_name!r}"

    @property
    def idempotency_key(self) -> str:
        """The same for every submission of one attempt: services that take one (a BigQuery job
        id, a Databricks idempotency token, a Snowflake request id) then run the job once even
        when the engine stopped between submitting it and recording that it did."""
        import hashlib

        text = f"{self.execution_id}/{self.node_id}/{self.attempt}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Job:
    """A job as ``get`` sees it: its phase, the outputs (plain values by output name) once it
    succeeded, or why it failed."""

    phase: TaskPhase
    outputs: Mapping[str, Any] = field(default_factory=dict)
    code: str = ""
    message: str = ""
    retryable: bool = False
    user_error: bool = True


class ApiError(Exception):
    """A service refused a request or could not be reached. ``retryable``: asking again may
    work (5xx, 429, no connection); ``code`` is the service's own name for the error."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False, answer: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        # the service's answer as JSON, when it gave one (its own error document)
        self.answer = answer


class Api:
    """An HTTP client for one service, behind the connector's rate limit."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        headers: Mapping[str, str],
        throttle: Any,
        service: str,
        *,
        turns: anyio.Semaphore | None = None,
    ) -> None:
        self.client = client
        # held for each request: at most as many at once as the client keeps connections
        self.turns = turns
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)
        self.throttle = throttle
        self.service = service

    async def request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """The service's answer to one request; ApiError when it cannot be had or is a 4xx/5xx
        (the message holds the service's own error text)."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        await self.throttle.wait()
        try:
            async with self.turns or nullcontext():
                response = await self.client.request(
                    method, url, json=json, params=params, headers=self.headers
                )
        except httpx.HTTPError as exc:
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ApiError(f"{self.service}: {method} {url}: {what}", retryable=True) from exc
        if response.status_code >= 400:
            try:
                answer = response.json()
            except ValueError:
                answer = None
            raise ApiError(
                f"{self.service} answered {method} {url} with {response.status_code}: {response.text[:500]}",
                retryable=response.status_code >= 500 or response.status_code in (408, 429),
                code=str(response.status_code),
                answer=answer,
            )
        return response


class Connector(abc.ABC):
    """Runs jobs of one task type on one service; every method may be called by any replica."""

    task_type: ClassVar[str] = ""
    #: what the README and errors call the service
    service: ClassVar[str] = ""

    def endpoint(self) -> tuple[str, dict[str, str]]:
        """The service's API root and the headers of every request (its credentials)."""
        return "", {}

    @abc.abstractmethod
    async def create(self, api: Api, request: JobRequest) -> Resource:
        """Submits the job; returns what names it (plain JSON), without waiting for its end."""

    @abc.abstractmethod
    async def get(self, api: Api, request: JobRequest, resource: Resource) -> Job:
        """The job now; with its outputs once it succeeded."""

    @abc.abstractmethod
    async def delete(self, api: Api, request: JobRequest, resource: Resource) -> None:
        """Stops the job (a job that ended already is left as it is)."""

    async def logs(self, api: Api, resource: Resource) -> bytes:
        """The job's log, when the service keeps one (b"" otherwise)."""
        return b""

    def links(self, resource: Resource) -> tuple[TaskLog, ...]:
        """Pages about the job on its service (its console page)."""
        return ()


class SyncConnector(abc.ABC):
    """A call that answers at once: the answer is the attempt's outputs."""

    task_type: ClassVar[str] = ""
    service: ClassVar[str] = ""

    def endpoint(self) -> tuple[str, dict[str, str]]:
        """The service's API root and the headers of every request (its credentials)."""
        return "", {}

    @abc.abstractmethod
    async def call(self, api: Api, request: JobRequest) -> Job:
        """Makes the call; a Job that succeeded (with outputs) or failed."""
