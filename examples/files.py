"""A file-processing pipeline: files are uploaded when they leave a task, fetched when read."""

import tempfile
from pathlib import Path

from wingspan import Directory, File, task, workflow


@task
def write_lines(count: int) -> File:
    path = Path(tempfile.mkdtemp()) / "lines.txt"
    path.write_text("".join(f"line {i}\n" for i in range(count)))
    return File(path)


@task
def split(source: File, parts: int) -> Directory:
    lines = Path(source.download()).read_text().splitlines(keepends=True)
    folder = Path(tempfile.mkdtemp()) / "parts"
    folder.mkdir()
    for index in range(parts):
        (folder / f"part-{index}.txt").write_text("".join(lines[index::parts]))
    return Directory(folder)


@task
def count_lines(folder: Directory) -> int:
    return sum(len(Path(p).read_text().splitlines()) for p in folder.files())


@workflow
def file_pipeline(count: int = 10, parts: int = 3) -> int:
    return count_lines(folder=split(source=write_lines(count=count), parts=parts))
