"""The web console's login and sessions, apart from HTTP.

A browser logs in through this server's own authorization server, as the public client
``wingspan-console`` with PKCE, redirected back to ``/auth/callback`` where the server itself
redeems the code (:class:`ConsoleLogin`). When an external OIDC issuer is trusted and the
console has a client there (``oidc_client_id``), the login is forwarded to that issuer
instead, and the server redeems the code at the issuer's token endpoint and checks the access
token it gets as it checks any of that issuer's. The state and the PKCE verifier of a login in
progress travel in a short-lived HttpOnly cookie of the browser that started it, so a code
brought by another browser (login CSRF) finds no matching state.

A login ends in a session (:class:`ConsoleSessions`): a random cookie value the browser sends
with each request, and a CSRF token that the console's scripts read from their own cookie and
send back as a header with every request that changes something. The database keeps both only
as digests, with the subject they stand for; a session ends when unused for
``session_idle_seconds`` and ``session_max_seconds`` after the login in any case.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import urllib.parse
from datetime import timedelta
from typing import final

from sqlalchemy import delete, update
from sqlmodel import col

from wingspan.core.errors import PermissionDeniedError, UnauthenticatedError, UnavailableError
from wingspan.server.auth.accounts import CONSOLE_CLIENT_ID
from wingspan.server.auth.oauth import AuthorizationServer, OAuthError
from wingspan.server.auth.oidc import ExternalIssuer
from wingspan.server.auth.passwords import digest
from wingspan.server.auth.principal import Principal
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import ConsoleSessionRow

__all__ = ["DEFAULT_NEXT", "ConsoleLogin", "ConsoleSessions", "NewSession", "PendingLogin", "safe_next"]

#: where a login without ``next`` lands
DEFAULT_NEXT = "/console/"
#: how long a login may take between /auth/login and /auth/callback
LOGIN_SECONDS = 600
# a session's last use is written at most this often (not on every request)
_TOUCH_SECONDS = 60
_MAX_NEXT_CHARS = 2000


def safe_next(target: str) -> str:
    """``target`` when it is a path of this server (``/...``, not ``//host`` nor ``/\\host``, which
    browsers read as another site), else :data:`DEFAULT_NEXT`: a login never sends the browser away."""
    if (not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > _MAX_NEXT_CHARS
            or any(ord(c) < 0x20 or c == "\\" for c in target)):
        return DEFAULT_NEXT
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return target


@dataclasses.dataclass(frozen=True, slots=True)
class PendingLogin:
    """A login in progress: where the browser goes to log in, and the value of the cookie that
    carries its state, PKCE verifier and destination until the callback."""

    authorize_url: str
    cookie: str


@dataclasses.dataclass(frozen=True, slots=True)
class NewSession:
    """A session just begun: the cookie values the browser gets (never stored as they are)."""

    value: str
    csrf: str
    max_age: int
    subject: str


@final
class ConsoleSessions:
    def __init__(self, db: Database, *, issuer: str, idle_seconds: int, max_seconds: int) -> None:
        self.db = db
        self.issuer = issuer
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds

    async def begin(self, subject: str, *, display_name: str = "", groups: frozenset[str] = frozenset(),
                    issuer: str = "") -> NewSession:
        value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        at = now()
        async with self.db.write() as session:
            session.add(ConsoleSessionRow(
                session_hash=digest(value), csrf_hash=digest(csrf), subject=subject,
                display_name=display_name or subject, issuer=issuer or self.issuer,
                groups=" ".join(sorted(groups)),
                created_at=at, last_seen_at=at, expires_at=at + timedelta(seconds=self.max_seconds)))
        return NewSession(value, csrf, self.max_seconds, subject)

    async def principal(self, value: str, csrf: tuple[str, str] | None) -> Principal:
        """The principal of the session whose cookie is ``value``. ``csrf`` is, for a request that
        changes something, its X-CSRF-Token header and its CSRF cookie: the header must equal the
        cookie and be the session's token (PermissionDeniedError otherwise); None for a read."""
        at = now()
        async with self.db.read() as session:
            row = await session.get(ConsoleSessionRow, digest(value)) if value else None
        if row is None:
            raise UnauthenticatedError(
                "the console session is unknown or has ended: log in again at /auth/login")
        idle_until = utc(row.last_seen_at) + timedelta(seconds=self.idle_seconds)
        if utc(row.expires_at) <= at or idle_until <= at:
            await self.end(value)
            raise UnauthenticatedError("the console session has expired: log in again at /auth/login")
        if csrf is not None and (not csrf[0] or csrf[0] != csrf[1]
                                 or not hmac.compare_digest(digest(csrf[0]), row.csrf_hash)):
            why = "carries none" if not csrf[0] else "carries another value"
            raise PermissionDeniedError(
                f"a request signed in by the console's session cookie that changes something must carry the "
                f"header X-CSRF-Token equal to the wingspan_csrf cookie; this one {why}")
        if at - utc(row.last_seen_at) >= timedelta(seconds=_TOUCH_SECONDS):
            async with self.db.write() as session:
                await session.execute(update(ConsoleSessionRow).where(
                    col(ConsoleSessionRow.session_hash) == row.session_hash).values(last_seen_at=at))
        return Principal(subject=row.subject, issuer=row.issuer, groups=frozenset(row.groups.split()),
                         display_name=row.display_name)

    async def end(self, value: str) -> None:
        async with self.db.write() as session:
            await session.execute(delete(ConsoleSessionRow).where(
                col(ConsoleSessionRow.session_hash) == digest(value)))


