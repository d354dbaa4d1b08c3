"""The one shape every bearer-token check has: ``verify(token) -> Principal``.

This server's own tokens (:mod:`.tokens`) and an external OIDC issuer's each implement
:class:`TokenVerifier`; :class:`FirstAccepting` tries several in turn, so a server can trust
both at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, final, runtime_checkable

from wingspan.core.errors import UnauthenticatedError
from wingspan.server.auth.principal import Principal

__all__ = ["FirstAccepting", "TokenVerifier"]


@runtime_checkable
class TokenVerifier(Protocol):
    """Checks a bearer token (the text after ``Bearer ``) and says whose it is.

    Raises :class:`~wingspan.core.errors.UnauthenticatedError` when the token is malformed,
    unsigned, signed by a key it does not trust, expired, not yet valid, or issued by or for
    someone else; the message says which, and never repeats the token.
    """

    async def verify(self, token: str) -> Principal: ...


@final
class FirstAccepting:
    """Several verifiers as one: the first that accepts a token wins; when none does, the
    first one's refusal is raised (the others' are kept in its notes)."""

    __slots__ = ("verifiers",)

    def __init__(self, verifiers: Sequence[TokenVerifier]) -> None:
        if not verifiers:
            raise ValueError("FirstAccepting needs at least one verifier")
        self.verifiers = tuple(verifiers)

    async def verify(self, token: str) -> Principal:
        refusals: list[UnauthenticatedError] = []
        for verifier in self.verifiers:
            try:
                return await verifier.verify(token)
            except UnauthenticatedError as exc:
                refusals.append(exc)
        first = refusals[0]
        for other in refusals[1:]:
            first.add_note(f"also refused: {other}")
        raise first
