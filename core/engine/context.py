"""``current_context()``: what a running task knows about where it runs."""

from __future__ import annotations

import contextvars
import logging
import os
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from wingspan.core.engine.attempt_files import RAW_FOLDER
from wingspan.core.engine.attempt_io import attempt_store, prefix_in
from wingspan.core.engine.checkpoints import Checkpoint
from wingspan.core.errors import NotFoundError, UserError
from wingspan.core.storage.uris import join_uri
from wingspan.core.types.raw_data import RawDataPlace, current_place

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore

__all__ = ["Deck", "ExecutionContext", "ExecutionName", "PluginValues", "Secrets", "current_context"]


class ExecutionName(str):
    """The running execution's id: a plain string ("project/domain/name" on a server) that also
    answers flytekit's ``execution_id.name``, ``.project`` and ``.domain``."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return self.rpartition("/")[2]

    @property
    def project(self) -> str:
        return self._part(0)

    @property
    def domain(self) -> str:
        return self._part(1)

    def _part(self, index: int) -> str:
        parts = self.split("/")
        return parts[index] if len(parts) == 3 else ""  # a local run has no project or domain


class Secrets:
    """Secrets from the environment (``WINGSPAN_SECRET_<GROUP>_<KEY>``) or files
    (``$WINGSPAN_SECRETS_DIR/<group>/<key>``), as a pod mounts them; ``get`` reads the value,
    ``get_file`` gives a file's path, whichever way the secret came."""

    def __init__(self, env: dict[str, str] | None = None, folder: str | None = None) -> None:
        self._env = os.environ if env is None else env
        self._folder = folder if folder is not None else self._env.get("WINGSPAN_SECRETS_DIR", "")
        self._written: Path | None = None  # get_file's files for secrets given in the environment

    @staticmethod
    def env_name(group: str, key: str) -> str:
        clean = "".join(c if c.isalnum() else "_" for c in f"{group}_{key}")
        return f"WINGSPAN_SECRET_{clean.upper()}"

    def get(self, group: str, key: str) -> str:
        """The secret's value (from the environment first, else its file)."""
        name = self.env_name(group, key)
        if name in self._env:
            return self._env[name]
        path = self._mounted(group, key)
        if path is not None:
            return path.read_text()
        raise self._missing(group, key)

    def get_file(self, group: str, key: str) -> str:
        """The path of a file holding the secret, for libraries that read credentials from a
        file: its mounted file (``Secret(..., mount="file")``), else a private file (mode 0600,
        removed with this context) written from the environment variable."""
        path = self._mounted(group, key)
        if path is not None:
            return str(path)
        name = self.env_name(group, key)
        if name not in self._env:
            raise self._missing(group, key)
        if self._written is None:
            self._written = Path(tempfile.mkdtemp(prefix="wingspan-secrets-"))  # mode 0700
            weakref.finalize(self, shutil.rmtree, self._written, True)
        path = self._written / group / key
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(self._env[name])
        return str(path)

    # flytekit's spelling of get_file
    get_secrets_file = get_file

    def _mounted(self, group: str, key: str) -> Path | None:
        if not self._folder:
            return None
        path = Path(self._folder) / group / key
        return path if path.is_file() else None

    def _missing(self, group: str, key: str) -> NotFoundError:
        return NotFoundError(f"secret {group}/{key} is not available: set {self.env_name(group, key)} "
                             f"or put it in $WINGSPAN_SECRETS_DIR/{group}/{key}")


class Deck:
    """A named section of the HTML report of the task attempt that makes it (flytekit's
    ``Deck``): ``Deck("name", html)`` inside a task adds it to the attempt's report, stored
    in the blob store when the attempt ends; ``append(html)`` adds more to it. (The
    renderers of ``wingspan.deck`` turn markdown, tables and data frames into HTML.)"""

    def __init__(self, name: str, html: str = "", *, context: ExecutionContext | None = None) -> None:
        self.name = name
        self._parts: list[str] = [html] if html else []
        context = context if context is not None else _running()
        if context is not None and context.keep_decks:
            if context.report is None:
                context.report = []
            context.report.append(self)

    def append(self, html: str) -> Deck:
        self._parts.append(html)
        return self

    @property
    def html(self) -> str:
        return "\n".join(self._parts)

    def __repr__(self) -> str:
        return f"<Deck {self.name!r} ({len(self.html)} characters)>"


