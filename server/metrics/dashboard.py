"""The Grafana dashboard shipped with the server (``dashboard.json``, import it in Grafana and pick
the Prometheus data source that scrapes the replicas' ``/metrics``)."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

__all__ = ["dashboard", "dashboard_queries"]

_METRIC = re.compile(r"\b(wingspan_[a-z0-9_]+)")


def dashboard() -> dict[str, Any]:
    """The dashboard's JSON model."""
    text = resources.files(__package__).joinpath("dashboard.json").read_text(encoding="utf-8")
    model: dict[str, Any] = json.loads(text)
    return model


def dashboard_queries(model: dict[str, Any] | None = None) -> set[str]:
    """The metric names the dashboard's panels and variables query."""
    model = dashboard() if model is None else model
    exprs = [target["expr"] for panel in model["panels"] for target in panel.get("targets", ())]
    exprs += [variable["query"]["query"] for variable in model["templating"]["list"]
              if isinstance(variable.get("query"), dict)]
    return {name for expr in exprs for name in _METRIC.findall(expr)}
