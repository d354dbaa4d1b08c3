"""Code bundles respect .gitignore and are byte-for-byte reproducible."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from wingspan._registration.bundle import build_bundle, bundle_files
from wingspan.core.errors import UserError


def _project(root: Path) -> Path:
    (root / "pipelines").mkdir(parents=True)
    (root / "pipelines" / "__init__.py").write_text("")
    (root / "pipelines" / "train.py").write_text("def f():\n    return 1\n")
    (root / "pipelines" / "data").mkdir()
    (root / "pipelines" / "data" / "big.csv").write_text("a,b\n")
    (root / "pipelines" / "data" / "keep.csv").write_text("x\n")
    (root / "pipelines" / "data" / ".gitignore").write_text("*.csv\n!keep.csv\n")
    (root / ".gitignore").write_text("# comment\nbuild/\n*.log\n")
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("")
    (root / "run.log").write_text("noise")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "site.py").write_text("")
    return root


def test_gitignore_rules_are_respected(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    assert bundle_files(root) == [
        ".gitignore", "pipelines/__init__.py", "pipelines/data/.gitignore",
        "pipelines/data/keep.csv", "pipelines/train.py",
    ]


def test_same_code_same_bytes_wherever_and_whenever(tmp_path: Path) -> None:
    first = build_bundle(_project(tmp_path / "a"))
    second_root = _project(tmp_path / "b")
    os.utime(second_root / "pipelines" / "train.py", (1, 1))
    second = build_bundle(second_root)
    assert first.data == second.data and first.digest == second.digest
    assert len(first.version) == 16
    (second_root / "pipelines" / "train.py").write_text("def f():\n    return 2\n")
    assert build_bundle(second_root).digest != first.digest


def test_archive_holds_the_files_with_neutral_metadata(tmp_path: Path) -> None:
    bundle = build_bundle(_project(tmp_path / "p"))
    import gzip

    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(bundle.data))) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == list(bundle.files)
        assert {(m.mtime, m.uid, m.gid, m.uname) for m in members} == {(0, 0, 0, "")}
        extracted = archive.extractfile("pipelines/train.py")
        assert extracted is not None and extracted.read() == b"def f():\n    return 1\n"


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a folder"):
        build_bundle(tmp_path / "missing")


def test_wingspan_home_inside_the_project_is_not_bundled(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p")
    (root / "state" / "blobs").mkdir(parents=True)
    (root / "state" / "blobs" / "output.bin").write_bytes(b"\0" * 10)
    monkeypatch.setenv("WINGSPAN_HOME", str(root / "state"))
    assert "state/blobs/output.bin" not in bundle_files(root)
    assert "pipelines/train.py" in bundle_files(root)
