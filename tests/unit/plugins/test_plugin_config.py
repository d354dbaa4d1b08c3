"""Plugin configuration: a ``[plugins.<name>]`` table of the one config file (and
``WINGSPAN_PLUGINS__<NAME>__<KEY>`` variables), kept by Settings, checked by the schema the
plugin declares and handed to its hooks; a bad value is refused naming plugin and key."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pydantic
import pytest

from wingspan import task, workflow
from wingspan.core.config import Settings
from wingspan.core.plugins.manager import load_plugins
from wingspan.plugin import ConfigError, TaskPlugin, hookimpl, read_plugin_config


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    monkeypatch.delenv("WINGSPAN_CONFIG", raising=False)
    yield tmp_path / "home"


def _config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wingspan.toml"
    path.write_text(text)
    return path


def _echo(found: Any) -> Any:
    (echo,) = [t for t in found.task_plugins if t.name == "echo"]
    return echo


def test_an_installed_plugin_gets_its_table_from_the_config_file_and_environment(tmp_path: Path) -> None:
    from wingspan_echo.plugin import EchoConfig

    path = _config_file(tmp_path, 'http_port = 9000\n[plugins.echo]\nbanner = "[file] "\nrepeat = 2\n'
                                  'tags = ["a"]\n')
    settings = Settings.load(config_file=path, env={"WINGSPAN_PLUGINS__ECHO__REPEAT": "3",
                                                    "WINGSPAN_PLUGINS__ECHO__TAGS": '["b", "c"]'})
    assert settings.http_port == 9000  # the platform's own keys beside the plugin tables
    assert hash(settings) == hash(Settings.load(env={"WINGSPAN_HTTP_PORT": "9000"}))  # still hashable
    found = load_plugins(settings=settings)
    # the environment wins over the file, key by key; text is read into the field's type
    assert _echo(found).config == EchoConfig(banner="[file] ", repeat=3, tags=["b", "c"])
    assert found.configs["echo"] == _echo(found).config


def test_a_plugin_runs_with_its_configuration_in_a_local_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from wingspan_echo import Echo

    import wingspan._runner.parts as local_parts

    # the local runner loads the plugins (and reads the settings) anew
    monkeypatch.setattr(local_parts, "_plugins", None)
    monkeypatch.setenv("WINGSPAN_PLUGINS__ECHO__BANNER", "[env] ")
    monkeypatch.setenv("WINGSPAN_PLUGINS__ECHO__REPEAT", "2")

    @task(task_config=Echo(prefix="> "))
    def echo(text: str) -> str:
        raise AssertionError("the plugin runs an echo task, not this body")

    @workflow
    def say(text: str) -> str:
        return echo(text=text)

    assert say(text="hi") == "[env] > hihi"


@pytest.mark.parametrize(("toml", "env", "message"), [
    ("[plugins.echo]\nrepeat = 'many'\n", {},
     r"plugin 'echo': invalid value 'many' for 'repeat' "
     r"\(key 'repeat' of \[plugins.echo\] in .*wingspan.toml\): expected an integer"),
    ("[plugins.echo]\nrepeat = true\n", {},
     r"plugin 'echo': invalid value True for 'repeat'.*expected an integer"),
    ("[plugins.echo]\nbanner = 3\n", {}, r"plugin 'echo': invalid value 3 for 'banner'.*expected a string"),
    ("[plugins.echo]\ntags = [1]\n", {},
     r"plugin 'echo': invalid value 1 for 'tags\[0\]'.*expected a string"),
    ("[plugins.echo]\ncolour = 'red'\n", {},
     r"plugin 'echo' has no setting 'colour' \(key 'colour' of \[plugins.echo\] in .*\); "
     r"its settings: banner, repeat, tags"),
    ("", {"WINGSPAN_PLUGINS__ECHO__REPEAT": "2x"},
     r"plugin 'echo': invalid value '2x' for 'repeat' "
     r"\(environment variable WINGSPAN_PLUGINS__ECHO__REPEAT\)"),
    ("", {"WINGSPAN_PLUGINS__ECHO__TAGS": "[1, "},
     r"'tags' \(environment variable WINGSPAN_PLUGINS__ECHO__TAGS\): expected a list in JSON"),
])
def test_a_bad_value_is_refused_naming_the_plugin_and_the_key(
    tmp_path: Path, toml: str, env: dict[str, str], message: str
) -> None:
    settings = Settings.load(config_file=_config_file(tmp_path, toml), env=env)
    with pytest.raises(ConfigError, match=message):
        load_plugins(settings=settings)


def test_the_config_file_still_refuses_an_unknown_platform_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'http_prot'"):
        Settings.load(config_file=_config_file(tmp_path, "http_prot = 1\n[plugins.echo]\nrepeat = 1\n"))
    with pytest.raises(ConfigError, match=r"one table per plugin, e.g. \[plugins.k8s\]"):
        Settings.load(config_file=_config_file(tmp_path, "plugins = 3\n"))
    with pytest.raises(ConfigError, match="WINGSPAN_PLUGINS__ECHO: name a plugin and a key"):
        Settings.load(env={"WINGSPAN_PLUGINS__ECHO": "x"})


def _plugin(**hooks: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(**hooks)


def test_a_table_for_a_plugin_that_takes_no_configuration_is_refused(tmp_path: Path) -> None:
    @hookimpl
    def wingspan_task_plugins() -> list[TaskPlugin]:
        return []

    settings = Settings.load(config_file=_config_file(tmp_path, "[plugins.plain]\nspeed = 3\n"))
    with pytest.raises(ConfigError, match=r"plugin 'plain' takes no configuration, yet speed is set for it "
                                          r"\(key 'speed' of \[plugins.plain\]"):
        plain = _plugin(wingspan_task_plugins=wingspan_task_plugins)
        load_plugins(entry_points=False, extra=[("plain", plain)], settings=settings)


def test_a_plugin_whose_schema_hook_answers_none_takes_no_configuration(tmp_path: Path) -> None:
    @hookimpl
    def wingspan_config_schema() -> None:
        return None

    quiet = _plugin(wingspan_config_schema=wingspan_config_schema)
    found = load_plugins(entry_points=False, extra=[("quiet", quiet)], settings=Settings.load(env={}))
    assert "quiet" in {p.name for p in found.loaded} and "quiet" not in found.configs
    settings = Settings.load(env={"WINGSPAN_PLUGINS__QUIET__LEVEL": "3"})
    with pytest.raises(ConfigError, match=r"plugin 'quiet' takes no configuration, yet level is set for it "
                                          r"\(environment variable WINGSPAN_PLUGINS__QUIET__LEVEL\)"):
        load_plugins(entry_points=False, extra=[("quiet", quiet)], settings=settings)


@dataclasses.dataclass(frozen=True)
class Required:
    endpoint: str
    mode: Literal["fast", "safe"] = "safe"
    timeout: float = 1.5


def test_a_required_key_and_a_choice_are_checked() -> None:
    assert read_plugin_config("svc", Required, {"endpoint": "e", "timeout": 2}) == Required("e", "safe", 2.0)
    with pytest.raises(ConfigError, match=r"plugin 'svc' needs the setting 'endpoint': set it in "
                                          r"\[plugins.svc\] of the config file, or as the environment "
                                          r"variable WINGSPAN_PLUGINS__SVC__ENDPOINT"):
        read_plugin_config("svc", Required, {})
    with pytest.raises(ConfigError, match=r"invalid value 'quick' for 'mode'.*one of 'fast', 'safe'"):
        read_plugin_config("svc", Required, {"endpoint": "e", "mode": "quick"})


class PagerConfig(pydantic.BaseModel):
    routing_key: str
    retries: int = 3
    services: dict[str, int] = {}


def test_a_pydantic_schema_is_handed_to_the_hooks_and_refuses_what_it_would_ignore(tmp_path: Path) -> None:
    got: list[PagerConfig] = []

    @hookimpl
    def wingspan_config_schema() -> type:
        return PagerConfig

    @hookimpl
    def wingspan_task_plugins(config: PagerConfig) -> list[TaskPlugin]:
        got.append(config)
        return []

    plugin = _plugin(wingspan_config_schema=wingspan_config_schema,
                     wingspan_task_plugins=wingspan_task_plugins)
    settings = Settings.load(config_file=_config_file(tmp_path, "[plugins.pager]\nrouting_key = 'k'\n"),
                             env={"WINGSPAN_PLUGINS__PAGER__SERVICES": '{"db": 1}'})
    found = load_plugins(entry_points=False, extra=[("pager", plugin)], settings=settings)
    assert got == [PagerConfig(routing_key="k", services={"db": 1})] and found.configs["pager"] == got[0]

    bad = Settings.load(env={"WINGSPAN_PLUGINS__PAGER__ROUTING_KEY": "k",
                             "WINGSPAN_PLUGINS__PAGER__RETRIES": "x"})
    with pytest.raises(ConfigError, match=r"plugin 'pager': invalid value 'x' for 'retries' "
                                          r"\(environment variable WINGSPAN_PLUGINS__PAGER__RETRIES\)"):
        load_plugins(entry_points=False, extra=[("pager", plugin)], settings=bad)
    # pydantic ignores a key it does not know; a misspelt setting must not pass unseen
    typo = Settings.load(env={"WINGSPAN_PLUGINS__PAGER__ROUTING_KEY": "k",
                              "WINGSPAN_PLUGINS__PAGER__RETRYS": "2"})
    with pytest.raises(ConfigError, match="plugin 'pager' has no setting 'retrys'"):
        load_plugins(entry_points=False, extra=[("pager", plugin)], settings=typo)


def test_a_schema_that_is_not_one_is_the_plugins_failure_not_a_config_error() -> None:
    @hookimpl
    def wingspan_config_schema() -> object:
        return {"banner": str}

    odd = _plugin(wingspan_config_schema=wingspan_config_schema)
    found = load_plugins(entry_points=False, extra=[("odd", odd)], settings=Settings.load(env={}))
    (failure,) = found.failed
    assert failure.stage == "wingspan_config_schema"
    assert "neither a dataclass nor a pydantic model" in failure.error


def test_serve_refuses_to_start_with_a_bad_plugin_table(tmp_path: Path) -> None:
    path = _config_file(tmp_path, "http_port = 0\ngrpc_port = 0\n[plugins.echo]\nrepeat = 'twice'\n")
    env = {**os.environ, "WINGSPAN_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "serve", "--config", str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert (f"Error: plugin 'echo': invalid value 'twice' for 'repeat' (key 'repeat' of [plugins.echo] in "
            f"{path}): expected an integer") in done.stderr
