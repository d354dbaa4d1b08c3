"""PostgreSQL for the tests: a dedicated cluster of ours on 127.0.0.1:55432.

It is not Debian's ``main`` cluster: ``initdb`` makes one with fsync off (fast,
and nothing in it needs to survive a power cut), listening on the loopback
address only, with password logins over TCP and trust on a Unix socket that only
the ``postgres`` user can reach. PostgreSQL refuses to run as root, so every
server binary runs through ``runuser -u postgres``; for the same reason the data
folder lives under the ``postgres`` user's home (root's home, where the rest of
the test state lives, is closed to other users), and the state dir records where.
"""

from __future__ import annotations

import pwd
import shutil
from pathlib import Path

from scripts.testenv.base import (
    ServiceError,
    apt_install,
    choose_port,
    one_at_a_time,
    port_open,
    run,
    save_env,
    service_port,
    state_dir,
    wait_until,
)

SERVICE = "postgres"
PORT_ENV = "WINGSPAN_TESTENV_PG_PORT"
HOST = "127.0.0.1"
USER = "wingspan"
PASSWORD = "wingspan-test-pw"
DATABASE = "wingspan_test"
OS_USER = "postgres"


def _bin_dir() -> Path | None:
    """The newest installed server's bin folder (``/usr/lib/postgresql/15/bin`` on Debian 12)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _cluster_dir() -> Path:
    try:
        home = Path(pwd.getpwnam(OS_USER).pw_dir)
    except KeyError:
        raise ServiceError(f"no {OS_USER!r} user although the postgresql package is installed") from None
    return home / "wingspan-testenv"


def _as_postgres(argv: list[str], *, check: bool = True, timeout: float = 120) -> str:
    return run(["runuser", "-u", OS_USER, "--", *argv], check=check, timeout=timeout).stdout


def _log_tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _install() -> Path:
    bin_dir = _bin_dir()
    if bin_dir is None:
        apt_install("postgresql")
        bin_dir = _bin_dir()
    if bin_dir is None:
        raise ServiceError("installed the postgresql package but found no /usr/lib/postgresql/*/bin/initdb")
    return bin_dir


def _init_cluster(bin_dir: Path, root: Path) -> None:
    data = root / "data"
    if (data / "PG_VERSION").exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    shutil.chown(root, OS_USER, OS_USER)
    root.chmod(0o700)
    if data.exists():  # a half-made cluster from an interrupted run
        shutil.rmtree(data)
    _as_postgres([
        str(bin_dir / "initdb"), "-D", str(data), "-U", OS_USER, "-E", "UTF8",
        "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
    ])
    socket_dir = root / "socket"
    socket_dir.mkdir(exist_ok=True)
    shutil.chown(socket_dir, OS_USER, OS_USER)
    socket_dir.chmod(0o700)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            "\n# wingspan testenv\n"
            f"listen_addresses = '{HOST}'\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_connections = 200\n"
        )


def _start(bin_dir: Path, root: Path) -> None:
    data, log = root / "data", root / "server.log"
    status = run(["runuser", "-u", OS_USER, "--", str(bin_dir / "pg_ctl"), "-D", str(data),
                  "status"], check=False)
    if status.returncode == 0:
        # running (a second `up`), perhaps still starting: the wait below covers it. The cluster
        # lives outside the cache folder, so the port saved there may be another cache's: the
        # server's own pid file says where it listens (its fourth line)
        lines = (data / "postmaster.pid").read_text().splitlines()
        if len(lines) > 3 and lines[3].strip().isdigit():
            (state_dir(SERVICE) / "port").write_text(f"{lines[3].strip()}\n")
        return
    port = choose_port(SERVICE, PORT_ENV)
    if port_open(port, HOST):
        raise ServiceError(
            f"port {port} on {HOST} is taken by something that is not our cluster in {data}; "
            f"stop it or set {PORT_ENV} to another"
        )
    # no autovacuum: its workers (owned by the superuser) sit in the tests' short-lived
    # databases, and DROP DATABASE ... WITH (FORCE) by the test role may not stop them
    proc = run(["runuser", "-u", OS_USER, "--", str(bin_dir / "pg_ctl"), "-D", str(data),
                "-o", f"-c autovacuum=off -p {port}", "-l", str(log), "-w", "-t", "90", "start"],
               check=False, timeout=120)
    if proc.returncode != 0:
        raise ServiceError(
            f"pg_ctl start exited with {proc.returncode}:\n{proc.stdout[-2000:]}\n"
            f"last lines of {log}:\n{_log_tail(log)}"
        )


def _psql(bin_dir: Path, root: Path, sql: str, database: str = "postgres") -> str:
    return _as_postgres([
        str(bin_dir / "psql"), "-h", str(root / "socket"), "-p", str(service_port(SERVICE, PORT_ENV)),
        "-U", OS_USER,
        "-d", database, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-t", "-A", "-c", sql,
    ])


def _create_role_and_database(bin_dir: Path, root: Path) -> None:
    _psql(bin_dir, root, f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{USER}') THEN
            CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{PASSWORD}';
          ELSE
            ALTER ROLE {USER} LOGIN CREATEDB PASSWORD '{PASSWORD}';
          END IF;
        END $$;
    """)
    exists = _psql(bin_dir, root, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
    if exists.strip() != "1":
        _psql(bin_dir, root, f"CREATE DATABASE {DATABASE} OWNER {USER}")


def ensure_database(name: str, setup_sql: str) -> str:
    """A database ``name`` owned by the test role, made and given ``setup_sql`` (run as that
    role) once; for services that read the test PostgreSQL (Trino's catalog). Returns its DSN."""
    ensure()
    bin_dir, root = _install(), _cluster_dir()
    exists = _psql(bin_dir, root, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if exists.strip() != "1":
        _psql(bin_dir, root, f"CREATE DATABASE {name} OWNER {USER}")
        try:
            _psql(bin_dir, root, f"SET ROLE {USER};\n{setup_sql}", database=name)
        except ServiceError:
            # a half-set-up database would pass for a ready one next time
            _psql(bin_dir, root, f"DROP DATABASE {name}")
            raise
    return f"postgresql://{USER}:{PASSWORD}@{HOST}:{service_port(SERVICE, PORT_ENV)}/{name}"


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Installs, initialises and starts the cluster unless it runs; returns its env vars."""
    bin_dir = _install()
    root = _cluster_dir()
    _init_cluster(bin_dir, root)
    _start(bin_dir, root)
    port = service_port(SERVICE, PORT_ENV)
    wait_until(lambda: port_open(port, HOST), timeout=60, what=f"PostgreSQL on {HOST}:{port}")
    try:
        _create_role_and_database(bin_dir, root)
    except ServiceError as exc:
        raise ServiceError(f"{exc}\nlast lines of the server log:\n"
                           f"{_log_tail(root / 'server.log')}") from exc
    (state_dir(SERVICE) / "cluster").write_text(str(root))
    auth = f"{USER}:{PASSWORD}@{HOST}:{port}/{DATABASE}"
    return save_env(SERVICE, {
        "WINGSPAN_TEST_PG_URL": f"postgresql+asyncpg://{auth}",
        "WINGSPAN_TEST_PG_DSN": f"postgresql://{auth}",
    })


def stop() -> None:
    bin_dir, root = _bin_dir(), _cluster_dir()
    if bin_dir is None or not (root / "data" / "PG_VERSION").exists():
        return
    _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w",
                  "stop"], check=False)
