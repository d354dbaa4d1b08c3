"""The operator's client methods (issue #25 item 1) under roles: only admins create and change
projects, a contributor is told which role it lacks and how to get it, and each change (or
refused try) lands in the audit log with who made it."""

from __future__ import annotations

import pytest

from tests.unit.auth.test_auth_served import token_of
from wingspan._remote.client import AsyncRemote
from wingspan._remote.tokens import StaticToken
from wingspan.core.errors import PermissionDeniedError
from wingspan.server.serve import ApiServer


async def test_only_admins_create_and_archive_projects_and_each_change_is_audited(secured: ApiServer) -> None:
    as_ada = AsyncRemote(secured.grpc_address, tokens=StaticToken(await token_of(secured, "ada")))
    as_alice = AsyncRemote(secured.grpc_address, tokens=StaticToken(await token_of(secured, "alice")))
    try:
        with pytest.raises(PermissionDeniedError) as refused:
            await as_alice.create_project("mine")
        assert "alice may not call CreateProject: it needs the admin role in the whole deployment" in str(
            refused.value)
        assert "wingspan access grant alice admin" in str(refused.value)

        made = await as_ada.create_project("ml", description="models", labels={"team": "vision"})
        assert (made["id"], made["labels"]) == ("ml", {"team": "vision"})
        with pytest.raises(PermissionDeniedError):
            await as_alice.update_project("ml", archived=True)
        assert (await as_ada.update_project("ml", archived=True))["state"] == "archived"
        # anyone signed in finds their way: the archived project shows when asked for
        assert [p["id"] for p in await as_alice.list_projects(include_archived=True,
                                                               filters=["state=archived"])] == ["ml"]

        audit = await as_ada.audit_events(project="ml")
        assert [(e["principal"], e["method"], e["result"]) for e in reversed(audit)] == [
            ("ada", "CreateProject", "OK"), ("alice", "UpdateProject", "PERMISSION_DENIED"),
            ("ada", "UpdateProject", "OK")]
    finally:
        await as_ada.aclose()
        await as_alice.aclose()
