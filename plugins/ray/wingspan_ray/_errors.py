"""What goes wrong on a Ray cluster, named: ``RayRemoteTaskError`` (a remote function or actor
method of the body raised: the user's error, retried as any), ``RayWorkerLostError`` (a Ray
worker process, actor or node died under the body's work: the platform's, retryable) and
``RayJobError`` (a head named by address refused an attempt's job, or the job ended without a
result: retryable)."""

from __future__ import annotations

from wingspan.plugin import UserError, WingspanError

__all__ = ["RayJobError", "RayRemoteTaskError", "RayWorkerLostError"]


class RayRemoteTaskError(UserError):
    """A Ray task of the body raised on the cluster; the message names it and its exception."""

    retryable = True


class RayWorkerLostError(WingspanError):
    """A Ray worker process, actor or node died while it ran the body's work."""

    retryable = True


class RayJobError(WingspanError):
    """A Ray head's Jobs API refused an attempt's job, or the job ended without a result."""

    retryable = True
