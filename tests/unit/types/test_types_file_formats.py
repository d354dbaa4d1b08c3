"""A File or Directory may name its format, as ``File["csv"]`` or flytekit's
``File[TypeVar("csv")]``: it is the same File (not pickled), its format is recorded in its
literal type, and the compiler connects a File of no format with any while two named formats
must agree (as in Flyte, whose checker also compares formats; ours ignores their case)."""

from __future__ import annotations

import pickle
import types
import typing
import warnings
from pathlib import Path

import pytest

from tests.unit.types.format_flows import CSV, formats
from wingspan import File, task, workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.literals import BlobDimensionality, BlobType
from wingspan.core.types import default_engine
from wingspan.core.types.text import parse_value


@pytest.fixture(params=["in-process", "local-process"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if request.param == "in-process" else request.param)
    return str(request.param)


PARQUET = typing.TypeVar("PARQUET")


# File["csv"] and File[CSV] as written in annotations (type checkers read those as types)
@pytest.mark.parametrize(("annotation", "named"), [
    (File.__class_getitem__("csv"), "csv"), (File.__class_getitem__(CSV), "CSV"), (File, "")],
    ids=["text", "typevar", "plain"])
def test_a_named_format_is_recorded_in_the_files_literal_type(annotation: typing.Any, named: str) -> None:
    assert default_engine().literal_type(annotation).value == BlobType(named, BlobDimensionality.SINGLE)


def test_files_of_a_format_pass_between_tasks_as_files(target: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pickled File would warn
        assert formats(rows=4) == (4, len("a,b\n0,0\n1,1\n2,4\n3,9\n"), 1)


def test_two_named_formats_that_differ_do_not_connect() -> None:
    @task
    def parquet_rows(table: File[PARQUET]) -> int:
        return 0

    @task
    def made() -> File[CSV]:
        return File("/dev/null")

    with pytest.raises(CompilationError, match=r"expects File\['PARQUET'\] but got .* of type File\['CSV'\]"):
        @workflow
        def mismatched() -> None:
            parquet_rows(table=made())


def test_a_path_given_as_text_reads_as_a_file_of_a_format(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n")
    given = parse_value(str(path), File.__class_getitem__("csv"), "table")
    assert isinstance(given, File) and given.path == str(path)


def test_a_format_is_named_as_flytekit_names_it() -> None:
    # flytekit strips a leading dot (and ~): File[".csv"] is a csv file, File[""] a file of no format
    assert File.__class_getitem__(".csv") is File.__class_getitem__("csv")
    assert File.__class_getitem__(" ~.csv") is File.__class_getitem__("csv")
    assert File.__class_getitem__("") is File and File.__class_getitem__(None) is File
    assert default_engine().literal_type(File.__class_getitem__(".csv")).value.format == "csv"


def test_an_annotation_of_a_format_pickles_as_itself() -> None:
    # a class made on use is not an attribute of its module, where pickle looks classes up
    csv = File.__class_getitem__("csv")
    assert pickle.loads(pickle.dumps(csv)) is csv
    nested = types.GenericAlias(list, (csv,)) | None  # list[File["csv"]] | None, as mypy lets it be
    assert pickle.loads(pickle.dumps(nested)) == nested
