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
    from_file = Endpoint("files.example", 7000, tls=True)
    assert resolve_endpoint(None, env={"WINGSPAN_CONFIG": str(config)}) == from_file
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
    assert Endpoint.parse("https://[::1]:8089") == Endpoint("::1", 8089, tls=True)


def test_tls_unless_the_endpoint_is_on_loopback_or_says_http() -> None:
    assert not Endpoint.parse("127.0.0.1:8089").tls and not Endpoint.parse("localhost:8089").tls
    assert Endpoint.parse("wingspan.example:443").tls
    assert Endpoint.parse("https://127.0.0.1:8089").tls
    assert not Endpoint.parse("http://wingspan.example:80/").tls  # the caller's explicit choice
    # naming a CA asks for TLS on loopback too
    assert Endpoint.parse("127.0.0.1:8089", ca="/etc/ca.pem") == Endpoint("127.0.0.1", 8089, tls=True,
                                                                          ca="/etc/ca.pem")
    with pytest.raises(UserError, match="names the scheme 'grpc': use host:port, https://host:port"):
        Endpoint.parse("grpc://127.0.0.1:8089")


def test_the_ca_comes_from_the_argument_then_the_environment_then_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "client.toml"
    config.write_text('endpoint = "files.example:7000"\nca = "/from/file.pem"\n')
    env = {"WINGSPAN_CONFIG": str(config)}
    assert resolve_endpoint(None, env=env).ca == "/from/file.pem"
    assert resolve_endpoint(None, env={**env, "WINGSPAN_CA": "/from/env.pem"}).ca == "/from/env.pem"
    given = resolve_endpoint("x.example:1", ca="/given.pem", env={**env, "WINGSPAN_CA": "/e.pem"})
    assert given.ca == "/given.pem"


def test_a_ca_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=f"the CA file {tmp_path}/missing.pem .*--ca.* does not exist"):
        Endpoint.parse("127.0.0.1:1", ca=str(tmp_path / "missing.pem")).grpc_ssl()
    (tmp_path / "garbage.pem").write_text("not a certificate")
    with pytest.raises(UserError, match=r"cannot read the CA file .*garbage.pem .* as PEM certificates"):
        Endpoint.parse("127.0.0.1:1", ca=str(tmp_path / "garbage.pem")).grpc_ssl()


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
