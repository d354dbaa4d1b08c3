"""Password logins are limited per account and per client address (issue #18): too many wrong
passwords and the next tries are refused, 429 with Retry-After, before any password is checked;
each refusal is audited."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.auth.conftest import PASSWORDS
from tests.unit.auth.flows import CLI, hidden_fields, pkce_pair
from wingspan.server.auth.audit import AuditQuery
from wingspan.server.auth.throttle import LoginThrottle, LoginThrottledError
from wingspan.server.serve import ApiServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_account_is_slowed_down_after_its_limit_until_its_oldest_failure_ages_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(account_limit=3, address_limit=100, window_seconds=60, clock=clock)
    for _ in range(3):
        throttle.check("vic", "10.0.0.1")
        throttle.failed("vic", "10.0.0.1")
        clock.now += 10
    with pytest.raises(LoginThrottledError, match="account 'vic' lately: try again in 30 seconds") as info:
        throttle.check("vic", "10.0.0.2")  # from anywhere
    assert info.value.retry_after == 30
    throttle.check("ada", "10.0.0.1")  # another account from that address may still try
    clock.now += 30
    throttle.check("vic", "10.0.0.1")


def test_an_address_is_slowed_down_across_accounts_and_a_right_password_clears_its_account_only() -> None:
    clock = Clock()
    throttle = LoginThrottle(account_limit=2, address_limit=3, window_seconds=60, clock=clock)
    throttle.failed("vic", "10.0.0.1")
    throttle.succeeded("vic")
    throttle.failed("vic", "10.0.0.1")
    throttle.check("vic", "10.0.0.2")  # one failure since the right password: below the limit
    throttle.failed("ada", "10.0.0.1")
    with pytest.raises(LoginThrottledError, match="this address"):
        throttle.check("olga", "10.0.0.1")
    throttle.check("olga", "10.0.0.9")


async def test_wrong_passwords_on_the_login_page_are_throttled_with_retry_after_and_audited(
        secured: ApiServer) -> None:
    _, challenge = pkce_pair()
    query = {"response_type": "code", "client_id": CLI, "redirect_uri": "http://127.0.0.1:9/callback",
             "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"}
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as browser:
        page = await browser.get("/oauth2/authorize", params=query)
        form = hidden_fields(page.text)
        for _ in range(5):
            wrong = await browser.post("/oauth2/authorize",
                                       data={**form, "username": "vic", "password": "guess"})
            assert wrong.status_code == 401
        # now even the right password is refused, saying when to come back
        right = {**form, "username": "vic", "password": PASSWORDS["vic"]}
        refused = await browser.post("/oauth2/authorize", data=right)
        assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 900
        assert "too many wrong passwords for the account" in refused.text
        device = await browser.post("/oauth2/device", data={"user_code": "BCDF-GHJK", **right})
        assert device.status_code == 429 and "retry-after" in device.headers
        # another person logs in from the same address
        alice = await browser.post("/oauth2/authorize", data={**form, "username": "alice",
                                                              "password": PASSWORDS["alice"]})
        assert alice.status_code == 302
    assert secured.auth is not None
    logins = await secured.auth.audit_events(AuditQuery(method="Login"))
    assert [(e.principal, e.name, e.result) for e in logins.events] == [
        ("alice", CLI, "OK"), ("vic", CLI, "RESOURCE_EXHAUSTED"), ("vic", CLI, "RESOURCE_EXHAUSTED"),
        *[("vic", CLI, "UNAUTHENTICATED")] * 5]
