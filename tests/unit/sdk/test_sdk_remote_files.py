"""A File naming an http(s) or object-store URL, given to a local run, is read from there
(issue #22 item 4), whatever runs the task (inline, a thread, a worker process); a URL
this process cannot read is refused before the run, naming the input and the URL."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wingspan import Directory, File, task, workflow
from wingspan.core.errors import ExecutionFailedError, UserError


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("site")
    (root / "data.txt").write_text("hello over http")
    (root / "more.txt").write_text("more")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(params=["in-process", "local-process"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if request.param == "in-process" else request.param)
    for name in ("WINGSPAN_S3_ENDPOINT", "WINGSPAN_STORAGE"):
        monkeypatch.delenv(name, raising=False)
    return str(request.param)


@task
def text_of(source: File) -> str:
    return Path(source.download()).read_text()


@task
def texts_of(sources: list[File]) -> list[str]:
    return [Path(s.download()).read_text() for s in sources]


@workflow
def read_both(first: File, second: File) -> tuple[str, list[str]]:
    return text_of(source=first), texts_of(sources=[first, second])


@workflow
def read_one(source: File) -> str:
    result: str = text_of(source=source)
    return result


def test_an_http_file_is_read_by_a_task_called_directly(site: str, target: str) -> None:
    # a task on its own runs inline on the engine's thread unless it fetches data
    assert text_of(source=File(f"{site}/data.txt")) == "hello over http"


def test_http_files_are_read_in_a_workflow_and_in_lists(site: str, target: str) -> None:
    assert read_one(source=File(f"{site}/data.txt")) == "hello over http"
    assert read_both(first=File(f"{site}/data.txt"), second=File(f"{site}/more.txt")) == (
        "hello over http", ["hello over http", "more"])


def test_a_missing_http_file_fails_naming_the_url(site: str, target: str) -> None:
    with pytest.raises(ExecutionFailedError, match=r"File http://127\.0\.0\.1:\d+/nope\.txt cannot be read: "
                                                   r"the server answered 404"):
        read_one(source=File(f"{site}/nope.txt"))


@pytest.mark.parametrize(("url", "why"), [
    ("s3://bucket/data.csv", "no S3 endpoint is configured: set WINGSPAN_S3_ENDPOINT"),
    ("hdfs://bucket/data.csv",
     r"no blob store serves hdfs:// URLs \(http\(s\), s3, abfs, gs and file ones are read\)"),
])
def test_an_unreadable_url_is_refused_before_the_run_naming_input_and_url(target: str, url: str,
                                                                         why: str) -> None:
    with pytest.raises(UserError, match=rf"workflow '.*read_one', input 'source': File\('{url}'\) "
                                        rf"cannot be read here: {why}"):
        read_one(source=File(url))


@task
def count_files(folder: Directory) -> int:
    return len(folder.files())


def test_a_folder_cannot_be_an_http_url(site: str, target: str) -> None:
    with pytest.raises(UserError, match=r"input 'folder': Directory\('http://.*'\) cannot be read here: an "
                                        r"http\(s\) URL is a single file, not a folder"):
        count_files(folder=Directory(f"{site}/"))
