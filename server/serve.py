"""One process serving the admin API over HTTP (uvicorn + Litestar) and gRPC (grpclib).

:class:`ApiServer` binds both ports (0 picks a free one, read back from
``http_port`` / ``grpc_port``), opens the service layer on the configured database
and blob store, and stops gracefully: it reports not ready and NOT_SERVING first,
lets calls in flight finish (up to ``grace`` seconds), then closes the database and
the store. :func:`serve_forever` runs it until SIGTERM or SIGINT.

Callers present OAuth2 access tokens of this server's authorization server (served on the
HTTP port under ``/oauth2`` and ``/.well-known``): required on any bind beyond loopback, off
on a loopback bind unless ``auth = "required"`` (:func:`wingspan.server.auth.service.auth_required`).
Beside the admin service, the gRPC port serves the internal engine service (how engines
record events) to service accounts only; the engines' account ``engine`` has the engine
credential of ``WINGSPAN_HOME/engine.secret`` as its client secret, made at the first start
(:mod:`wingspan.server.engine.credential`).

``roles`` splits the server into replicas: ``api`` (gRPC and HTTP), ``engine`` (an
engine worker claiming executions under leases, named ``replica_id``) and
``scheduler`` (the scheduler, the notification sender, the event stream's publishers and the
retention runs); a process runs any of them. Beside the API, the engine runs on a thread and
event loop of its own (:mod:`wingspan.server.engine_thread`): its synchronous stretches (a big
map's first step) held every call for seconds when they shared one.

With ``tls_cert`` and ``tls_key`` both ports serve TLS (:mod:`wingspan.server.tls`): HTTPS
and gRPC over TLS, the certificate read again whenever its files change.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
import socket
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Any

import anyio
import uvicorn

from wingspan.core.config import Settings
from wingspan.core.errors import SystemError_
from wingspan.core.storage import LocalBlobStore, UrlSigner
from wingspan.server.api.authentication import CallAuthentication
from wingspan.server.api.backend import ApiBackend
from wingspan.server.api.engine_service import EngineServicer
from wingspan.server.api.exposure import check_exposure, is_loopback, loopback_only
from wingspan.server.api.grpc_server import DEFAULT_MAX_MESSAGE_BYTES, GrpcServer
from wingspan.server.api.http_app import HttpState, create_app
from wingspan.server.api.metrics import ApiMetrics
from wingspan.server.auth.service import AuthService, auth_required
from wingspan.server.bounded_stop import ENGINE_END_WITHIN, LOOPS_END_WITHIN, ended_within
from wingspan.server.console import console_routes
from wingspan.server.engine.credential import EngineCredential
from wingspan.server.engine_thread import EngineThread
from wingspan.server.metrics import EngineMetrics
from wingspan.server.tls import CertificateFiles
from wingspan.server.tracing import configure_tracing

__all__ = ["ROLES", "ApiServer", "RoleFailedError", "parse_roles", "serve_forever"]

ROLES = ("api", "engine", "scheduler")


class RoleFailedError(SystemError_):
    """A role of the server (engine, scheduler, notification sender) stopped while serving."""


def parse_roles(values: Any) -> frozenset[str]:
    """Roles from names, each a name or a comma list; ``all`` (or nothing) means every role."""
    if isinstance(values, str):
        values = [values]
    names = {part.strip() for value in values or () for part in str(value).split(",") if part.strip()}
    if not names or "all" in names:
        return frozenset(ROLES)
    unknown = sorted(names - set(ROLES))
    if unknown:
        from wingspan.core.errors import ConfigError

        raise ConfigError(f"unknown role {', '.join(unknown)}: choose from {', '.join(ROLES)} or all")
    return frozenset(names)

log = logging.getLogger("wingspan.server")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # named IPPROTO_TCP: asyncio turns TCP_NODELAY on for accepted connections only then
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the process owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    def __init__(
        self, settings: Settings, *, grace: float = 10.0, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        engine: bool = True, roles: frozenset[str] | None = None, replica_id: str = "",
        lease_seconds: float = 30.0, poll_seconds: float = 0.2,
    ) -> None:
        self.settings = settings
        self.grace = grace
        self.max_message_bytes = max_message_bytes
        self.admin: Any = None
        # the installed plugins, loaded once the services are open (their notifiers' kinds)
        self.plugins: Any = None
        self.grpc: GrpcServer | None = None
        self.http_state: HttpState | None = None
        self._uvicorn: _Uvicorn | None = None
        self._http_task: asyncio.Task[None] | None = None
        self.http_port = 0
        self.grpc_port = 0
        #: the TLS certificate both ports serve (``tls_cert``, ``tls_key``); None serves plain text
        self.certificates: CertificateFiles | None = None
        self.roles = frozenset(ROLES) if roles is None else roles
        if not engine:
            self.roles = self.roles - {"engine", "scheduler"}
        self.run_engine = "engine" in self.roles
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.engine: Any = None
        #: the API's metrics and their registry, which the engine's and the database's join
        #: (None on a replica without the API role: it serves no /metrics)
        self.api_metrics: ApiMetrics | None = None
        self.engine_metrics: EngineMetrics | None = None
        self.engine_credential: EngineCredential | None = None
        #: tokens, accounts and roles (None until the API role starts)
        self.auth: AuthService | None = None
        self._engine_task: asyncio.Task[None] | None = None
        #: the engine beside the API (both roles): on its own thread and event loop
        self.engine_thread: EngineThread | None = None
        self._events_listener: asyncio.Task[None] | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._loops_stop: anyio.Event | None = None
        self._stopping = False
        #: set when a role's loop ends by itself while serving; ``failure`` says which and why
        self.failed = asyncio.Event()
        self.failure = ""

    @property
    def http_url(self) -> str:
        host = self.settings.http_host
        scheme = "https" if self.certificates is not None else "http"
        return f"{scheme}://[{host}]:{self.http_port}" if ":" in host else f"{scheme}://{host}:{self.http_port}"

    @property
    def grpc_address(self) -> str:
        return f"{self.settings.grpc_host}:{self.grpc_port}"

    async def start(self) -> None:
        from wingspan.server.services.admin import AdminService

        # a certificate that does not load stops the start before anything is opened
        self.certificates = CertificateFiles.from_settings(self.settings) if "api" in self.roles else None
        if "api" not in self.roles:
            try:
                self.admin = await AdminService.open(self.settings)
                self._know_notifiers()
                await self._start_roles()
            except BaseException:
                await self.stop()
                raise
            return
        required = auth_required(self.settings, loopback_only=loopback_only(self.settings))
        check_exposure(self.settings, auth_required=required)
        http_socket = _bind(self.settings.http_host, self.settings.http_port)
        try:
            self.http_port = http_socket.getsockname()[1]
            # signed URLs of a local store must name the port really bound
            self.settings = dataclasses.replace(self.settings, http_port=self.http_port)
            self.admin = await AdminService.open(self.settings)
            self._know_notifiers()
            await self.admin.store.ensure_bucket()
            public_url = self.settings.auth_issuer.rstrip("/") or self.http_url
            if required and not self.settings.auth_issuer and not is_loopback(self.settings.http_host):
                log.warning("tokens and the OAuth2 metadata name %s, which clients elsewhere cannot reach: "
                            "set --auth-issuer (auth_issuer) to the URL they use", public_url)
            self.auth = AuthService(self.admin.db, self.settings, issuer=public_url, base_url=public_url,
                                    required=required)
            self.engine_credential = EngineCredential.load(self.settings.home)
            await self.auth.start(self.engine_credential.secret)
            backend = ApiBackend(self.admin, http_address=self.http_url, auth=self.auth)
            metrics = self.api_metrics = ApiMetrics()
            # the engine's and the database's metrics join the API's registry, served at /metrics
            self.engine_metrics = EngineMetrics(metrics.registry)
            self.admin.db.on_transaction = self.engine_metrics.transaction_held
            self._measure_notifications(metrics, self.engine_metrics)
            verifier = self.auth.verifier if required else None
            grpc_authentication = CallAuthentication(verifier, login_hint="")
            # the engines' channel: on the gRPC port only, to service accounts
            engine_service = EngineServicer(self.admin.events, self.auth.own_verifier, metrics)
            self.grpc = GrpcServer(backend, metrics=metrics, max_message_bytes=self.max_message_bytes,
                                   internal=[engine_service], settings=self.settings,
                                   authentication=grpc_authentication)
            grpc_tls = self.certificates.server_context(["h2"]) if self.certificates is not None else None
            await self.grpc.start(self.settings.grpc_host, self.settings.grpc_port, ssl=grpc_tls)
            self.grpc_port = self.grpc.port
            grpc_authentication.login_hint = self.grpc_address
            signer = None
            if isinstance(self.admin.store, LocalBlobStore):
                signer = UrlSigner.from_settings(self.settings, base_url=self.http_url)
            app = create_app(backend, metrics=metrics, signer=signer, max_body_bytes=self.max_message_bytes,
                             settings=self.settings, oauth=self.auth,
                             authentication=CallAuthentication(verifier, login_hint=self.grpc_address),
                             pages=console_routes)
            self.http_state = app.state.api
            self._listen_for_events()
            config = uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=max(int(self.grace), 1),
            )
            if self.certificates is not None:
                config.load()  # serve() keeps a loaded config's context: ours, which follows the files
                config.ssl = self.certificates.server_context(["http/1.1"])
            self._uvicorn = _Uvicorn(config)
            self._http_task = asyncio.create_task(self._uvicorn.serve(sockets=[http_socket]))
            while not self._uvicorn.started:
                if self._http_task.done():
                    await self._http_task
                    raise RuntimeError("the HTTP server stopped while starting")
                await asyncio.sleep(0.01)
            await self._start_roles()
        except BaseException:
            http_socket.close()
            await self.stop()
            raise

    def _know_notifiers(self) -> None:
        """The notifier kinds of the installed plugins (the built-in ones come through the same
        hook): notifications of other kinds are refused when registered."""
        from wingspan.core.plugins import load_plugins
        from wingspan.server.services.notifications import NotificationKinds

        assert self.admin is not None
        self.plugins = load_plugins(settings=self.settings)
        kinds = NotificationKinds.of(self.plugins.notifiers)
        self.admin.entities.notification_kinds = self.admin.executions.notification_kinds = kinds

    def _measure_notifications(self, metrics: ApiMetrics, engine_metrics: EngineMetrics) -> None:
        """The outbox's backlog, counted at each scrape (one indexed count)."""
        async def read_backlog() -> None:
            if self.admin is not None:
                engine_metrics.notification_backlog.set(await self.admin.notifications.backlog())

        metrics.before_scrape.append(read_backlog)

    def _listen_for_events(self) -> None:
        """On PostgreSQL, the watchers of this API replica hear of events that other processes
        (engine replicas) store at once, instead of at their next poll."""
        from wingspan.server.db.wakeups import EVENTS, WakeupListener

        if self.admin.db.dialect == "postgresql":
            listener = WakeupListener(self.admin.db.url, {EVENTS: self.admin.events.heard})
            self._events_listener = self.supervise("listener for events", listener.run())

    async def _start_roles(self) -> None:
        if "scheduler" in self.roles:
            from wingspan.core.errors import ConfigError

            for name in ("retention_interval_seconds", "retention_batch"):
                if getattr(self.settings, name) < 1:
                    raise ConfigError(f"setting {name}: {getattr(self.settings, name)} must be at least 1")
        if "engine" in self.roles and "api" in self.roles:
            await self._start_engine_thread()
        elif "engine" in self.roles:
            self._start_engine()
        if "scheduler" in self.roles:
            self._start_loops()

    async def _start_engine_thread(self) -> None:
        """Beside the API, the engine runs on a thread and event loop of its own
        (:mod:`wingspan.server.engine_thread`): its synchronous stretches never hold a call."""
        from wingspan.server.engine.worker import default_replica_id

        api_loop = asyncio.get_running_loop()
        events = self.admin.events

        def stored(execution_key: int) -> None:
            def wake() -> None:
                events.wake(execution_key)
                events.outbox.committed()

            if not api_loop.is_closed():
                api_loop.call_soon_threadsafe(wake)

        def failed(why: str) -> None:
            if not self._stopping:
                self.failure = why
                self.failed.set()

        self.engine_thread = EngineThread(
            self.settings, replica_id=self.replica_id or default_replica_id(self.settings.home),
            lease_seconds=self.lease_seconds, poll_seconds=self.poll_seconds,
            notification_kinds=self.admin.executions.notification_kinds, metrics=self.engine_metrics,
            on_stored=stored, on_failed=failed)
        await self.engine_thread.start()
        self.engine = self.engine_thread.engine
        # logs of attempts on plugins that can read them while they run (pods)
        self.admin.logs.readers.update(self.engine_thread.log_readers())
        self.admin.executions.on_created.append(self.engine_thread.wake)

    def _start_engine(self) -> None:
        from wingspan.server.engine.worker import EngineWorker, default_replica_id, server_registry
        from wingspan.server.services.logs import plugin_log_readers

        registry = server_registry(self.settings)
        # logs of attempts on plugins that can read them while they run (pods)
        self.admin.logs.readers.update(plugin_log_readers(registry.plugins))
        self.engine = EngineWorker(self.admin, registry, self.settings.home / "logs",
                                   replica_id=self.replica_id or default_replica_id(self.settings.home),
                                   lease_seconds=self.lease_seconds, poll_interval=self.poll_seconds,
                                   watch_interval=self.poll_seconds, metrics=self.engine_metrics)
        self.admin.executions.on_created.append(self.engine.wake)
        self._engine_task = self.supervise("engine", self.engine.run())

    def _start_loops(self) -> None:
        """The scheduler, the notification sender and the pruning of expired codes, tokens and
        sessions (each safe on every replica)."""
        from wingspan.server.auth.pruning import run_pruning
        from wingspan.server.notify.senders import SmtpSettings
        from wingspan.server.scheduling.scheduler import run_scheduler
        from wingspan.server.services.notifications import run_notification_sender
        from wingspan.server.stream.publisher import chosen_sinks, run_event_publishers

        sinks = chosen_sinks(self.settings.event_sink_list, self.plugins.event_sinks)
        self._loops_stop = anyio.Event()
        self._loops = [
            self.supervise("scheduler", run_scheduler(self.admin, stop=self._loops_stop)),
            self.supervise("notification sender", run_notification_sender(
                self.admin, stop=self._loops_stop, smtp=SmtpSettings.from_settings(self.settings),
                console_url=self.http_url, plugins=self.plugins)),
            self.supervise("pruning of expired logins", run_pruning(
                self.admin.db, session_idle_seconds=self.settings.session_idle_seconds,
                stop=self._loops_stop)),
            # each project's retention: finished executions older than it go, with their data
            self.supervise("retention", self.admin.run_retention(
                self.settings.retention_interval_seconds, batch=self.settings.retention_batch,
                stop=self._loops_stop)),
        ]
        if sinks:
            # the outward event stream: one publisher per sink across the replicas (a lease each)
            self._loops.append(self.supervise("event publishers", run_event_publishers(
                self.admin, sinks, stop=self._loops_stop, interval=self.poll_seconds * 5,
                lease=timedelta(seconds=self.lease_seconds))))

    def supervise(self, name: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Runs a role's loop; one that ends by itself while the server runs is a failure of the
        whole server (logged with its cause, ``failed`` set), never a server quietly missing a role."""
        task = asyncio.create_task(work, name=f"wingspan {name}")

        def ended(done: asyncio.Task[None]) -> None:
            if self._stopping or done.cancelled():
                return
            error = done.exception()
            why = f"{type(error).__name__}: {error}" if error else "its loop returned"
            log.error("the %s stopped: %s", name, why, exc_info=error)
            self.failure = f"the {name} stopped: {why}"
            self.failed.set()

        task.add_done_callback(ended)
        return task

    async def _stop_loops(self) -> None:
        if self._loops:
            assert self._loops_stop is not None
            self._loops_stop.set()
            loops, self._loops = self._loops, []
            for loop_task in loops:
                loop_task.cancel()
            await ended_within(loops, LOOPS_END_WITHIN, what="stopping the server's loops")
            for ended in (t for t in loops if t.done() and not t.cancelled()):
                ended.exception()  # a loop's failure while stopping is not the server's

    async def _stop_engine(self) -> None:
        self._stopping = True
        await self._stop_loops()
        if self.engine_thread is not None:
            await self.engine_thread.stop()
        if self._engine_task is not None:
            task, self._engine_task = self._engine_task, None
            if not task.done():
                await self.engine.drain()
            self.engine.detach()
            task.cancel()
            if await ended_within({task}, ENGINE_END_WITHIN, what="stopping the engine"):
                try:
                    task.result()
                except asyncio.CancelledError:
                    pass
                except Exception:
                    log.exception("the engine failed while stopping")
            # its attempts keep running: a successor resumes them now, not once the leases run out
            await self.engine.release_leases()

    async def stop(self) -> None:
        """Drains, then stops both servers and closes the service layer (safe to call twice)."""
        await self._stop_engine()
        if self._events_listener is not None:
            listener, self._events_listener = self._events_listener, None
            listener.cancel()
            ended = await ended_within({listener}, LOOPS_END_WITHIN, what="stopping the events listener")
            if ended and not listener.cancelled():
                listener.exception()  # its failure while stopping is not the server's
        if self.http_state is not None:
            self.http_state.drain()
        if self.grpc is not None:
            self.grpc.drain()
        await asyncio.gather(self._stop_http(), self._stop_grpc())
        if self.auth is not None:
            await self.auth.aclose()
        if self.admin is not None:
            admin, self.admin = self.admin, None
            await admin.aclose()

    async def _stop_http(self) -> None:
        if self._uvicorn is not None and self._http_task is not None:
            # uvicorn stops accepting, lets requests in flight finish within the grace, then cuts
            self._uvicorn.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._http_task), self.grace + 5)
            self._http_task = None

    async def _stop_grpc(self) -> None:
        if self.grpc is not None:
            grpc, self.grpc = self.grpc, None
            await grpc.close(self.grace)

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_forever(settings: Settings, *, on_ready: Callable[[ApiServer], None] | None = None,
                        **options: Any) -> None:
    """Runs the server until SIGTERM or SIGINT, then shuts it down gracefully."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tracer = configure_tracing()  # when the OTEL_* variables ask for traces
    try:
        async with ApiServer(settings, **options) as server:
            _freeze_start_up()
            if on_ready is not None:
                on_ready(server)
            stopped, failed = asyncio.create_task(stop.wait()), asyncio.create_task(server.failed.wait())
            await asyncio.wait({stopped, failed}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            failed.cancel()
            log.info("shutting down")
            if server.failed.is_set():
                raise RoleFailedError(f"{server.failure}; the server stopped (see the log above)")
    finally:
        gc.unfreeze()  # a caller that goes on (a test) gets its collector back as it was
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if tracer is not None:  # sends the spans not sent yet
            await asyncio.to_thread(tracer.shutdown)


def _freeze_start_up() -> None:
    """Moves what the start made (modules, classes, mappers, cached statements: most of the
    heap, kept as long as the process runs) out of the cyclic collector's sight, its garbage
    collected first. A full collection stops every thread of the process while it walks the
    heap: in a server started and serving 40 chains at once (about 240,000 objects) one took
    150 ms, on the path of every chain; with the start's objects frozen, 16-50 ms."""
    gc.collect()
    gc.freeze()
