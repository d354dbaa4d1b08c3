"""Projects and domains."""

from __future__ import annotations

from wingspan.core.model import codec
from wingspan.core.model.projects import Domain, Project
from wingspan.core.model.settings import ExecutionSettings
from wingspan.protos import v1
from wingspan.server.services.pagination import Page

__all__ = ["domains_message", "project_message", "project_settings_message", "projects_message"]


def project_message(project: Project) -> v1.Project:
    message: v1.Project = codec.to_proto(project)
    return message


def projects_message(found: Page[Project]) -> v1.ListProjectsResponse:
    return v1.ListProjectsResponse(projects=[project_message(p) for p in found.items],
                                   next_token=found.next_token)


def domains_message(domains: list[Domain]) -> v1.ListDomainsResponse:
    return v1.ListDomainsResponse(domains=[codec.to_proto(d) for d in domains])


def project_settings_message(project: str, domain: str, settings: ExecutionSettings) -> v1.ProjectSettings:
    return v1.ProjectSettings(project=project, domain=domain, settings=codec.to_proto(settings))
