"""``MPI``: the SDK half of the plugin, the task config of a task whose body runs on every rank.

``@task(task_config=MPI(workers=2))`` makes the task an ``mpi`` task: each attempt is one MPI
job of ``workers * slots_per_worker`` ranks (on one machine locally; ``workers`` pods of
``slots_per_worker`` processes each on a cluster), every rank runs the body, and rank 0's
return value is the task's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["MPI", "TASK_TYPE"]

TASK_TYPE = "mpi"


@dataclass(frozen=True)
class MPI:
    """An MPI job for a task's body: ``workers`` workers of ``slots_per_worker`` ranks each."""

    workers: int = 2
    slots_per_worker: int = 1
    task_type: ClassVar[str] = TASK_TYPE

    def __post_init__(self) -> None:
        problems = [f"{name} must be a whole number of at least 1, got {value!r}"
                    for name, value in (("workers", self.workers),
                                        ("slots_per_worker", self.slots_per_worker))
                    if isinstance(value, bool) or not isinstance(value, int) or value < 1]
        if problems:
            raise ValueError("MPI(...): " + "; ".join(problems))

    @property
    def ranks(self) -> int:
        """How many processes run the body."""
        return self.workers * self.slots_per_worker

    def to_custom(self) -> dict[str, Any]:
        return {"workers": self.workers, "slots_per_worker": self.slots_per_worker}

    @classmethod
    def from_custom(cls, custom: dict[str, Any]) -> MPI:
        """The config back from a template's ``custom`` (as plain values)."""
        return cls(**{key: custom[key] for key in ("workers", "slots_per_worker") if key in custom})
