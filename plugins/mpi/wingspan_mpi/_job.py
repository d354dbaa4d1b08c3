"""The folder of one MPI job (one attempt): the contract between the target that starts it and
the ranks that run it.

The target writes ``request.json`` (which task, where its code and store are, the attempt's
ids and output prefix) and ``inputs.pb`` (the inputs, a LiteralMap); rank 0 writes
``outputs.pb`` when its body returned; a rank whose body raised writes ``error-<rank>.pkl``
(its error as data) before it aborts the job. The target reads the outcome from these files,
so an engine that did not start the job (another replica) reads the same.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["JobFolder", "RankFailure"]


@dataclass(frozen=True)
class RankFailure:
    """A rank's body raised: its error, as ``error_from_exception`` made it, and the exception."""

    rank: int
    code: str
    message: str
    user_error: bool
    retryable: bool
    exception: bytes | None = None


@dataclass(frozen=True)
class JobFolder:
    path: Path

    @property
    def request(self) -> Path:
        return self.path / "request.json"

    @property
    def inputs(self) -> Path:
        return self.path / "inputs.pb"

    @property
    def outputs(self) -> Path:
        return self.path / "outputs.pb"

    def error(self, rank: int) -> Path:
        return self.path / f"error-{rank}.pkl"

    def write_request(self, request: dict[str, Any], inputs: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.inputs.write_bytes(inputs)
        self.request.write_text(json.dumps(request))

    def read_request(self) -> dict[str, Any]:
        request: dict[str, Any] = json.loads(self.request.read_text())
        return request

    def write_outputs(self, data: bytes) -> None:
        _write_whole(self.outputs, data)

    def write_failure(self, failure: RankFailure) -> None:
        _write_whole(self.error(failure.rank), pickle.dumps(failure))

    def failures(self) -> list[RankFailure]:
        """The ranks whose body raised, lowest rank first."""
        found = []
        for path in self.path.glob("error-*.pkl"):
            try:
                found.append(pickle.loads(path.read_bytes()))
            except (OSError, EOFError, pickle.UnpicklingError):
                continue
        return sorted(found, key=lambda failure: failure.rank)


def _write_whole(path: Path, data: bytes) -> None:
    """Written under another name, then renamed: a reader never sees half of it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(path)
