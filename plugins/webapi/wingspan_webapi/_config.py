"""``WebApiConfig``: the schema of the plugin's ``[plugins.webapi]`` table (or its
``WINGSPAN_PLUGINS__WEBAPI__<FIELD>`` variables; tables there are JSON). Credentials live here,
never in a task, so a registered task carries no secret."""

from __future__ import annotations

import dataclasses

__all__ = ["WebApiConfig"]


@dataclasses.dataclass(frozen=True)
class WebApiConfig:
    """Where each service is, as whom the plugin calls it, and how hard."""

    # BigQuery REST API v2: the API root, the project jobs run in, an OAuth2 access token
    bigquery_url: str = "https://bigquery.googleapis.com/bigquery/v2"
    bigquery_project: str = ""
    bigquery_location: str = ""
    bigquery_token: str = ""
    # Snowflake SQL API v2: the account's URL (https://<account>.snowflakecomputing.com), a token
    # and its kind (OAUTH, KEYPAIR_JWT or PROGRAMMATIC_ACCESS_TOKEN), the defaults of a statement
    snowflake_url: str = ""
    snowflake_token: str = ""
    snowflake_token_type: str = "OAUTH"
    snowflake_warehouse: str = ""
    snowflake_role: str = ""
    # Databricks Jobs API 2.1: the workspace's URL and a personal access token
    databricks_url: str = ""
    databricks_token: str = ""
    # per connector (task type): jobs in flight at once, and API requests per second
    concurrency: dict[str, int] = dataclasses.field(default_factory=dict)
    rate: dict[str, float] = dataclasses.field(default_factory=dict)
    # seconds between two looks at a running job
    poll_interval: float = 2.0
    # HTTP connections open at once, kept open between requests; more requests wait in the plugin
    connections: int = 32
    # seconds one HTTP request may take
    request_timeout: float = 30.0
    # failed looks in a row (the service unreachable, 5xx, 429) before the attempt fails
    max_poll_errors: int = 10
