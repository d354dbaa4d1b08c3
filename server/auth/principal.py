"""Who a call comes from, and the context variable the transports set for each call.

A :class:`Principal` is what a verified token says about its bearer: the subject, the
groups it belongs to (claims of an external issuer, or none for this server's own users),
and whether it is a service account. What it may do is not on it: roles are bindings
stored by the server, looked up by subject and by group (:mod:`.roles`).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator

__all__ = ["ANONYMOUS", "Principal", "acting_as", "caller", "current_principal"]


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """The bearer of a verified token.

    ``subject`` is unique within ``issuer``: a local user's name, a service account's client
    id, or an external issuer's ``sub`` (mapped to a name by that issuer's verifier).
    ``groups`` are the groups the issuer says the subject is in; role bindings may name a
    group instead of a subject. ``is_service_account`` is true for client-credentials tokens
    (engines, schedulers, CI), the only callers the internal engine service accepts.
    ``authenticated`` is false only for :data:`ANONYMOUS`, the caller of a server that does
    not require authentication (a loopback bind).
    """

    subject: str
    issuer: str = ""
    groups: frozenset[str] = frozenset()
    is_service_account: bool = False
    scopes: frozenset[str] = frozenset()
    authenticated: bool = True
    #: how a person is shown (the console's header); the subject when the issuer names none
    display_name: str = ""

    @property
    def name(self) -> str:
        """How executions and errors name the principal: ``subject`` (what the API records)."""
        return self.subject


#: the caller when authentication is off: may do everything, recorded under its subject
ANONYMOUS = Principal(subject="anonymous", authenticated=False)

# None outside any call (the scheduler, the engine's own work)
_CURRENT: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("wingspan_principal",
                                                                          default=None)


def current_principal() -> Principal:
    """The principal of the call in progress (:data:`ANONYMOUS` outside any authenticated call)."""
    return _CURRENT.get() or ANONYMOUS


def caller() -> Principal | None:
    """The principal of the API call in progress, None when the work is no caller's (the
    scheduler, the engine): what a service records as who asked."""
    return _CURRENT.get()


@contextlib.contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Runs the body as ``principal``: what the transports do around each call."""
    token = _CURRENT.set(principal)
    try:
        yield principal
    finally:
        _CURRENT.reset(token)
