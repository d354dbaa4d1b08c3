"""The authorization server's grants (RFC 6749 and its extensions), apart from HTTP.

- ``client_credentials``: a service account's id and secret -> an access token (no refresh).
- ``authorization_code`` with PKCE (RFC 7636, S256 only): a person logs in through the browser;
  the code goes to the client's loopback redirect (RFC 8252) and, with the verifier, buys an
  access token and a refresh token.
- ``refresh_token``: each refresh token is used once and replaced (rotation); presenting a used
  one revokes its whole family (everyone holding a token of that login must log in again).
- ``urn:ietf:params:oauth:grant-type:device_code`` (RFC 8628): a device without a browser shows
  a user code, a person enters it with their password on another machine, the device polls.
- revocation (RFC 7009): a refresh token given back ends its login (``wingspan logout``).

The HTTP routes (:mod:`wingspan.server.api.oauth_routes`) only parse and answer; every rule is
here. Codes and refresh tokens are stored as digests (:func:`~.passwords.digest`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, final

from sqlalchemy import false, update
from sqlmodel import col

from wingspan.server.auth.accounts import CLI_CLIENT_ID, CONSOLE_CLIENT_ID, Accounts
from wingspan.server.auth.audit import LOGIN, AuditLog
from wingspan.server.auth.passwords import digest
from wingspan.server.auth.policy import SCOPES
from wingspan.server.auth.throttle import LoginThrottle
from wingspan.server.auth.tokens import TokenIssuer
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import AuthCodeRow, DeviceCodeRow, RefreshTokenRow

__all__ = [
    "CONSOLE_CALLBACK",
    "DEVICE_GRANT",
    "AuthorizationRequest",
    "AuthorizationServer",
    "GrantedCode",
    "LoginRefusedError",
    "OAuthError",
    "is_loopback_redirect",
]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: where the console's client is redirected with its code: this server's own path
CONSOLE_CALLBACK = "/auth/callback"
_CODE_SECONDS = 60
_DEVICE_SECONDS = 600
_DEVICE_INTERVAL = 2
# no vowels (no words) and no look-alikes, as RFC 8628 section 6.1 advises
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_PENDING, _APPROVED, _DENIED, _USED = 0, 1, 2, 3


class OAuthError(Exception):
    """An error the token endpoint answers as ``{"error": ..., "error_description": ...}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class LoginRefusedError(Exception):
    """The user name or password entered on a login page is wrong (the page is shown again)."""


@dataclasses.dataclass(frozen=True, slots=True)
class GrantedCode:
    """What a redeemed authorization code stood for: who logged in, for which client and scope."""

    subject: str
    client_id: str
    scope: str


@dataclasses.dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    code_challenge: str
    state: str
    scope: str

    def error_redirect(self, error: str, description: str) -> str:
        return _with_query(self.redirect_uri, error=error, error_description=description, state=self.state)


def is_loopback_redirect(uri: str) -> bool:
    """An ``http`` redirect to 127.0.0.1, [::1] or localhost, on any port (RFC 8252 section 7.3)."""
    try:
        parsed = urllib.parse.urlsplit(uri)
        parsed.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return (parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "::1", "localhost")
            and not parsed.fragment and not parsed.username and not parsed.password)


