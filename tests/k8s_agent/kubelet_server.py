"""The part of the kubelet's HTTPS API the apiserver proxies pod logs to.

``GET /containerLogs/{namespace}/{pod}/{container}`` with the query parameters
``follow``, ``timestamps``, ``tailLines``, ``limitBytes``, ``sinceSeconds``, ``sinceTime``
and ``previous``. Clients must show a certificate from the cluster CA, which is what
the apiserver does with ``--kubelet-client-certificate``.
"""

from __future__ import annotations

import datetime
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from tests.k8s_agent.logs import ContainerLog, LogQuery, read_log

# (namespace, pod, container, previous) -> the log to serve, or an error text and status
LogLookup = Callable[[str, str, str, bool], ContainerLog | tuple[int, str]]


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() in ("true", "1")


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    return int(value) if value not in (None, "") else None


def _query(request: web.Request) -> LogQuery:
    since: datetime.datetime | None = None
    if (seconds := _int(request, "sinceSeconds")) is not None:
        since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds)
    elif request.query.get("sinceTime"):
        since = datetime.datetime.fromisoformat(request.query["sinceTime"])
    return LogQuery(follow=_flag(request, "follow"), timestamps=_flag(request, "timestamps"),
                    tail_lines=_int(request, "tailLines"),
                    limit_bytes=_int(request, "limitBytes"), since=since)


class KubeletServer:
    def __init__(self, lookup: LogLookup, pki_dir: Path, host: str = "127.0.0.1") -> None:
        self.lookup = lookup
        self.pki_dir = pki_dir
        self.host = host
        self.port = 0
        self._runner: web.AppRunner | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH,
                                             cafile=str(self.pki_dir / "ca.crt"))
        context.load_cert_chain(str(self.pki_dir / "kubelet.crt"),
                                str(self.pki_dir / "kubelet.key"))
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    async def _container_logs(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        try:
            query = _query(request)
        except ValueError as exc:
            return web.Response(status=400, text=f"bad query: {exc}")
        found = self.lookup(info["namespace"], info["pod"], info["container"],
                            _flag(request, "previous"))
        if isinstance(found, tuple):
            code, text = found
            return web.Response(status=code, text=text)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        async for chunk in read_log(found, query):
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def start(self) -> int:
        app = web.Application()
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._container_logs)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        # Bound before the site starts so the port is known without reaching into aiohttp.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self._ssl_context()).start()
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
