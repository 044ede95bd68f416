"""Training throughput on 1, 2 (4, 8) MPI ranks against one process, side by side in one run.

    python benchmarks/bench_parallel.py                 # the default model on data/
    python benchmarks/bench_parallel.py --rounds 7 --steps 80 --json
    python benchmarks/bench_parallel.py --ranks 2,4 --oversubscribe   # more ranks than cores

Each configuration trains the default model (composer's defaults: H=256, N=32 lanes of
T=64 steps, metre, key and chords heard) on real batches of FOLDER (data/ by default),
from step 0 with the seed 0, in a fresh process tree, so every configuration does the
same work: every tune's conditioning features made first, as they are from the second
epoch of a run on (its first use infers a tune's chords and its history, 1-3 ms a tune,
kept for the rest of the run; --first-epoch leaves this out and times the first epoch's
steps, first uses and all), then --warmup steps (not timed), then --steps timed ones.
The configurations:

- 1 rank, 1 thread:    one process, OPENBLAS_NUM_THREADS=1 (the unit of scaling)
- 1 rank, all threads: one process, as many BLAS threads as cores (what a plain
                       `composer train` uses)
- R ranks:             `mpiexec -n R`, one BLAS thread per rank, R = 2 (4, 8 where the
                       machine has that many cores, or with --oversubscribe)

They run in turn, --rounds times, alternating, so that other load on the machine falls
on all alike; each figure is the median over the rounds. Reported per configuration:
tokens per second (the real targets of the global batches over the wall-clock time of
the timed steps), the speed-up over 1 rank with 1 thread, the efficiency per rank (the
speed-up over the ranks), and the share of a step spent in the gradients' allreduce
(as rank 0 sees it: waiting for the slowest rank included) with the allreduce alone
(the same buffer summed after a barrier, median of 20).

--project, for a busy machine: each rank's share of the same steps is timed by CPU time,
one share after another in one process with one BLAS thread, and R ranks' tokens per
second projected from the slowest share plus the allreduce alone (by `mpiexec -n R`).

Targets (issue 18), on a 2-core machine: 2 ranks at least 1.6x the tokens per second of
1 rank with 1 thread, and faster than 1 rank with all (2) threads. That needs both cores
free: on a shared machine, run it under `flock /tmp/composer-bench.lock`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAUSE = 1.0  # seconds between configurations, so the last one's threads are gone


def cores() -> int:
    return len(os.sched_getaffinity(0))


def configurations(ranks: list[int], oversubscribe: bool) -> list[tuple[str, int, int]]:
    """(label, ranks, BLAS threads per rank) of every configuration to time."""
    chosen = [("1 rank, 1 thread", 1, 1), (f"1 rank, {cores()} threads", 1, cores())]
    chosen += [(f"{r} ranks", r, 1) for r in ranks if oversubscribe or r <= cores()]
    return chosen


def launch(args, ranks: int, threads: int) -> dict:
    """Run one configuration in a fresh process tree; rank 0's JSON report."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads),
           "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    worker = [sys.executable, __file__, "--worker", args.folder, "--steps", str(args.steps),
              "--warmup", str(args.warmup), *(["--first-epoch"] if args.first_epoch else [])]
    if ranks > 1:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        worker = [str(mpiexec if mpiexec.is_file() else "mpiexec"), "-n", str(ranks), *worker]
    done = subprocess.run(worker, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(worker)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def work(folder: str, steps: int, warmup: int, project_share=None, first_epoch=False) -> None:
    """In each rank: time `steps` training steps after `warmup`; rank 0 prints JSON. With
    project_share (rank, ranks): in one process, the CPU time of that rank's share. Unless
    first_epoch, every tune's features are made first (module docstring)."""
    import numpy as np

    from composer.data.contexts import ConditionFeatures
    from composer.data.dataset import load_dataset
    from composer.training.config import TrainConfig
    from composer.training.lanes import lane_share
    from composer.training.train import epoch_windows, new_run, train_step
    from composer.training.world import current_world

    world = current_world()
    config = TrainConfig()
    run = new_run(config, world)
    dataset = load_dataset(folder, run.encoding, transpose=config.transpose,
                           val_fraction=config.val_fraction, seed=config.seed,
                           warn=lambda message: None)
    run.features = ConditionFeatures(dataset.store, run.encoding, config.condition,
                                     chord_dropout=config.chord_dropout, seed=config.seed)
    for row in range(0 if first_epoch else len(dataset.store)):
        run.features.piece_features(row)  # as from the second epoch on
    windows = epoch_windows(dataset, config, 0, run.features)
    share = lane_share(windows.N, world.rank, world.size)
    if project_share is not None:
        print(json.dumps(share_cpu(run, windows, world, *project_share, warmup, steps)))
        return
    timed = range(warmup, warmup + steps)
    tokens = sum(windows.batch(k, slice(0, 0)).targets for k in timed)  # the global batches'
    timer = SumTimer(world)
    run.world = timer
    for k in range(warmup):
        train_step(run, windows, k, share)
    world.barrier()
    timer.seconds, started = 0.0, time.perf_counter()
    for k in timed:
        train_step(run, windows, k, share)
    world.barrier()
    seconds = time.perf_counter() - started
    flat = np.zeros(sum(p.size for p in run.params.values()), np.float32)
    alone = []
    for _ in range(20):
        world.barrier()
        start = time.perf_counter()
        world.sum_(flat)
        alone.append(time.perf_counter() - start)
    if world.is_root:
        print(json.dumps({"ranks": world.size, "steps": steps, "seconds": seconds,
                          "tokens": tokens, "tokens_per_second": tokens / max(seconds, 1e-9),
                          "sum_seconds": timer.seconds,
                          "allreduce_alone": statistics.median(alone)}))


def share_cpu(run, windows, world, rank: int, ranks: int, warmup: int, steps: int) -> dict:
    """CPU seconds of each timed step of the share of `rank` of `ranks` (one process)."""
    from composer.training.lanes import lane_share
    from composer.training.train import train_step

    share = lane_share(windows.N, rank, ranks)
    for k in range(warmup):
        train_step(run, windows, k, share)
    seconds = []
    for k in range(warmup, warmup + steps):
        start = time.process_time()
        train_step(run, windows, k, share)
        seconds.append(time.process_time() - start)
    tokens = sum(windows.batch(k, slice(0, 0)).targets for k in range(warmup, warmup + steps))
    return {"rank": rank, "ranks": ranks, "seconds": seconds, "tokens": tokens}


def project(args) -> dict:
    """--project: each rank's share timed by CPU time, one after another, in one process
    with one BLAS thread; R ranks' step is projected as the slowest share's plus the
    allreduce alone (measured by `mpiexec -n R`, 0 steps). Insensitive to other load, but
    a projection: it leaves out what ranks running at once cost each other."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    rows = []
    for ranks in [1, *args.ranks]:
        shares = []
        for rank in range(ranks):
            command = [sys.executable, __file__, "--worker", args.folder, "--steps",
                       str(args.steps), "--warmup", str(args.warmup), "--share",
                       f"{rank},{ranks}", *(["--first-epoch"] if args.first_epoch else [])]
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
            shares.append(json.loads(done.stdout.strip().splitlines()[-1]))
        step = statistics.median(max(s["seconds"][k] for s in shares)
                                 for k in range(args.steps))
        alone = launch(argparse.Namespace(**{**vars(args), "steps": 0, "warmup": 0}),
                       ranks, 1)["allreduce_alone"] if ranks > 1 else 0.0
        tokens = shares[0]["tokens"] / args.steps
        rows.append({"ranks": ranks, "share_ms": step * 1e3, "allreduce_alone_ms": alone * 1e3,
                     "tokens_per_second": tokens / (step + alone)})
    for row in rows:
        row["speedup"] = row["tokens_per_second"] / rows[0]["tokens_per_second"]
    return {"folder": args.folder, "steps": args.steps, "warmup": args.warmup,
            "projected": rows}


class SumTimer:
    """A world whose sums over the ranks are timed (the gradients' allreduce)."""

    def __init__(self, world):
        self.world, self.seconds = world, 0.0

    def __getattr__(self, name):
        return getattr(self.world, name)

    def sum_(self, array):
        start = time.perf_counter()
        result = self.world.sum_(array)
        self.seconds += time.perf_counter() - start
        return result


def measure(args) -> dict:
    chosen = configurations(args.ranks, args.oversubscribe)
    from composer.data.dataset import load_dataset
    from composer.music.encoding import make_encoding

    load_dataset(args.folder, make_encoding("melody"), transpose=2,
                 warn=lambda message: None)  # the cache is warm for every configuration
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in chosen}
    for round_ in range(args.rounds):
        for label, ranks, threads in chosen:
            runs[label].append(launch(args, ranks, threads))
            time.sleep(PAUSE)
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    return summarise(chosen, runs, args)


def summarise(chosen, runs, args) -> dict:
    rows = []
    for label, ranks, threads in chosen:
        speed = statistics.median(r["tokens_per_second"] for r in runs[label])
        share = statistics.median(r["sum_seconds"] / r["seconds"] for r in runs[label])
        alone = statistics.median(r["allreduce_alone"] for r in runs[label])
        step = statistics.median(r["seconds"] / r["steps"] for r in runs[label])
        rows.append({"label": label, "ranks": ranks, "threads": threads,
                     "tokens_per_second": speed, "step_ms": step * 1e3,
                     "allreduce_share": share if ranks > 1 else 0.0,
                     "allreduce_alone_ms": alone * 1e3 if ranks > 1 else 0.0,
                     "runs": runs[label]})
    unit = rows[0]["tokens_per_second"]
    for row in rows:
        row["speedup"] = row["tokens_per_second"] / unit
        row["efficiency"] = row["speedup"] / row["ranks"]
    return {"folder": args.folder, "cores": cores(), "rounds": args.rounds,
            "steps": args.steps, "warmup": args.warmup, "first_epoch": args.first_epoch,
            "rows": rows}


def report(result: dict) -> str:
    lines = [f"{result['folder']}: the default model, {result['steps']} steps after "
             f"{result['warmup']}, medians of {result['rounds']} rounds, {result['cores']} "
             f"cores; " + ("the first epoch" if result["first_epoch"] else
                          "features made first, as from the second epoch on"),
             f"{'configuration':<20} {'tokens/s':>9} {'ms/step':>8} {'x 1 thread':>10} "
             f"{'per rank':>8} {'allreduce':>9} {'alone ms':>8}"]
    for row in result["rows"]:
        lines.append(f"{row['label']:<20} {row['tokens_per_second']:>9,.0f} "
                     f"{row['step_ms']:>8.1f} {row['speedup']:>9.2f}x "
                     f"{row['efficiency']:>7.0%} {row['allreduce_share']:>8.1%} "
                     f"{row['allreduce_alone_ms']:>8.2f}")
    by_label = {row["label"]: row for row in result["rows"]}
    two, threads = by_label.get("2 ranks"), result["rows"][1]
    if two:
        lines.append(f"2 ranks: {two['speedup']:.2f}x 1 rank with 1 thread (target >= 1.6x), "
                     f"{two['tokens_per_second'] / threads['tokens_per_second']:.2f}x "
                     f"{threads['label']} (target > 1)")
    return "\n".join(lines)


def report_projection(result: dict) -> str:
    lines = [f"{result['folder']}: projected from CPU time, {result['steps']} steps after "
             f"{result['warmup']}, medians",
             f"{'ranks':>5} {'share ms':>9} {'allreduce ms':>12} {'tokens/s':>9} {'speed-up':>8}"]
    for row in result["projected"]:
        lines.append(f"{row['ranks']:>5} {row['share_ms']:>9.1f} "
                     f"{row['allreduce_alone_ms']:>12.2f} {row['tokens_per_second']:>9,.0f} "
                     f"{row['speedup']:>7.2f}x")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default=str(REPO / "data"))
    parser.add_argument("--steps", type=int, default=60, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=30, help="untimed steps first")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--ranks", default="2,4,8", help="rank counts beside 1 (comma list)")
    parser.add_argument("--oversubscribe", action="store_true",
                        help="also run rank counts above the number of cores")
    parser.add_argument("--first-epoch", action="store_true",
                        help="time the first epoch's steps, each tune's first features "
                             "included (default: as from the second epoch on)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--project", action="store_true",
                        help="project the scaling from each share's CPU time (a busy machine)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--share", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        share = tuple(int(x) for x in args.share.split(",")) if args.share else None
        work(args.folder, args.steps, args.warmup, share, args.first_epoch)
        return 0
    args.ranks = [int(r) for r in args.ranks.split(",") if r]
    if args.project:
        result = project(args)
        print(json.dumps(result, indent=2) if args.json else report_projection(result))
        return 0
    result = measure(args)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
