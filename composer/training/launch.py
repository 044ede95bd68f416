"""What an MPI launcher tells a process through its environment, read before NumPy loads.

`launched_size` says how many processes the launcher started (0: none, a plain run).
`share_cores` gives each rank its share of the machine's cores as BLAS threads: left
alone, every rank's OpenBLAS would start a thread per core, and 2 ranks on 2 cores
would run 4 busy threads that wait on each other. It only sets variables nobody set,
and only under a launcher; it must run before NumPy is imported (composer.cli does so).
"""

from __future__ import annotations

import os

# Set by MPI launchers in every rank: MPICH/Intel MPI (hydra), Slurm's PMI-2, PMIx, Open MPI.
LAUNCH_SIZE_VARIABLES = ("PMI_SIZE", "PMIX_SIZE", "OMPI_COMM_WORLD_SIZE")
LAUNCH_RANK_VARIABLES = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")
# Ranks on this machine: hydra, Open MPI, Slurm.
LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE",
                        "SLURM_STEP_TASKS_PER_NODE")
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def launched_size(environ=None) -> int:
    """The number of processes an MPI launcher says it started, 0 when none did."""
    environ = os.environ if environ is None else environ
    for name in LAUNCH_SIZE_VARIABLES:
        value = environ.get(name, "")
        if value.isdigit():
            return int(value)
    if any(name in environ for name in LAUNCH_RANK_VARIABLES):
        return 1  # a rank without a size: MPI will say how many
    return 0


def share_cores(environ=None) -> int:
    """Under a launcher of several ranks with no thread count set: set the BLAS threads of
    this rank to cores // ranks on this machine (at least 1) and return it; else 0."""
    environ = os.environ if environ is None else environ
    size = launched_size(environ)
    if size < 2 or any(name in environ for name in THREAD_VARIABLES):
        return 0
    local = next((int(environ[name].split("(")[0]) for name in LOCAL_SIZE_VARIABLES
                  if environ.get(name, "").split("(")[0].isdigit()), size)
    threads = max(1, _cores() // max(local, 1))
    for name in THREAD_VARIABLES:
        environ[name] = str(threads)
    return threads


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
