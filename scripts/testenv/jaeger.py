"""Jaeger for the tracing tests: a real OTLP receiver with a query API, on 127.0.0.1.

Jaeger ships no Debian package or wheel, and prebuilt binaries cannot be downloaded here,
so it is built from source through the Go module proxy: ``go get -tool
github.com/jaegertracing/jaeger/cmd/jaeger@VERSION`` in a small module of our own (the
program's module has replace directives, which ``go install`` refuses), then ``go build``
into ``cache_dir()/bin``; the Go caches are shared with the other Go builds (``go_env``).

It runs with a config of ours: in-memory storage, OTLP over HTTP in (the port saved as the
service's port) and the query API (``/api/traces``) on a second free port, nothing else.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from scripts.testenv.base import (
    await_ready,
    cache_dir,
    free_port,
    go_binary,
    one_at_a_time,
    save_env,
    service_port,
    start_once,
    state_dir,
    stop_daemon,
)

SERVICE = "jaeger"
MODULE = "github.com/jaegertracing/jaeger"
PROGRAM = f"{MODULE}/cmd/jaeger"
VERSION = os.environ.get("WINGSPAN_TESTENV_JAEGER_VERSION", "v1.75.0")
HOST = "127.0.0.1"
PORT_ENV = "WINGSPAN_TESTENV_JAEGER_PORT"

CONFIG = """\
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: {host}:{health}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: {host}:{query}
    grpc:
      endpoint: {host}:{query_grpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: {host}:{otlp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


def binary_path() -> Path:
    return cache_dir() / "bin" / f"jaeger-{VERSION}"


def build() -> Path:
    """Returns the cached binary, building it first if needed."""
    return go_binary(binary_path(), package=PROGRAM, version=VERSION, what="Jaeger", via_tool_module=True)


def _query_port() -> int:
    return int((state_dir(SERVICE) / "query-port").read_text())


def _health_port() -> int:
    return int((state_dir(SERVICE) / "health-port").read_text())


def _live() -> bool:
    with urllib.request.urlopen(f"http://{HOST}:{_health_port()}/status", timeout=2) as response:
        return bool(response.status == 200)


def _start(binary: Path) -> None:
    folder = state_dir(SERVICE)

    def argv(otlp: int) -> list[str]:
        ports = {"query": free_port(), "query_grpc": free_port(), "health": free_port()}
        (folder / "query-port").write_text(f"{ports['query']}\n")
        (folder / "health-port").write_text(f"{ports['health']}\n")
        config = folder / "config.yaml"
        config.write_text(CONFIG.format(host=HOST, otlp=otlp, **ports))
        return [str(binary), "--config", str(config)]

    start_once(SERVICE, PORT_ENV, "Jaeger", argv, host=HOST)


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    """Builds Jaeger unless cached, starts it unless it runs, and returns its env vars."""
    binary = build()
    _start(binary)
    await_ready(SERVICE, _live, timeout=60, what=f"Jaeger on {HOST}", name="Jaeger")
    return save_env(SERVICE, {
        "WINGSPAN_TEST_OTLP_ENDPOINT": f"http://{HOST}:{service_port(SERVICE, PORT_ENV)}",
        "WINGSPAN_TEST_JAEGER_QUERY": f"http://{HOST}:{_query_port()}",
    })


def stop() -> None:
    stop_daemon(SERVICE)
