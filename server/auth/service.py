"""The authorization part of a server, assembled from the settings: who must present a token,
how one is checked, what a caller may do, and the API methods that manage role bindings.

:func:`auth_required` is the one rule for whether callers must authenticate: ``auth = "auto"``
(the default) requires it on any bind beyond loopback unless the operator says ``insecure``,
so the one-command laptop start (``wingspan serve`` on 127.0.0.1) is unchanged.
"""

from __future__ import annotations

from typing import Any, final

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.server.auth.accounts import ENGINE_CLIENT_ID, Accounts
from wingspan.server.auth.audit import AuditLog, AuditPage, AuditQuery
from wingspan.server.auth.keys import KeyRing
from wingspan.server.auth.oauth import AuthorizationServer
from wingspan.server.auth.oidc import ExternalIssuer, external_verifiers
from wingspan.server.auth.policy import authorize
from wingspan.server.auth.principal import Principal
from wingspan.server.auth.roles import EVERY, Binding, Role, RoleBindings
from wingspan.server.auth.sealing import KeySealer
from wingspan.server.auth.sessions import ConsoleLogin, ConsoleSessions
from wingspan.server.auth.tokens import SignedTokenVerifier, TokenIssuer
from wingspan.server.auth.verifier import FirstAccepting, TokenVerifier
from wingspan.server.db.engine import Database

__all__ = ["AUTH_MODES", "AuthService", "auth_required"]

AUTH_MODES = ("auto", "required", "off")


def auth_required(settings: Settings, *, loopback_only: bool) -> bool:
    """Whether callers must present a token, given whether both ports are bound to loopback."""
    if settings.auth not in AUTH_MODES:
        raise ConfigError(f"auth = {settings.auth[:40]!r} is not a mode: choose from {', '.join(AUTH_MODES)}")
    for name in ("access_token_seconds", "refresh_token_seconds", "signing_key_seconds",
                 "session_idle_seconds", "session_max_seconds"):
        if getattr(settings, name) < 60:
            raise ConfigError(f"{name} = {getattr(settings, name)} is too short: give at least 60 seconds")
    if settings.auth == "auto":
        return not loopback_only and not settings.insecure
    return settings.auth == "required"


@final
class AuthService:
    """Tokens, accounts and roles of one server; ``required`` says whether callers must
    authenticate (when not, every call is :data:`~.principal.ANONYMOUS` and may do everything)."""

    def __init__(self, db: Database, settings: Settings, *, issuer: str, base_url: str,
                 required: bool) -> None:
        self.required = required
        self.keys = KeyRing(db, sign_seconds=settings.signing_key_seconds,
                            token_seconds=settings.access_token_seconds,
                            sealer=KeySealer.from_settings(settings))
        self.accounts = Accounts(db)
        self.bindings = RoleBindings(db)
        self.audit = AuditLog(db)
        self.issuer = TokenIssuer(self.keys, issuer, settings.access_token_seconds)
        #: how a bearer token is checked; another verifier (an external issuer's) may be put
        #: beside this server's own with :class:`~.verifier.FirstAccepting`. ``own_verifier``
        #: accepts this server's tokens only (what the engine service trusts)
        self.own_verifier = SignedTokenVerifier(self.keys, issuer)
        # the external OIDC issuer the settings trust (oidc_issuer), after this server's own
        self.external = external_verifiers(settings)
        self.verifier: TokenVerifier = (FirstAccepting([self.own_verifier, *self.external])
                                        if self.external else self.own_verifier)
        self.server = AuthorizationServer(db, self.accounts, self.issuer, base_url=base_url,
                                          refresh_seconds=settings.refresh_token_seconds, audit=self.audit)
        self.sessions = ConsoleSessions(db, issuer=issuer, idle_seconds=settings.session_idle_seconds,
                                        max_seconds=settings.session_max_seconds)
        # people log in to the console through the external issuer when the console has a client there
        forward_to = next((v for v in self.external if isinstance(v, ExternalIssuer)), None)
        if forward_to is None or not settings.oidc_client_id:
            forward_to = None
        self.console_login = ConsoleLogin(self.server, self.sessions, forward_to, settings.oidc_client_id,
                                          settings.oidc_client_secret)

    async def start(self, engine_secret: str) -> None:
        """Makes the signing key if there is none, and the engine's service account (whose
        secret is the engine credential of ``WINGSPAN_HOME``)."""
        await self.keys.signer()
        await self.accounts.set_service_account(ENGINE_CLIENT_ID, engine_secret)

    async def aclose(self) -> None:
        """Closes the external issuers' HTTP clients."""
        for verifier in self.external:
            if isinstance(verifier, ExternalIssuer):
                await verifier.aclose()

    async def authorize(self, principal: Principal, method: str, request: Any) -> None:
        await authorize(principal, method, request, self.bindings)

    async def whoami(self, principal: Principal) -> dict[str, Any]:
        """Who ``principal`` is and the roles it holds, where (what the console shows)."""
        rows = await self.bindings.of(principal) if principal.authenticated else []
        return {"subject": principal.subject, "display_name": principal.display_name or principal.subject,
                "authenticated": principal.authenticated,
                "roles": [{"role": r.role, "project": r.project, "domain": r.domain, "through": r.subject}
                          for r in rows]}

    # --- role bindings, as the API manages them (GrantRole, RevokeRole, ListRoleBindings) ---

    async def grant_role(self, binding: Binding) -> None:
        await self.bindings.grant(binding.subject, Role.named(binding.role), binding.project or EVERY,
                                  binding.domain or EVERY)

    async def revoke_role(self, binding: Binding) -> None:
        await self.bindings.revoke(binding.subject, Role.named(binding.role), binding.project or EVERY,
                                   binding.domain or EVERY)

    async def role_bindings(self, *, project: str = "", subject: str = "") -> list[Binding]:
        rows = await self.bindings.list(project=project, subject=subject)
        return [Binding(r.subject, r.role, r.project, r.domain) for r in rows]

    async def audit_events(self, query: AuditQuery) -> AuditPage:
        return await self.audit.events(query)