@final
class AuthorizationServer:
    def __init__(self, db: Database, accounts: Accounts, tokens: TokenIssuer, *, base_url: str,
                 refresh_seconds: int, audit: AuditLog | None = None,
                 throttle: LoginThrottle | None = None) -> None:
        self.db = db
        self.accounts = accounts
        self.audit = audit or AuditLog(db)
        self.throttle = throttle or LoginThrottle()
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.refresh_seconds = refresh_seconds
        #: the one redirect of the console's client
        self.console_redirect = f"{self.base_url}{CONSOLE_CALLBACK}"

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 server metadata (also served as OpenID configuration)."""
        base = self.base_url
        return {
            "issuer": self.tokens.issuer,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "device_authorization_endpoint": f"{base}/oauth2/device_authorization",
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                      DEVICE_GRANT],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid", "offline_access", *SCOPES],
        }

    # --- the token endpoint ---

    async def token(self, form: Mapping[str, str], basic: tuple[str, str] | None = None) -> dict[str, Any]:
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            return await self._client_credentials(form, basic)
        if grant == "authorization_code":
            return await self._authorization_code(form)
        if grant == "refresh_token":
            return await self._refresh(form)
        if grant == DEVICE_GRANT:
            return await self._device_code(form)
        raise OAuthError("unsupported_grant_type",
                         f"grant_type {grant[:60]!r} is not supported; use client_credentials, "
                         f"authorization_code, refresh_token or {DEVICE_GRANT}")

    async def _client_credentials(
            self, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if not client_id or not secret or not await self.accounts.client_secret_matches(client_id, secret):
            raise OAuthError("invalid_client", "unknown client or wrong client secret", status=401)
        scope = form.get("scope", "")
        access = await self.tokens.issue(client_id, client_id=client_id, scope=scope, service_account=True)
        return {"access_token": access.value, "token_type": "Bearer", "expires_in": access.expires_in,
                "scope": scope}

    async def _authorization_code(self, form: Mapping[str, str]) -> dict[str, Any]:
        client_id = form.get("client_id", "")
        if client_id == CONSOLE_CLIENT_ID:
            raise OAuthError("unauthorized_client",
                             f"codes of {CONSOLE_CLIENT_ID} are redeemed by the server itself, at "
                             f"{CONSOLE_CALLBACK}; a client of its own uses {CLI_CLIENT_ID}")
        granted = await self.redeem_code(form.get("code", ""), form.get("code_verifier", ""),
                                         client_id=client_id, redirect_uri=form.get("redirect_uri", ""))
        return await self._tokens_for(granted.subject, client_id, granted.scope, family="")

    async def redeem_code(
            self, code: str, verifier: str, *, client_id: str, redirect_uri: str) -> GrantedCode:
        """Spends ``code`` (once, whatever the outcome) and says whom it was granted to, once the
        client, the redirect and the PKCE verifier match those it was issued with."""
        if not code or not verifier:
            raise OAuthError("invalid_request", "code and code_verifier are required")
        async with self.db.write() as session:
            row = await session.get(AuthCodeRow, digest(code))
            # spent by the first exchange, whether it succeeds or not (two at once: one wins)
            spent = await session.execute(update(AuthCodeRow).where(
                col(AuthCodeRow.code_hash) == digest(code), col(AuthCodeRow.used) == false())
                .values(used=True))
        if row is None or not getattr(spent, "rowcount", 0) or utc(row.expires_at) <= now():
            raise OAuthError("invalid_grant", "the code is unknown, used already or expired: log in again")
        if row.client_id != client_id or row.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", "the code was issued to another client or redirect_uri")
        if not hmac.compare_digest(_s256(verifier), row.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge (PKCE)")
        return GrantedCode(row.subject, row.client_id, row.scope)

    async def _refresh(self, form: Mapping[str, str]) -> dict[str, Any]:
        presented = form.get("refresh_token", "")
        at = now()
        async with self.db.write() as session:
            row = await session.get(RefreshTokenRow, digest(presented)) if presented else None
            if row is None:
                raise OAuthError("invalid_grant", "unknown refresh token: log in again")
            if row.revoked and row.used_at is None:
                raise OAuthError("invalid_grant", "this login was ended (logged out, or revoked after a "
                                 "refresh token was reused): log in again")
            if row.revoked or row.used_at is not None:
                # presented twice: it was copied; end every session of this login
                await session.execute(update(RefreshTokenRow).where(col(RefreshTokenRow.family) == row.family)
                                      .values(revoked=True))
                family_revoked = True
            else:
                family_revoked = False
                used = await session.execute(
                    update(RefreshTokenRow).where(col(RefreshTokenRow.token_hash) == row.token_hash,
                                                  col(RefreshTokenRow.used_at).is_(None)).values(used_at=at))
                if not getattr(used, "rowcount", 0):
                    family_revoked = True  # another request used it at the same moment
                    await session.execute(update(RefreshTokenRow).where(
                        col(RefreshTokenRow.family) == row.family).values(revoked=True))
        if family_revoked:
            raise OAuthError("invalid_grant", "the refresh token was used before: every token of this login "
                             "is revoked; log in again")
        if utc(row.expires_at) <= at:
            raise OAuthError("invalid_grant", "the refresh token has expired: log in again")
        if form.get("client_id") and form["client_id"] != row.client_id:
            raise OAuthError("invalid_grant", "the refresh token was issued to another client")
        return await self._tokens_for(row.subject, row.client_id, row.scope, family=row.family)

    async def _tokens_for(self, subject: str, client_id: str, scope: str, *, family: str) -> dict[str, Any]:
        access = await self.tokens.issue(subject, client_id=client_id, scope=scope)
        refresh = secrets.token_urlsafe(32)
        async with self.db.write() as session:
            session.add(RefreshTokenRow(
                token_hash=digest(refresh), family=family or secrets.token_hex(16), client_id=client_id,
                subject=subject, scope=scope, expires_at=now() + timedelta(seconds=self.refresh_seconds)))
        return {"access_token": access.value, "token_type": "Bearer", "expires_in": access.expires_in,
                "refresh_token": refresh, "scope": scope}

    async def revoke(self, form: Mapping[str, str]) -> None:
        """RFC 7009: a refresh token given back ends its login (its whole family). Anything
        else (an unknown token, an access token, which expires within minutes) changes nothing,
        and the answer is the same, so that it tells nobody whether a token exists."""
        presented = form.get("token", "")
        if not presented:
            raise OAuthError("invalid_request", "token is required")
        async with self.db.write() as session:
            row = await session.get(RefreshTokenRow, digest(presented))
            if row is not None:
                await session.execute(update(RefreshTokenRow).where(
                    col(RefreshTokenRow.family) == row.family).values(revoked=True))

    # --- authorization code: the browser's part ---

    def authorization_request(self, params: Mapping[str, str]) -> AuthorizationRequest:
        """The checked request of ``/oauth2/authorize``. Errors about the client or the redirect
        are raised (shown to the person, never sent to an unchecked redirect)."""
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        if client_id == CONSOLE_CLIENT_ID:
            if redirect_uri != self.console_redirect:
                raise OAuthError("invalid_request",
                                 f"the redirect_uri of {CONSOLE_CLIENT_ID} is {self.console_redirect} only")
        elif client_id != CLI_CLIENT_ID:
            raise OAuthError("invalid_client",
                             f"unknown client {client_id[:60]!r}; the CLI's is {CLI_CLIENT_ID}")
        elif not is_loopback_redirect(redirect_uri):
            raise OAuthError("invalid_request",
                             "redirect_uri must be http://127.0.0.1:PORT/... (or [::1] or localhost)")
        request = AuthorizationRequest(client_id, redirect_uri, params.get("code_challenge", ""),
                                       params.get("state", ""), params.get("scope", ""))
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be code")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(request.code_challenge) <= 128:
            raise OAuthError("invalid_request", "PKCE is required: code_challenge (S256) and "
                             "code_challenge_method=S256")
        return request

    async def check_password(self, username: str, password: str, *, address: str, client_id: str) -> None:
        """Raises LoginRefusedError unless ``password`` is ``username``'s, and LoginThrottledError
        (before any check) when the account or the ``address`` failed too often lately. Each
        outcome is audited as a ``Login`` by ``username`` through ``client_id``."""
        target = ("", "", client_id, "")
        try:
            self.throttle.check(username, address)
        except Exception:
            await self.audit.record(username, LOGIN, target, "RESOURCE_EXHAUSTED")
            raise
        if not await self.accounts.password_matches(username, password):
            self.throttle.failed(username, address)
            await self.audit.record(username, LOGIN, target, "UNAUTHENTICATED")
            raise LoginRefusedError("wrong user name or password")
        self.throttle.succeeded(username)
        await self.audit.record(username, LOGIN, target, "OK")

    async def authorize(self, request: AuthorizationRequest, username: str, password: str, *,
                        address: str = "") -> str:
        """The redirect (with a fresh code) once the person's password is right."""
        await self.check_password(username, password, address=address, client_id=request.client_id)
        code = secrets.token_urlsafe(32)
        async with self.db.write() as session:
            session.add(AuthCodeRow(
                code_hash=digest(code), client_id=request.client_id, subject=username,
                redirect_uri=request.redirect_uri, code_challenge=request.code_challenge, scope=request.scope,
                expires_at=now() + timedelta(seconds=_CODE_SECONDS)))
        return _with_query(request.redirect_uri, code=code, state=request.state)

    # --- device authorization ---

    async def device_authorization(self, form: Mapping[str, str]) -> dict[str, Any]:
        client_id = form.get("client_id", "")
        if client_id != CLI_CLIENT_ID:
            raise OAuthError("invalid_client", f"unknown client {client_id[:60]!r}", status=401)
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
        async with self.db.write() as session:
            session.add(DeviceCodeRow(
                device_code_hash=digest(device_code), user_code=user_code, client_id=client_id,
                scope=form.get("scope", ""), expires_at=now() + timedelta(seconds=_DEVICE_SECONDS)))
        shown = f"{user_code[:4]}-{user_code[4:]}"
        page = f"{self.base_url}/oauth2/device"
        return {"device_code": device_code, "user_code": shown, "verification_uri": page,
                "verification_uri_complete": _with_query(page, user_code=shown),
                "expires_in": _DEVICE_SECONDS, "interval": _DEVICE_INTERVAL}

    async def approve_device(
            self, user_code: str, username: str, password: str, *, address: str = "") -> None:
        """A person entered ``user_code`` and their password: the device's next poll gets tokens."""
        await self.check_password(username, password, address=address, client_id=CLI_CLIENT_ID)
        code = user_code.upper().replace("-", "").replace(" ", "")
        async with self.db.write() as session:
            approved = await session.execute(
                update(DeviceCodeRow).where(col(DeviceCodeRow.user_code) == code,
                                            col(DeviceCodeRow.state) == _PENDING,
                                            col(DeviceCodeRow.expires_at) > now())
                .values(state=_APPROVED, subject=username))
        if not getattr(approved, "rowcount", 0):
            raise LoginRefusedError("this code is unknown, expired or used: start again on the device")

    async def _device_code(self, form: Mapping[str, str]) -> dict[str, Any]:
        device_code = form.get("device_code", "")
        async with self.db.write() as session:
            row = await session.get(DeviceCodeRow, digest(device_code)) if device_code else None
            if row is None or row.client_id != form.get("client_id", ""):
                raise OAuthError("invalid_grant", "unknown device_code for this client")
            if utc(row.expires_at) <= now():
                raise OAuthError("expired_token", "the device code expired: start again")
            if row.state == _PENDING:
                raise OAuthError("authorization_pending", "waiting for the user to enter the code")
            if row.state != _APPROVED:
                raise OAuthError("access_denied" if row.state == _DENIED else "invalid_grant",
                                 "the device code was denied or used already")
            row.state = _USED
            subject, client_id, scope = row.subject, row.client_id, row.scope
        return await self._tokens_for(subject, client_id, scope, family="")


def _s256(verifier: str) -> str:
    """RFC 7636's S256 transform: BASE64URL(SHA256(verifier)), unpadded."""
    hashed = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode()


def _with_query(uri: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, urllib.parse.urlencode(query),
                                    parts.fragment))
