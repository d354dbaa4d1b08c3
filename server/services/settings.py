"""Execution settings stored per project, project-domain and deployment, and resolved for
each new execution with the one precedence of :mod:`wingspan.core.model.settings`."""

from __future__ import annotations

from sqlmodel import col, select

from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.core.model import codec
from wingspan.core.model.settings import (
    DEPLOYMENT,
    ExecutionSettings,
    SettingSource,
    check_settings,
    resolve,
)
from wingspan.server.db.engine import Database, now
from wingspan.server.db.models import ProjectSettingsRow
from wingspan.server.services.projects import ProjectService

__all__ = ["SettingsService"]


class SettingsService:
    def __init__(self, db: Database, projects: ProjectService) -> None:
        self.db = db
        self.projects = projects

    async def _check_level(self, project: str, domain: str) -> None:
        if project == DEPLOYMENT:
            if domain:
                raise InvalidArgumentError(
                    f"the deployment's settings (project {DEPLOYMENT!r}) have no domain; leave it out")
            return
        if not project:
            raise InvalidArgumentError(
                f"the project is missing (or {DEPLOYMENT!r} for the deployment's settings)")
        if domain:
            await self.projects.check_scope(project, domain, writing=False)
        else:
            await self.projects.get_project(project)

    async def get_settings(self, project: str, domain: str) -> ExecutionSettings:
        """The settings of that level itself (empty when it sets none), not resolved."""
        await self._check_level(project, domain)
        async with self.db.read() as session:
            row = await session.get(ProjectSettingsRow, (project, domain))
        return codec.decode(ExecutionSettings, row.settings_bytes) if row else ExecutionSettings()

    async def update_settings(self, project: str, domain: str, settings: ExecutionSettings | None
                              ) -> ExecutionSettings:
        """Replaces the settings of that level whole (None or empty: it sets nothing)."""
        await self._check_level(project, domain)
        where = f"settings of {project}" + (f"/{domain}" if domain else "")
        check_settings(settings, where)
        settings = settings or ExecutionSettings()
        async with self.db.write() as session:
            row = await session.get(ProjectSettingsRow, (project, domain))
            if settings == ExecutionSettings():
                if row is not None:
                    await session.delete(row)
                return settings
            if row is None:
                session.add(ProjectSettingsRow(project=project, domain=domain,
                                               settings_bytes=codec.encode(settings), updated_at=now()))
            else:
                row.settings_bytes, row.updated_at = codec.encode(settings), now()
        return settings

    async def resolve(self, project: str, domain: str, *, requested: ExecutionSettings | None,
                      launch_plan: ExecutionSettings | None
                      ) -> tuple[ExecutionSettings, tuple[SettingSource, ...]]:
        """What an execution in ``project``/``domain`` runs with: what it asked for, then its
        launch plan's, the project-domain's, the project's and the deployment's settings."""
        if project == DEPLOYMENT:
            raise NotFoundError(f"project {DEPLOYMENT!r} holds the deployment's settings; it runs nothing")
        # at most four rows by their key: one statement, no session opened (each create asks)
        rows = await self.db.query(select(col(ProjectSettingsRow.project), col(ProjectSettingsRow.domain),
                                          col(ProjectSettingsRow.settings_bytes)).where(
            col(ProjectSettingsRow.project).in_((project, DEPLOYMENT)),
            col(ProjectSettingsRow.domain).in_((domain, ""))))
        stored = {(r.project, r.domain): codec.decode(ExecutionSettings, r.settings_bytes) for r in rows}
        return resolve([
            ("execution", requested), ("launch plan", launch_plan),
            ("project-domain", stored.get((project, domain))), ("project", stored.get((project, ""))),
            ("deployment", stored.get((DEPLOYMENT, ""))),
        ])
