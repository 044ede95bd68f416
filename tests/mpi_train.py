"""Run by the MPI tests under `mpiexec -n K`: train a small model on CORPUS into OUT and
write, from rank 0, OUT/steps-K.json (the loss sums before every step, the history) and
every rank OUT/weights-K-rankR.npz (its final weights);
every rank writes its process id to OUT/pid-RANK.

    mpiexec -n 2 python tests/mpi_train.py CORPUS OUT [--steps 20] [--stop-at 10]
        [--resume] [--fail-rank R --fail-at S] [--settings JSON]

--stop-at S stops the run after step S as Ctrl-C would (checkpoint written, exit 130);
--resume continues the run saved in OUT; --fail-rank R raises an exception on rank R after
step --fail-at (the others must not hang).
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from composer.training.config import TrainConfig
from composer.training.train import TrainingInterrupted, load_resume, new_run, train
from composer.training.world import current_world

SETTINGS = dict(hidden_size=24, layers=2, seq_len=16, batch_size=8, transpose=1,
                val_fraction=0.2, dropout=0.2, lr=0.01, epochs=3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--stop-at", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--fail-rank", type=int, default=-1)
    parser.add_argument("--fail-at", type=int, default=0)
    parser.add_argument("--settings", default="{}")
    args = parser.parse_args()
    world = current_world()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"pid-{world.rank}").write_text(str(os.getpid()))  # for the test that kills one
    settings = {**SETTINGS, "max_steps": args.steps, **json.loads(args.settings)}
    run = load_resume(args.out, world) if args.resume else new_run(TrainConfig(**settings), world)
    losses = []  # the loss sum of the epoch before each step; its differences are the losses

    def should_stop():
        progress = run.progress
        losses.append((progress.epoch, progress.window, progress.loss_sum))
        if world.rank == args.fail_rank and progress.step == args.fail_at:
            raise RuntimeError(f"rank {world.rank} fails on purpose at step {progress.step}")
        return progress.step == args.stop_at

    code = 0
    try:
        train(args.corpus, args.out, run, quiet=True, echo=lambda message: None,
              should_stop=should_stop)
    except TrainingInterrupted:
        code = 130
    if world.rank == 0:
        report = {"ranks": world.size, "step": run.progress.step, "loss_sums": losses,
                  "history": run.progress.history}
        (args.out / f"steps-{world.size}.json").write_text(json.dumps(report))
    np.savez(args.out / f"weights-{world.size}-rank{world.rank}.npz", **run.params)
    return code


if __name__ == "__main__":
    sys.exit(main())
