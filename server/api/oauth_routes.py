"""The authorization server's HTTP face: ``/oauth2/*`` and ``/.well-known/*``.

Routes parse forms and answer (JSON for clients, small HTML pages for people); every rule is
in :mod:`wingspan.server.auth.oauth`. Token answers are never cached (``Cache-Control:
no-store``); pages may not be framed. Cross-site form posts are refused before these routes
by :mod:`.http_access` (a foreign Origin), which is the login forms' CSRF guard.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from wingspan.server.auth.oauth import AuthorizationRequest, LoginRefusedError, OAuthError
from wingspan.server.auth.service import AuthService
from wingspan.server.auth.throttle import LoginThrottledError

__all__ = ["oauth_routes"]

_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
_PAGE_HEADERS = {**_NO_STORE, "x-frame-options": "DENY", "content-security-policy": "frame-ancestors 'none'"}


def _json(body: Mapping[str, Any], status: int = 200) -> Response[bytes]:
    return Response(json.dumps(body).encode(), status_code=status, media_type="application/json",
                    headers=_NO_STORE)


def _page(title: str, body: str, status: int = 200) -> Response[bytes]:
    text = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return Response(text.encode(), status_code=status, media_type="text/html", headers=_PAGE_HEADERS)


def _login_form(
        action: str, hidden: Mapping[str, str], message: str = "", user_code: str | None = None) -> str:
    fields = "".join(f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                     for k, v in hidden.items())
    code = ("<label>Code <input name='user_code' autocomplete='off' value='"
            f"{html.escape(user_code)}'></label><br>") if user_code is not None else ""
    shown = f"<p role='alert'>{html.escape(message)}</p>" if message else ""
    return (f"{shown}<form method='post' action='{html.escape(action)}'>{fields}{code}"
            "<label>User <input name='username' autocomplete='username'></label><br>"
            "<label>Password <input name='password' type='password' autocomplete='current-password'>"
            "</label><br><button type='submit'>Log in</button></form>")


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {str(k): str(v) for k, v in form.items() if isinstance(v, str)}


def _basic(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    """A client's id and secret from HTTP Basic (each form-urlencoded first, RFC 6749 2.3.1)."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic credentials are not base64", status=401) from None
    client_id, _, secret = decoded.partition(":")
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


def oauth_routes(auth: AuthService) -> list[HTTPRouteHandler]:
    server = auth.server

    @get(["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"],
         include_in_schema=False)
    async def metadata() -> Response[bytes]:
        return Response(json.dumps(server.metadata()).encode(), media_type="application/json")

    @get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks() -> Response[bytes]:
        return Response(json.dumps(await auth.keys.jwks()).encode(), media_type="application/json",
                        headers={"cache-control": "max-age=60"})

    @post("/oauth2/token", include_in_schema=False, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            return _json(await server.token(await _form(request), _basic(request)))
        except OAuthError as exc:
            answer = _json(exc.body(), exc.status)
            if exc.status == 401:
                answer.headers["www-authenticate"] = 'Basic realm="wingspan"'
            return answer

    @post("/oauth2/revoke", include_in_schema=False, status_code=200)
    async def revoke(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            await server.revoke(await _form(request))
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        return _json({})

    @post("/oauth2/device_authorization", include_in_schema=False, status_code=200)
    async def device_authorization(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            return _json(await server.device_authorization(await _form(request)))
        except OAuthError as exc:
            return _json(exc.body(), exc.status)

    @get("/oauth2/authorize", include_in_schema=False)
    async def authorize_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        params = {k: str(v) for k, v in request.query_params.items()}
        try:
            checked = server.authorization_request(params)
        except OAuthError as exc:
            return _page("Cannot log in", f"<p>{html.escape(exc.description)}</p>", 400)
        return _page("Log in to Wingspan", _login_form("/oauth2/authorize", _hidden(checked)))

    @post("/oauth2/authorize", include_in_schema=False, status_code=302)
    async def authorize(request: Request[Any, Any, Any]) -> Response[bytes]:
        form = await _form(request)
        try:
            checked = server.authorization_request(form)
        except OAuthError as exc:
            return _page("Cannot log in", f"<p>{html.escape(exc.description)}</p>", 400)
        try:
            target = await server.authorize(checked, form.get("username", ""), form.get("password", ""),
                                            address=_address(request))
        except LoginRefusedError as exc:
            again = _login_form("/oauth2/authorize", _hidden(checked), str(exc))
            return _page("Log in to Wingspan", again, 401)
        except LoginThrottledError as exc:
            return _throttled(exc, _login_form("/oauth2/authorize", _hidden(checked), str(exc)))
        return Response(b"", status_code=302, headers={**_NO_STORE, "location": target})

    @get("/oauth2/device", include_in_schema=False)
    async def device_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        code = str(request.query_params.get("user_code", ""))
        return _page("Connect a device", _login_form("/oauth2/device", {}, user_code=code))

    @post("/oauth2/device", include_in_schema=False, status_code=200)
    async def device_approve(request: Request[Any, Any, Any]) -> Response[bytes]:
        form = await _form(request)
        try:
            await server.approve_device(form.get("user_code", ""), form.get("username", ""),
                                        form.get("password", ""), address=_address(request))
        except LoginRefusedError as exc:
            again = _login_form("/oauth2/device", {}, str(exc), user_code=form.get("user_code", ""))
            return _page("Connect a device", again, 401)
        except LoginThrottledError as exc:
            shown = _login_form("/oauth2/device", {}, str(exc), user_code=form.get("user_code", ""))
            return _throttled(exc, shown)
        return _page("Device connected", "<p>You may close this page and return to your device.</p>")

    return [metadata, jwks, token, revoke, device_authorization, authorize_page, authorize, device_page,
            device_approve]


def _address(request: Request[Any, Any, Any]) -> str:
    """The client's address, which password tries are counted against (a proxy's own, behind one)."""
    return request.client.host if request.client is not None else ""


def _throttled(exc: LoginThrottledError, form: str) -> Response[bytes]:
    answer = _page("Log in to Wingspan", form, 429)
    answer.headers["retry-after"] = str(exc.retry_after)
    return answer


def _hidden(request: AuthorizationRequest) -> dict[str, str]:
    return {"response_type": "code", "client_id": request.client_id, "redirect_uri": request.redirect_uri,
            "code_challenge": request.code_challenge, "code_challenge_method": "S256", "state": request.state,
            "scope": request.scope}
