"""Tasks that write to the blob store directly and read it as streams and listings (issue #22
item 24), at module level so local-process workers and a server (from the registered file)
import them."""

from __future__ import annotations

import hashlib

from wingspan import Directory, File, task, workflow

MIB = 1024 * 1024


def pattern(mib: int) -> bytes:
    """The bytes write_large writes, for checking what came back."""
    return b"".join(bytes([i % 251]) * MIB for i in range(mib))


@task
def write_large(mib: int) -> File:
    made = File.new_remote("large.bin")
    with made.open("wb") as out:
        for i in range(mib):  # one MiB at a time: never the whole file in memory
            out.write(bytes([i % 251]) * MIB)
    return made


@task
def write_folder(count: int) -> Directory:
    folder = Directory.new_remote("parts")
    for i in range(count):
        with folder.new_file(f"part-{i}.txt").open("w") as out:
            out.write(f"part {i}")
    with folder.new_file("nested/deep.txt").open("w") as out:
        out.write("deep")
    return folder


@task
def summarise(large: File, folder: Directory) -> str:
    digest = hashlib.sha256()
    with large.open("rb") as source:
        while chunk := source.read(256 * 1024):
            digest.update(chunk)
    top = [f"{type(item).__name__}:{item.name}" for item in folder.listing()]
    crawled = sorted(item.name for item in folder.crawl())
    first = next(item for item in folder.listing() if isinstance(item, File))
    with first.open() as text:
        first_text = text.read()
    return f"{digest.hexdigest()}|{','.join(top)}|{','.join(crawled)}|{first_text}"


@workflow
def stream_and_list(mib: int, count: int) -> str:
    summary: str = summarise(large=write_large(mib=mib), folder=write_folder(count=count))
    return summary


@task
def never_written(x: int) -> File:
    return File.new_remote("empty.bin")


@workflow
def returns_unwritten(x: int) -> File:
    made: File = never_written(x=x)
    return made
