"""``Dask``: the SDK half of the plugin, the task config of a task whose body uses a Dask cluster.

``@task(task_config=Dask(workers=2))`` makes the task a ``dask`` task: its body runs where
Python bodies run, with a client of a cluster as ``current_context().dask_client`` (and as
Dask's default client, so ``ddf.compute()`` runs on it). With no ``scheduler`` the cluster is a
local one of ``workers`` processes, kept warm for the next attempt that asks for the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["TASK_TYPE", "Dask"]

TASK_TYPE = "dask"


@dataclass(frozen=True)
class Dask:
    """A Dask cluster for a task's body.

    ``scheduler``: the address of a running scheduler (``tcp://host:8786``) to connect to;
    empty for a local cluster (or the ``[plugins.dask] scheduler`` setting when it has one).
    ``workers``, ``threads_per_worker`` and ``memory_limit`` (bytes as text, ``"1GiB"``, or
    ``"auto"``) shape the local cluster.
    """

    scheduler: str = ""
    workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "auto"
    task_type: ClassVar[str] = TASK_TYPE

    def __post_init__(self) -> None:
        problems = [f"{name} must be a whole number of at least 1, got {value!r}"
                    for name, value in (("workers", self.workers), ("threads_per_worker",
                                                                    self.threads_per_worker))
                    if isinstance(value, bool) or not isinstance(value, int) or value < 1]
        if not isinstance(self.scheduler, str):
            problems.append(f"scheduler must be an address as text, got {self.scheduler!r}")
        if not isinstance(self.memory_limit, str) or not self.memory_limit:
            problems.append(f"memory_limit must be text such as '1GiB' or 'auto', got {self.memory_limit!r}")
        if problems:
            raise ValueError("Dask(...): " + "; ".join(problems))

    def to_custom(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler, "workers": self.workers,
                "threads_per_worker": self.threads_per_worker, "memory_limit": self.memory_limit}

    @classmethod
    def from_custom(cls, custom: dict[str, Any]) -> Dask:
        """The config back from a template's ``custom`` (as plain values)."""
        return cls(**{key: custom[key] for key in ("scheduler", "workers", "threads_per_worker",
                                                   "memory_limit") if key in custom})
