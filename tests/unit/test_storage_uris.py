"""Blob URIs: parsing, formatting, joining and the keys they may hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wingspan.core.storage.uris import (
    BlobUri,
    InvalidUriError,
    check_key,
    join_uri,
    parse_uri,
    relative_key,
)

segments = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/\x00"),
    min_size=1, max_size=20,
).filter(lambda s: s not in (".", ".."))
keys = st.lists(segments, min_size=1, max_size=5).map("/".join)
buckets = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True)


@given(keys)
def test_file_uri_round_trips(key: str) -> None:
    uri = BlobUri("file", "", key)
    text = str(uri)
    assert text.startswith("file:///")
    assert parse_uri(text) == uri
    assert str(parse_uri(text)) == text


@given(buckets, keys)
def test_s3_uri_round_trips(bucket: str, key: str) -> None:
    uri = BlobUri("s3", bucket, key)
    assert str(uri) == f"s3://{bucket}/{key}"
    assert parse_uri(str(uri)) == uri


@given(keys)
def test_file_uri_matches_pathlib(key: str) -> None:
    path = Path("/" + key)
    assert parse_uri(path.as_uri()).path == str(path)


@given(buckets, keys, keys)
def test_join_then_relative_key_gives_the_parts_back(bucket: str, base: str, rest: str) -> None:
    root = f"s3://{bucket}/{base}"
    joined = join_uri(root, rest)
    assert joined == f"s3://{bucket}/{base}/{rest}"
    assert relative_key(root, joined) == rest
    assert relative_key(root + "/", joined) == rest


def test_join_keeps_a_trailing_slash_and_handles_bucket_roots() -> None:
    assert join_uri("s3://bkt", "a", "b/") == "s3://bkt/a/b/"
    assert join_uri("s3://bkt/", "a/b") == "s3://bkt/a/b"
    assert join_uri("file:///", "tmp", "x y") == "file:///tmp/x%20y"


def test_relative_key_rejects_uris_outside_the_root() -> None:
    with pytest.raises(InvalidUriError, match="not below"):
        relative_key("s3://bkt/runs", "s3://bkt/runsx/a")
    with pytest.raises(InvalidUriError, match="not below"):
        relative_key("s3://bkt/runs", "s3://other/runs/a")
    with pytest.raises(InvalidUriError, match="not below"):
        relative_key("file:///data", "s3://bkt/data/a")


@pytest.mark.parametrize("text, message", [
    ("http://host/a", "expected one of file://, s3://"),
    ("/abs/path", "expected one of"),
    ("file://host/a", "no host"),
    ("file:///a/../b", "may not be empty, '.' or '..'"),
    ("file:///a//b", "may not be empty"),
    ("file:///a?x=1", "no query"),
    ("s3://Bad_Bucket/a", "invalid S3 bucket"),
    ("s3://ab/a", "invalid S3 bucket"),
    ("s3://bkt/", "empty blob key"),
    ("s3://bkt/a/./b", "'.'"),
    ("s3://bkt/a\x00b", "NUL"),
])
def test_invalid_uris_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidUriError, match=message.replace("?", r"\?")):
        parse_uri(text)


def test_prefixes_may_be_folders_but_objects_may_not() -> None:
    assert parse_uri("s3://bkt", prefix=True) == BlobUri("s3", "bkt", "")
    assert parse_uri("s3://bkt/a/", prefix=True).is_prefix
    assert not parse_uri("s3://bkt/a", prefix=True).is_prefix
    with pytest.raises(InvalidUriError):
        parse_uri("s3://bkt/a/")
    with pytest.raises(InvalidUriError):
        parse_uri("s3://bkt/a/b", prefix=True).child("..")


def test_invalid_uri_error_is_a_user_error_and_a_value_error() -> None:
    from wingspan.core.errors import UserError

    with pytest.raises(InvalidUriError) as info:
        check_key("a/../b")
    assert isinstance(info.value, UserError)
    assert isinstance(info.value, ValueError)
