"""`wingspan domain`: the server's domains listed (as a table and with ``-o json``) from a
`wingspan serve` configured with its own list; create and update refuse, saying that domains
are the deployment's configuration and how to set them, and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import anyio.to_thread
import pytest
from click.testing import CliRunner, Result

from tests.unit.api.served import wingspan_serve
from wingspan.cli import cli

pytestmark = pytest.mark.slow


async def wingspan(*args: str) -> Result:
    return await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, list(args)))


async def test_domains_are_listed_and_creating_one_says_where_they_are_configured(tmp_path: Path) -> None:
    env = {"WINGSPAN_HOME": str(tmp_path / "home"), "WINGSPAN_DOMAINS": "development,qa,production"}
    async with wingspan_serve(env=env) as (_, _, host, port):
        endpoint = f"{host}:{port}"
        listed = await wingspan("domain", "list", "-o", "json", "--endpoint", endpoint)
        assert listed.exit_code == 0, listed.output
        assert [d["id"] for d in json.loads(listed.output)] == ["development", "qa", "production"]
        table = await wingspan("domain", "list", "--endpoint", endpoint)
        assert table.exit_code == 0 and "qa" in table.output, table.output

        for action in ("create", "update"):
            refused = await wingspan("domain", action, "staging")
            assert refused.exit_code == 2, refused.output
            said = " ".join(refused.output.split())
            assert "configured on the server" in said and "WINGSPAN_DOMAINS" in said, said
            assert "`domains = \"development,staging,production\"`" in said
        again = await wingspan("domain", "list", "-o", "json", "--endpoint", endpoint)
        assert [d["id"] for d in json.loads(again.output)] == ["development", "qa", "production"]
