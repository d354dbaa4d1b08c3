"""The built-in connectors: a generic HTTP call (``http``), BigQuery query jobs (``bigquery``),
Snowflake SQL API statements (``snowflake``) and Databricks job runs (``databricks``)."""

from __future__ import annotations

from wingspan_webapi._config import WebApiConfig
from wingspan_webapi._connector import Connector, SyncConnector
from wingspan_webapi.connectors.bigquery import BigQueryConnector
from wingspan_webapi.connectors.databricks import DatabricksConnector
from wingspan_webapi.connectors.http import HttpConnector
from wingspan_webapi.connectors.snowflake import SnowflakeConnector

__all__ = [
    "BigQueryConnector",
    "DatabricksConnector",
    "HttpConnector",
    "SnowflakeConnector",
    "builtin_connectors",
]


def builtin_connectors(config: WebApiConfig) -> list[Connector | SyncConnector]:
    return [
        HttpConnector(),
        BigQueryConnector(config),
        SnowflakeConnector(config),
        DatabricksConnector(config),
    ]
