"""File, Directory and DataFrame as fields of dataclasses and pydantic models, and a str given
where a File or Directory is expected (issue #22, item 12)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import anyio
import pandas as pd
import pydantic
import pytest

from tests.unit.types.exactness import round_trip
from wingspan import task, workflow
from wingspan.core.errors import TypeTransformerError
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import TransferContext, default_engine
from wingspan.core.types.files import Directory, File
from wingspan.core.types.frames import DataFrame


@pytest.fixture
def ctx(tmp_path: Path) -> TransferContext:
    store = LocalBlobStore(tmp_path / "blobs")
    return TransferContext(store=store, prefix=store.uri("data"), download_dir=tmp_path / "downloads")


@dataclasses.dataclass
class Report:
    title: str
    body: File
    pages: Directory
    table: DataFrame


class ReportModel(pydantic.BaseModel):
    title: str
    body: File
    pages: Directory
    table: DataFrame
    extra: File | None = None


def sample(tmp_path: Path) -> tuple[File, Directory, DataFrame]:
    (tmp_path / "body.txt").write_text("hello")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "1.txt").write_text("one")
    return (File(tmp_path / "body.txt"), Directory(tmp_path / "pages"),
            DataFrame(pd.DataFrame({"a": [1, 2]})))


async def check(back: Report | ReportModel) -> None:
    assert back.title == "t"
    assert type(back.body) is File and back.body.uri is not None
    assert await anyio.Path(await back.body.download_async()).read_text() == "hello"
    assert type(back.pages) is Directory
    folder = anyio.Path(await back.pages.download_async())
    assert await (folder / "1.txt").read_text() == "one"
    assert type(back.table) is DataFrame
    assert back.table.uri is not None
    assert (await anyio.to_thread.run_sync(back.table.to_pandas))["a"].tolist() == [1, 2]


async def test_files_directories_and_frames_as_dataclass_fields(ctx: TransferContext, tmp_path: Path) -> None:
    body, pages, table = sample(tmp_path)
    back, literal = await round_trip(Report("t", body, pages, table), Report, ctx)
    assert type(back) is Report
    assert [f.value.kind for f in literal.value.fields] == ["string", "blob", "blob", "structured_dataset"]
    await check(back)


async def test_files_directories_and_frames_as_pydantic_fields(ctx: TransferContext, tmp_path: Path) -> None:
    body, pages, table = sample(tmp_path)
    back, literal = await round_trip(ReportModel(title="t", body=body, pages=pages, table=table),
                                     ReportModel, ctx)
    assert type(back) is ReportModel and back.extra is None
    assert [f.value.kind for f in literal.value.fields] == [
        "string", "blob", "blob", "structured_dataset", "union"]
    await check(back)


def test_a_pydantic_model_reads_paths_for_files_and_writes_them_back(tmp_path: Path) -> None:
    model = ReportModel.model_validate({"title": "t", "body": str(tmp_path / "b.txt"),
                                        "pages": tmp_path / "pages", "table": DataFrame(uri="s3://b/k"),
                                        "extra": "s3://bucket/x.csv"})
    assert model.body == File(tmp_path / "b.txt") and model.pages == Directory(tmp_path / "pages")
    assert model.extra == File("s3://bucket/x.csv")
    dumped = model.model_dump(mode="json")
    assert dumped["body"] == str(tmp_path / "b.txt") and dumped["extra"] == "s3://bucket/x.csv"
    assert dumped["table"] == "s3://b/k"
    schema = ReportModel.model_json_schema()["properties"]
    assert schema["body"] == {"title": "Body", "type": "string", "format": "path-or-uri"}


def test_a_pydantic_model_refuses_what_is_no_file_naming_the_field() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"body\n.*a File is given as a File, a path "
                                                       r"or a URI, not int"):
        ReportModel.model_validate({"title": "t", "body": 3, "pages": "p", "table": DataFrame(uri="u")})


async def test_a_str_for_a_file_or_directory_is_its_path_or_uri(ctx: TransferContext, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "d").mkdir()
    back, literal = await round_trip(str(tmp_path / "a.txt"), File, ctx)
    assert type(back) is File and literal.value.uri == ctx.uploaded[0]
    back, _ = await round_trip(str(tmp_path / "d"), Directory, ctx)
    assert type(back) is Directory
    remote = await default_engine().to_literal("s3://bucket/data.csv", File, ctx, name="f")
    assert remote.value.uri == "s3://bucket/data.csv"
    # a union with str keeps a str a str
    tagged = await default_engine().to_literal("s3://bucket/data.csv", File | str, ctx, name="f")
    assert tagged.value.tag == "str"
    with pytest.raises(TypeTransformerError, match=r"'f': expected File of an existing file.*no such file"):
        await default_engine().to_literal(str(tmp_path / "nope.txt"), File, ctx, name="f")


@task
def write_report(title: str) -> Report:
    Path("body.txt").write_text(title * 2)
    Path("pages").mkdir(exist_ok=True)
    Path("pages", "p.txt").write_text(title)
    return Report(title, File("body.txt"), Directory("pages"), DataFrame(pd.DataFrame({"n": [len(title)]})))


@task
def read_report(report: Report) -> str:
    pages = sorted(Path(p).read_text() for p in report.pages.files())
    return f"{Path(report.body).read_text()}|{','.join(pages)}|{report.table.to_pandas()['n'].tolist()}"


@task
def wrap(report: Report) -> ReportModel:
    return ReportModel(title=report.title, body=report.body, pages=report.pages, table=report.table)


@task
def read_model(model: ReportModel) -> str:
    return Path(model.body).read_text() + str(len(model.pages.files()))


@task
def size_of(source: File) -> int:
    return len(Path(source).read_text())


@workflow
def reports(title: str) -> tuple[str, str]:
    report = write_report(title=title)
    return read_report(report=report), read_model(model=wrap(report=report))


def test_records_holding_files_pass_between_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert reports(title="ab") == ("abab|ab|[2]", "abab1")


def test_a_task_called_with_a_path_reads_it_as_a_file(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("four")
    assert size_of(source=str(tmp_path / "in.txt")) == 4


@task
def kind_of(source: File, sources: list[File], maybe: File | None, folder: Directory) -> str:
    return ",".join(type(v).__name__ for v in (source, *sources, maybe, folder))


@task
def text_path(folder: str) -> File:
    Path(folder, "made.txt").write_text("made")
    return str(Path(folder, "made.txt"))  # type: ignore[return-value]


@task
def read_file(source: File) -> str:
    return f"{type(source).__name__}:{Path(source.download()).read_text()}"


def test_paths_given_as_text_reach_tasks_as_files_as_on_a_server(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    path = str(tmp_path / "a.txt")
    assert kind_of(source=path, sources=[path, File(path)], maybe=path, folder=str(tmp_path)) == (
        "File,File,File,File,Directory")

    @workflow
    def made(folder: str) -> str:
        return read_file(source=text_path(folder=folder))  # type: ignore[no-any-return]

    assert made(folder=str(tmp_path)) == "File:made"
