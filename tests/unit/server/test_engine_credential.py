"""The engine credential file: made once, private, whole, reused, never shown."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from wingspan.core.errors import ConfigError
from wingspan.server.engine.credential import SECRET_FILE_NAME, EngineCredential


def token_of(credential: EngineCredential) -> str:
    return credential.secret


def test_made_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = EngineCredential.load(home)
    path = home / SECRET_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token_of(first) == path.read_text().strip() and len(token_of(first)) >= 32
    assert token_of(EngineCredential.load(home)) == token_of(first)
    assert [p.name for p in home.iterdir()] == [SECRET_FILE_NAME]  # no temporary file left behind


def test_processes_racing_at_first_start_all_get_the_one_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    start = threading.Barrier(16)
    tokens: list[str] = []

    def load() -> None:
        start.wait(timeout=30)
        tokens.append(token_of(EngineCredential.load(home)))

    threads = [threading.Thread(target=load) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(tokens) == 16 and len(set(tokens)) == 1
    assert tokens[0] == (home / SECRET_FILE_NAME).read_text().strip()


def test_a_truncated_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE_NAME).write_text("short\n")
    with pytest.raises(ConfigError, match="delete it and restart"):
        EngineCredential.load(tmp_path)


def test_a_home_that_cannot_hold_it_names_the_file(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "home"
    not_a_folder.write_text("")
    with pytest.raises(ConfigError, match=f"cannot read the engine credential .*{SECRET_FILE_NAME}"):
        EngineCredential.load(not_a_folder)
    (tmp_path / "other" / SECRET_FILE_NAME).mkdir(parents=True)
    with pytest.raises(ConfigError, match=SECRET_FILE_NAME):
        EngineCredential.load(tmp_path / "other")


def test_never_shows_its_secret(tmp_path: Path) -> None:
    credential = EngineCredential.load(tmp_path)
    token = token_of(credential)
    assert token not in repr(credential) and token not in str(credential)
