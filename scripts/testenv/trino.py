"""Trino for the tests: one single-node server on 127.0.0.1, for the SQL-engine plugin.

The server tarball (``io.trino:trino-server``, 820 MB) comes from Maven Central through Maven
(``base.maven_artifact``); only what the tests use is unpacked (the launcher, the libraries and
the ``memory``, ``tpch`` and ``postgresql`` connectors, about 420 MB instead of 2 GB), once,
under ``cache_dir()``. It runs on the Temurin 25 JDK these machines have (Trino 476 needs Java
24 or newer; Debian offers none), with a 1 GB heap: the machine is shared.

Plain HTTP takes the user header alone; HTTPS (a self-signed certificate made with keytool,
exported as ``etc/trino.pem``) checks logins: the user ``ada`` with a password from Trino's
password file, or a JWT signed with the HMAC key the env names.

Catalogs: ``memory``, ``tpch`` and ``postgresql``, the last on a database of the test
PostgreSQL (``wingspan_trino``, made once) whose table ``shop.vip`` holds three rows keyed like
``tpch.tiny.customer``, so one query can join the two systems.

Measured here (2 cores shared with six other sessions' tests): Maven's fetch of the tarball
17 s, the unpacking 29 s, the first start 55 s, so a first ``up`` about 1 min 45 s; a later
start (installed) 50-90 s until ``/v1/info`` says it is no longer starting; the server then
holds about 450 MB. The tests that use it (tests/real/presto, 23) take about a minute with
the server up.
Set WINGSPAN_TESTENV_TRINO_VERSION to try another release (Maven Central must have its tarball).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

from scripts.testenv import postgres
from scripts.testenv.base import (
    ServiceError,
    await_ready,
    cache_dir,
    choose_port,
    claim_port,
    install_lock,
    maven_artifact,
    one_at_a_time,
    pid_alive,
    record_install_seconds,
    run,
    save_env,
    service_port,
    start_daemon,
    state_dir,
    stop_daemon,
    unpack_tarball,
)

SERVICE = "trino"
VERSION = os.environ.get("WINGSPAN_TESTENV_TRINO_VERSION", "476")
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_TRINO_PORT"
JAVA_HOME_ENV = "WINGSPAN_TESTENV_TRINO_JAVA_HOME"
JAVA_HOMES = ("/usr/lib/jvm/temurin-25-jdk-amd64", "/usr/lib/jvm/temurin-25-jdk-arm64")
# geospatial: the postgresql connector needs its Geometry type (for PostGIS columns) to load;
# password-authenticators: the password file of the logins over HTTPS
CONNECTORS = ("memory", "tpch", "postgresql", "geospatial", "password-authenticators")
# HTTPS, where Trino takes logins: its port is kept as a second service's
HTTPS_SERVICE = "trino-https"
HTTPS_PORT_ENV = "WINGSPAN_TESTENV_TRINO_HTTPS_PORT"
KEYSTORE_PASSWORD = "wingspan-test-keystore"
LOGIN_USER, LOGIN_PASSWORD = "ada", "ada-trino-password"
JWT_KEY = "wingspan-test-jwt-key-of-32-bytes!"
PG_DATABASE = "wingspan_trino"
PG_SETUP = """
CREATE SCHEMA shop;
CREATE TABLE shop.vip (custkey bigint PRIMARY KEY, note text NOT NULL);
INSERT INTO shop.vip VALUES (1, 'first'), (2, 'second'), (3, 'third');
"""


def home() -> Path:
    return cache_dir() / f"trino-server-{VERSION}"


def _installed(target: Path) -> bool:
    """Unpacked, with every plugin the tests use (an older install may lack a newer one's)."""
    plugins = target / "plugin"
    return (target / "bin" / "launcher").exists() and all((plugins / c).is_dir() for c in CONNECTORS)


def install() -> Path:
    """The unpacked server, fetched and unpacked first if needed (serialised by a lock)."""
    target = home()
    if _installed(target):
        return target
    with install_lock("trino-install"):
        if _installed(target):
            return target
        started = time.monotonic()
        shutil.rmtree(target, ignore_errors=True)
        archive = maven_artifact("io.trino", "trino-server", VERSION, "tar.gz")
        unpack_tarball(archive, f"trino-server-{VERSION}", target, keep=_used)
        record_install_seconds(f"trino-server-{VERSION}", started)
    return target


def _used(path: Path) -> bool:
    """What of the distribution the tests use: all but the connectors they do not name."""
    return path.parts[0] != "plugin" or len(path.parts) == 1 or path.parts[1] in CONNECTORS


def java_home() -> Path:
    given = os.environ.get(JAVA_HOME_ENV)
    for candidate in ([given] if given else JAVA_HOMES):
        if (Path(candidate) / "bin" / "java").exists():
            return Path(candidate)
    raise ServiceError(f"Trino {VERSION} needs Java 24 or newer; found none at "
                       f"{given or ' or '.join(JAVA_HOMES)}. Set {JAVA_HOME_ENV} to a JDK's home")


def base_url() -> str:
    return f"http://{HOST}:{service_port(SERVICE, PORT_ENV)}"


def _ready() -> bool:
    with urllib.request.urlopen(f"{base_url()}/v1/info", timeout=2) as response:  # loopback only
        return json.loads(response.read()).get("starting") is False


def _write_tls_and_logins(etc: Path) -> None:
    """A self-signed certificate for 127.0.0.1 (HTTPS, where Trino checks credentials), the user
    ``ada`` with a password (PBKDF2, the password file's other format beside bcrypt) and the
    HMAC key that signs JWTs for it."""
    keystore = etc / "keystore.p12"
    if not keystore.exists():
        keytool = java_home() / "bin" / "keytool"
        run([str(keytool), "-genkeypair", "-alias", "trino", "-keyalg", "RSA", "-keysize", "2048",
             "-keystore", str(keystore), "-storetype", "PKCS12", "-storepass", KEYSTORE_PASSWORD,
             "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-validity", "3650"])
        run([str(keytool), "-exportcert", "-rfc", "-alias", "trino", "-keystore", str(keystore),
             "-storepass", KEYSTORE_PASSWORD, "-file", str(etc / "trino.pem")])
    salt = bytes.fromhex("77696e677370616e")
    digest = hashlib.pbkdf2_hmac("sha1", LOGIN_PASSWORD.encode(), salt, 1000, dklen=64)  # as Trino checks it
    (etc / "password.db").write_text(f"{LOGIN_USER}:1000:{salt.hex()}:{digest.hex()}\n")
    (etc / "password-authenticator.properties").write_text(
        f"password-authenticator.name=file\nfile.password-file={etc / 'password.db'}\n")
    (etc / "jwt.key").write_text(base64.b64encode(JWT_KEY.encode()).decode() + "\n")


def _write_config(folder: Path, port: int, https_port: int, pg_dsn: str) -> Path:
    etc = folder / "etc"
    (etc / "catalog").mkdir(parents=True, exist_ok=True)
    _write_tls_and_logins(etc)
    (etc / "node.properties").write_text(
        f"node.environment=wingspan_test\nnode.id=wingspan-test\nnode.data-dir={folder / 'data'}\n")
    (etc / "jvm.config").write_text("\n".join([
        "-server", "-Xmx1G", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
        "-XX:ReservedCodeCacheSize=128M", "-Djdk.attach.allowAttachSelf=true", ""]))
    (etc / "config.properties").write_text("\n".join([
        "coordinator=true", "node-scheduler.include-coordinator=true",
        f"http-server.http.port={port}", f"discovery.uri=http://{HOST}:{port}",
        "query.max-memory=512MB", "query.max-memory-per-node=256MB",
        # the abort test looks a cancelled query up in /v1/query
        "query.min-expire-age=30m", "task.concurrency=2",
        # logins over HTTPS only; plain HTTP stays open with the user header alone
        "http-server.https.enabled=true", f"http-server.https.port={https_port}",
        f"http-server.https.keystore.path={etc / 'keystore.p12'}",
        f"http-server.https.keystore.key={KEYSTORE_PASSWORD}",
        "http-server.authentication.type=PASSWORD,JWT",
        "http-server.authentication.allow-insecure-over-http=true",
        f"http-server.authentication.jwt.key-file={etc / 'jwt.key'}",
        f"internal-communication.shared-secret={JWT_KEY}-internal", ""]))
    (etc / "log.properties").write_text("io.trino=WARN\n")
    (etc / "catalog" / "memory.properties").write_text("connector.name=memory\n")
    (etc / "catalog" / "tpch.properties").write_text("connector.name=tpch\ntpch.splits-per-node=2\n")
    user_password, _, address = pg_dsn.removeprefix("postgresql://").partition("@")
    user, _, password = user_password.partition(":")
    (etc / "catalog" / "postgresql.properties").write_text(
        f"connector.name=postgresql\nconnection-url=jdbc:postgresql://{address}\n"
        f"connection-user={user}\nconnection-password={password}\n")
    return etc


def _start(server: Path, pg_dsn: str) -> None:
    folder = state_dir(SERVICE)
    if pid_alive(folder / "pid"):
        return
    port = claim_port(SERVICE, PORT_ENV, "Trino", HOST)
    https_port = choose_port(HTTPS_SERVICE, HTTPS_PORT_ENV)
    etc = _write_config(folder, port, https_port, pg_dsn)
    # the launcher's own pid file from a server that died would stop it with "already running"
    (folder / "data" / "var" / "run" / "launcher.pid").unlink(missing_ok=True)
    java = java_home()
    start_daemon(SERVICE, [str(server / "bin" / "launcher"), "run", f"--etc-dir={etc}",
                           f"--data-dir={folder / 'data'}"],
                 env={"JAVA_HOME": str(java), "PATH": f"{java / 'bin'}:{os.environ.get('PATH', '')}"})


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Installs Trino unless cached, makes its PostgreSQL database, starts it unless it runs,
    and returns its env vars."""
    server = install()
    pg_dsn = postgres.ensure_database(PG_DATABASE, PG_SETUP)
    _start(server, pg_dsn)
    # a first start on a busy machine takes minutes (Keycloak's Quarkus build alone took 154 s
    # at a load of 20); a server that exits fails the wait at once, so a long limit costs nothing
    await_ready(SERVICE, _ready, timeout=600, what=f"Trino at {base_url()}", name="Trino")
    return save_env(SERVICE, {
        "WINGSPAN_TEST_TRINO_URL": base_url(),
        "WINGSPAN_TEST_TRINO_HTTPS_URL": f"https://{HOST}:{service_port(HTTPS_SERVICE, HTTPS_PORT_ENV)}",
        "WINGSPAN_TEST_TRINO_CA_FILE": str(state_dir(SERVICE) / "etc" / "trino.pem"),
        "WINGSPAN_TEST_TRINO_LOGIN_USER": LOGIN_USER,
        "WINGSPAN_TEST_TRINO_LOGIN_PASSWORD": LOGIN_PASSWORD,
        "WINGSPAN_TEST_TRINO_JWT_KEY": JWT_KEY,
    })


def stop() -> None:
    stop_daemon(SERVICE, timeout=30)
