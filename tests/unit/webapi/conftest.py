"""Each test gets the fake services it names, on loopback, and the plugin configured for them
(a local run loads the plugins anew, reading WINGSPAN_PLUGINS__WEBAPI__* variables)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import wingspan._runner.parts as local_parts
from tests.unit.webapi.providers import TOKEN, BigQuery, Databricks, Snowflake


def _configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    monkeypatch.setattr(local_parts, "_plugins", None)
    monkeypatch.setenv("WINGSPAN_PLUGINS__WEBAPI__POLL_INTERVAL", "0.05")
    for key, value in values.items():
        monkeypatch.setenv(f"WINGSPAN_PLUGINS__WEBAPI__{key.upper()}", value)


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch) -> Iterator[BigQuery]:
    with BigQuery() as fake:
        _configure(monkeypatch, bigquery_url=fake.url, bigquery_project="proj", bigquery_token=TOKEN)
        yield fake


@pytest.fixture
def snowflake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Snowflake]:
    with Snowflake() as fake:
        _configure(monkeypatch, snowflake_url=fake.url, snowflake_token=TOKEN, snowflake_warehouse="WH")
        yield fake


@pytest.fixture
def databricks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Databricks]:
    with Databricks() as fake:
        _configure(monkeypatch, databricks_url=fake.url, databricks_token=TOKEN)
        yield fake