@final
class ConsoleLogin:
    """The console's authorization code flow, with the server as its client."""

    def __init__(self, server: AuthorizationServer, sessions: ConsoleSessions,
                 external: ExternalIssuer | None = None, client_id: str = "",
                 client_secret: str = "") -> None:
        """``external``: the issuer people log in through instead, as its client ``client_id``."""
        self.server = server
        self.sessions = sessions
        self.external = external
        self.client_id = client_id if external is not None else CONSOLE_CLIENT_ID
        self._client_secret = client_secret

    async def start(self, next_path: str) -> PendingLogin:
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.server.console_redirect, "code_challenge": challenge,
            "code_challenge_method": "S256", "state": state,
            **({"scope": "openid"} if self.external is not None else {})})
        cookie = f"{state}.{verifier}.{urllib.parse.quote(safe_next(next_path), safe='')}"
        if self.external is not None:
            endpoint = (await self.external.discovery()).get("authorization_endpoint")
            if not isinstance(endpoint, str) or not endpoint:
                raise UnavailableError(
                    f"the discovery document of {self.external.config.issuer} has no authorization_endpoint")
            return PendingLogin(f"{endpoint}?{query}", cookie)
        # relative: the browser stays on the name it reached this server by
        return PendingLogin(f"/oauth2/authorize?{query}", cookie)

    async def finish(self, code: str, state: str, cookie: str) -> tuple[NewSession, str]:
        """The session of a login that came back with ``code``, and where to send the browser.
        Raises OAuthError when the login was not started by this browser or the code is refused."""
        started_state, _, rest = cookie.partition(".")
        verifier, _, quoted_next = rest.partition(".")
        if not started_state or not verifier or not hmac.compare_digest(started_state, state):
            raise OAuthError("invalid_request", "this login was not started in this browser, or took longer "
                             f"than {LOGIN_SECONDS // 60} minutes: start again")
        if self.external is not None:
            form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                    "client_id": self.client_id, "redirect_uri": self.server.console_redirect}
            if self._client_secret:
                form["client_secret"] = self._client_secret
            try:
                principal = await self.external.verify(await self.external.redeem_code(form))
            except UnauthenticatedError as exc:
                raise OAuthError("access_denied", str(exc)) from None
            session = await self.sessions.begin(principal.subject, groups=principal.groups,
                                                issuer=principal.issuer)
            return session, safe_next(urllib.parse.unquote(quoted_next))
        granted = await self.server.redeem_code(code, verifier, client_id=CONSOLE_CLIENT_ID,
                                                redirect_uri=self.server.console_redirect)
        session = await self.sessions.begin(granted.subject)
        return session, safe_next(urllib.parse.unquote(quoted_next))
