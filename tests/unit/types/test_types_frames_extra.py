"""pandas and pyarrow are the `dataframe` extra: without them a data frame fails naming the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# a run where pyarrow cannot be imported (as in an install without the extra)
_WITHOUT_ARROW = "import sys\nsys.modules['pyarrow'] = None\nsys.modules['pyarrow.parquet'] = None\n"


def _run(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _WITHOUT_ARROW + textwrap.dedent(body)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_storing_a_frame_names_the_extra(tmp_path: Path) -> None:
    # a local in-process run keeps the frame as a Python object; storing it (another process, the
    # server, the cache) needs Parquet
    done = _run(f"""
        import anyio
        import pandas as pd
        from wingspan.core.storage.local import LocalBlobStore
        from wingspan.core.types import TransferContext, default_engine

        store = LocalBlobStore({tmp_path.as_uri()!r})
        ctx = TransferContext(store=store, prefix=store.uri("data"))
        try:
            anyio.run(default_engine().to_literal, pd.DataFrame({{"a": [1]}}), pd.DataFrame, ctx)
        except Exception as exc:
            print(type(exc).__name__, exc)
    """)
    assert "pip install 'wingspan[dataframe]'" in done.stdout, done.stdout + done.stderr
    assert "needs pyarrow" in done.stdout


def test_a_lazy_frame_names_the_extra() -> None:
    done = _run("""
        from wingspan import DataFrame
        from wingspan.core.errors import MissingExtraError
        try:
            DataFrame(uri="file:///nowhere/data.parquet").to_arrow()
        except MissingExtraError as exc:
            print("extra", exc.extra, "|", exc)
    """)
    assert done.stdout.startswith("extra dataframe | a data frame needs pyarrow"), done.stdout + done.stderr


def test_the_main_distribution_does_not_require_them() -> None:
    from importlib.metadata import requires

    required = [r for r in requires("wingspan") or [] if "extra ==" not in r]
    names = {r.split(";")[0].split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in required}
    assert not names & {"pandas", "pyarrow", "kubernetes_asyncio", "kubernetes-asyncio"}, names
