"""``current_context()``: what a running task knows about where it runs."""

from __future__ import annotations

import contextvars
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wingspan.core.errors import NotFoundError, UserError

__all__ = ["ExecutionContext", "Secrets", "current_context"]


class Secrets:
    """Secrets from the environment (``WINGSPAN_SECRET_<GROUP>_<KEY>``) or files
    (``$WINGSPAN_SECRETS_DIR/<group>/<key>``), as a pod mounts them."""

    def __init__(self, env: dict[str, str] | None = None, folder: str | None = None) -> None:
        self._env = os.environ if env is None else env
        self._folder = folder if folder is not None else self._env.get("WINGSPAN_SECRETS_DIR", "")

    @staticmethod
    def env_name(group: str, key: str) -> str:
        clean = "".join(c if c.isalnum() else "_" for c in f"{group}_{key}")
        return f"WINGSPAN_SECRET_{clean.upper()}"

    def get(self, group: str, key: str) -> str:
        name = self.env_name(group, key)
        if name in self._env:
            return self._env[name]
        if self._folder:
            path = Path(self._folder) / group / key
            if path.is_file():
                return path.read_text()
        raise NotFoundError(f"secret {group}/{key} is not available: set {name} or put it in "
                            f"$WINGSPAN_SECRETS_DIR/{group}/{key}")


@dataclass
class ExecutionContext:
    """Handed to task code through ``current_context()``."""

    execution_id: str
    node_id: str
    attempt: int
    task_name: str = ""
    _secrets: Secrets | None = None
    _scratch: Path | None = None

    @property
    def secrets(self) -> Secrets:
        """The task's secrets: ``secrets.get(group, key)``."""
        if self._secrets is None:
            self._secrets = Secrets()
        return self._secrets

    @property
    def scratch_dir(self) -> Path:
        """A fresh folder for this attempt, created on first use."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix=f"wingspan-{self.node_id.replace('/', '-')}-"))
        return self._scratch

    def start_attempt(self, node_id: str, attempt: int) -> None:
        """Makes this context another attempt's (a map lane's next item or retry): its own
        node id and attempt number, and a scratch folder of its own on first use."""
        self.node_id, self.attempt, self._scratch = node_id, attempt, None

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(f"wingspan.task.{self.task_name or self.node_id}")


_current: contextvars.ContextVar[ExecutionContext | None] = contextvars.ContextVar(
    "wingspan_execution_context", default=None)


def current_context() -> ExecutionContext:
    """The running task's context: execution id, node id, attempt, scratch dir, secrets, logger."""
    context = _current.get()
    if context is None:
        raise UserError("current_context() is available only inside a running task")
    return context


def set_context(context: ExecutionContext | None) -> contextvars.Token[ExecutionContext | None]:
    return _current.set(context)


def reset_context(token: contextvars.Token[ExecutionContext | None]) -> None:
    _current.reset(token)
