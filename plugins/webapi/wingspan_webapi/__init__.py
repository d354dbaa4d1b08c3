"""Wingspan web-API tasks: jobs on services that are submitted and then polled (BigQuery query
jobs, Snowflake SQL API statements, Databricks job runs) and HTTP calls that answer at once, all
run by the engine itself (no worker process).

The tasks users write are ``HttpTask``, ``BigQueryTask``, ``SnowflakeTask`` and
``DatabricksTask``; ``WebApiPlugin`` runs them through one ``Connector`` (or ``SyncConnector``)
per task type, configured by ``WebApiConfig`` (``[plugins.webapi]``).
"""

from __future__ import annotations

from wingspan_webapi._config import WebApiConfig
from wingspan_webapi._connector import Api, ApiError, Connector, Job, JobRequest, SyncConnector
from wingspan_webapi._plugin import WebApiPlugin
from wingspan_webapi._tasks import BigQueryTask, DatabricksTask, HttpTask, SnowflakeTask

__all__ = [
    "Api",
    "ApiError",
    "BigQueryTask",
    "Connector",
    "DatabricksTask",
    "HttpTask",
    "Job",
    "JobRequest",
    "SnowflakeTask",
    "SyncConnector",
    "WebApiConfig",
    "WebApiPlugin",
]
