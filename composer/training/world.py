"""The processes of a training run: one (`Solo`), or every rank of an MPI job (`MpiWorld`).

`composer train` started by an MPI launcher (`mpiexec -n 4 composer train ...`, or
`srun` under Slurm) runs once per rank; `current_world()` finds the launcher's variables
in the environment (training.launch) and only then imports mpi4py (the optional `mpi`
extra), so a plain run never loads MPI. Both worlds offer the few collective
operations training needs: sum arrays over the ranks, broadcast and gather small
objects, and end every rank when one fails (`fail_together`): a rank that raises
prints the error and aborts the job instead of leaving the others waiting forever
in a sum; a rank that is killed is seen by the launcher, which ends the rest.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback

import numpy as np

from composer.errors import ComposerError
from composer.training.launch import launched_size

POLL_SECONDS = 0.01  # how often a rank waiting for rank 0's broadcast looks
INSTALL_HINT = "pip install 'numpy-lstm-composer[mpi]' (mpi4py and MPICH from PyPI)"


class Solo:
    """One process: every collective operation is the identity."""

    rank, size = 0, 1

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def sum_(self, array: np.ndarray) -> np.ndarray:
        """Sum `array` over the ranks, in place (every rank gets the sum)."""
        return array

    def broadcast(self, value):
        """Rank 0's `value`, on every rank."""
        return value

    def gather(self, value) -> list | None:
        """[value of rank 0, rank 1, ...] on rank 0, None elsewhere."""
        return [value]

    def barrier(self) -> None:
        pass

    @contextlib.contextmanager
    def fail_together(self):
        yield

    def describe(self) -> str:
        return "1 process"


class MpiWorld(Solo):
    """The ranks of MPI_COMM_WORLD (mpi4py)."""

    def __init__(self, comm):
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def sum_(self, array: np.ndarray) -> np.ndarray:
        from mpi4py import MPI

        self.comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
        return array

    def broadcast(self, value):
        """Rank 0's value; the others wait for it asleep, not spinning (MPI's blocking calls
        poll a core, which rank 0 may need while it loads the corpus)."""
        waiting = self.comm.Ibarrier()
        while not waiting.Test():
            time.sleep(POLL_SECONDS)
        return self.comm.bcast(value, root=0)

    def gather(self, value) -> list | None:
        return self.comm.gather(value, root=0)

    def barrier(self) -> None:
        self.comm.Barrier()

    @contextlib.contextmanager
    def fail_together(self):
        """On an exception in this rank: say so on stderr and abort every rank (MPI_Abort),
        so that no rank waits forever for this one. A ComposerError's text is the message;
        an AllRanksError leaves normally."""
        try:
            yield
        except (KeyboardInterrupt, SystemExit, AllRanksError):
            raise
        except BaseException as error:  # noqa: BLE001 - any failure must end the job
            detail = str(error) if isinstance(error, ComposerError | ValueError) else \
                f"{type(error).__name__}: {error}"
            print(f"Error: rank {self.rank} of {self.size}: {detail}; stopping every rank",
                  file=sys.stderr, flush=True)
            if not isinstance(error, ComposerError | ValueError):
                traceback.print_exc()  # a bug: where it happened
            sys.stderr.flush()
            self.comm.Abort(1)

    def describe(self) -> str:
        return f"{self.size} MPI ranks"


class AllRanksError(ComposerError):
    """Raised alike by every rank at the same point (a Ctrl-C they agreed on): the run
    stops in order, so fail_together lets it pass instead of aborting the job."""


def current_world(environ=None) -> Solo:
    """The world this process runs in: MpiWorld under an MPI launcher, else Solo.

    ComposerError when a launcher started several processes but mpi4py is missing (each
    would train alone and overwrite the others' files), or when Slurm started several
    tasks that MPI does not see as one job."""
    environ = os.environ if environ is None else environ
    size = launched_size(environ)
    if size == 0:
        _check_not_split(environ, 1)
        return Solo()
    try:
        from mpi4py import MPI
    except ImportError as error:
        if size > 1:
            raise ComposerError(f"started by an MPI launcher as {size} processes, but "
                                f"mpi4py is not installed: {INSTALL_HINT}") from error
        return Solo()
    world = MpiWorld(MPI.COMM_WORLD)
    _check_not_split(environ, world.size)
    return world if world.size > 1 else Solo()


def _check_not_split(environ, size: int) -> None:
    """srun without an MPI plugin starts independent singletons: refuse to train so."""
    tasks = environ.get("SLURM_STEP_NUM_TASKS", "")
    if tasks.isdigit() and int(tasks) > size:
        raise ComposerError(f"srun started {tasks} tasks but they do not form one MPI job "
                            f"({size} process{'es' if size > 1 else ''}): run with srun "
                            f"--mpi=pmi2 (or pmix), or mpiexec inside the allocation")
