"""The entry point of a local-process worker (``python -m wingspan.core.plugins.worker_entry``):
``localproc.worker``'s loop, told to load the installed plugins the first time a body of a
task type that is not built in arrives (its plugin's task environments and type
transformers). It lives outside ``localproc`` because plugin discovery itself registers the
local-process target."""

from __future__ import annotations

from wingspan.core.plugins.localproc.worker import main
from wingspan.core.plugins.manager import load_for_bodies

__all__: list[str] = []

if __name__ == "__main__":
    main(prepare=load_for_bodies)
