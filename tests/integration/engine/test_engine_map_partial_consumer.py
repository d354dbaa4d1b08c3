"""A map that may leave failed items (``min_success_ratio < 1``) feeds a task declaring
``list[int | None]`` through `wingspan serve`: its items' values are stored untagged, and the
consumer reads them as the union's variants (None where an item failed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.engine.test_engine_map_items import run_to_end
from tests.unit.api.served import wingspan_serve

pytestmark = [pytest.mark.slow]

FLOW = '''
from typing import Optional

from wingspan import NonRetryableError, map_task, task, workflow


@task
def odd_fails(x: int) -> int:
    if x % 2:
        raise NonRetryableError(f"{x} is odd")
    return x * 10


@task
def described(xs: list[Optional[int]]) -> str:
    return ",".join("-" if x is None else str(x) for x in xs)


@workflow
def survivors(xs: list[int]) -> str:
    return described(xs=map_task(odd_fails, min_success_ratio=0.25)(x=xs))
'''


async def test_a_partial_maps_items_reach_a_consumer_of_optionals(tmp_path: Path) -> None:
    home, code = tmp_path / "home", tmp_path / "code"
    home.mkdir()
    code.mkdir()
    (code / "mappartialflow.py").write_text(FLOW)
    async with wingspan_serve(env={"WINGSPAN_HOME": str(home)}) as (_, _, host, port):
        _, finished = await run_to_end(f"{host}:{port}", code, "mappartialflow.survivors",
                                       {"xs": [0, 1, 2, 3]})
        assert finished.phase.name == "SUCCEEDED", finished.error
        assert finished.outputs == {"o0": "0,-,20,-"}
