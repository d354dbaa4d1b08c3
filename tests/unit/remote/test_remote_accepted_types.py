"""What issue #22 items 7-13 accept, through `wingspan serve`: code registered with a live server
in a child process runs in its worker processes, so every value crosses a process as a literal
(pickles, .npy blobs, key/value records, files inside records), and comes back as the local run's."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.unit.api.served import wingspan_serve
from wingspan._remote.client import AsyncRemote
from wingspan.core.errors import UserError
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.types.files import File
from wingspan.core.types.pickled import PickledTypeWarning

PROJECT = '''
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pydantic

from wingspan import Directory, File, task, workflow


class Model:
    def __init__(self, weights):
        self.weights = weights


class Total(NamedTuple):
    total: int


@dataclasses.dataclass
class Report:
    title: str
    body: File


class Wrapped(pydantic.BaseModel):
    report: Report
    pages: Directory


@task
def note(x: int):
    print("noted", x)


@task
def pair(a: int) -> (int, str):
    return a + 1, str(a)


@task
def summed(a: int, b: int) -> Total:
    return a + b


@workflow
def unannotated(x: int):
    y = summed(a=x, b=1)
    print(y)
    note(x=x)


@workflow
def tuples(a: int) -> tuple[str, int, int]:
    n, s = pair(a=a)
    return s, n, summed(a=n, b=1).total


@workflow
def named(a: int) -> Total:
    return summed(a=a, b=a)


@task
def fit(xs: list, options: dict) -> Model:
    return Model([float(x) * options["scale"] for x in xs])


@task
def predict(model: Model, x: float) -> float:
    return sum(model.weights) * x


@task
def counts(words: list[str]) -> dict[int, list[str]]:
    by_length = {}
    for word in words:
        by_length.setdefault(len(word), []).append(word)
    return by_length


@task
def describe(value: Any) -> dict:
    return {"type": type(value).__name__, "value": value}


@workflow
def untyped(xs: list, scale: float, words: list[str]) -> tuple[Model, float, dict[int, list[str]], dict]:
    model = fit(xs=xs, options={"scale": scale, "keys": {1: "one"}})
    return model, predict(model=model, x=2.0), counts(words=words), describe(value=xs)


@task
def models(n: int) -> Iterator[Model]:
    for i in range(n):
        yield Model([float(i)])


@task
def weights(ms: Iterator[Model]) -> list[float]:
    first = next(ms)
    return [first.weights[0], *[m.weights[0] for m in ms]]


@workflow
def streamed(n: int) -> tuple[list[float], list[float]]:
    ms = models(n=n)
    return weights(ms=ms), weights(ms=ms)


@task
def scaled(a: np.ndarray, by: float) -> np.ndarray:
    return a * by


@task
def made(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32).reshape(2, -1)


@task
def total(a: np.ndarray, blob: Model) -> int:
    return int(a.sum()) + int(sum(blob.weights))


@workflow
def totals(a: np.ndarray, blob: Model) -> int:
    return total(a=a, blob=blob)


@task
def rows(df: pd.DataFrame) -> int:
    return len(df)


@workflow
def counted(df: pd.DataFrame) -> int:
    return rows(df=df)


@workflow
def arrays(n: int) -> np.ndarray:
    return scaled(a=scaled(a=made(n=n), by=2.0), by=0.5)


@task
def write(title: str) -> Wrapped:
    Path("body.txt").write_text(title * 2)
    Path("pages").mkdir(exist_ok=True)
    Path("pages", "1.txt").write_text(title)
    return Wrapped(report=Report(title, File("body.txt")), pages="pages")


@task
def read(wrapped: Wrapped, extra: File) -> str:
    pages = [Path(p).read_text() for p in wrapped.pages.files()]
    return Path(wrapped.report.body).read_text() + "|" + ",".join(pages) + "|" + Path(extra).read_text()


@workflow
def records(title: str, extra: File) -> str:
    return read(wrapped=write(title=title), extra=extra)
'''


@pytest.fixture
async def remote(tmp_path: Path) -> AsyncIterator[AsyncRemote]:
    async with wingspan_serve(env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (_, _, host, port):
        client = AsyncRemote(f"{host}:{port}")
        try:
            yield client
        finally:
            await client.aclose()


async def test_signatures_and_values_issue_22_accepts_run_on_a_served_server_as_locally(
        remote: AsyncRemote, tmp_path: Path) -> None:
    from wingspan._registration.discovery import load_entities

    code = tmp_path / "code"
    code.mkdir()
    (code / "accepted_types.py").write_text(PROJECT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PickledTypeWarning)  # Model, pickled by design here
        entities = load_entities(code / "accepted_types.py")
    await remote.register(code)

    async def run(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        execution = await remote.execute(entities[f"accepted_types.{name}"], inputs, wait=True, timeout=120)
        assert (execution.phase, execution.error) == (WorkflowPhase.SUCCEEDED, ""), name
        return await execution.outputs()

    # 7: no return annotation, and print(promise) in the body; 8 and 9: (int, str), a bare NamedTuple
    assert await run("unannotated", {"x": 1}) == {}
    assert await run("tuples", {"a": 4}) == {"o0": "4", "o1": 5, "o2": 6}
    assert await run("named", {"a": 4}) == {"total": 8}

    # 10 and 11: bare containers, Any, int keys, a pickled object, numpy arrays
    outputs = await run("untyped", {"xs": [1, 2.5], "scale": 2.0, "words": ["a", "bc", "de"]})
    model = outputs.pop("o0")
    assert type(model).__name__ == "Model" and model.weights == [2.0, 5.0]
    assert outputs == {"o1": 14.0, "o2": {1: ["a"], 2: ["bc", "de"]},
                       "o3": {"type": "list", "value": [1, 2.5]}}
    # an iterator's items (pickled objects here), collected and read by two tasks
    assert await run("streamed", {"n": 3}) == {"o0": [0.0, 1.0, 2.0], "o1": [0.0, 1.0, 2.0]}

    # by name, with no Python types: JSON-like values go in, plain data comes out (a pickle as bytes)
    by_name = await remote.execute("accepted_types.untyped", {"xs": [1, 2.5], "scale": 2.0, "words": ["a"]},
                                   wait=True, timeout=120)
    assert by_name.error == ""
    plain = await by_name.outputs()
    assert isinstance(plain.pop("o0"), bytes)
    assert plain == {"o1": 14.0, "o2": {1: ["a"]}, "o3": {"type": "list", "value": [1, 2.5]}}
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    back = (await run("arrays", {"n": 6}))["o0"]
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, array)
    # an array given as an input goes up through the data proxy, as a large value does
    # (and a pickle over the 4 MiB offload threshold)
    big, heavy = np.arange(100_000, dtype=np.int64), type(model)([1.0] * 700_000)
    assert (await run("totals", {"a": big, "blob": heavy}))["o0"] == int(big.sum()) + 700_000
    assert await run("counted", {"df": pd.DataFrame({"x": [1, 2, 3]})}) == {"o0": 3}

    # 12: a File in a dataclass in a pydantic model, a Directory in the model, a str for a File
    (tmp_path / "extra.txt").write_text("x")
    assert await run("records", {"title": "ab", "extra": str(tmp_path / "extra.txt")}) == {"o0": "abab|ab|x"}
    # a local folder inside a record cannot go up yet (a file there can), and says what to do
    wrapped = entities["accepted_types.read"].interface.inputs["wrapped"]
    report: Any = wrapped.model_fields["report"].annotation
    given = wrapped(report=report("t", File(tmp_path / "extra.txt")), pages=str(tmp_path))
    with pytest.raises(UserError, match="cannot take this value's folder of objects yet"):
        await remote.execute(entities["accepted_types.read"], {"wrapped": given, "extra": "s3://b/k"})
