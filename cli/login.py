"""``wingspan login`` and ``wingspan logout``: a person's tokens for a server.

Through the browser where one opens (authorization code with PKCE), else, or with
``--device``, the device flow. With ``WINGSPAN_CLIENT_ID`` and ``WINGSPAN_CLIENT_SECRET`` set
(CI), every command uses that service account on its own and ``login`` only checks it.
Tokens are cached per endpoint in ``$WINGSPAN_HOME/tokens.json`` (mode 0600), refreshed on
their own.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import click

from wingspan.cli.remote import ca_option, chosen_ca

__all__ = ["login", "logout"]


async def _http_url(endpoint: str | None) -> tuple[str, str, Any]:
    """The endpoint's gRPC address, the HTTP address it reports (GetVersion needs no token), and
    what checks that address's certificate (the system's CAs and --ca)."""
    from wingspan._remote.endpoint import resolve_endpoint
    from wingspan._remote.tokens import StaticToken
    from wingspan._remote.transport import Transport

    resolved = resolve_endpoint(endpoint, ca=chosen_ca())
    transport = Transport(resolved, tokens=StaticToken(""))
    try:
        await transport.call("get_version", _version_request(), "get the server's version")
        return transport.address, transport.http_address, resolved.http_verify()
    finally:
        await transport.aclose()


def _version_request() -> Any:
    from wingspan.protos import v1

    return v1.GetVersionRequest()


async def _open_browser(url: str) -> bool:
    import webbrowser

    click.echo(f"Opening the login page in your browser; if it does not open, visit:\n  {url}", err=True)
    return await asyncio.to_thread(webbrowser.open, url)


def _show_device(grant: dict[str, Any]) -> None:
    click.echo(f"To log in, open {grant['verification_uri']} and enter the code {grant['user_code']}\n"
               f"  (or open {grant['verification_uri_complete']})", err=True)


@click.command()
@click.argument("endpoint", required=False, metavar="[HOST:PORT]")
@ca_option
@click.option("--device", is_flag=True, help="log in with a code on another device instead of a browser here")
def login(endpoint: str | None, device: bool) -> None:
    """Log in to the server at ENDPOINT (default: $WINGSPAN_ENDPOINT, the config file, 127.0.0.1:8089)."""
    from wingspan._remote.login import login_with_browser, login_with_device
    from wingspan._remote.tokens import ClientCredentials, TokenCache
    from wingspan.core.errors import WingspanError

    async def run() -> str:
        address, http_url, verify = await _http_url(endpoint)
        if os.environ.get("WINGSPAN_CLIENT_ID") and os.environ.get("WINGSPAN_CLIENT_SECRET"):
            client_id, client_secret = os.environ["WINGSPAN_CLIENT_ID"], os.environ["WINGSPAN_CLIENT_SECRET"]
            await ClientCredentials(client_id, client_secret, http_url=http_url, verify=verify).token()
            return f"{address}: the service account {client_id} (WINGSPAN_CLIENT_ID) is used, nothing cached"
        cache = TokenCache.default()
        if device:
            await login_with_device(address, http_url, _show_device, cache=cache, verify=verify)
        else:
            try:
                await login_with_browser(address, http_url, _open_browser, cache=cache, verify=verify)
            except WingspanError as exc:
                if "no browser" not in str(exc):
                    raise
                await login_with_device(address, http_url, _show_device, cache=cache, verify=verify)
        return f"logged in to {address}; tokens cached in {cache.path}"

    try:
        click.echo(asyncio.run(run()), err=True)
    except WingspanError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.argument("endpoint", required=False, metavar="[HOST:PORT]")
@ca_option
def logout(endpoint: str | None) -> None:
    """End the login to ENDPOINT: its refresh token is given back to the server, and the tokens
    cached for it are forgotten."""
    from wingspan._remote.endpoint import resolve_endpoint
    from wingspan._remote.tokens import TokenCache, revoke
    from wingspan.core.errors import WingspanError

    resolved = resolve_endpoint(endpoint, ca=chosen_ca())
    address = resolved.address
    cache = TokenCache.default()
    entry = cache.get(address)
    note = ""
    if entry is not None:
        try:
            asyncio.run(revoke(entry, verify=resolved.http_verify()))
        except WingspanError as exc:
            note = f" (the server could not be told: {exc}; its tokens expire on their own)"
    cache.put(address, None)
    click.echo(f"logged out of {address}{note}", err=True)

