"""Workflows passing files of a format, ``File[CSV]`` (imported by
test_types_file_formats.py; a module of its own so local-process workers can import it)."""

from __future__ import annotations

import typing

from wingspan import Directory, File, current_context, task, workflow

CSV = typing.TypeVar("CSV")  # flytekit's way of naming a format; the TypeVar's name is it


@task
def write_csv(rows: int) -> File[CSV]:
    path = current_context().scratch_dir / "table.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i * i}\n" for i in range(rows)))
    return File(str(path))


@task
def count_rows(table: File[CSV]) -> int:
    with open(table) as file:
        return len(file.read().splitlines()) - 1


@task
def plain_size(any_file: File) -> int:
    with open(any_file, "rb") as file:
        return len(file.read())


@task
def folder_of(table: File[CSV]) -> Directory[CSV]:
    folder = current_context().scratch_dir / "tables"
    folder.mkdir()
    with open(table) as file:
        (folder / "one.csv").write_text(file.read())
    return Directory(str(folder))


@task
def tables_in(folder: Directory[CSV]) -> int:
    return len(list(folder.listing()))


@workflow
def formats(rows: int = 3) -> tuple[int, int, int]:
    table = write_csv(rows=rows)
    return count_rows(table=table), plain_size(any_file=table), tables_in(folder=folder_of(table=table))
