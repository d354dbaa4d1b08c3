"""What the client keeps between statements from the coordinator's answers, and the
configuration mistakes the plugins name."""

from __future__ import annotations

import httpx
import pytest
from wingspan_presto import PrestoConfig, QueryPlugin, SQLPlugin
from wingspan_presto._client import ClientSession

from wingspan.core.errors import ConfigError


def test_set_and_clear_answers_change_the_next_statements_headers() -> None:
    session = ClientSession(user="ada", catalog="tpch")
    session.apply(httpx.Headers([
        ("X-Trino-Set-Schema", "tiny"), ("X-Trino-Set-Session", "query_max_run_time=7m"),
        ("X-Trino-Set-Session", "note=a%2Cb+c"), ("X-Trino-Added-Prepare", "q=SELECT+%3F+%2B+1")]))
    headers = session.headers()
    assert headers["X-Trino-Schema"] == "tiny" and headers["X-Trino-Catalog"] == "tpch"
    assert session.properties == {"query_max_run_time": "7m", "note": "a,b c"}
    assert session.prepared == {"q": "SELECT ? + 1"}
    assert headers["X-Trino-Session"] == "query_max_run_time=7m,note=a%2Cb+c"
    session.apply(httpx.Headers([("X-Trino-Clear-Session", "note"), ("X-Trino-Deallocated-Prepare", "q")]))
    assert session.properties == {"query_max_run_time": "7m"} and session.prepared == {}


def test_presto_answers_are_read_under_their_own_prefix() -> None:
    session = ClientSession(flavour="presto")
    session.apply(httpx.Headers([("X-Trino-Set-Catalog", "ignored"), ("X-Presto-Set-Catalog", "hive")]))
    assert session.catalog == "hive"
    assert set(session.headers()) == {"X-Presto-User", "X-Presto-Source", "X-Presto-Catalog"}


def test_an_unknown_connection_names_the_configured_ones() -> None:
    plugin = SQLPlugin(PrestoConfig(connections={"warehouse": "sqlite+aiosqlite:///:memory:"}))
    with pytest.raises(ConfigError, match="no SQL connection named 'lake'; the configured ones: warehouse"):
        plugin._engine("lake")


def test_a_coordinator_url_is_asked_for_by_its_setting() -> None:
    with pytest.raises(ConfigError, match=r"set presto_url in \[plugins.presto\]"):
        QueryPlugin(PrestoConfig(trino_url="http://t:8080"))._url("presto")
    with pytest.raises(ConfigError, match="password or jwt, not both"):
        QueryPlugin(PrestoConfig(password="p", jwt="j"))._session("trino", {})
