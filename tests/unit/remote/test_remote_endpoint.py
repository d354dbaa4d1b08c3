"""Where Remote and every CLI command find the server: --endpoint, WINGSPAN_ENDPOINT, the
config file, 127.0.0.1:8089, in that order, each named when it is not host:port."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from wingspan._remote.client import AsyncRemote, RemoteError
from wingspan._remote.endpoint import Endpoint, resolve_endpoint
from wingspan.cli import cli
from wingspan.core.errors import ConfigError, UserError


def test_the_argument_wins_then_the_environment_then_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "client.toml"
    config.write_text('endpoint = "files.example:7000"\n')
    env = {"WINGSPAN_ENDPOINT": "env.example:9000", "WINGSPAN_CONFIG": str(config)}
    assert resolve_endpoint("flag.example:8000", env=env).address == "flag.example:8000"
    assert resolve_endpoint(None, env=env).address == "env.example:9000"
    assert resolve_endpoint(None, env={"WINGSPAN_CONFIG": str(config)}) == Endpoint("files.example", 7000)
    assert resolve_endpoint(None, env={"WINGSPAN_HOME": str(tmp_path)}).address == "127.0.0.1:8089"


def test_a_config_file_under_home_is_read_when_no_other_is_named(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('endpoint = "home.example:7001"\n')
    assert resolve_endpoint(None, env={"WINGSPAN_HOME": str(tmp_path)}).address == "home.example:7001"


def test_each_source_is_named_when_it_is_not_host_port(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--endpoint 'nowhere' is not host:port"):
        resolve_endpoint("nowhere", env={})
    with pytest.raises(UserError, match="WINGSPAN_ENDPOINT 'a:b' is not host:port"):
        resolve_endpoint(None, env={"WINGSPAN_ENDPOINT": "a:b"})
    config = tmp_path / "bad.toml"
    config.write_text('endpoint = "x:99999"\n')
    with pytest.raises(UserError, match=f"endpoint in {config} 'x:99999' is not host:port"):
        resolve_endpoint(None, env={"WINGSPAN_CONFIG": str(config)})
    config.write_text('endpoint_typo = "x:1"\n')
    with pytest.raises(ConfigError, match="unknown setting 'endpoint_typo'"):
        resolve_endpoint(None, env={"WINGSPAN_CONFIG": str(config)})


def test_ipv6_addresses() -> None:
    assert Endpoint.parse("[::1]:8089") == Endpoint("::1", 8089)


def test_remote_and_the_cli_use_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_ENDPOINT", "env.example:9001")
    assert AsyncRemote().endpoint == "env.example:9001"
    monkeypatch.setenv("WINGSPAN_ENDPOINT", "broken")
    result = CliRunner().invoke(cli, ["get", "projects"])
    assert result.exit_code == 1 and "WINGSPAN_ENDPOINT 'broken' is not host:port" in result.output


async def test_a_server_that_does_not_answer_is_named_with_what_to_do() -> None:
    import socket

    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    remote = AsyncRemote(f"127.0.0.1:{port}")
    try:
        with pytest.raises(RemoteError, match=f"cannot reach a Wingspan server at 127.0.0.1:{port} .*"
                                              "wingspan serve.*WINGSPAN_ENDPOINT"):
            await remote.list_projects()
    finally:
        await remote.aclose()


def test_a_remote_run_chooses_only_where_python_tasks_run(tmp_path: Path) -> None:
    (tmp_path / "one_task.py").write_text("from wingspan import task\n\n"
                                          "@task\ndef one() -> int:\n    return 1\n")
    result = CliRunner().invoke(cli, ["run", "--remote", str(tmp_path / "one_task.py"), "one",
                                      "--target", "spark=spark-local"])
    assert result.exit_code == 2 and "the server decides for spark tasks" in result.output
