"""Checks of the identifiers requests carry, and the digests of stored content."""

from __future__ import annotations

import hashlib
import re
from typing import TypeVar

from wingspan.core.errors import InvalidArgumentError

__all__ = ["check_execution_id", "check_identifier", "check_name", "digest"]

IdT = TypeVar("IdT")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PART = {"project": 63, "domain": 63, "name": 255, "version": 255}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_name(value: str, what: str, *, limit: int = 255, pattern: re.Pattern[str] = _NAME) -> str:
    if not value:
        raise InvalidArgumentError(f"{what} is missing")
    if len(value) > limit:
        raise InvalidArgumentError(f"{what} {value[:40]!r}... is longer than {limit} characters")
    if not pattern.fullmatch(value):  # `$` alone lets a trailing newline through
        raise InvalidArgumentError(f"{what} {value!r} may hold only letters, digits, '_', '.' and '-'")
    return value


def check_identifier(identifier: IdT | None, what: str, *, version: bool = True) -> IdT:
    """A task, workflow or launch plan id: project, domain, name (and version) all set; returns it."""
    if identifier is None:
        raise InvalidArgumentError(f"{what}: the id is missing")
    for part in ("project", "domain", "name", "version") if version else ("project", "domain", "name"):
        check_name(
            getattr(identifier, part),
            f"{what}: {part}",
            limit=_PART[part],
            pattern=re.compile(r"^[^\s/]+$") if part == "version" else _NAME,
        )
    return identifier


def check_execution_id(execution_id: IdT | None, what: str = "execution id") -> IdT:
    """An execution id: project, domain and name all set; returns it."""
    if execution_id is None:
        raise InvalidArgumentError(f"{what} is missing")
    for part in ("project", "domain", "name"):
        check_name(getattr(execution_id, part), f"{what}: {part}", limit=_PART[part])
    return execution_id
