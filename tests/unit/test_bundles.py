"""Unpacking code bundles trusts nothing in them (issue #17, items 6 and 9): each archive here
is one an attacker uploads instead of what `wingspan register` builds, and must be refused
with nothing written outside (or, on refusal, inside) the cache folder. The venv's Python is
3.11.2, where ``extractall(filter=...)`` does not exist: these tests run the one code path."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wingspan._registration.bundle import build_bundle
from wingspan.core.bundles import BundleLimits, check_bundle, fetch_bundle, unpack_bundle
from wingspan.core.errors import InvalidArgumentError
from wingspan.core.storage.local import LocalBlobStore

SMALL = BundleLimits(max_bytes=1024 * 1024, max_members=50, max_upload_bytes=1024 * 1024)


def archive(*members: tuple[tarfile.TarInfo, bytes | None], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def member(name: str, content: bytes = b"x = 1\n", *, kind: bytes = tarfile.REGTYPE, mode: int = 0o644,
           link: str = "") -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, link
    info.size = len(content) if kind == tarfile.REGTYPE else 0
    return info, content if kind == tarfile.REGTYPE else None


def refused(data: bytes, tmp_path: Path, match: str, limits: BundleLimits = SMALL) -> None:
    """Unpacking refuses ``data`` naming ``match``, and leaves nothing: no target, no staging."""
    cache = tmp_path / "cache"
    with pytest.raises(InvalidArgumentError, match=match):
        unpack_bundle(data, cache / "b", limits)
    assert not cache.exists() or list(cache.iterdir()) == []
    with pytest.raises(InvalidArgumentError, match=match):
        check_bundle(data, limits)


def test_a_bundle_that_register_builds_unpacks_with_its_files_and_modes(tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "pkg").mkdir(parents=True)
    (code / "pkg" / "__init__.py").write_text("")
    (code / "main.py").write_text("print('hi')\n")
    (code / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(code / "run.sh", 0o755)
    bundle = build_bundle(code)
    target = unpack_bundle(bundle.data, tmp_path / "cache" / "b", SMALL)
    assert (target / "main.py").read_text() == "print('hi')\n"
    assert (target / "pkg" / "__init__.py").is_file()
    assert stat.S_IMODE((target / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "main.py").stat().st_mode) == 0o644
    assert check_bundle(bundle.data, SMALL) == 3


@pytest.mark.parametrize(("name", "match"), [
    ("../escaped.py", "climbs out of the bundle"),
    ("pkg/../../escaped.py", "climbs out of the bundle"),
    ("/tmp/escaped.py", "absolute or malformed name"),
    ("pkg\\..\\..\\escaped.py", "absolute or malformed name"),
])
def test_a_member_named_outside_the_folder_is_refused(tmp_path: Path, name: str, match: str) -> None:
    refused(archive(member("ok.py"), member(name)), tmp_path / "in", match)
    assert not (tmp_path / "escaped.py").exists() and not Path("/tmp/escaped.py").exists()


@pytest.mark.parametrize(("kind", "link", "match"), [
    (tarfile.SYMTYPE, "/etc/passwd", "is a symbolic link"),
    (tarfile.SYMTYPE, "../../../../etc", "is a symbolic link"),
    (tarfile.SYMTYPE, "inside.py", "is a symbolic link"),
    (tarfile.LNKTYPE, "/etc/passwd", "is a hard link"),
    (tarfile.CHRTYPE, "", "is a device"),
    (tarfile.BLKTYPE, "", "is a device"),
    (tarfile.FIFOTYPE, "", "is a FIFO"),
    (tarfile.CONTTYPE, "", "of tar type"),
])
def test_links_devices_and_fifos_are_refused(tmp_path: Path, kind: bytes, link: str, match: str) -> None:
    # a link first, then a file written "through" it: the classic symlink escape
    data = archive(member("inside.py"), member("pkg", kind=kind, link=link), member("pkg/evil.py"))
    refused(data, tmp_path, match)


def test_a_name_twice_is_refused(tmp_path: Path) -> None:
    refused(archive(member("a.py", b"one"), member("a.py", b"two")), tmp_path, "appears twice")


def test_setuid_and_other_special_bits_are_dropped(tmp_path: Path) -> None:
    data = archive(member("tool", mode=0o6777), member("plain.py", mode=0o666),
                   member("dir", kind=tarfile.DIRTYPE, mode=0o1777))
    target = unpack_bundle(data, tmp_path / "cache" / "b", SMALL)
    assert stat.S_IMODE((target / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "plain.py").stat().st_mode) == 0o644
    assert stat.S_IMODE((target / "dir").stat().st_mode) == 0o755


def test_more_members_than_the_limit_are_refused(tmp_path: Path) -> None:
    data = archive(*(member(f"m{i}.py") for i in range(SMALL.max_members + 1)))
    refused(data, tmp_path, f"more than {SMALL.max_members} members \\(setting max_bundle_members\\)")


def test_a_compressed_bomb_is_refused_before_it_is_written(tmp_path: Path) -> None:
    """Measured before the fix: 306 KB of gzip unpacked to 301 MB. Here 100 MB of zeros
    (about 100 KB packed) against a limit of 1 MB: refused at the header, in well under a second."""
    zeros = bytes(100 * 1024 * 1024)
    data = archive(member("bomb.bin", zeros))
    assert len(data) < SMALL.max_upload_bytes
    started = time.monotonic()
    refused(data, tmp_path, "unpacks to more than 1048576 bytes .*setting max_bundle_unpacked_bytes")
    assert time.monotonic() - started < 5


def test_many_members_each_under_the_limit_count_together(tmp_path: Path) -> None:
    data = archive(*(member(f"part{i}.bin", bytes(300 * 1024)) for i in range(4)))
    refused(data, tmp_path, "unpacks to more than 1048576 bytes \\(at member 'part3.bin'")


def test_a_bomb_in_a_header_stops_at_the_limit_of_the_stream(tmp_path: Path) -> None:
    """A PAX header is read whole by tarfile before any member is seen: the bytes read from
    the decompressed stream are counted too, so a 50 MB header stops at the limit."""
    info, content = member("a.py")
    info.pax_headers = {"comment": "z" * (50 * 1024 * 1024)}
    data = archive((info, content))
    refused(data, tmp_path, "unpacks to more than .* bytes of archive \\(a compression bomb")


def test_an_upload_over_the_bundle_limit_is_refused_unread(tmp_path: Path) -> None:
    refused(os.urandom(2048), tmp_path, "over the limit of 1024 \\(setting max_bundle_upload_bytes\\)",
            BundleLimits(max_upload_bytes=1024))


def corrupted(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + b"\xff" * 64 + data[middle + 64:]


@pytest.mark.parametrize("damage", [lambda d: d[:len(d) // 2], lambda d: b"not gzip at all", corrupted])
@pytest.mark.parametrize("content", [lambda: os.urandom(4096), lambda: b"compressible " * 400])
def test_damaged_archives_are_refused(tmp_path: Path, damage: Callable[[bytes], bytes],
                                      content: Callable[[], bytes]) -> None:
    """Also a change in stored (incompressible) data, seen only by gzip's checksum at the end."""
    data = archive(*(member(f"m{i}.py", content()) for i in range(4)))
    refused(damage(data), tmp_path, "damaged|not a gzipped tar archive")


async def test_fetch_refuses_an_object_over_the_limit_before_reading_it(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    uri = store.uri("uploads", "big.tar.gz")
    await store.put(uri, os.urandom(4096))
    with pytest.raises(InvalidArgumentError, match="over the limit of 1024"):
        await fetch_bundle(store, uri, tmp_path / "cache", BundleLimits(max_upload_bytes=1024))
