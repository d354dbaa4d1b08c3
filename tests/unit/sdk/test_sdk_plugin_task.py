"""PluginTask: a task without a Python body, run by the plugin serving its type; found by
discovery like the other kinds, cached by what it does, and clear when no plugin serves it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wingspan import PluginTask, workflow
from wingspan._registration.discovery import load_entities
from wingspan.core.errors import CompilationError, ConfigError
from wingspan.core.types.naturals import to_natural


def test_its_template_carries_the_type_the_settings_and_the_interface() -> None:
    job = PluginTask("job", "nowhere-engine", {"query": "SELECT 1", "props": {"a": "b"}},
                     inputs={"n": int}, outputs={"rows": int})
    template = job.template
    assert template.type == "nowhere-engine"
    assert template.custom is not None
    assert {k: to_natural(v) for k, v in template.custom.literals.items()} == {
        "query": "SELECT 1", "props": {"a": "b"}}
    assert template.interface is not None
    assert [v.name for v in template.interface.inputs] == ["n"]
    assert [v.name for v in template.interface.outputs] == ["rows"]


def test_its_default_cache_version_follows_its_settings() -> None:
    first = PluginTask("job", "engine", {"query": "SELECT 1"}, cache=True)
    same = PluginTask("job", "engine", {"query": "SELECT 1"}, cache=True)
    other = PluginTask("job", "engine", {"query": "SELECT 2"}, cache=True)
    versions = [t.template.metadata.cache.version for t in (first, same, other)  # type: ignore[union-attr]
                if t.template.metadata is not None]
    assert versions[0] == versions[1] != versions[2]


def test_bad_settings_and_options_are_reported_together() -> None:
    with pytest.raises(CompilationError) as caught:
        PluginTask("job", "engine", {"when": object()}, inputs={"n": int}, retries=-1, colour="red",
                   problems=["plugin task 'job': the query is empty"])
    text = str(caught.value)
    for part in ("plain values", "retries=-1", "colour", "the query is empty"):
        assert part in text


def test_run_where_no_plugin_serves_its_type_the_error_names_the_type() -> None:
    job = PluginTask("job", "nowhere-engine", {}, inputs={"n": int}, outputs={"rows": int})
    with pytest.raises(ConfigError, match="'nowhere-engine', which no installed plugin serves"):
        job(n=1)


def test_a_workflow_calling_it_holds_its_template() -> None:
    job = PluginTask("job", "nowhere-engine", {"q": 1}, inputs={"n": int}, outputs={"rows": int})

    @workflow
    def flow(n: int) -> int:
        return job(n=n)  # type: ignore[no-any-return]

    assert [e.template.type for e in flow.entities.values() if isinstance(e, PluginTask)] == [
        "nowhere-engine"]


def test_discovery_finds_it_in_a_file(tmp_path: Path) -> None:
    source = tmp_path / "jobs.py"
    source.write_text(textwrap.dedent("""
        from wingspan import PluginTask
        job = PluginTask("nightly", "nowhere-engine", {"q": 1})
    """))
    assert list(load_entities(source)) == ["nightly"]
