"""Debian's Open MPI, installed by the test environment when the machine lacks it (CI's fresh
machine): every test here runs real mpirun jobs."""

from __future__ import annotations

import pytest

from scripts.testenv import openmpi


@pytest.fixture(scope="session", autouse=True)
def mpirun() -> str:
    return openmpi.ensure()["WINGSPAN_TEST_MPIRUN"]
