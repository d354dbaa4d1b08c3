"""``wingspan_mpi.pod_rank``: the command each rank of an MPIJob runs (only rank 0's outputs land
where the attempt's are read)."""

from __future__ import annotations

from wingspan_mpi.pod_rank import rank_command

ARGV = ["wingspan", "execute", "--output-prefix", "s3://b/data/e/n0/0", "--attempt", "0"]


def test_rank_zero_runs_the_attempts_command_as_it_is() -> None:
    assert rank_command(ARGV, {"OMPI_COMM_WORLD_RANK": "0"}) == ARGV
    assert rank_command(ARGV, {}) == ARGV  # no MPI launcher's variables: one rank


def test_another_rank_writes_under_its_own_folder() -> None:
    assert rank_command(ARGV, {"OMPI_COMM_WORLD_RANK": "1"})[3] == "s3://b/data/e/n0/0/ranks/1"
    assert rank_command(ARGV, {"PMI_RANK": "3"})[3] == "s3://b/data/e/n0/0/ranks/3"  # MPICH, Intel MPI
    assert rank_command(ARGV, {"PMI_RANK": "3"})[:3] == ARGV[:3]