@dataclass(frozen=True)
class PluginValues:
    """What the plugins' task environments gave an attempt (``spark_session``...), and the
    task type they were entered for."""

    task_type: str
    values: Mapping[str, Any]


#: attribute -> who gives it ("plugin 'spark' to tasks of type 'spark'"), filled as task
#: environments are installed, for the error a task gets when it asks for one it lacks
PROVIDERS: dict[str, str] = {}


@dataclass(slots=True)  # its attributes are read on the hot path (one context per attempt)
class ExecutionContext:
    """Handed to task code through ``current_context()``."""

    execution_id: ExecutionName
    node_id: str
    attempt: int
    task_name: str = ""
    # the attempt's blob store and output prefix, where its checkpoints go (None and "": this
    # process's configured store, on first use)
    store: BlobStore | None = None
    prefix: str = ""
    # False for a task with enable_deck=False: the decks it makes are not kept
    keep_decks: bool = True
    # the decks of this attempt's report, in the order they were made (None: it made none)
    report: list[Deck] | None = None
    _secrets: Secrets | None = None
    _scratch: Path | None = None
    _checkpoint: Checkpoint | None = None
    # what plugins' task environments gave this attempt, read as attributes (None: none ran)
    plugin_values: PluginValues | None = None

    def __getattr__(self, name: str) -> Any:
        # reached only when no field or property has the name: a plugin's value, or an error
        # that says which plugin gives it and to which task types
        if name.startswith("__"):
            raise AttributeError(name)
        given = self.plugin_values
        if given is not None and name in given.values:
            return given.values[name]
        task = f"task {self.task_name!r}" if self.task_name else f"node {self.node_id!r}"
        if given is not None:
            task += f" (task type {given.task_type!r}, given {', '.join(sorted(given.values)) or 'nothing'})"
        provider = PROVIDERS.get(name)
        hint = (f"{name} is given by {provider}" if provider else
                f"no installed plugin gives {name} (is the plugin that should give it installed here? "
                f"`wingspan plugins list` shows those that are)")
        raise AttributeError(f"current_context() has no attribute {name!r} in {task}: {hint}")

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

    @property
    def working_directory(self) -> str:
        """flytekit's name for ``scratch_dir``, as a string."""
        return str(self.scratch_dir)

    @property
    def checkpoint(self) -> Checkpoint:
        """This attempt's checkpoint: ``write``/``save`` what a retry should resume from,
        ``read``/``restore`` what the attempt before saved."""
        if self._checkpoint is None:
            self._checkpoint = Checkpoint(self.execution_id, self.node_id, self.attempt, self.store,
                                          self.prefix, lambda: self.scratch_dir)
        return self._checkpoint

    @property
    def decks(self) -> list[Deck]:
        """The sections of this attempt's report, in the order they were made."""
        return list(self.report or ())

    @property
    def default_deck(self) -> Deck:
        """The report's section named "default" (flytekit's), made on first use."""
        for deck in self.decks:
            if deck.name == "default":
                return deck
        return Deck("default", context=self)

    def raw_data_location(self, name: str) -> tuple[BlobStore | None, str]:
        """A fresh URI ending in ``name`` in this attempt's raw-data folder (``File.new_remote``),
        and the store it lies in (None: this process's configured one)."""
        prefix = prefix_in(attempt_store(self.store), self.prefix, self.execution_id, self.node_id,
                           self.attempt)
        return self.store, join_uri(prefix, RAW_FOLDER, uuid.uuid4().hex, name)

    def start_attempt(self, node_id: str, attempt: int) -> None:
        """Makes this context another attempt's (a map lane's next item or retry): its own
        node id and attempt number, and a scratch folder, checkpoint and report of its own."""
        self.node_id = node_id
        self.attempt = attempt
        self._scratch = self._checkpoint = self.report = None

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(f"wingspan.task.{self.task_name or self.node_id}")

    # flytekit's spelling
    logging = logger


# the file types' raw-data place (core/types/raw_data.py) is the running task's context
_current = current_place


def _running() -> ExecutionContext | None:
    return cast("ExecutionContext | None", _current.get())


def current_context() -> ExecutionContext:
    """The running task's context: execution id, node id, attempt, scratch dir, secrets,
    checkpoint, logger."""
    context = _running()
    if context is None:
        raise UserError("current_context() is available only inside a running task")
    return context


def set_context(context: ExecutionContext | None) -> contextvars.Token[RawDataPlace | None]:
    return _current.set(context)


def reset_context(token: contextvars.Token[RawDataPlace | None]) -> None:
    _current.reset(token)
