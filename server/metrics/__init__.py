"""The server's Prometheus metrics beyond the API's: what the engine replica does, how long the
database holds transactions, and what waits in the notification outbox; the Grafana dashboard
over them ships beside (``dashboard.json``, :func:`dashboard`).

``/metrics`` is guarded like the rest of the API: when the server requires tokens, a scrape
presents a bearer token of any account (Prometheus' ``oauth2`` scrape setting with a service
account's client id and secret gets one from ``/oauth2/token``). No role is needed, because no
series names a project, an execution or a node. Each replica with the API role serves its own
metrics; an ``engine``-only replica serves none (it has no HTTP port).
"""

from wingspan.server.metrics.dashboard import dashboard, dashboard_queries
from wingspan.server.metrics.engine import EngineMetrics, MeteredSink

__all__ = ["EngineMetrics", "MeteredSink", "dashboard", "dashboard_queries"]
