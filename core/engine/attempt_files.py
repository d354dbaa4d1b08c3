"""Where one attempt run elsewhere (a pod, any remote worker) finds and leaves its files.

The contract between whoever starts the attempt and the process that runs it: under the
attempt's output prefix (``<root>/data/<execution id>/<node path>/<attempt>``), the starter
writes ``inputs.pb`` (a LiteralMap) and, for a container task, ``task.pb`` (its
TaskTemplate); the attempt writes ``outputs.pb`` (a LiteralMap) when it succeeds or
``error.pb`` (an ExecutionError) when its task fails, its checkpoints below
``checkpoint/``, where the next attempt of the node finds them, ``report.html``, the
page of its decks, when it made any, and below ``raw/`` what its task wrote to the store
directly (``File.new_remote``). Files and frames the task
returns go to the store under the same prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from wingspan.core.storage.uris import join_uri

__all__ = ["CHECKPOINT_FOLDER", "ERROR_FILE", "INPUTS_FILE", "OUTPUTS_FILE", "RAW_FOLDER", "REPORT_FILE",
           "TASK_FILE", "AttemptFiles", "attempt_prefix"]

INPUTS_FILE = "inputs.pb"
TASK_FILE = "task.pb"
OUTPUTS_FILE = "outputs.pb"
ERROR_FILE = "error.pb"
CHECKPOINT_FOLDER = "checkpoint"
RAW_FOLDER = "raw"
REPORT_FILE = "report.html"


def attempt_prefix(root: str, execution_id: str, node_id: str, attempt: int) -> str:
    """The output prefix of one attempt of one node, below a store's ``root``."""
    return join_uri(root, "data", execution_id, *node_id.split("/"), str(attempt))


@dataclass(frozen=True)
class AttemptFiles:
    """The files of the attempt whose output prefix is ``prefix`` (a blob URI)."""

    prefix: str

    @property
    def inputs(self) -> str:
        return join_uri(self.prefix, INPUTS_FILE)

    @property
    def task(self) -> str:
        return join_uri(self.prefix, TASK_FILE)

    @property
    def outputs(self) -> str:
        return join_uri(self.prefix, OUTPUTS_FILE)

    @property
    def error(self) -> str:
        return join_uri(self.prefix, ERROR_FILE)

    @property
    def report(self) -> str:
        return join_uri(self.prefix, REPORT_FILE)

    def checkpoint(self, attempt: int | None = None) -> str:
        """The folder (ending in ``/``) of this attempt's checkpoint, or with ``attempt``, of that
        earlier attempt of the same node (whose prefix differs only in its last segment)."""
        prefix = self.prefix.rstrip("/")
        if attempt is not None:
            prefix = f"{prefix.rpartition('/')[0]}/{attempt}"
        return join_uri(prefix, CHECKPOINT_FOLDER) + "/"
