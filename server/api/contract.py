"""What a request must hold beyond its protobuf types: required fields, name patterns, maximums.

One table, read by the check both transports run (:func:`check_rules`, called from
:mod:`.messages`) and by the OpenAPI document (:mod:`.openapi`), so that the document
says exactly what the server accepts. Keys are message names (as in the IDL), then
field names; a rule on a message field may also name which of that message's fields
must be set (``requires``: an Identifier is complete in GetTask, partial in an
execution's ``entity_id``).

Patterns are whole-value regular expressions valid in Python and ECMA-262 alike. A
string that is not required may also be empty (proto3 does not tell an empty string
from an absent one on the wire).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import re
from typing import Any

from wingspan.core.errors import InvalidArgumentError

__all__ = ["NAME", "RULES", "SUBJECT", "FieldRule", "check_rules"]

#: project, domain, entity and execution names
NAME = r"[A-Za-z0-9_.\-]+"
#: printable ASCII but space and '/' (Python's and ECMA's ``\s`` differ, so it is spelt out)
VERSION = r"[!-.0-~]+"
#: who a role binding names: a user, a service account, or group:NAME
SUBJECT = r"(group:)?[A-Za-z0-9_.@\-]+"
_OR_EVERY = rf"\*|{NAME}"
MAX_LIMIT = 1000  # services.pagination.MAX_LIMIT
_ONE_SECOND = datetime.timedelta(seconds=1)


@dataclasses.dataclass(frozen=True, slots=True)
class FieldRule:
    required: bool = False
    pattern: str | None = None
    max_length: int | None = None
    maximum: int | None = None
    #: the enum values allowed (their IDL names)
    enum: tuple[str, ...] | None = None
    #: fields of this (message) field that must be set
    requires: tuple[str, ...] = ()
    #: the exact size of a bytes field, when set
    byte_length: int | None = None
    #: a Duration of at least one second, when set
    whole_seconds: bool = False

    def regex(self) -> re.Pattern[str] | None:
        return None if self.pattern is None else _compiled(self.pattern)

    def duration_pattern(self) -> str | None:
        """The JSON text of a Duration of at least one second."""
        return r"[1-9][0-9]{0,11}(\.[0-9]{1,9})?s" if self.whole_seconds else None

    def base64_pattern(self) -> str | None:
        """The base64 text of ``byte_length`` bytes (what the JSON mapping carries)."""
        if self.byte_length is None:
            return None
        padding = (3 - self.byte_length % 3) % 3
        chars = 4 * ((self.byte_length + 2) // 3) - padding
        return f"[A-Za-z0-9+/]{{{chars}}}" + "=" * padding


_REQUIRED = FieldRule(required=True)
_PROJECT = FieldRule(required=True, pattern=NAME, max_length=63)
_NAME = FieldRule(required=True, pattern=NAME, max_length=255)
_LIMIT = FieldRule(maximum=MAX_LIMIT)
_FULL_ID = FieldRule(required=True, requires=("project", "domain", "name", "version"))


def _needs(*fields: str, **rules: FieldRule) -> dict[str, FieldRule]:
    return {**{f: _REQUIRED for f in fields}, **rules}


RULES: dict[str, dict[str, FieldRule]] = {
    # identifiers
    "ExecutionId": {"project": _PROJECT, "domain": _PROJECT, "name": _NAME},
    "NamedEntityIdentifier": {"project": _PROJECT, "domain": _PROJECT, "name": _NAME},
    "Identifier": {
        "project": FieldRule(pattern=NAME, max_length=63), "domain": FieldRule(pattern=NAME, max_length=63),
        "name": FieldRule(pattern=NAME, max_length=255),
        "version": FieldRule(pattern=VERSION, max_length=255),
    },
    "NodeExecutionId": _needs("execution_id", "node_id"),
    "TaskExecutionId": _needs("node_execution_id"),
    "SignalId": _needs("execution_id", "signal_id"),
    # projects
    "Project": {"id": _PROJECT},
    "CreateProjectRequest": _needs("project"),
    "UpdateProjectRequest": _needs("project"),
    "ListProjectsRequest": {"limit": _LIMIT},
    # a project's id, or "*" for the deployment's settings
    "GetProjectSettingsRequest": {"project": FieldRule(required=True, max_length=63)},
    "UpdateProjectSettingsRequest": {"project": FieldRule(required=True, max_length=63)},
    # the retention of a project: whole seconds, at least one (services.projects)
    "RetentionPolicy": {"max_age": FieldRule(whole_seconds=True)},
    # entities
    "RegisterTaskRequest": _needs("template", id=_FULL_ID),
    "RegisterWorkflowRequest": _needs("template", id=_FULL_ID),
    "RegisterLaunchPlanRequest": _needs("spec", id=_FULL_ID),
    "GetEntityRequest": {"id": _FULL_ID},
    "GetActiveLaunchPlanRequest": _needs("id"),
    "UpdateLaunchPlanStateRequest": {"id": _FULL_ID},
    "ListRequest": {"project": _PROJECT, "domain": _PROJECT, "name": FieldRule(pattern=NAME, max_length=255),
                    "limit": _LIMIT},
    "ListNamesRequest": _needs("list", resource_type=FieldRule(
        required=True, enum=("RESOURCE_TYPE_TASK", "RESOURCE_TYPE_WORKFLOW", "RESOURCE_TYPE_LAUNCH_PLAN"))),
    # executions
    "CreateExecutionRequest": {
        # the service would also take them from spec.entity_id; callers over the API name them
        "project": _PROJECT, "domain": _PROJECT,
        "name": FieldRule(pattern=NAME, max_length=255),
        "spec": FieldRule(required=True, requires=("entity_id",)),
    },
    "ExecutionSpec": {"entity_id": FieldRule(requires=("name",))},
    "GetExecutionRequest": _needs("id"),
    "TerminateExecutionRequest": _needs("id"),
    "RelaunchExecutionRequest": _needs("id", name=FieldRule(pattern=NAME, max_length=255)),
    "RecoverExecutionRequest": _needs("id", name=FieldRule(pattern=NAME, max_length=255)),
    "DeleteExecutionRequest": _needs("id"),
    "UpdateExecutionRequest": _needs("id"),
    "WatchExecutionRequest": _needs("id"),
    "ListNotificationsRequest": _needs("execution_id"),
    "ListNodeExecutionsRequest": _needs("execution_id", limit=_LIMIT),
    "GetNodeExecutionRequest": _needs("id"),
    "ListTaskExecutionsRequest": _needs("node_execution_id", limit=_LIMIT),
    "GetTaskExecutionRequest": _needs("id"),
    "GetTaskLogsRequest": _needs("node_execution_id"),
    "ListEventsRequest": _needs("execution_id", limit=_LIMIT),
    "ListSignalsRequest": _needs("execution_id", limit=_LIMIT),
    "SetSignalRequest": _needs("id", "value"),
    "WorkflowExecutionEvent": _needs("execution_id"),
    "NodeExecutionEvent": _needs("id"),
    "TaskExecutionEvent": _needs("id"),
    # data proxy
    "CreateUploadLocationRequest": {
        "project": _PROJECT, "domain": _PROJECT,
        # a relative path only in a folder (the data proxy checks its parts)
        "filename": FieldRule(required=True, pattern=r"[A-Za-z0-9_.\-/]{1,255}", max_length=255),
        "content_md5": FieldRule(byte_length=16),
        "folder": FieldRule(pattern="[a-z0-9]{16,64}", max_length=64),
    },
    "CreateDownloadLocationRequest": _needs("native_url"),
    # who may do what (server/auth/roles.py): "*" as project and domain is deployment-wide
    "RoleBinding": {
        "subject": FieldRule(required=True, pattern=SUBJECT, max_length=255),
        "role": FieldRule(required=True, pattern="admin|contributor|viewer"),
        "project": FieldRule(required=True, pattern=_OR_EVERY, max_length=63),
        "domain": FieldRule(required=True, pattern=_OR_EVERY, max_length=63),
    },
    "GrantRoleRequest": _needs("binding"),
    "RevokeRoleRequest": _needs("binding"),
    "ListRoleBindingsRequest": {"project": FieldRule(pattern=_OR_EVERY, max_length=63),
                                "subject": FieldRule(pattern=SUBJECT, max_length=255)},
    # an external issuer's subject may hold any character: only its length is bounded
    "ListAuditEventsRequest": {"limit": _LIMIT, "project": FieldRule(pattern=_OR_EVERY, max_length=63),
                               "principal": FieldRule(max_length=255),
                               "method": FieldRule(pattern="[A-Za-z]+", max_length=64)},
}


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def check_rules(message: Any, path: str) -> None:
    """Raises InvalidArgumentError for the first rule of :data:`RULES` the message breaks (its
    fields' types are checked already)."""
    rules = RULES.get(type(message).__name__)
    if not rules:
        return
    for name, rule in rules.items():
        value = getattr(message, name)
        where = f"{path}.{name}"
        if rule.enum is not None:
            shown = value.proto_name or value.name
            if shown not in rule.enum:
                valid = ", ".join(rule.enum)
                raise InvalidArgumentError(f"{where}: {shown} is not accepted here; use one of {valid}")
            continue
        if value is None or value in ("", b""):
            if rule.required:
                raise InvalidArgumentError(f"{where} is missing")
            continue
        if isinstance(value, str):
            if rule.max_length is not None and len(value) > rule.max_length:
                raise InvalidArgumentError(
                    f"{where}: {len(value)} characters is above the limit of {rule.max_length}")
            regex = rule.regex()
            if regex is not None and not regex.fullmatch(value):
                raise InvalidArgumentError(f"{where}: {value[:60]!r} does not match {rule.pattern}")
        elif isinstance(value, bytes):
            if rule.byte_length is not None and len(value) != rule.byte_length:
                raise InvalidArgumentError(f"{where}: expected {rule.byte_length} bytes, not {len(value)}")
        elif isinstance(value, datetime.timedelta) and rule.whole_seconds and value < _ONE_SECOND:
            raise InvalidArgumentError(f"{where}: {value.total_seconds()}s is shorter than the minimum of 1s")
        elif isinstance(value, int) and rule.maximum is not None and value > rule.maximum:
            raise InvalidArgumentError(f"{where}: {value} is above the maximum of {rule.maximum}")
        for part in rule.requires:
            if not getattr(value, part):
                raise InvalidArgumentError(f"{where}.{part} is missing")
