"""How fast a MIDI folder becomes tokens: parse and encode throughput, cold and warm.

    python benchmarks/bench_midi.py                 # the repo's data/ folder
    python benchmarks/bench_midi.py FOLDER --runs 5 --encoding performance --json

Each measurement is the median of --runs runs (wall-clock seconds):

- parse:   read every file into note columns (no cache; in parallel above 64 files)
- encode:  encode every parsed piece from its note columns (in memory, one process)
- cold:    load_dataset with an empty cache folder (scan, hash, parse, encode, split,
           transpose, write both caches): what a first `composer train` pays
- notes:   load_dataset with the notes cache but no token cache (new encoding settings)
- warm:    load_dataset again with both caches (scan, hash, load the tokens)

Targets: the shipped corpus loads in under 5 s cold on 2 cores and well under 1 s warm.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer.data import corpus, dataset  # noqa: E402
from composer.errors import ComposerError  # noqa: E402
from composer.music.encoding import ENCODING_NAMES, make_encoding  # noqa: E402


def timed(function) -> tuple[float, object]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def median_time(function, runs: int, setup=None) -> float:
    """Median wall-clock seconds of `runs` calls, each after `setup()` if given."""
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        times.append(timed(function)[0])
    return statistics.median(times)


def empty(folder: Path) -> None:
    for path in folder.glob("*"):
        path.unlink()


def measure(folder: Path, encoding, runs: int, transpose: int, workers) -> dict:
    """All timings and sizes as a dict (see the module docstring)."""
    quiet = {"warn": lambda message: None, "workers": workers}
    files, rels, digests = corpus.scan(folder)
    jobs = [(str(f), r, d) for f, r, d in zip(files, rels, digests, strict=True)]
    parsed = corpus._parse_many(jobs, workers, progress=False)
    columns = [p.cols for f in parsed for p in f.pieces]
    notes = sum(c["pitch"].size for c in columns)
    parse = median_time(lambda: corpus._parse_many(jobs, workers, progress=False), runs)
    encode = median_time(lambda: [encoding.encode_columns(c) for c in columns], runs)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)

        def load():
            return dataset.load_dataset(folder, encoding, cache_dir=cache,
                                        transpose=transpose, **quiet)

        cold = median_time(load, runs, setup=lambda: empty(cache))
        notes_only = median_time(load, runs, setup=lambda: [
            p.unlink() for p in cache.glob("tokens-*.npz")])
        warm = median_time(load, runs)
        summary = load().summary
    files = len(jobs)
    return {
        "folder": str(folder), "encoding": encoding.config(), "transpose": transpose,
        "runs": runs, "cpus": os.cpu_count(), "files": files, "files_used": summary.files_used,
        "pieces": len(columns), "notes": notes, "steps": summary.steps,
        "train_steps": summary.train_steps,
        "seconds": {"parse": parse, "encode": encode, "cold": cold, "notes_cache": notes_only,
                    "warm": warm},
        "files_per_second": {"parse": files / parse, "cold": files / cold, "warm": files / warm},
        "notes_per_second": {"parse": notes / parse, "encode": notes / encode,
                             "cold": notes / cold, "warm": notes / warm},
    }


def report(result: dict) -> str:
    s, fps, nps = result["seconds"], result["files_per_second"], result["notes_per_second"]
    rows = [
        f"{result['folder']}: {result['files']:,} files ({result['files_used']:,} used), "
        f"{result['pieces']:,} pieces, {result['notes']:,} notes, {result['steps']:,} steps "
        f"[{result['encoding']['name']}, transpose {result['transpose']}, "
        f"median of {result['runs']}, {result['cpus']} cpus]",
        f"  parse        {s['parse']:7.3f} s  {fps['parse']:10,.0f} files/s "
        f"{nps['parse']:12,.0f} notes/s",
        f"  encode       {s['encode']:7.3f} s  {'':10} {'':7}  {nps['encode']:12,.0f} notes/s",
        f"  cold load    {s['cold']:7.3f} s  {fps['cold']:10,.0f} files/s "
        f"{nps['cold']:12,.0f} notes/s",
        f"  notes cache  {s['notes_cache']:7.3f} s",
        f"  warm load    {s['warm']:7.3f} s  {fps['warm']:10,.0f} files/s "
        f"{nps['warm']:12,.0f} notes/s",
    ]
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO / "data"))
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--encoding", choices=ENCODING_NAMES, default="melody")
    parser.add_argument("--transpose", type=int, default=0, help="augmentation, semitones")
    parser.add_argument("--workers", type=int, default=None, help="parser processes")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        result = measure(Path(args.folder), make_encoding(args.encoding), max(1, args.runs),
                         args.transpose, args.workers)
    except ComposerError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
