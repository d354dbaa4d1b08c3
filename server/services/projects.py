"""Projects (create, update, archive, list) and domains (a configured list).

A project ``default`` and the configured domains exist from the first start
(:meth:`ProjectService.ensure_defaults`, run after the migrations).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from wingspan.core.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from wingspan.core.model.projects import Domain, Project, ProjectState, RetentionPolicy
from wingspan.core.model.tasks import KeyValue
from wingspan.server.db.engine import Database, is_unique_violation, now
from wingspan.server.db.models import DomainRow, ProjectRow
from wingspan.server.services.identifiers import check_name
from wingspan.server.services.pagination import Field, Listing, ListQuery, Page, page

__all__ = ["DEFAULT_DOMAINS", "DEFAULT_PROJECT", "ProjectService"]

DEFAULT_DOMAINS = ("development", "staging", "production")
DEFAULT_PROJECT = "default"
#: seconds a replica trusts what it read of a project's state
STATE_TTL = 2.0

_FIELDS = {
    "id": Field(ProjectRow.id, sortable=True),
    "name": Field(ProjectRow.name, sortable=True),
    "state": Field(ProjectRow.state, ProjectState),
    "created_at": Field(ProjectRow.created_at, "time", sortable=True),
}


def _project(row: ProjectRow) -> Project:
    labels = tuple(KeyValue(k, v) for k, v in json.loads(row.labels).items())
    retention = None
    if row.retention_seconds is not None:
        retention = RetentionPolicy(max_age=timedelta(seconds=row.retention_seconds))
    return Project(
        id=row.id,
        name=row.name,
        description=row.description,
        labels=labels,
        state=ProjectState(row.state),
        retention=retention,
    )


def _retention_seconds(project: Project) -> int | None:
    retention = project.retention
    if retention is None or retention.max_age is None:
        return None
    seconds = int(retention.max_age.total_seconds())
    if seconds <= 0:
        raise InvalidArgumentError(f"project {project.id!r}: the retention max_age must be positive")
    return seconds


class ProjectService:
    def __init__(self, db: Database, domains: Sequence[str] = DEFAULT_DOMAINS) -> None:
        self.db = db
        for domain in domains:
            check_name(domain, "domain")
        self.domains = tuple(domains)
        self._states: dict[str, tuple[int, float]] = {}

    async def ensure_defaults(self) -> None:
        """Writes the configured domains and the ``default`` project unless they exist
        (replicas starting together: the loser of a race finds the rows there and retries)."""
        for attempt in range(3):
            try:
                await self._write_defaults()
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    async def _write_defaults(self) -> None:
        async with self.db.write() as session:
            existing = {row.id: row for row in (await session.execute(select(DomainRow))).scalars()}
            for position, domain in enumerate(self.domains):
                row = existing.get(domain)
                if row is None:
                    session.add(DomainRow(id=domain, name=domain, position=position))
                else:
                    row.position = position
            for domain, row in existing.items():
                if domain not in self.domains:
                    await session.delete(row)
            if await session.get(ProjectRow, DEFAULT_PROJECT) is None:
                at = now()
                session.add(
                    ProjectRow(
                        id=DEFAULT_PROJECT,
                        name=DEFAULT_PROJECT,
                        description="The project used when none is named.",
                        created_at=at,
                        updated_at=at,
                    )
                )

    async def create_project(self, project: Project | None) -> Project:
        if project is None:
            raise InvalidArgumentError("the project is missing")
        check_name(project.id, "project id", limit=63)
        at = now()
        row = ProjectRow(
            id=project.id,
            name=project.name or project.id,
            description=project.description,
            labels=json.dumps({kv.key: kv.value for kv in project.labels}, sort_keys=True),
            state=int(project.state),
            retention_seconds=_retention_seconds(project),
            created_at=at,
            updated_at=at,
        )
        try:
            async with self.db.write() as session:
                session.add(row)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise AlreadyExistsError(f"project {project.id!r} already exists") from exc
            raise
        return _project(row)

    async def update_project(self, project: Project | None) -> Project:
        """Replaces name, description, labels, state (archive / unarchive) and retention."""
        if project is None or not project.id:
            raise InvalidArgumentError("the project (with its id) is missing")
        retention = _retention_seconds(project)
        async with self.db.write() as session:
            row = await session.get(ProjectRow, project.id)
            if row is None:
                raise NotFoundError(f"project {project.id!r} does not exist")
            row.name = project.name or row.name
            row.description = project.description
            row.labels = json.dumps({kv.key: kv.value for kv in project.labels}, sort_keys=True)
            row.state = int(project.state)
            row.retention_seconds = retention
            row.updated_at = now()
        self._states.pop(project.id, None)
        return _project(row)

    async def get_project(self, project_id: str) -> Project:
        async with self.db.read() as session:
            row = await session.get(ProjectRow, project_id)
        if row is None:
            raise NotFoundError(f"project {project_id!r} does not exist")
        return _project(row)

    async def list_projects(
        self, listing: Listing | None = None, *, include_archived: bool = False
    ) -> Page[Project]:
        """The projects by id unless sorted otherwise (the archived ones too if asked; ``listing``:
        limit, token, filters and sort, as every list's)."""
        listing = listing or Listing()
        statement = select(ProjectRow)
        if not include_archived:
            statement = statement.where(ProjectRow.state == 0)
        query = ListQuery.of(listing, _FIELDS, ProjectRow.id, default_sort="id")
        if listing.sort is None or not listing.sort.key:
            query = dataclasses.replace(query, ascending=True)
        statement, finish = page(statement, query)
        async with self.db.read() as session:
            rows = list((await session.execute(statement)).scalars())
        rows, token = finish(rows)
        return Page([_project(r) for r in rows], token)

    async def list_domains(self) -> list[Domain]:
        async with self.db.read() as session:
            rows = (await session.execute(select(DomainRow).order_by(col(DomainRow.position)))).scalars()
            return [Domain(r.id, r.name) for r in rows]

    async def _state(self, project: str) -> int | None:
        """The project's state, remembered for STATE_TTL seconds (a registration or a create
        asks for it each time; another replica's archive shows here at most that much later)."""
        cached = self._states.get(project)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with self.db.read() as session:
            state = (
                await session.execute(select(ProjectRow.state).where(ProjectRow.id == project))
            ).scalar_one_or_none()
        if state is not None:
            self._states[project] = (state, time.monotonic() + STATE_TTL)
        return state

    async def check_scope(self, project: str, domain: str, *, writing: bool = True) -> None:
        """Raises unless the project exists (and, to write in it, is active) and the domain is known."""
        if not project:
            raise InvalidArgumentError("the project is missing")
        if not domain:
            raise InvalidArgumentError("the domain is missing")
        state = await self._state(project)
        if state is None:
            raise NotFoundError(f"project {project!r} does not exist")
        if writing and state != 0:
            raise FailedPreconditionError(f"project {project!r} is archived: unarchive it to change it")
        if domain not in self.domains:
            valid = ", ".join(self.domains)
            raise NotFoundError(f"domain {domain!r} does not exist; domains: {valid}")
