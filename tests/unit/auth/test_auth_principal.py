"""The principal of a call, and several verifiers as one."""

from __future__ import annotations

import asyncio

import pytest

from wingspan.core.errors import UnauthenticatedError
from wingspan.server.auth.principal import ANONYMOUS, Principal, acting_as, current_principal
from wingspan.server.auth.verifier import FirstAccepting, TokenVerifier


class Accepting:
    def __init__(self, token: str, principal: Principal) -> None:
        self.token, self.principal = token, principal

    async def verify(self, token: str) -> Principal:
        if token != self.token:
            raise UnauthenticatedError(f"not {self.principal.subject}'s token")
        return self.principal


async def test_the_principal_of_a_call_is_the_one_set_around_it_and_no_other_calls() -> None:
    alice, bob = Principal("alice"), Principal("bob", is_service_account=True)

    async def call(who: Principal) -> Principal:
        with acting_as(who):
            await asyncio.sleep(0)  # the other call runs meanwhile
            return current_principal()

    assert list(await asyncio.gather(call(alice), call(bob))) == [alice, bob]
    assert current_principal() is ANONYMOUS and not ANONYMOUS.authenticated


async def test_the_first_verifier_accepting_wins_and_every_refusal_is_told() -> None:
    alice, engine = Principal("alice"), Principal("engine", is_service_account=True)
    both = FirstAccepting([Accepting("a", alice), Accepting("e", engine)])
    assert isinstance(both, TokenVerifier)
    assert await both.verify("a") == alice and await both.verify("e") == engine
    with pytest.raises(UnauthenticatedError, match="not alice's token") as refused:
        await both.verify("x")
    assert "also refused: not engine's token" in (refused.value.__notes__ or [])
