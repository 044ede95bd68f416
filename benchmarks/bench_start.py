"""How soon a training run on a large corpus gets going: `composer train BIG --max-steps 1
--transpose 5` from a warm cache, timed phase by phase.

    python benchmarks/bench_start.py --synthetic 100000 --keep /tmp/big     # 1 process
    python benchmarks/bench_start.py --synthetic 100000 --keep /tmp/big --ranks 2
    python benchmarks/bench_start.py FOLDER --runs 3 --json

The corpus is FOLDER, or --synthetic N files written by benchmarks/synthetic.py into
--keep DIR (reused when it already holds them). The corpus is loaded once first, so the
cache is warm; then each of --runs runs starts a fresh process (under `mpiexec -n R` with
--ranks R) that trains as `composer train FOLDER --max-steps 1 --transpose 5` would, into
a new folder, and reports, in seconds from the moment the process was started:

- loaded:       the corpus is loaded and split (the summary is printed)
- first step:   the first training step is done (the issue's target: within 10 s)
- scored:       validation is done (the epoch's line is printed)
- done:         the model and checkpoint are written and the process has ended

and the validation's own time as printed ("[x s to score]"). Medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PHASES = ("loaded", "first_step", "scored", "done")


def child(folder: str, out: str, started: float, extra: str) -> None:
    """Train as `composer train FOLDER --max-steps 1 --transpose 5 --out OUT` would, noting
    when each phase ends (seconds since `started`, the parent's clock before it launched us)."""
    from composer.training.launch import share_cores

    share_cores()  # as composer.cli does: under mpiexec, each rank its share of the cores
    from composer.training.config import TrainConfig
    from composer.training.train import new_run, train
    from composer.training.world import current_world

    world = current_world()
    stamps: dict[str, float] = {}
    lines: list[str] = []

    def echo(message: str) -> None:
        lines.append(message)
        if "steps:" in message and "loaded" not in stamps:
            stamps["loaded"] = time.time() - started
        if message.startswith("epoch 1:"):
            stamps["scored"] = time.time() - started

    def should_stop() -> bool:
        stamps.setdefault("first_step", time.time() - started)
        return False

    config = TrainConfig(max_steps=1, transpose=5, **json.loads(extra))
    train(folder, out, new_run(config, world), quiet=True, echo=echo, should_stop=should_stop)
    if world.is_root:
        scored = re.search(r"\[([\d.]+) s to score\]", "\n".join(lines))
        print(json.dumps({**stamps, "score_seconds": float(scored.group(1)) if scored else None,
                          "lines": lines}))


def run_once(folder: str, ranks: int, extra: str) -> dict:
    out = tempfile.mkdtemp(prefix="composer-start-")
    command = [sys.executable, __file__, "--child", folder, "--out", out, "--extra", extra,
               "--started", ""]
    if ranks > 1:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        command = [str(mpiexec if mpiexec.is_file() else "mpiexec"), "-n", str(ranks), *command]
    started = time.time()
    command[-1] = repr(started)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    total = time.time() - started
    shutil.rmtree(out, ignore_errors=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "done": total}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N")
    parser.add_argument("--keep", default=None, metavar="DIR")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpus")
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--extra", default="{}", help="more TrainConfig settings, as JSON")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.folder, args.out, args.started, args.extra)
        return 0
    folder = args.folder
    if args.synthetic:
        from synthetic import make_corpus  # benchmarks/synthetic.py

        keep = Path(args.keep or tempfile.mkdtemp(prefix="composer-synthetic-"))
        folder = str(make_corpus(keep, args.synthetic, args.seed, REPO / "data"))
    if folder is None:
        parser.error("give a FOLDER or --synthetic N")
    from composer.data.dataset import load_dataset
    from composer.music.encoding import make_encoding

    load_dataset(folder, make_encoding("melody"), transpose=5, progress=True)  # a warm cache
    runs = [run_once(folder, args.ranks, args.extra) for _ in range(args.runs)]
    result = {"folder": folder, "ranks": args.ranks, "runs": runs,
              "median": {k: statistics.median(r[k] for r in runs)
                         for k in (*PHASES, "score_seconds")},
              "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        m = result["median"]
        print(f"{folder} on {args.ranks} rank(s), medians of {args.runs} warm runs: loaded "
              f"{m['loaded']:.1f} s, first step {m['first_step']:.1f} s, scored "
              f"{m['scored']:.1f} s ({m['score_seconds']:.1f} s to score), done "
              f"{m['done']:.1f} s")
        print(runs[-1]["lines"][0])
        print(next(line for line in runs[-1]["lines"] if line.startswith("epoch 1:")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
