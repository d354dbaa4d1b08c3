"""Pod status documents as a kubelet writes them through the status subresource."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

HOST_IP = "127.0.0.1"


def timestamp(moment: datetime.datetime | None = None) -> str:
    moment = moment or datetime.datetime.now(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"reason": reason}
    if message:
        state["message"] = message
    return {"waiting": state}


def running(started_at: datetime.datetime) -> dict[str, Any]:
    return {"running": {"startedAt": timestamp(started_at)}}


def terminated(exit_code: int, reason: str, started_at: datetime.datetime | None,
               finished_at: datetime.datetime | None = None, message: str = "",
               container_id: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {
        "exitCode": exit_code, "reason": reason, "finishedAt": timestamp(finished_at),
    }
    if started_at is not None:
        state["startedAt"] = timestamp(started_at)
    if message:
        state["message"] = message
    if container_id:
        state["containerID"] = container_id
    return {"terminated": state}


@dataclass
class ContainerState:
    """What the agent knows of one container; rendered into a containerStatuses entry."""

    name: str
    image: str
    state: dict[str, Any]
    last_state: dict[str, Any] = field(default_factory=dict)
    restart_count: int = 0
    container_id: str = ""

    @property
    def is_running(self) -> bool:
        return "running" in self.state

    @property
    def exit_code(self) -> int | None:
        return self.state["terminated"]["exitCode"] if "terminated" in self.state else None

    def render(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "name": self.name, "image": self.image,
            # imageID is what a runtime resolved the image to; the agent resolves nothing.
            "imageID": "", "ready": self.is_running, "started": self.is_running,
            "restartCount": self.restart_count, "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status


class Conditions:
    """Pod conditions whose lastTransitionTime changes only when their status flips."""

    ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
             "PodScheduled", "DisruptionTarget")

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}

    def set(self, kind: str, value: bool, reason: str = "", message: str = "") -> None:
        status = "True" if value else "False"
        current = self._items.get(kind)
        item: dict[str, Any] = {"type": kind, "status": status, "lastProbeTime": None}
        item["lastTransitionTime"] = (
            current["lastTransitionTime"] if current and current["status"] == status
            else timestamp()
        )
        if reason:
            item["reason"] = reason
        if message:
            item["message"] = message
        self._items[kind] = item

    def render(self) -> list[dict[str, Any]]:
        return [self._items[kind] for kind in self.ORDER if kind in self._items]


def pod_status(phase: str, conditions: Conditions, containers: list[ContainerState],
               init_containers: list[ContainerState], start_time: datetime.datetime,
               reason: str = "", message: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": conditions.render(),
        "hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}],
        # Every container runs on the host network of this machine.
        "podIP": HOST_IP, "podIPs": [{"ip": HOST_IP}],
        "startTime": timestamp(start_time),
        "containerStatuses": [c.render() for c in containers],
        "reason": reason or None, "message": message or None,
    }
    if init_containers:
        status["initContainerStatuses"] = [c.render() for c in init_containers]
    return status
