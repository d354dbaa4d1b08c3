"""Signed URLs of the local blob store: what verify accepts and what it rejects."""

from __future__ import annotations

import stat
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError, UserError
from wingspan.core.storage.signing import (
    KEY_FILE_NAME,
    SignatureError,
    UrlSigner,
    load_signing_key,
    verify,
)

SECRET = b"0123456789abcdef0123456789abcdef"
signer = UrlSigner(SECRET, "http://127.0.0.1:8080/")


def test_a_signed_url_verifies_and_names_its_key_method_and_expiry() -> None:
    url = signer.sign("runs/r1/out.bin", method="PUT", expires_in=timedelta(minutes=5), now=1000)
    assert url.startswith("http://127.0.0.1:8080/api/v1/blobs/runs/r1/out.bin?method=PUT")
    granted = signer.verify(url, request_method="PUT", now=1000)
    assert (granted.key, granted.method, granted.expires) == ("runs/r1/out.bin", "PUT", 1300)


def test_the_server_may_verify_the_request_target_alone() -> None:
    url = signer.sign("a b/c%d.txt")
    parts = urlsplit(url)
    assert verify(f"{parts.path}?{parts.query}", SECRET, request_method="GET").key == "a b/c%d.txt"


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"],
                                               blacklist_characters="/\x00"),
                        min_size=1, max_size=12).filter(lambda s: s not in (".", "..")),
                min_size=1, max_size=4).map("/".join))
def test_any_valid_key_survives_signing(key: str) -> None:
    assert signer.verify(signer.sign(key)).key == key


def test_an_expired_url_is_rejected() -> None:
    url = signer.sign("a.bin", expires_in=timedelta(seconds=10), now=1000)
    assert signer.verify(url, now=1009).key == "a.bin"
    with pytest.raises(SignatureError, match="expired"):
        signer.verify(url, now=1010)


@pytest.mark.parametrize("old, new", [
    ("/blobs/a.bin", "/blobs/b.bin"),        # another blob
    ("method=GET", "method=PUT"),            # another method
    ("expires=", "expires=9"),               # a later expiry
])
def test_a_tampered_url_is_rejected(old: str, new: str) -> None:
    url = signer.sign("a.bin", method="GET")
    with pytest.raises(SignatureError, match="wrong signature"):
        signer.verify(url.replace(old, new, 1))


def test_a_url_signed_with_another_key_is_rejected() -> None:
    other = UrlSigner(b"another-secret-of-enough-length", "http://x")
    with pytest.raises(SignatureError, match="wrong signature"):
        signer.verify(other.sign("a.bin"))


def test_a_url_is_good_only_for_the_method_it_was_signed_for() -> None:
    get_url = signer.sign("a.bin", method="GET")
    assert signer.verify(get_url, request_method="HEAD").method == "GET"
    with pytest.raises(SignatureError, match="signed for GET, not for PUT"):
        signer.verify(get_url, request_method="PUT")


@pytest.mark.parametrize("target, message", [
    ("/other/a.bin?method=GET&expires=1&signature=x", "must start with /api/v1/blobs/"),
    ("/api/v1/blobs/a/../etc/passwd?method=GET&expires=9999999999&signature=x", "invalid blob key"),
    ("/api/v1/blobs/a.bin?method=GET&expires=9999999999", "exactly one 'signature'"),
    ("/api/v1/blobs/a.bin?method=GET&method=PUT&expires=1&signature=x", "exactly one 'method'"),
    ("/api/v1/blobs/a.bin?method=DELETE&expires=1&signature=x", "unknown method"),
    ("/api/v1/blobs/a.bin?method=GET&expires=soon&signature=x", "non-integer"),
])
def test_malformed_urls_are_rejected(target: str, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verify(target, SECRET)


def test_signature_error_is_a_user_error_and_a_permission_error() -> None:
    assert issubclass(SignatureError, UserError)
    assert issubclass(SignatureError, PermissionError)


def test_sign_refuses_unbounded_or_negative_lifetimes() -> None:
    with pytest.raises(ValueError, match="at most"):
        signer.sign("a", expires_in=timedelta(days=8))
    with pytest.raises(ValueError, match="positive"):
        signer.sign("a", expires_in=timedelta(seconds=-1))


def test_sign_uses_the_current_time_by_default() -> None:
    url = signer.sign("a", expires_in=timedelta(seconds=60))
    expires = signer.verify(url).expires
    assert time.time() + 55 < expires <= time.time() + 60


def test_the_key_from_settings_wins(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, signing_key="a-configured-key-of-32-characters")
    assert load_signing_key(settings) == b"a-configured-key-of-32-characters"
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_a_short_configured_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        load_signing_key(Settings(home=tmp_path, signing_key="short"))


def test_a_generated_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = load_signing_key(settings)
    path = tmp_path / "home" / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(settings) == first
    assert len(first) >= 32
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_racing_processes_agree_on_one_generated_key(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_signing_key(settings), range(16)))
    assert len(keys) == 1


def test_signers_from_the_same_settings_trust_each_other(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, http_host="10.0.0.5", http_port=9999)
    url = UrlSigner.from_settings(settings).sign("x/y")
    assert url.startswith("http://10.0.0.5:9999/api/v1/blobs/x/y?")
    assert UrlSigner.from_settings(settings).verify(url).key == "x/y"
