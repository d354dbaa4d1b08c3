"""Decimal, typing.Literal, Optional[File], Union and frame inputs read from a command line
(``wingspan run --x VALUE``) and from JSON (a record's fields), as flytekit users write them."""

from __future__ import annotations

import dataclasses
import decimal
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import pandas as pd
import pytest

from wingspan.core.types.files import File
from wingspan.core.types.frames import DataFrame
from wingspan.core.types.text import parse_value


@dataclasses.dataclass
class Order:
    price: decimal.Decimal
    side: Literal["buy", "sell"] = "buy"


def test_a_decimal_is_read_by_its_text_exactly() -> None:
    assert parse_value("0.1", decimal.Decimal, "price") == decimal.Decimal("0.1")


def test_a_malformed_decimal_names_the_flag() -> None:
    with pytest.raises(ValueError, match=r"--price: .*not a decimal number"):
        parse_value("1.2.3", decimal.Decimal, "price")


def test_a_literal_choice_is_read_and_others_refused() -> None:
    assert parse_value("sell", Literal["buy", "sell"], "side") == "sell"
    with pytest.raises(ValueError, match=r"--side: .*use one of 'buy', 'sell'"):
        parse_value("hold", Literal["buy", "sell"], "side")


def test_a_literal_of_ints_is_read_from_its_text() -> None:
    value = parse_value("2", Literal[1, 2], "level")
    assert value == 2 and type(value) is int


def test_record_fields_of_decimal_and_literal_are_read_from_json() -> None:
    order = parse_value('{"price": 0.1, "side": "sell"}', Order, "order")
    assert order == Order(price=decimal.Decimal("0.1"), side="sell")
    with pytest.raises(ValueError, match="field 'side'"):
        parse_value('{"price": 1, "side": "hold"}', Order, "order")


def test_an_optional_file_is_read_from_its_path(tmp_path: Path) -> None:
    source = tmp_path / "one.txt"
    source.write_text("1")
    value = parse_value(str(source), Optional[File], "f")  # noqa: UP045 (flytekit users' spelling)
    assert isinstance(value, File) and value.path == str(source)
    assert parse_value("null", File | None, "f") is None
    with pytest.raises(ValueError, match="as File: no such file"):
        parse_value(str(tmp_path / "missing.txt"), File | None, "f")


def test_a_union_with_str_takes_plain_words_and_json_first() -> None:
    choice = Union[int, str, list[int]]  # noqa: UP007 (flytekit users' spelling)
    assert parse_value("hello", choice, "x") == "hello"
    assert parse_value("5", choice, "x") == 5
    assert parse_value("[1, 2]", choice, "x") == [1, 2]


@dataclasses.dataclass
class Inputs:
    frames: dict[str, DataFrame]


def test_frames_are_read_from_parquet_or_csv_paths_as_flytekit_run_takes_them(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    df.to_parquet(tmp_path / "in.parquet")
    df.to_csv(tmp_path / "in.csv", index=False)
    lazy = parse_value(str(tmp_path / "in.parquet"), Annotated[DataFrame, {"a": int}], "df")
    assert isinstance(lazy, DataFrame) and lazy.to_pandas().equals(df)
    assert parse_value(str(tmp_path / "in.csv"), pd.DataFrame, "df").equals(df)
    listed = parse_value(f'["{tmp_path / "in.parquet"}"]', list[pd.DataFrame], "dfs")
    assert listed[0].equals(df)
    record = parse_value(f'{{"frames": {{"k": "{tmp_path / "in.parquet"}"}}}}', Inputs, "r")
    assert record.frames["k"].to_pandas().equals(df)
    with pytest.raises(ValueError, match=r"--df: .*give the path of a \.parquet or \.csv file"):
        parse_value(str(tmp_path / "missing.parquet"), pd.DataFrame, "df")


@dataclasses.dataclass
class Hyper:
    sizes: tuple[int, ...] = (1,)
    pair: tuple[int, str] = (0, "")


def test_tuple_fields_are_read_from_json_arrays() -> None:
    hyper = parse_value('{"sizes": [3, 4], "pair": [1, "a"]}', Hyper, "h")
    assert hyper == Hyper(sizes=(3, 4), pair=(1, "a"))
    with pytest.raises(ValueError, match="field 'pair': expected 2 items, got 1"):
        parse_value('{"pair": [1]}', Hyper, "h")
