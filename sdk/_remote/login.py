"""``wingspan login``: a person's tokens for a server, cached per endpoint.

Through the browser where there is one: the authorization code grant with PKCE, the server
redirecting the browser to a one-request listener on 127.0.0.1 (RFC 8252). Otherwise the
device grant: the CLI shows a code and a URL to open on any machine, and polls until the
person has entered it. The tokens land in the :class:`~wingspan._remote.tokens.TokenCache`
under the endpoint, where :class:`~wingspan._remote.tokens.StoredLogin` finds and refreshes them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from wingspan._remote.tokens import CLI_CLIENT_ID, TokenCache, Verify, discover, entry_from, post_token
from wingspan.core.errors import UnauthenticatedError, UserError

__all__ = ["DEVICE_GRANT", "login_with_browser", "login_with_device"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_PAGE = (b"<!doctype html><html><body><h1>Logged in to Wingspan</h1>"
         b"<p>You may close this page and return to the terminal.</p></body></html>")


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def login_with_browser(endpoint: str, http_url: str, open_browser: Callable[[str], Awaitable[bool]],
                             *, cache: TokenCache, wait_seconds: float = 300.0,
                             verify: Verify = True) -> None:
    """Authorization code with PKCE: ``open_browser(url)`` shows the server's login page (False:
    there is no browser, and nothing was done); the redirect lands on a listener here.
    ``verify`` checks the server's HTTPS certificate (a private CA's: ``endpoint.http_verify()``)."""
    metadata = await discover(http_url, verify=verify)
    verifier, challenge = _pkce_pair()
    state = secrets.token_urlsafe(16)
    received: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode("latin-1")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.split(" ")
            target = urllib.parse.urlsplit(parts[1] if len(parts) > 1 else "")
            query = dict(urllib.parse.parse_qsl(target.query))
            if query.get("state") == state and not received.done():
                received.set_result(query)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: "
                         + str(len(_PAGE)).encode() + b"\r\nconnection: close\r\n\r\n" + _PAGE)
            await writer.drain()
        finally:
            writer.close()

    listener = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        redirect_uri = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/callback"
        url = str(metadata["authorization_endpoint"]) + "?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": CLI_CLIENT_ID, "redirect_uri": redirect_uri,
            "code_challenge": challenge, "code_challenge_method": "S256", "state": state})
        if not await open_browser(url):
            raise UserError("no browser could be opened: log in with the device flow "
                            "(wingspan login --device)")
        try:
            query = await asyncio.wait_for(received, wait_seconds)
        except TimeoutError:
            raise UnauthenticatedError(
                f"no login came back within {wait_seconds:.0f} s: run wingspan login again") from None
    finally:
        listener.close()
        await listener.wait_closed()
    if "code" not in query:
        why = query.get("error_description") or query.get("error")
        raise UnauthenticatedError(f"the login was refused: {why}")
    token_url = str(metadata["token_endpoint"])
    body = await post_token(token_url, {
        "grant_type": "authorization_code", "code": query["code"], "code_verifier": verifier,
        "client_id": CLI_CLIENT_ID, "redirect_uri": redirect_uri}, verify=verify)
    cache.put(endpoint, entry_from(body, token_url, str(metadata.get("revocation_endpoint", ""))))


async def login_with_device(endpoint: str, http_url: str, show: Callable[[dict[str, Any]], None],
                            *, cache: TokenCache, verify: Verify = True) -> None:
    """The device grant: ``show`` tells the person where to go and which code to enter; this
    polls the token endpoint at the interval the server asks until they have."""
    metadata = await discover(http_url, verify=verify)
    async with httpx.AsyncClient(timeout=30, verify=verify) as http:
        started = await http.post(str(metadata["device_authorization_endpoint"]),
                                  data={"client_id": CLI_CLIENT_ID})
    if started.status_code != 200:
        raise UnauthenticatedError(f"the server refused a device login: {started.text[:200]}")
    grant: dict[str, Any] = started.json()
    show(grant)
    token_url = str(metadata["token_endpoint"])
    interval = float(grant.get("interval", 5))
    deadline = asyncio.get_running_loop().time() + float(grant.get("expires_in", 600))
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(interval)
        try:
            body = await post_token(token_url, {
                "grant_type": DEVICE_GRANT, "device_code": grant["device_code"], "client_id": CLI_CLIENT_ID},
                verify=verify)
        except UnauthenticatedError as exc:
            if "authorization_pending" in str(exc):
                continue
            if "slow_down" in str(exc):
                interval += 5
                continue
            raise
        cache.put(endpoint, entry_from(body, token_url, str(metadata.get("revocation_endpoint", ""))))
        return
    raise UnauthenticatedError("the device code expired before it was entered: run wingspan login again")
