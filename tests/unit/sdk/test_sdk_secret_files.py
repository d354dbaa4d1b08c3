"""Secrets as files (issue #22 item 19): ``current_context().secrets.get_file(group, key)``
gives a path whichever way the secret came (a mounted file, or the environment)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wingspan import current_context, task
from wingspan.core.engine.context import Secrets
from wingspan.core.errors import NotFoundError


@task
def read_secret_file(group: str, key: str) -> str:
    path = current_context().secrets.get_file(group, key)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    return f"{Path(path).read_text()}|{oct(mode)}"


def test_a_secret_from_the_environment_is_given_as_a_private_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_SECRET_DB_PASSWORD", "hunter2")
    monkeypatch.delenv("WINGSPAN_SECRETS_DIR", raising=False)
    assert read_secret_file(group="db", key="password") == "hunter2|0o600"


def test_a_mounted_secret_file_is_given_as_it_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    mounted = tmp_path / "db" / "cert"
    mounted.write_text("-----BEGIN-----")
    monkeypatch.setenv("WINGSPAN_SECRETS_DIR", str(tmp_path))
    secrets = Secrets()
    assert secrets.get_file("db", "cert") == str(mounted)
    assert secrets.get_secrets_file("db", "cert") == str(mounted)  # flytekit's spelling
    assert secrets.get("db", "cert") == "-----BEGIN-----"


def test_the_written_files_go_with_their_context() -> None:
    secrets = Secrets(env={"WINGSPAN_SECRET_API_TOKEN": "t0k"}, folder="")
    path = Path(secrets.get_file("api", "token"))
    assert path.read_text() == "t0k"
    del secrets
    assert not path.exists() and not path.parent.parent.exists()


def test_a_missing_secret_file_names_both_ways_to_give_it() -> None:
    with pytest.raises(NotFoundError, match=r"secret db/nope is not available: set WINGSPAN_SECRET_DB_NOPE "
                                            r"or put it in \$WINGSPAN_SECRETS_DIR/db/nope"):
        Secrets(env={}, folder="").get_file("db", "nope")


def test_flytekits_mount_requirement_spelling_asks_for_a_file() -> None:
    from wingspan import Secret
    from wingspan.core.model.tasks import SecretMount

    @task(secrets=[Secret(group="db", key="cert", mount_requirement=Secret.MountType.FILE),
                   Secret("db", "user", mount_requirement=Secret.MountType.ENV_VAR)])
    def uses(x: int) -> int:
        return x

    assert [(s.group, s.key, s.mount) for s in uses.template.secrets] == [
        ("db", "cert", SecretMount.FILE), ("db", "user", SecretMount.ENV)]
