"""Where one attempt run elsewhere (a pod, any remote worker) finds and leaves its files.

The contract between whoever starts the attempt and the process that runs it: under the
attempt's output prefix, the starter writes ``inputs.pb`` (a LiteralMap) and, for a
container task, ``task.pb`` (its TaskTemplate); the attempt writes ``outputs.pb`` (a
LiteralMap) when it succeeds or ``error.pb`` (an ExecutionError) when its task fails.
Files and frames the task returns go to the store under the same prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from wingspan.core.storage.uris import join_uri

__all__ = ["ERROR_FILE", "INPUTS_FILE", "OUTPUTS_FILE", "TASK_FILE", "AttemptFiles"]

INPUTS_FILE = "inputs.pb"
TASK_FILE = "task.pb"
OUTPUTS_FILE = "outputs.pb"
ERROR_FILE = "error.pb"


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
