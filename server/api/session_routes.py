"""The web console's login on HTTP: ``/auth/login``, ``/auth/callback``, ``/auth/logout`` and
``/auth/whoami``.

The routes set and clear cookies and answer; the flow and the sessions are
:mod:`wingspan.server.auth.sessions`. The session cookie is HttpOnly and SameSite=Lax (it must
come along on the top-level navigation back from a login page), the CSRF cookie readable by the
console's scripts and SameSite=Strict; both are Secure when the server is reached over TLS.
With authentication off there is nothing to log in to: ``/auth/login`` goes straight to
``next``, and ``/auth/whoami`` names the anonymous caller.
"""

from __future__ import annotations

import html
import json
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.handlers import HTTPRouteHandler

from wingspan.server.api.authentication import CSRF_COOKIE, SESSION_COOKIE
from wingspan.server.auth.oauth import CONSOLE_CALLBACK, OAuthError
from wingspan.server.auth.principal import current_principal
from wingspan.server.auth.service import AuthService
from wingspan.server.auth.sessions import LOGIN_SECONDS, safe_next

__all__ = ["session_routes"]

#: the login in progress (state, PKCE verifier, destination), sent back to the callback only
LOGIN_COOKIE = "wingspan_login"
_NO_STORE = {"cache-control": "no-store"}


def _redirect(location: str, cookies: list[Cookie] | None = None) -> Response[bytes]:
    return Response(b"", status_code=303, headers={**_NO_STORE, "location": location}, cookies=cookies or [])


def _gone(key: str, path: str, secure: bool) -> Cookie:
    return Cookie(key=key, value="", path=path, max_age=0, expires=0, secure=secure, httponly=True,
                  samesite="lax")


def session_routes(auth: AuthService) -> list[HTTPRouteHandler]:
    def secure(request: Request[Any, Any, Any]) -> bool:
        return request.url.scheme == "https" or auth.server.base_url.startswith("https://")

    @get("/auth/login", include_in_schema=False)
    async def login(request: Request[Any, Any, Any]) -> Response[bytes]:
        wanted = str(request.query_params.get("next", ""))
        if not auth.required:
            return _redirect(safe_next(wanted))
        pending = await auth.console_login.start(wanted)
        return _redirect(pending.authorize_url, [Cookie(
            key=LOGIN_COOKIE, value=pending.cookie, path=CONSOLE_CALLBACK, max_age=LOGIN_SECONDS,
            secure=secure(request), httponly=True, samesite="lax")])

    @get(CONSOLE_CALLBACK, include_in_schema=False)
    async def callback(request: Request[Any, Any, Any]) -> Response[bytes]:
        query = {k: str(v) for k, v in request.query_params.items()}
        is_secure = secure(request)
        try:
            if "error" in query:
                raise OAuthError(query["error"][:60], query.get("error_description", "")[:300])
            session, target = await auth.console_login.finish(
                query.get("code", ""), query.get("state", ""), request.cookies.get(LOGIN_COOKIE, ""))
        except OAuthError as exc:
            page = (f"<!doctype html><title>Cannot log in</title><h1>Cannot log in</h1>"
                    f"<p>{html.escape(exc.description or exc.error)}</p>"
                    "<p><a href='/auth/login'>Log in again</a></p>")
            return Response(page.encode(), status_code=400, media_type="text/html",
                            headers=_NO_STORE, cookies=[_gone(LOGIN_COOKIE, CONSOLE_CALLBACK, is_secure)])
        return _redirect(target, [
            Cookie(key=SESSION_COOKIE, value=session.value, path="/", max_age=session.max_age,
                   secure=is_secure, httponly=True, samesite="lax"),
            Cookie(key=CSRF_COOKIE, value=session.csrf, path="/", max_age=session.max_age,
                   secure=is_secure, httponly=False, samesite="strict"),
            _gone(LOGIN_COOKIE, CONSOLE_CALLBACK, is_secure)])

    @post("/auth/logout", include_in_schema=False, status_code=200)
    async def logout(request: Request[Any, Any, Any]) -> Response[None]:
        # the authentication in front of this route checked the session and its CSRF header
        value = request.cookies.get(SESSION_COOKIE, "")
        if value and auth.required:
            await auth.sessions.end(value)
        is_secure = secure(request)
        return Response(None, status_code=204, headers=_NO_STORE, cookies=[
            _gone(SESSION_COOKIE, "/", is_secure), _gone(CSRF_COOKIE, "/", is_secure)])

    @get("/auth/whoami", include_in_schema=False)
    async def whoami() -> Response[bytes]:
        body = await auth.whoami(current_principal())
        return Response(json.dumps(body).encode(), media_type="application/json", headers=_NO_STORE)

    return [login, callback, logout, whoami]
