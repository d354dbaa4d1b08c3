"""Workflows whose tasks change their inputs in place (issue #22 item 1): no task may see
another's changes, in a local run as on a server. Run by test_sdk_isolation and
tests/unit/remote/test_remote_sdk_values."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from wingspan import Directory, File, map_task, task, workflow


@task
def make() -> list[int]:
    return [1, 2, 3]


@task
def append_and_count(xs: list[int]) -> int:
    xs.append(9)
    return len(xs)


@task
def count(xs: list[int]) -> int:
    return len(xs)


@workflow
def siblings() -> tuple[int, int, int, list[int]]:
    xs = make()
    first: int = append_and_count(xs=xs)
    second: int = append_and_count(xs=xs)
    third: int = count(xs=xs)
    return first, second, third, xs


@dataclasses.dataclass
class Settings:
    tags: list[str]
    limits: dict[str, int]


@task
def tag(settings: Settings, item: int) -> int:
    settings.tags.append(str(item))
    settings.limits["seen"] = settings.limits.get("seen", 0) + 1
    return len(settings.tags) * 100 + settings.limits["seen"]


@workflow
def shared_settings(items: list[int], settings: Settings) -> list[int]:
    result: list[int] = map_task(functools.partial(tag, settings=settings))(item=items)
    return result


@task
def make_folder() -> Directory:
    from wingspan import current_context

    folder = current_context().scratch_dir / "out"
    folder.mkdir()
    (folder / "a.txt").write_text("original")
    return Directory(str(folder))


@task
def scribble(folder: Directory) -> str:
    root = Path(folder.download())
    (root / "a.txt").write_text("scribbled")
    (root / "new.txt").write_text("new")
    return (root / "a.txt").read_text()


@task
def read_folder(folder: Directory) -> str:
    root = Path(folder.download())
    return ",".join(sorted(p.name for p in root.iterdir())) + "=" + (root / "a.txt").read_text()


@workflow
def folders() -> tuple[str, str, Directory]:
    folder = make_folder()
    scribbled = scribble(folder=folder)
    seen = read_folder(folder=folder)
    scribbled >> seen  # the reader runs after the scribbler
    return scribbled, seen, folder


@task
def overwrite(source: File) -> str:
    with open(source.path, "w") as out:
        out.write("overwritten")
    with source.open() as back:
        text: str = back.read()
    return text


@task
def read_file(source: File) -> str:
    with source.open() as back:
        text: str = back.read()
    return text


@workflow
def files(source: File) -> tuple[str, str]:
    written = overwrite(source=source)
    seen = read_file(source=source)
    written >> seen
    return written, seen
