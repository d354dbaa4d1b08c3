"""Signals: the values gates wait for."""

from __future__ import annotations

from wingspan.core.model import codec
from wingspan.core.model.progress import Signal
from wingspan.protos import v1
from wingspan.server.services.pagination import Page

__all__ = ["signals_message"]


def signals_message(found: Page[Signal]) -> v1.ListSignalsResponse:
    return v1.ListSignalsResponse(signals=[codec.to_proto(s) for s in found.items],
                                  next_token=found.next_token)
