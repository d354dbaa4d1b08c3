"""One settings object for the whole platform.

Values are layered, later layers winning: built-in defaults, then a TOML config
file, then ``WINGSPAN_*`` environment variables, then explicit flags. Every piece
of local state lives under ``home`` (``$WINGSPAN_HOME``, default ``~/.wingspan``).

Plugins are configured in the same file, one table each (``[plugins.k8s]``), and by
``WINGSPAN_PLUGINS__<PLUGIN>__<KEY>`` environment variables (which win over the file).
Settings keeps those tables as they are written; each plugin's own schema checks its table
when the plugins load (``wingspan.core.plugins.config``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

from wingspan.core.errors import ConfigError

__all__ = ["PluginTable", "Settings", "default_home"]

ENV_PREFIX = "WINGSPAN_"
PLUGIN_ENV_PREFIX = f"{ENV_PREFIX}PLUGINS__"
# plugin key -> (key -> value, key -> where it was set), while loading
_Tables = dict[str, tuple[dict[str, Any], dict[str, str]]]


def default_home() -> Path:
    return Path(os.environ.get("WINGSPAN_HOME") or Path.home() / ".wingspan").expanduser()


@dataclasses.dataclass(frozen=True)
class PluginTable:
    """One plugin's settings as written, not yet checked: key -> value, and for each key where
    it was set (to name it in an error)."""

    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def where(self, key: str) -> str:
        return self.sources.get(key, "")


def plugin_key(name: str) -> str:
    """How a plugin's name is matched in tables and environment variables: case and ``-``/``_``
    do not matter (``WINGSPAN_PLUGINS__MY_PLUGIN__X`` configures the plugin ``my-plugin``)."""
    return name.lower().replace("-", "_")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Platform settings; build one with :meth:`Settings.load`."""

    home: Path = dataclasses.field(default_factory=default_home)
    # metadata database; empty means the SQLite file under home
    db_url: str = ""
    # blob storage root: empty means the local folder under home; else file:///..., s3://bucket/prefix,
    # abfs://container/prefix (Azure Blob Storage) or gs://bucket/prefix (Google Cloud Storage)
    storage: str = ""
    s3_endpoint: str = ""
    s3_access_key: str = ""
    # a secret is never a command-line flag (every user of the host reads the process list):
    # it comes from the environment, the config file, or a file named here
    s3_secret_key: str = ""
    s3_secret_key_file: str = ""
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    # Azure Blob Storage: the storage account, its access key (a secret: environment, config file or
    # the file named by azure_account_key_file) and the blob endpoint, empty for the account's own
    # https://ACCOUNT.blob.core.windows.net (an emulator's is http://host:port/ACCOUNT)
    azure_account: str = ""
    azure_account_key: str = ""
    azure_account_key_file: str = ""
    azure_endpoint: str = ""
    # Google Cloud Storage: a service account's JSON key file (requests carry its OAuth tokens and
    # signed URLs its signature; empty: requests carry no credentials, as an emulator takes them),
    # the endpoint (empty: https://storage.googleapis.com) and the project new buckets belong to
    gcs_credentials_file: str = ""
    gcs_endpoint: str = ""
    gcs_project: str = ""
    # literals whose serialised size exceeds this travel by reference through the blob store
    offload_threshold_bytes: int = 4 * 1024 * 1024
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 8089
    # gRPC endpoint a client talks to
    endpoint: str = "127.0.0.1:8089"
    # key that signs local-folder blob URLs; empty means one generated and kept under home
    signing_key: str = ""
    # which task plugin runs each task type: "python=local-process,spark=..." (a bare name is
    # python's); Python tasks run in-process when it says nothing
    task_targets: str = ""
    # the server's domains, in order, comma-separated
    domains: str = "development,staging,production"
    # --- what the server accepts from a caller (hardening); sizes in bytes ---
    # one uploaded code bundle, and one uploaded data object, through the data proxy
    max_bundle_upload_bytes: int = 256 * 1024 * 1024
    max_data_upload_bytes: int = 2 * 1024 * 1024 * 1024
    # a code bundle once unpacked: total size of its files and number of members
    max_bundle_unpacked_bytes: int = 1024 * 1024 * 1024
    max_bundle_members: int = 50_000
    # one free-text field of a request (a description, a label, a name...), in characters
    max_text_chars: int = 64 * 1024
    # retention (the scheduler role): seconds between runs that delete the finished executions
    # older than their project's retention, and at most how many executions a batch reads
    retention_interval_seconds: int = 3600
    retention_batch: int = 500
    # origins (scheme://host[:port]) whose pages may call the HTTP API, comma-separated;
    # empty: no cross-origin call is accepted
    cors_origins: str = ""
    # Host header values accepted besides the bound address, comma-separated (on loopback binds
    # only these and the loopback names are accepted, against DNS rebinding)
    allowed_hosts: str = ""
    # TLS on both ports: the server's certificate chain and private key (PEM files, read again
    # when they change); both or neither. The key file must not be readable by others.
    tls_cert: str = ""
    tls_key: str = ""
    # a client's extra trusted CA (PEM file) beside the system store, for a server whose
    # certificate a private CA signed
    ca: str = ""
    # an external OIDC issuer whose access tokens the server accepts: its URL exactly as its tokens'
    # iss claim, the audience they must name, and the claims naming the user and their groups (a
    # dotted name reads a nested claim, e.g. Keycloak's realm_access.roles)
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_subject_claim: str = "sub"
    oidc_groups_claim: str = "groups"
    # the console's client at that issuer: with it, people log in to the web console through the
    # issuer (its login page; the server redeems the code); the secret when the client has one
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    # serve on a non-loopback address with no authentication: refused unless set explicitly
    insecure: bool = False
    # the server's log lines: "text" for people, "json" (one object a line, with the execution,
    # node, attempt and trace ids of the work in progress) for log collectors
    log_format: str = "text"
    # the outward event stream: every stored execution, node and task event goes out as a
    # CloudEvent to each sink named here (comma-separated kinds: "webhook", or a plugin's such as
    # "nats"); empty: no stream, and nothing is written for one
    event_sinks: str = ""
    # the CloudEvents ``source`` of those events (a URI reference naming this deployment)
    event_source: str = "/wingspan"
    # the "webhook" sink's receiver: each event POSTed there (CloudEvents HTTP binding, structured)
    event_webhook_url: str = ""
    # who must present a token: "auto" (nobody on a loopback bind, everyone on any other bind
    # unless insecure), "required" or "off"
    auth: str = "auto"
    # the issuer this server's tokens name (its public HTTP URL); empty: the HTTP address it serves
    auth_issuer: str = ""
    # lifetimes in seconds: an access token, a refresh token, a signing key's time as the signer
    access_token_seconds: int = 900
    refresh_token_seconds: int = 30 * 24 * 3600
    signing_key_seconds: int = 7 * 24 * 3600
    # the console's session: ends after this long unused (idle), and this long after the login
    # in any case (absolute)
    session_idle_seconds: int = 8 * 3600
    session_max_seconds: int = 7 * 24 * 3600
    # the key (32 bytes, base64) that encrypts the token signing keys in the database; empty: one
    # made at the first start in home/keys.secret (replicas with separate homes must share it)
    key_encryption_key: str = ""
    # each plugin's table ([plugins.<name>] and WINGSPAN_PLUGINS__<NAME>__<KEY>), by plugin_key
    # (left out of the hash, which the platform's settings keep: a table is a dict)
    plugins: Mapping[str, PluginTable] = dataclasses.field(default_factory=dict, hash=False)

    def plugin_table(self, name: str) -> PluginTable:
        """The settings written for the plugin ``name`` (empty when there are none)."""
        return self.plugins.get(plugin_key(name), PluginTable())

    @property
    def storage_root(self) -> str:
        """The blob store root as a URI (``file://``, ``s3://``, ``abfs://`` or ``gs://``)."""
        if self.storage:
            return self.storage
        return (self.home / "blobs").resolve().as_uri()

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite+aiosqlite:///{(self.home / 'db' / 'wingspan.sqlite').resolve()}"

    @property
    def event_sink_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.strip() for s in self.event_sinks.split(",") if s.strip()))

    @property
    def domain_list(self) -> tuple[str, ...]:
        return tuple(d.strip() for d in self.domains.split(",") if d.strip())

    @classmethod
    def field_names(cls) -> list[str]:
        """The platform's own settings (the plugin tables are not among them)."""
        return [f.name for f in dataclasses.fields(cls) if f.name != "plugins"]

    @classmethod
    def load(
        cls,
        flags: Mapping[str, Any] | None = None,
        *,
        config_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Settings:
        """Defaults < config file < environment < flags (``None`` flags are ignored)."""
        env = os.environ if env is None else env
        flags = {k.replace("-", "_"): v for k, v in (flags or {}).items() if v is not None}
        values: dict[str, Any] = {}
        tables: _Tables = {}

        path = config_file or flags.pop("config", None) or env.get(f"{ENV_PREFIX}CONFIG")
        if path:
            values.update(_read_config_file(Path(path), tables))
        _read_plugin_env(env, tables)
        for name in cls.field_names():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = _coerce(name, raw, f"environment variable {ENV_PREFIX}{name.upper()}")
        for name, value in flags.items():
            _check_known(name, "flag")
            values[name] = _coerce(name, value, f"flag --{name.replace('_', '-')}")
        if values.get("s3_secret_key_file") and not values.get("s3_secret_key"):
            values["s3_secret_key"] = _read_secret(Path(values["s3_secret_key_file"]).expanduser(),
                                                   "s3_secret_key_file")
        if values.get("azure_account_key_file") and not values.get("azure_account_key"):
            values["azure_account_key"] = _read_secret(Path(values["azure_account_key_file"]).expanduser(),
                                                       "azure_account_key_file")
        if "home" not in values:
            # WINGSPAN_HOME is read by default_home(); an explicit env mapping must win too
            home = env.get(f"{ENV_PREFIX}HOME")
            values["home"] = Path(home).expanduser() if home else default_home()
        values["plugins"] = {name: PluginTable(v, s) for name, (v, s) in tables.items()}
        return cls(**values)


def _read_plugin_tables(data: Any, path: Path, tables: _Tables) -> None:
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise ConfigError(f"{path}: 'plugins' should hold one table per plugin, e.g. [plugins.k8s] "
                          "followed by that plugin's keys")
    for name, table in data.items():
        values, sources = tables.setdefault(plugin_key(name), ({}, {}))
        for key, value in table.items():
            values[key.replace("-", "_")] = value
            sources[key.replace("-", "_")] = f"key {key!r} of [plugins.{name}] in {path}"


def _read_plugin_env(env: Mapping[str, str], tables: _Tables) -> None:
    for variable, raw in env.items():
        if not variable.startswith(PLUGIN_ENV_PREFIX) or raw == "":
            continue
        name, sep, key = variable[len(PLUGIN_ENV_PREFIX):].partition("__")
        if not sep or not name or not key:
            raise ConfigError(f"environment variable {variable}: name a plugin and a key, "
                              f"{PLUGIN_ENV_PREFIX}<PLUGIN>__<KEY> (e.g. {PLUGIN_ENV_PREFIX}K8S__NODE_NAME)")
        values, sources = tables.setdefault(plugin_key(name), ({}, {}))
        values[key.lower()] = raw
        sources[key.lower()] = f"environment variable {variable}"


def _read_config_file(path: Path, tables: _Tables) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name == "plugins":
            _read_plugin_tables(value, path, tables)
            continue
        _check_known(name, f"key in {path}")
        out[name] = _coerce(name, value, f"key {key!r} in {path}")
    return out


def _read_secret(path: Path, setting: str) -> str:
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the secret named by {setting} ({path}): {exc.strerror}") from None
    if not secret:
        raise ConfigError(f"the secret file named by {setting} ({path}) is empty")
    return secret


def _check_known(name: str, where: str) -> None:
    if name not in Settings.field_names():
        valid = ", ".join(sorted(Settings.field_names()))
        raise ConfigError(f"unknown setting {name!r} ({where}); valid settings: {valid}")


_HINTS: dict[str, Any] = {}


def _coerce(name: str, value: Any, where: str) -> Any:
    if not _HINTS:
        _HINTS.update(get_type_hints(Settings))
    target = _HINTS[name]
    try:
        if target is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if target is int:
            if isinstance(value, bool):
                raise ValueError("expected an integer")
            return int(value)
        if target is Path:
            return Path(str(value)).expanduser()
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"invalid value {value!r} for setting {name!r} ({where}): {exc}") from exc
