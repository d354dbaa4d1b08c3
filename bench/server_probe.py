"""``wingspan serve`` with counters, for ``server_bench.py --count``: every SQL statement and
transaction the process runs, and every database connection it opens, counted by SQLAlchemy's
engine and pool events; on SIGUSR1 the counts
so far are written as JSON to ``$WINGSPAN_BENCH_COUNTS``.

    python bench/server_probe.py serve ...    # the arguments of ``wingspan serve``
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

counts: collections.Counter[str] = collections.Counter()
TABLE = re.compile(r"^\s*(?:UPDATE|(?:SELECT|INSERT|DELETE)\b.*?\b(?:FROM|INTO))\s+\"?(\w+)", re.S | re.I)


def _statement(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
    counts["statements"] += 1
    found = TABLE.match(statement)
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
    counts[f"{verb} {found.group(1) if found else ''}".strip()] += 1


def _transaction(kind: str) -> Any:
    def counted(_conn: Any) -> None:
        counts[kind] += 1
    return counted


def _write(_signum: int, _frame: Any) -> None:
    path = os.environ["WINGSPAN_BENCH_COUNTS"]
    with open(path + ".tmp", "w") as out:
        json.dump(counts, out)
    os.replace(path + ".tmp", path)


def _connected(_dbapi_connection: Any, _record: Any) -> None:
    counts["connections opened"] += 1


event.listen(Pool, "connect", _connected)
event.listen(Engine, "before_cursor_execute", _statement)
event.listen(Engine, "commit", _transaction("commits"))
event.listen(Engine, "rollback", _transaction("rollbacks"))
signal.signal(signal.SIGUSR1, _write)

if __name__ == "__main__":
    from wingspan.cli import main

    main(sys.argv[1:])
