"""Keycloak for the tests: a real OIDC identity provider on 127.0.0.1, for the external-issuer tests.

Its server distribution comes from Maven Central with Maven itself (``mvn dependency:get`` into a
local repository under ``cache_dir()/m2``), is unpacked once under ``cache_dir()``, and runs in
development mode (``kc.sh start-dev``: an embedded H2 database under the distribution's
``data/``, plain HTTP) on the Java already on the machine (17 works for 26.4). Measured here, on
2 cores shared with other test runs: Maven's fetch (its dependency plugin and the 160 MB archive)
and the unpacking 42 s, the first start about 2.5 min (Quarkus builds the server, 70 s, then
starts it, 70 s), so `up` from nothing took 3 min 25 s; a later `up` about 40 s (on an idle
machine the first start took 45 s in all).

Once it answers, the realm ``wingspan`` is created unless it exists: a confidential client
``wingspan-ci`` (client credentials and password grants) whose access tokens name the audience
``wingspan`` and carry a ``groups`` claim, the group ``ml-team``, and a user ``ada`` in it.
Set WINGSPAN_TESTENV_KEYCLOAK_VERSION to try another release.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from scripts.testenv.base import (
    ServiceError,
    await_ready,
    cache_dir,
    claim_port,
    have,
    install_lock,
    maven_artifact,
    one_at_a_time,
    pid_alive,
    record_install_seconds,
    save_env,
    service_port,
    start_daemon,
    state_dir,
    stop_daemon,
    unpack_tarball,
)

SERVICE = "keycloak"
VERSION = os.environ.get("WINGSPAN_TESTENV_KEYCLOAK_VERSION", "26.4.0")
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_KEYCLOAK_PORT"
ADMIN_USER, ADMIN_PASSWORD = "admin", "wingspan-test-admin"
REALM = "wingspan"
CLIENT_ID, CLIENT_SECRET = "wingspan-ci", "wingspan-ci-test-secret"
USER, USER_PASSWORD = "ada", "ada-test-password"
AUDIENCE = "wingspan"
GROUP = "ml-team"


def home() -> Path:
    return cache_dir() / f"keycloak-{VERSION}"


def install() -> Path:
    """The unpacked distribution, downloaded and unpacked first if needed (serialised by a lock)."""
    target = home()
    if (target / "bin" / "kc.sh").exists():
        return target
    if not have("java"):
        raise ServiceError("Keycloak needs Java (>= 17) to run it: apt-get install openjdk-17-jre-headless")
    with install_lock("keycloak-install"):
        if (target / "bin" / "kc.sh").exists():
            return target
        started = time.monotonic()
        archive = maven_artifact("org.keycloak", "keycloak-quarkus-dist", VERSION, "tar.gz")
        unpack_tarball(archive, f"keycloak-{VERSION}", target)
        record_install_seconds(f"keycloak-{VERSION}", started)
    return target


def base_url() -> str:
    return f"http://{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _ready() -> bool:
    with urllib.request.urlopen(f"{base_url()}/realms/master/.well-known/openid-configuration",
                                timeout=2) as response:  # loopback only
        return bool(response.status == 200)


def _start(distribution: Path) -> None:
    pid_file = state_dir(SERVICE) / "pid"
    if pid_alive(pid_file):
        return
    port = claim_port(SERVICE, PORT_ENV, "Keycloak", HOST)
    start_daemon(SERVICE, [str(distribution / "bin" / "kc.sh"), "start-dev", f"--http-host={HOST}",
                           f"--http-port={port}"],
                 env={"KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
                      "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD})


def _request(method: str, path: str, *, token: str = "", body: Any = None,
             form: dict[str, str] | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"{base_url()}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _realm() -> dict[str, Any]:
    audience = {"name": "wingspan-audience", "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {"included.custom.audience": AUDIENCE, "access.token.claim": "true",
                           "id.token.claim": "false"}}
    groups = {"name": "groups", "protocol": "openid-connect",
              "protocolMapper": "oidc-group-membership-mapper",
              "config": {"claim.name": "groups", "full.path": "false", "access.token.claim": "true",
                         "id.token.claim": "true", "userinfo.token.claim": "true"}}
    return {
        "realm": REALM, "enabled": True,
        "groups": [{"name": GROUP}],
        "clients": [{"clientId": CLIENT_ID, "enabled": True, "publicClient": False, "secret": CLIENT_SECRET,
                     "serviceAccountsEnabled": True, "directAccessGrantsEnabled": True,
                     "standardFlowEnabled": False, "protocolMappers": [audience, groups]},
                    # a client of another service: its tokens are not for Wingspan
                    {"clientId": "other-service", "enabled": True, "publicClient": False,
                     "secret": CLIENT_SECRET, "serviceAccountsEnabled": True, "standardFlowEnabled": False}],
        "users": [{"username": USER, "enabled": True, "email": "ada@example.com", "emailVerified": True,
                   "firstName": "Ada", "lastName": "Lovelace", "groups": [f"/{GROUP}"],
                   "credentials": [{"type": "password", "value": USER_PASSWORD, "temporary": False}]},
                  {"username": f"service-account-{CLIENT_ID}", "enabled": True,
                   "serviceAccountClientId": CLIENT_ID, "groups": [f"/{GROUP}"]}],
    }


def admin_token() -> str:
    status, answer = _request("POST", "/realms/master/protocol/openid-connect/token", form={
        "grant_type": "password", "client_id": "admin-cli",
        "username": ADMIN_USER, "password": ADMIN_PASSWORD})
    if status != 200:
        raise ServiceError(f"Keycloak refused its admin's login ({status}): {answer}")
    return str(answer["access_token"])


def _ensure_realm() -> None:
    token = admin_token()
    status, _ = _request("GET", f"/admin/realms/{REALM}", token=token)
    if status == 200:
        return
    status, answer = _request("POST", "/admin/realms", token=token, body=_realm())
    if status not in (201, 409):
        raise ServiceError(f"Keycloak did not create the realm {REALM} ({status}): {answer}")


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Installs Keycloak unless cached, starts it unless it runs, makes the test realm, and returns
    its env vars."""
    distribution = install()
    _start(distribution)
    # a first start on a busy machine takes minutes (Keycloak's Quarkus build alone took 154 s
    # at a load of 20); a server that exits fails the wait at once, so a long limit costs nothing
    await_ready(SERVICE, _ready, timeout=600, what=f"Keycloak at {base_url()}", name="Keycloak")
    _ensure_realm()
    return save_env(SERVICE, {
        "WINGSPAN_TEST_KEYCLOAK_URL": base_url(),
        "WINGSPAN_TEST_KEYCLOAK_ISSUER": f"{base_url()}/realms/{REALM}",
        "WINGSPAN_TEST_KEYCLOAK_ADMIN": ADMIN_USER,
        "WINGSPAN_TEST_KEYCLOAK_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "WINGSPAN_TEST_KEYCLOAK_CLIENT_ID": CLIENT_ID,
        "WINGSPAN_TEST_KEYCLOAK_CLIENT_SECRET": CLIENT_SECRET,
        "WINGSPAN_TEST_KEYCLOAK_USER": USER,
        "WINGSPAN_TEST_KEYCLOAK_PASSWORD": USER_PASSWORD,
        "WINGSPAN_TEST_KEYCLOAK_AUDIENCE": AUDIENCE,
    })


def stop() -> None:
    stop_daemon(SERVICE, timeout=30)
