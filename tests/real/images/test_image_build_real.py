"""ImageSpec built for real (issue #22 item 23): registration refuses a task whose image is
not in its registry; ``wingspan build`` builds it with buildah (vfs storage, no daemon) on a
base image in a local registry (Debian's docker-registry) and pushes it; registration then
goes through. The pushed image holds what the spec says."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
from click.testing import CliRunner

from tests.unit.remote.servers import api_server
from wingspan._remote.client import AsyncRemote
from wingspan.cli import cli
from wingspan.core.errors import UserError
from wingspan.core.images.registry import image_exists, split_reference
from wingspan.core.images.spec import ImageSpec

pytestmark = [pytest.mark.real, pytest.mark.slow]

PROOF = 'python3 -c "import {helper}; print({helper}.GREETING)" > /root/proof.txt'

MANIFEST = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


def write_project(folder: Path, registry: str, base: str, name: str, module: str) -> Path:
    """A module ``module`` whose task uses an ImageSpec that copies the package helper_<module>
    (module names of their own: one process imports each test's code)."""
    helper = f"helper_{module}"
    (folder / helper).mkdir(parents=True)
    (folder / helper / "__init__.py").write_text("GREETING = 'built with the copied package'\n")
    source = folder / f"{module}.py"
    source.write_text(
        "from pathlib import Path\n"
        "from wingspan import ImageSpec, task, workflow\n"
        "HERE = Path(__file__).parent\n"
        f"spec = ImageSpec(name={name!r}, base_image={base!r}, registry={registry!r},\n"
        f"                 env={{'STAGE': 'test'}}, copy=[HERE / {helper!r}],\n"
        f"                 commands=[{PROOF.format(helper=helper)!r}])\n"
        "@task(container_image=spec)\n"
        "def hello(x: int) -> int:\n"
        "    return x + 1\n"
        "@workflow\n"
        "def flow(x: int) -> int:\n"
        "    return hello(x=x)\n")
    return source


def image_config(reference: str) -> dict[str, object]:
    host, repository, tag = split_reference(reference)
    with httpx.Client(base_url=f"http://{host}/v2/{repository}", timeout=30) as client:
        manifest = client.get(f"/manifests/{tag}", headers={"Accept": MANIFEST}).json()
        config: dict[str, object] = client.get(f"/blobs/{manifest['config']['digest']}").json()
    return config


def pushed_tags(host: str, repository: str) -> list[str]:
    tags: list[str] = httpx.get(f"http://{host}/v2/{repository}/tags/list", timeout=30).json()["tags"]
    return tags


async def test_refused_until_built_then_registered(registry_env: dict[str, str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_BUILDAH_ROOT", str(tmp_path / "buildah"))
    name = f"wingspan-test/imaged-{uuid.uuid4().hex[:8]}"
    source = write_project(tmp_path / "code", registry_env["WINGSPAN_TEST_REGISTRY"],
                           registry_env["WINGSPAN_TEST_BASE_IMAGE"], name, "imaged_refused")
    async with api_server(tmp_path / "server-home") as server:
        remote = AsyncRemote(server.grpc_address)
        try:
            with pytest.raises(UserError) as refused:
                await remote.register(source.parent)
            message = str(refused.value)
            assert f"{registry_env['WINGSPAN_TEST_REGISTRY']}/{name}:" in message
            assert "used by imaged_refused.hello" in message and "wingspan build <file>" in message
            # `wingspan run --remote` registers first: refused the same way, nothing started
            ran = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(
                cli, ["run", "--remote", str(source), "flow", "--x", "1", "--endpoint", server.grpc_address]))
            assert ran.exit_code != 0 and "these images are not in their registries" in ran.output
            assert "register with --build-images" in ran.output

            built = CliRunner().invoke(cli, ["build", str(source)])
            assert built.exit_code == 0, built.output
            (reference,) = [line.split()[1] for line in built.output.splitlines()
                            if line.startswith("pushed")]
            assert image_exists(reference)
            config = image_config(reference)
            env = config["config"]["Env"]  # type: ignore[index]
            assert "STAGE=test" in env and "PYTHONPATH=/root" in env

            created = await remote.register(source.parent)
            assert all(created.values())  # the refused attempt registered nothing
        finally:
            await remote.aclose()
    spec_reference = ImageSpec(name=name, base_image=registry_env["WINGSPAN_TEST_BASE_IMAGE"],
                               registry=registry_env["WINGSPAN_TEST_REGISTRY"], env={"STAGE": "test"},
                               copy=[tmp_path / "code" / "helper_imaged_refused"],
                               commands=[PROOF.format(helper="helper_imaged_refused")]).reference
    assert spec_reference == reference  # the same spec, written anew, names the same image


async def test_register_with_build_images_builds_then_registers(registry_env: dict[str, str], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_BUILDAH_ROOT", str(tmp_path / "buildah"))
    name = f"wingspan-test/imaged-{uuid.uuid4().hex[:8]}"
    source = write_project(tmp_path / "code", registry_env["WINGSPAN_TEST_REGISTRY"],
                           registry_env["WINGSPAN_TEST_BASE_IMAGE"], name, "imaged_built")
    async with api_server(tmp_path / "server-home") as server:
        registered = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(
            cli, ["register", str(source.parent), "--build-images", "--endpoint", server.grpc_address]))
        assert registered.exit_code == 0, registered.output
        assert "2 new" in registered.output
    host, repository, _ = split_reference(f"{registry_env['WINGSPAN_TEST_REGISTRY']}/{name}:x")
    tags = pushed_tags(host, repository)
    assert len(tags) == 1 and image_exists(f"{host}/{repository}:{tags[0]}")
