"""``wingspan serve``: the control plane in one process, on embedded defaults.

With no options it keeps a SQLite file and a blob folder under ``$WINGSPAN_HOME``
and serves HTTP on 127.0.0.1:8080 and gRPC on 127.0.0.1:8089. ``--db-url`` selects
PostgreSQL, ``--storage s3://bucket/prefix`` S3 or MinIO (endpoint and access key
from the options, ``WINGSPAN_S3_*`` or ``--config FILE``), ``abfs://container/prefix``
Azure Blob Storage (``--azure-*``, ``WINGSPAN_AZURE_*``) and ``gs://bucket/prefix`` Google
Cloud Storage (``--gcs-*``, ``WINGSPAN_GCS_*``). Secrets are never flags,
since every user of the host reads the process list: the S3 secret key comes from
``WINGSPAN_S3_SECRET_KEY``, ``--s3-secret-key-file`` or the config file (the Azure account
key likewise; a GCS service account key is a file anyway), a database
password from ``WINGSPAN_DB_URL``, the config file, ``PGPASSWORD`` or ``~/.pgpass``.
``--tls-cert`` and ``--tls-key`` serve both ports over TLS; a renewed certificate
written over those files is served to new connections without a restart.
SIGTERM or Ctrl-C stops it gracefully.

``--role`` splits the server into replicas against one database and blob store:
``api`` (gRPC and HTTP), ``engine`` (runs executions under leases; each engine
replica needs its own ``--replica-id``) and ``scheduler`` (schedules and
notifications); ``all`` by default.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.server.log_records import LOG_FORMATS, configure_logging

#: loggers whose debug lines carry values that may be secrets or task data, kept at INFO even
#: with --verbose: the database drivers' (every call with its arguments) and hpack's (every
#: HTTP/2 header of gRPC, a bearer token included)
QUIET_LOGGERS = ("aiosqlite", "asyncpg", "hpack")
#: loggers of a line per HTTP request the plugins send (a thousand connector jobs in flight would
#: write hundreds a second): their warnings only, unless --verbose
REQUEST_LOGGERS = ("httpx",)


@click.command()
@click.option("--http-host", help="address of the HTTP API  [default: 127.0.0.1]")
@click.option("--http-port", type=int, help="port of the HTTP API (0: any free port)  [default: 8080]")
@click.option("--grpc-host", help="address of the gRPC API  [default: 127.0.0.1]")
@click.option("--grpc-port", type=int, help="port of the gRPC API (0: any free port)  [default: 8089]")
@click.option("--db-url", help="SQLAlchemy URL of the database, e.g. postgresql+asyncpg://USER@HOST/DB; "
                               "a URL with a password goes in WINGSPAN_DB_URL or the config file, or the "
                               "password in PGPASSWORD or ~/.pgpass  [default: SQLite under WINGSPAN_HOME]")
@click.option("--storage", help="blob store root: s3://bucket/prefix, abfs://container/prefix (Azure), "
                                "gs://bucket/prefix (GCS) or file:///path  "
                                "[default: a folder under WINGSPAN_HOME]")
@click.option("--s3-endpoint", help="S3 or MinIO endpoint, host:port")
@click.option("--s3-access-key", help="S3 access key")
@click.option("--s3-secret-key-file", help="file holding the S3 secret key (or set WINGSPAN_S3_SECRET_KEY, "
                                           "or s3_secret_key in the config file)")
@click.option("--s3-secret-key", hidden=True, expose_value=False, callback=lambda _ctx, _param, value:
              _refuse_secret_flag(value, "--s3-secret-key", "WINGSPAN_S3_SECRET_KEY, --s3-secret-key-file "
                                  "or s3_secret_key in the config file"))
@click.option("--s3-region", help="S3 region  [default: us-east-1]")
@click.option("--s3-secure/--no-s3-secure", default=None, help="use TLS to reach S3")
@click.option("--azure-account", help="Azure storage account of an abfs:// store")
@click.option("--azure-endpoint", help="Azure blob endpoint  [default: https://ACCOUNT.blob.core.windows.net]")
@click.option("--azure-account-key-file", help="file holding the Azure account key (or set "
                                               "WINGSPAN_AZURE_ACCOUNT_KEY, or azure_account_key in the "
                                               "config file)")
@click.option("--azure-account-key", hidden=True, expose_value=False, callback=lambda _ctx, _param, value:
              _refuse_secret_flag(value, "--azure-account-key", "WINGSPAN_AZURE_ACCOUNT_KEY, "
                                  "--azure-account-key-file or azure_account_key in the config file"))
@click.option("--gcs-endpoint", help="GCS endpoint  [default: https://storage.googleapis.com]")
@click.option("--gcs-credentials-file", help="a GCS service account's JSON key file (requests and signed "
                                             "URLs use it)  [default: no credentials, as an emulator takes]")
@click.option("--gcs-project", help="GCS project a missing bucket is created in")
@click.option("--tls-cert", type=click.Path(dir_okay=False),
              help="PEM certificate chain served on both ports (TLS); read again when the file changes")
@click.option("--tls-key", type=click.Path(dir_okay=False),
              help="PEM private key of --tls-cert; must not be readable by other users of this host")
@click.option("--home", type=click.Path(path_type=Path),
              help="where local state lives  [default: WINGSPAN_HOME]")
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="TOML file whose keys match these options")
@click.option("--role", "roles", multiple=True,
              help="what this process runs: api, engine, scheduler or all (repeat or comma list)  "
                   "[default: all]")
@click.option("--replica-id", default="",
              help="this engine replica's name in its leases; replicas on one machine need distinct "
                   "ones  [default: stable per machine and home]")
@click.option("--lease-seconds", type=click.FloatRange(min=0.5), default=30.0, show_default=True,
              help="how long an engine replica's claim on an execution lasts without a heartbeat")
@click.option("--poll-seconds", type=click.FloatRange(min=0.01), default=0.2, show_default=True,
              help="how often an engine looks for new executions, aborts and signals set; on "
                   "PostgreSQL it also hears of each at once (LISTEN/NOTIFY), whichever process wrote it")
@click.option("--auth", type=click.Choice(["auto", "required", "off"]),
              help="who must present a token: auto requires one on any bind beyond loopback and none "
                   "on loopback  [default: auto]")
@click.option("--auth-issuer", help="this server's public HTTP URL, named in its tokens and OAuth2 "
                                    "metadata  [default: the HTTP address it listens on]")
@click.option("--insecure", is_flag=True, default=None,
              help="allow --http-host / --grpc-host beyond loopback with authentication off "
                   "(anyone who reaches it can run code on this host)")
@click.option("--log-format", type=click.Choice(LOG_FORMATS),
              help="log lines as text, or as JSON objects carrying the execution, node, attempt and "
                   "trace ids of the work in progress  [default: text]")
@click.option("-v", "--verbose", is_flag=True,
              help="log requests and internals (SQL statements without their values)")
def serve(config_file: Path | None, verbose: bool, roles: tuple[str, ...], replica_id: str,
          lease_seconds: float, poll_seconds: float, **flags: Any) -> None:
    """Run the Wingspan server (HTTP and gRPC APIs, engine, scheduler) until stopped.

    Secrets are never flags (every user of the host can read the process list): give the S3
    secret key as WINGSPAN_S3_SECRET_KEY, --s3-secret-key-file or s3_secret_key in the config
    file, and a database password in WINGSPAN_DB_URL, the config file, PGPASSWORD or ~/.pgpass.
    Beyond loopback, every call needs a token of this server's authorization server
    (`wingspan users add`, `wingspan access grant`, `wingspan login`), unless --insecure.
    """
    from wingspan.server.bounded_stop import run_bounded
    from wingspan.server.serve import ApiServer, RoleFailedError, parse_roles, serve_forever

    if flags.get("db_url") and _url_password(flags["db_url"]):
        raise click.UsageError(
            "--db-url holds a password, which every user of this host can read in the process list: "
            "put the URL in WINGSPAN_DB_URL or the config file (db_url), or the password in PGPASSWORD "
            "or ~/.pgpass")
    try:
        settings = Settings.load(flags, config_file=config_file)
        chosen = parse_roles(roles)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        configure_logging(settings.log_format, logging.DEBUG if verbose else logging.INFO)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if not verbose:
        for name in ("alembic", *REQUEST_LOGGERS):
            logging.getLogger(name).setLevel(logging.WARNING)
    # statements yes; rows never (they hold task data); parameters are hidden by the engine itself,
    # and the debug lines that carry values stay off (QUIET_LOGGERS)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO if verbose else logging.WARNING)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)

    def ready(server: ApiServer) -> None:
        served = f"HTTP {server.http_url}  gRPC {server.grpc_address}  " if "api" in chosen else ""
        engine = f"  replica {server.engine.replica_id}" if server.engine is not None else ""
        auth = ""
        if server.auth is not None:
            auth = "  auth required" if server.auth.required else "  auth off"
        click.echo(f"wingspan serve: {served}database {_safe(server.settings.database_url)}  "
                   f"storage {server.settings.storage_root}  roles {','.join(sorted(chosen))}{engine}{auth}",
                   err=True)

    try:
        run_bounded(serve_forever(settings, on_ready=ready, roles=chosen, replica_id=replica_id,
                                  lease_seconds=lease_seconds, poll_seconds=poll_seconds))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    except (OSError, RoleFailedError) as exc:
        raise click.ClickException(str(exc)) from exc


def _refuse_secret_flag(value: str | None, flag: str, instead: str) -> None:
    if value is not None:
        raise click.UsageError(
            f"{flag} is not accepted: a flag's value is readable by every user of this host in the "
            f"process list; use {instead}")


def _url_password(url: str) -> str:
    """The password a database URL holds, or ''."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password or ""
    except ArgumentError:
        return ""  # not a URL at all: Settings and the database say what is wrong


def _safe(url: str) -> str:
    """The URL without its password."""
    head, sep, tail = url.rpartition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, userinfo = head.partition("://")
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{tail}"
