"""ImageSpec built for real (issue #22 item 23): registration refuses a task whose image is
not in its registry; ``wingspan build`` builds it with buildah (vfs storage, no daemon) on a
base image in a local registry (Debian's docker-registry) and pushes it; registration then
goes through. The pushed image holds what the spec says."""

from __future__ import annotations

import uuid
from pathlib import Path

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

PROOF = 'python3 -c "import helper; print(helper.GREETING)" > /root/proof.txt'

MANIFEST = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


def write_project(folder: Path, registry: str, base: str, name: str) -> Path:
    (folder / "helper").mkdir(parents=True)
    (folder / "helper" / "__init__.py").write_text("GREETING = 'built with the copied package'\n")
    source = folder / "imaged.py"
    source.write_text(
        "from pathlib import Path\n"
        "from wingspan import ImageSpec, task, workflow\n"
        "HERE = Path(__file__).parent\n"
        f"spec = ImageSpec(name={name!r}, base_image={base!r}, registry={registry!r},\n"
        "                 env={'STAGE': 'test'}, copy=[HERE / 'helper'],\n"
        f"                 commands=[{PROOF!r}])\n"
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


async def test_refused_until_built_then_registered(registry_env: dict[str, str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_BUILDAH_ROOT", str(tmp_path / "buildah"))
    name = f"wingspan-test/imaged-{uuid.uuid4().hex[:8]}"
    source = write_project(tmp_path / "code", registry_env["WINGSPAN_TEST_REGISTRY"],
                           registry_env["WINGSPAN_TEST_BASE_IMAGE"], name)
    async with api_server(tmp_path / "server-home") as server:
        remote = AsyncRemote(server.grpc_address)
        try:
            with pytest.raises(UserError) as refused:
                await remote.register(source.parent)
            message = str(refused.value)
            assert f"{registry_env['WINGSPAN_TEST_REGISTRY']}/{name}:" in message
            assert "used by imaged.hello" in message and "wingspan build <file>" in message

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
                               copy=[tmp_path / "code" / "helper"],
                               commands=[PROOF]).reference
    assert spec_reference == reference  # the same spec, written anew, names the same image
