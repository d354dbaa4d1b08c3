"""What a pod's state means for its attempt: running, done, or a failure with a clear cause.

Pods are plain dicts as the API server sends them. The classification is pure: the
times it depends on (when the attempt started, when an image-pull error was first seen)
come in as arguments, so one function serves the watch, a poll and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wingspan.plugin import ErrorKind, ExecutionError, TaskPhase

__all__ = ["PodState", "classify", "finished_at", "is_terminal", "pull_error", "started_containers"]

# waiting reasons that mean the image cannot be pulled; InvalidImageName never will be
_PULL_ERRORS = frozenset({"ErrImagePull", "ImagePullBackOff", "RegistryUnavailable", "ErrImageNeverPull"})
_BAD_IMAGE = frozenset({"InvalidImageName"})
# waiting reasons that mean the pod's configuration is wrong (a missing Secret or ConfigMap)
_CONFIG_ERRORS = frozenset({"CreateContainerConfigError", "CreateContainerError"})


@dataclass(frozen=True)
class PodState:
    """An attempt's state as read from its pod (before outputs are read)."""

    phase: TaskPhase
    reason: str = ""
    error: ExecutionError | None = None
    # the pod succeeded, or failed in a way the task may have explained in error.pb
    read_outputs: bool = False
    read_error: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


def _error(code: str, message: str, node_id: str, *, user: bool, retryable: bool) -> ExecutionError:
    return ExecutionError(code=code, message=message, kind=ErrorKind.USER if user else ErrorKind.SYSTEM,
                          retryable=retryable, node_id=node_id, occurred_at=_now())


def _statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def started_containers(pod: dict[str, Any]) -> bool:
    """Whether any container (init or main) has started: the pod is past pending."""
    for item in _statuses(pod):
        state = item.get("state") or {}
        if "running" in state or "terminated" in state or item.get("restartCount"):
            return True
    return False


def pull_error(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, message) of a container waiting on its image or its configuration, if any."""
    for item in _statuses(pod):
        waiting = (item.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason", "")
        if reason in _PULL_ERRORS or reason in _BAD_IMAGE or reason in _CONFIG_ERRORS:
            return reason, f"container {item.get('name')!r}: {reason}: {waiting.get('message', '')}".strip()
    return None


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def finished_at(pod: dict[str, Any]) -> datetime | None:
    """When a finished pod's last container ended (None while it runs)."""
    if not is_terminal(pod):
        return None
    times = [t["state"]["terminated"].get("finishedAt") for t in _statuses(pod)
             if "terminated" in (t.get("state") or {})]
    stamps = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times if t]
    if stamps:
        return max(stamps)
    created = (pod.get("metadata") or {}).get("creationTimestamp")
    return datetime.fromisoformat(created.replace("Z", "+00:00")) if created else _now()


def classify(pod: dict[str, Any] | None, node_id: str, *, waited: float, pull_error_for: float,
             pending_timeout: float, pull_grace: float, main_container: str) -> PodState:
    """The attempt's state from its pod. ``waited``: seconds since the attempt started;
    ``pull_error_for``: seconds since an image-pull or configuration error was first seen."""
    if pod is None:
        return PodState(TaskPhase.FAILED, "pod deleted", _error(
            "PodDeleted", "the task's pod was deleted before it finished (by someone else, or evicted "
            "and removed)", node_id, user=False, retryable=True))
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if phase == "Succeeded":
        return PodState(TaskPhase.SUCCEEDED, read_outputs=True)
    if phase == "Failed":
        return _failed(pod, node_id, main_container)
    problem = pull_error(pod)
    if problem is not None:
        reason, message = problem
        if reason in _BAD_IMAGE:
            return PodState(TaskPhase.FAILED, reason, _error(reason, message, node_id, user=True,
                                                             retryable=False))
        if pull_error_for >= pull_grace:
            if reason in _CONFIG_ERRORS:
                return PodState(TaskPhase.FAILED, reason, _error(
                    reason, f"{message} (is a Secret or ConfigMap the task needs missing?)", node_id,
                    user=True, retryable=False))
            return PodState(TaskPhase.FAILED, reason, _error(
                reason, f"the task's image could not be pulled for {pull_grace:g}s: {message}", node_id,
                user=True, retryable=True))
    if phase == "Pending" and not started_containers(pod):
        if pending_timeout and waited >= pending_timeout:
            return PodState(TaskPhase.FAILED, "PodPendingTimeout", _error(
                "PodPendingTimeout", f"the task's pod was still pending after {pending_timeout:g}s "
                f"({_pending_reason(pod)}); no node could run it in time", node_id, user=False,
                retryable=True))
        return PodState(TaskPhase.QUEUED, _pending_reason(pod))
    return PodState(TaskPhase.RUNNING, phase)


def _pending_reason(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True" and condition.get("reason"):
            return f"{condition.get('type')}: {condition['reason']}"
    if not (pod.get("spec") or {}).get("nodeName"):
        return "not scheduled to a node"
    return "waiting for its containers to start"


def _failed(pod: dict[str, Any], node_id: str, main_container: str) -> PodState:
    status = pod.get("status") or {}
    reason = status.get("reason", "")
    message = status.get("message", "")
    if reason == "Evicted":
        return PodState(TaskPhase.FAILED, reason, _error(
            "Evicted", f"the node evicted the task's pod: {message or 'no message'}", node_id,
            user=False, retryable=True))
    if reason == "DeadlineExceeded":
        return PodState(TaskPhase.TIMED_OUT, reason, _error(
            "TIMEOUT", f"the pod ran past its deadline and was stopped: {message}", node_id,
            user=True, retryable=True))
    terminated = _terminated(pod, main_container)
    if terminated is None:
        return PodState(TaskPhase.FAILED, reason or "Failed", _error(
            reason or "PodFailed", message or "the task's pod failed", node_id, user=False,
            retryable=True), read_error=True)
    name, state = terminated
    why = state.get("reason", "Error")
    code = state.get("exitCode")
    if why == "OOMKilled":
        return PodState(TaskPhase.FAILED, why, _error(
            "OOMKilled", f"container {name!r} ran out of memory (exit code {code}); ask for more "
            "with requests/limits", node_id, user=True, retryable=True))
    text = state.get("message") or ""
    return PodState(TaskPhase.FAILED, why, _error(
        f"ContainerFailed:{code}",
        f"container {name!r} exited with code {code} ({why}){': ' + text if text else ''}",
        node_id, user=True, retryable=True), read_error=True)


def _terminated(pod: dict[str, Any], main_container: str) -> tuple[str, dict[str, Any]] | None:
    """The container that failed: the first one terminated with a non-zero code (init
    containers first, as they ran first), else the main container's end."""
    ends = [(item.get("name", ""), item["state"]["terminated"]) for item in _statuses(pod)
            if "terminated" in (item.get("state") or {})]
    for name, state in ends:
        if state.get("exitCode"):
            return name, state
    for name, state in ends:
        if name == main_container:
            return name, state
    return ends[0] if ends else None
