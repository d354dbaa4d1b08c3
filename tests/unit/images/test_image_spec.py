"""ImageSpec (issue #22 item 23): its tag is a digest of the spec and of what it copies, a task
given one carries its full reference, and the build file it renders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from wingspan import ImageSpec, task
from wingspan.cli import cli
from wingspan.core.errors import UserError
from wingspan.core.images.builders import BuildahBuilder, choose_builder
from wingspan.core.images.containerfile import render, write_context
from wingspan.core.images.registry import split_reference

BASE = {"name": "demo", "registry": "localhost:5000", "packages": ["pandas==2.2.2"],
        "apt_packages": ["git"], "env": {"A": "1", "B": "2"}, "commands": ["echo built"],
        "python_version": "3.11"}


def test_the_tag_is_stable_ignores_env_order_and_changes_with_any_field() -> None:
    spec = ImageSpec(**BASE)  # type: ignore[arg-type]
    assert spec.tag == ImageSpec(**BASE).tag  # type: ignore[arg-type]
    assert spec.tag == ImageSpec(**{**BASE, "env": {"B": "2", "A": "1"}}).tag  # type: ignore[arg-type]
    changed = {"name": "other", "registry": "ghcr.io/acme", "packages": ["pandas==2.2.3"],
               "apt_packages": ["curl"], "env": {"A": "1"}, "commands": ["echo other"],
               "python_version": "3.12", "base_image": "debian:bookworm"}
    tags = {ImageSpec(**{**BASE, field: value}).tag for field, value in changed.items()}  # type: ignore[arg-type]
    assert spec.tag not in tags and len(tags) == len(changed)
    assert spec.reference == f"localhost:5000/demo:{spec.tag}"


def test_a_copied_local_package_is_hashed_by_content(tmp_path: Path) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("X = 1\n")
    spec = ImageSpec(name="demo", copy=[package])
    before = spec.tag
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert ImageSpec(name="demo", copy=[package]).tag == before  # caches are not the source
    (package / "__init__.py").write_text("X = 2\n")
    assert ImageSpec(name="demo", copy=[package]).tag != before


def test_a_task_given_a_spec_carries_its_full_reference() -> None:
    spec = ImageSpec(**BASE)  # type: ignore[arg-type]

    @task(container_image=spec)
    def flyte_spelling(x: int) -> int:
        return x

    @task(image=spec)
    def our_spelling(x: int) -> int:
        return x

    for made in (flyte_spelling, our_spelling):
        assert made.template.container is not None
        assert made.template.container.image == spec.reference


def test_bad_specs_and_options_name_every_problem(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        ImageSpec(name="Bad Name", env={"1X": "y"}, python_version="3", registry="https://x/",
                  copy=[tmp_path / "missing"])
    message = str(caught.value)
    for part in ("name 'Bad Name' must be lower-case", "env maps variable names", "python_version '3'",
                 "missing' does not exist", "registry 'https://x/' is a host and path"):
        assert part in message
    with pytest.raises(Exception, match="give image or container_image"):
        @task(image="a:1", container_image=ImageSpec())
        def both(x: int) -> int:
            return x


def test_the_build_file_and_its_context(tmp_path: Path) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("X = 1\n")
    spec = ImageSpec(**{**BASE, "copy": [package]})  # type: ignore[arg-type]
    assert render(spec) == (
        "FROM python:3.11-slim\n"
        "WORKDIR /root\n"
        'ENV A="1" B="2"\n'
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
        "git && rm -rf /var/lib/apt/lists/*\n"
        "RUN python3.11 -m venv /opt/wingspan/venv && /opt/wingspan/venv/bin/pip install --no-cache-dir "
        "pandas==2.2.2\n"
        "ENV PATH=/opt/wingspan/venv/bin:$PATH\n"
        'COPY "mypkg" "/root/mypkg"\n'
        "ENV PYTHONPATH=/root\n"
        "RUN echo built\n")
    build_file = write_context(spec, tmp_path / "context")
    assert build_file.read_text() == render(spec)
    assert (tmp_path / "context" / "mypkg" / "__init__.py").read_text() == "X = 1\n"


def test_wingspan_build_dry_run_prints_each_build_file(tmp_path: Path) -> None:
    source = tmp_path / "imaged.py"
    source.write_text(
        "from wingspan import ImageSpec, task\n"
        "spec = ImageSpec(name='dry', registry='localhost:5000', env={'K': 'v'})\n"
        "@task(container_image=spec)\n"
        "def t(x: int) -> int:\n"
        "    return x\n")
    result = CliRunner().invoke(cli, ["build", str(source), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"# {ImageSpec(name='dry', registry='localhost:5000', env={'K': 'v'}).reference}" in result.output
    assert 'ENV K="v"' in result.output


def test_no_builder_that_can_build_says_why() -> None:
    missing = BuildahBuilder(program="no-such-buildah")
    with pytest.raises(UserError, match=r"no image builder can build here \(buildah: no-such-buildah "
                                        r"is not installed \(on Debian: apt-get install buildah\)\)"):
        choose_builder([missing])
    with pytest.raises(UserError, match="no image builder is named 'kaniko'; there are: buildah"):
        choose_builder([missing], "kaniko")


def test_references_split_into_registry_repository_and_tag() -> None:
    assert split_reference("localhost:5000/a/b:t1") == ("localhost:5000", "a/b", "t1")
    assert split_reference("ghcr.io/acme/x:2") == ("ghcr.io", "acme/x", "2")
    assert split_reference("python:3.11-slim") == ("registry-1.docker.io", "library/python", "3.11-slim")
    with pytest.raises(UserError, match="has no tag"):
        split_reference("localhost:5000/a")


def test_registration_asks_no_registry_for_a_spec_without_one() -> None:
    from wingspan._registration.images import ensure_images, specs_used

    local = ImageSpec(name="local-only")

    @task(container_image=local)
    def uses_local(x: int) -> int:
        return x

    templates = [(uses_local.template.id, uses_local.template)]
    assert specs_used(templates) == {local: [uses_local.template.id.name]}  # type: ignore[union-attr]
    ensure_images(templates)  # no registry to ask: nothing is sent, nothing refused


def test_an_unreachable_registry_is_named() -> None:
    from wingspan._registration.images import ensure_images
    from wingspan.core.images.registry import image_exists

    with pytest.raises(UserError, match=r"cannot ask registry 127\.0\.0\.1:9 whether image "
                                        r"127\.0\.0\.1:9/x:1 exists: ConnectError"):
        image_exists("127.0.0.1:9/x:1", timeout=5)
    spec = ImageSpec(name="unreachable", registry="127.0.0.1:9")

    @task(container_image=spec)
    def uses_it(x: int) -> int:
        return x

    with pytest.raises(UserError, match=r"cannot ask registry 127\.0\.0\.1:9"):
        ensure_images([(uses_it.template.id, uses_it.template)])


def test_a_requirements_file_lists_packages_and_its_options_are_refused(tmp_path: Path) -> None:
    listed = tmp_path / "requirements.txt"
    listed.write_text("# pinned\npandas==2.2.2\n\nscikit-learn>=1.4  # models\n")
    spec = ImageSpec(name="demo", packages=["rich"], requirements=listed)
    assert spec.packages == ("rich", "pandas==2.2.2", "scikit-learn>=1.4")
    assert spec.tag == ImageSpec(name="demo", packages=["rich", "pandas==2.2.2", "scikit-learn>=1.4"]).tag
    assert "pip install" in render(spec) and "scikit-learn>=1.4" in render(spec)
    options = tmp_path / "options.txt"
    options.write_text("--index-url https://example.com/simple\npandas\n")
    with pytest.raises(UserError, match=r"options.txt', line 1: '--index-url https://example.com/simple' "
                                        r"is a pip option"):
        ImageSpec(name="demo", requirements=options)
    with pytest.raises(UserError, match=r"requirements '.*missing.txt' cannot be read"):
        ImageSpec(name="demo", requirements=tmp_path / "missing.txt")


def test_a_requirements_file_reads_as_pip_reads_it(tmp_path: Path) -> None:
    listed = tmp_path / "requirements.txt"
    listed.write_text('numpy==1.26; python_version < "3.12"\nmine @ https://example.com/mine-1.0.tar.gz\n'
                      "requests \\\n  >=2.31\n# no continuation in a comment \\\nattrs\npandas\t# tabbed\n")
    spec = ImageSpec(name="demo", packages=["rich"], requirements=listed)
    # a marker and a direct reference stay whole; a line continued with a backslash is one package
    # (not a comment's: pip ends a comment at its line)
    assert spec.packages == ("rich", 'numpy==1.26; python_version < "3.12"',
                             "mine @ https://example.com/mine-1.0.tar.gz", "requests   >=2.31", "attrs",
                             "pandas")
    # a copy made with replace() is the same image, its file's packages not listed twice
    assert dataclasses.replace(spec, env={}).packages == spec.packages
    assert dataclasses.replace(spec, env={}).tag == spec.tag
    hashed = tmp_path / "hashed.txt"
    hashed.write_text("pandas==2.2.2 \\\n    --hash=sha256:0123\n")
    with pytest.raises(UserError, match=r"hashed.txt', line 1: 'pandas==2.2.2     --hash=sha256:0123' "
                                        r"carries a pip option"):
        ImageSpec(name="demo", requirements=hashed)
