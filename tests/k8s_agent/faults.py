"""Failures the agent simulates on request, for tests of how Wingspan copes with them.

A pod asks for one with the annotation ``wingspan.test/simulate``; a test can also ask
the agent directly (``NodeAgent.simulate`` for a pod not yet created, ``NodeAgent.evict``
for one already running).
"""

from __future__ import annotations

import enum
from typing import Any

ANNOTATION = "wingspan.test/simulate"
# Seconds the pod runs before a simulated eviction; 0 evicts as soon as it runs.
EVICT_AFTER_ANNOTATION = "wingspan.test/evict-after-seconds"


class Fault(enum.Enum):
    # Every container waits in ErrImagePull, then ImagePullBackOff; the pod stays Pending.
    IMAGE_PULL_ERROR = "image-pull-error"
    # The pod starts, then the node evicts it: processes killed, phase Failed, reason Evicted.
    EVICT = "evict"
    # The agent never touches the pod, as when no node has room for it.
    STUCK_PENDING = "stuck-pending"


def fault_of(pod: dict[str, Any]) -> Fault | None:
    value = (pod["metadata"].get("annotations") or {}).get(ANNOTATION)
    if not value:
        return None
    try:
        return Fault(value)
    except ValueError:
        known = ", ".join(fault.value for fault in Fault)
        raise ValueError(f"{ANNOTATION}={value!r} is not one of: {known}") from None


def evict_delay(pod: dict[str, Any]) -> float:
    value = (pod["metadata"].get("annotations") or {}).get(EVICT_AFTER_ANNOTATION, "0")
    return float(value)
