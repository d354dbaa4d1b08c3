"""Projects and domains: where entities and executions live."""

from __future__ import annotations

import enum
from datetime import timedelta

from wingspan.core.model.record import record
from wingspan.core.model.tasks import KeyValue

__all__ = ["Domain", "Project", "ProjectState", "RetentionPolicy"]


class ProjectState(enum.IntEnum):
    ACTIVE = 0
    ARCHIVED = 1


@record
class RetentionPolicy:
    # finished executions older than this are deleted with their data; None keeps them
    max_age: timedelta | None = None


@record
class Project:
    id: str = ""
    name: str = ""
    description: str = ""
    labels: tuple[KeyValue, ...] = ()
    state: ProjectState = ProjectState.ACTIVE
    retention: RetentionPolicy | None = None


@record
class Domain:
    id: str = ""
    name: str = ""
