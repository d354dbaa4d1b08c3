"""The OAuth2 flows as a client runs them against a live server, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import re
import secrets
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.unit.auth.used_secrets import secret

CLI = "wingspan-cli"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@asynccontextmanager
async def loopback_receiver() -> AsyncIterator[tuple[str, asyncio.Future[dict[str, str]]]]:
    """A one-request HTTP listener on 127.0.0.1 (the CLI's redirect target): yields its URL and
    the query it will receive."""
    received: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        target = line.split(" ")[1]
        if not received.done():
            received.set_result(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query)))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nlogged in")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/callback", received
    finally:
        server.close()
        await server.wait_closed()


async def authorization_code(http_url: str, user: str, password: str) -> dict[str, Any]:
    """PKCE through the browser's steps: the login page, the form post, the redirect followed
    to the loopback listener, and the code exchanged with its verifier."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    async with loopback_receiver() as (redirect_uri, received), \
            httpx.AsyncClient(base_url=http_url, timeout=30, follow_redirects=True) as browser:
        query = {"response_type": "code", "client_id": CLI, "redirect_uri": redirect_uri,
                 "code_challenge": challenge, "code_challenge_method": "S256", "state": state}
        page = await browser.get("/oauth2/authorize", params=query)
        assert page.status_code == 200 and "<form" in page.text, page.text
        landed = await browser.post("/oauth2/authorize",
                                    data={**query, "username": user, "password": password})
        assert landed.status_code == 200 and landed.text == "logged in", landed.text
        assert [r.status_code for r in landed.history] == [302]
        got = await asyncio.wait_for(received, 10)
    assert got["state"] == state
    code = secret(got["code"])
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(f"{http_url}/oauth2/token", data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "client_id": CLI, "redirect_uri": redirect_uri})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body: dict[str, Any] = answer.json()
    secret(body["access_token"])
    secret(body["refresh_token"])
    return body


async def client_credentials(http_url: str, client_id: str, client_secret: str) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(f"{http_url}/oauth2/token", data={"grant_type": "client_credentials"},
                                   auth=(client_id, client_secret))
    assert answer.status_code == 200, answer.text
    assert "refresh_token" not in answer.json()
    return secret(answer.json()["access_token"])


async def token_form(http_url: str, form: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(f"{http_url}/oauth2/token", data=form)
    if answer.status_code == 200:
        for name in ("access_token", "refresh_token"):
            if name in answer.json():
                secret(answer.json()[name])
    return answer


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a login page's form, as a browser submits them."""
    return {html.unescape(name): html.unescape(value)
            for name, value in re.findall(r"<input type='hidden' name='([^']*)' value='([^']*)'>", page)}


async def console_login(browser: httpx.AsyncClient, user: str, password: str,
                        next_path: str = "/console/") -> httpx.Response:
    """What a person's browser does to log in to the console: /auth/login, the login page, the form
    posted, the redirects followed through /auth/callback to ``next``. Returns the last answer
    (its history holds the callback's, with the cookies it set)."""
    page = await browser.get("/auth/login", params={"next": next_path})
    assert page.status_code == 200 and "<form" in page.text, page.text
    assert [r.status_code for r in page.history] == [303]
    landed = await browser.post("/oauth2/authorize",
                                data={**hidden_fields(page.text), "username": user, "password": password})
    assert [r.status_code for r in landed.history] == [302, 303], (landed.status_code, landed.text)
    for name in ("wingspan_session", "wingspan_csrf"):
        value = browser.cookies.get(name)
        assert value, name
        secret(value)
    return landed
