"""Trino for the tests: one single-node server on 127.0.0.1, for the SQL-engine plugin.

The server tarball (``io.trino:trino-server``, 820 MB) comes from Maven Central through Maven
(``base.maven_artifact``); only what the tests use is unpacked (the launcher, the libraries and
the ``memory``, ``tpch`` and ``postgresql`` connectors, about 420 MB instead of 2 GB), once,
under ``cache_dir()``. It runs on the Temurin 25 JDK these machines have (Trino 476 needs Java
24 or newer; Debian offers none), with a 1 GB heap: the machine is shared.

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

import json
import os
import time
import urllib.request
from pathlib import Path

from scripts.testenv import postgres
from scripts.testenv.base import (
    ServiceError,
    cache_dir,
    choose_port,
    install_lock,
    log_tail,
    maven_artifact,
    pid_alive,
    port_open,
    record_install_seconds,
    save_env,
    service_port,
    start_daemon,
    state_dir,
    stop_daemon,
    unpack_tarball,
    wait_until,
)

SERVICE = "trino"
VERSION = os.environ.get("WINGSPAN_TESTENV_TRINO_VERSION", "476")
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_TRINO_PORT"
JAVA_HOME_ENV = "WINGSPAN_TESTENV_TRINO_JAVA_HOME"
JAVA_HOMES = ("/usr/lib/jvm/temurin-25-jdk-amd64", "/usr/lib/jvm/temurin-25-jdk-arm64")
# geospatial: the postgresql connector needs its Geometry type (for PostGIS columns) to load
CONNECTORS = ("memory", "tpch", "postgresql", "geospatial")
PG_DATABASE = "wingspan_trino"
PG_SETUP = """
CREATE SCHEMA shop;
CREATE TABLE shop.vip (custkey bigint PRIMARY KEY, note text NOT NULL);
INSERT INTO shop.vip VALUES (1, 'first'), (2, 'second'), (3, 'third');
"""


def home() -> Path:
    return cache_dir() / f"trino-server-{VERSION}"


def _installed(target: Path) -> bool:
    return (target / "bin" / "launcher").exists()


def install() -> Path:
    """The unpacked server, fetched and unpacked first if needed (serialised by a lock)."""
    target = home()
    if _installed(target):
        return target
    with install_lock("trino-install"):
        if _installed(target):
            return target
        started = time.monotonic()
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


def _write_config(folder: Path, port: int, pg_dsn: str) -> Path:
    etc = folder / "etc"
    (etc / "catalog").mkdir(parents=True, exist_ok=True)
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
        "query.min-expire-age=30m", "task.concurrency=2", ""]))
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
    port = choose_port(SERVICE, PORT_ENV)
    if port_open(port, HOST):
        raise ServiceError(f"port {port} on {HOST} is taken by a process that is not our Trino; stop it "
                           f"or set {PORT_ENV} to another")
    etc = _write_config(folder, port, pg_dsn)
    # the launcher's own pid file from a server that died would stop it with "already running"
    (folder / "data" / "var" / "run" / "launcher.pid").unlink(missing_ok=True)
    java = java_home()
    start_daemon(SERVICE, [str(server / "bin" / "launcher"), "run", f"--etc-dir={etc}",
                           f"--data-dir={folder / 'data'}"],
                 env={"JAVA_HOME": str(java), "PATH": f"{java / 'bin'}:{os.environ.get('PATH', '')}"},
                 runs=str(java / "bin" / "java"))  # the launcher execs Java


def ensure() -> dict[str, str]:
    """Installs Trino unless cached, makes its PostgreSQL database, starts it unless it runs,
    and returns its env vars."""
    server = install()
    pg_dsn = postgres.ensure_database(PG_DATABASE, PG_SETUP)
    _start(server, pg_dsn)
    pid_file = state_dir(SERVICE) / "pid"
    wait_until(lambda: not pid_alive(pid_file) or _ready(), timeout=300,
               what=f"Trino at {base_url()}", service=SERVICE)
    if not pid_alive(pid_file):
        raise ServiceError(f"Trino exited while starting; last log lines:\n{log_tail(SERVICE)}")
    return save_env(SERVICE, {"WINGSPAN_TEST_TRINO_URL": base_url()})


def stop() -> None:
    stop_daemon(SERVICE, timeout=30)
