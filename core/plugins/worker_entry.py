"""The entry point of a local-process worker (``python -m wingspan.core.plugins.worker_entry``):
``localproc.worker``'s loop, told to load the installed plugins the first time a body of a
task type that is not built in arrives (its plugin's task environments and type
transformers). It lives outside ``localproc`` because plugin discovery itself registers the
local-process target.

With ``--fork-server FD MODULE...`` it is the zygote instead (``localproc.zygote``): it loads
what workers load, then forks each worker, which runs the same loop.
"""

from __future__ import annotations

import sys

from wingspan.core.plugins.localproc.worker import main, warm_up
from wingspan.core.plugins.localproc.zygote import serve
from wingspan.core.plugins.manager import load_for_bodies

__all__: list[str] = []


def _run_worker(argv: list[str]) -> None:
    main(argv, prepare=load_for_bodies)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fork-server"]:
        serve(int(sys.argv[2]), _run_worker, warm_up, preload=sys.argv[3:])
    else:
        main(prepare=load_for_bodies)
