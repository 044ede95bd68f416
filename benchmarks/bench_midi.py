"""How fast a MIDI folder becomes tokens, and how much memory that takes: cold and warm.

    python benchmarks/bench_midi.py                 # the repo's data/ folder
    python benchmarks/bench_midi.py FOLDER --runs 5 --encoding performance --json
    python benchmarks/bench_midi.py --synthetic 100000 --transpose 5 --keep /tmp/big

A folder is measured in this process, each figure the median of --runs runs
(wall-clock seconds):

- parse:   read every file into the notes cache (empty cache; in parallel above 64 files)
- encode:  encode every parsed piece from its note columns (in memory, one process)
- cold:    load_dataset with an empty cache folder (scan, hash, parse, encode, write
           the notes shards, the token segments and the store, map it, split)
- notes:   load_dataset with the notes cache but no token cache (new encoding settings)
- warm:    load_dataset again with both caches (scan, hash, map and check the store)

--synthetic N first writes N varied folk-length files (synthetic.py: copies of data/'s
tunes with bars shuffled, transposed, tempo changed and notes dropped, deterministic
from --seed) into --keep DIR (reused when it already holds them) or a temporary
folder, then times a cold and a warm load, each in a fresh child process, with the
first epoch's windows and one batch built as training would, and reports:

- seconds for the load and for the epoch's windows;
- peak memory: the largest resident set of any one process of the child's tree
  (os.wait4's ru_maxrss) and the largest sum over the tree, sampled every 50 ms;
- bytes per token of the loaded training set: the arrays of the dataset (the
  memory-mapped store, the split, the shift maps) plus the epoch's order, over the
  corpus's (untransposed) tokens, and how much the resident set grew while loading;
- the same load after one file changed, and how much of the cache it rewrote.

--baseline DIR runs the same cold and warm loads (and the first epoch's windows) with
the composer checkout in DIR, alternating with this one's, and prints the ratios.

Targets (issue 10): 100,000 folk-length files load in at most 3 minutes cold and 10 s
warm on 2 cores, peak memory at most 1.5 GB with --transpose 5, at most 2 bytes per
token whatever --transpose is.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

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
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()


def measure(folder: Path, encoding, runs: int, transpose: int, workers) -> dict:
    """All timings and sizes of a folder, in this process (see the module docstring)."""
    quiet = {"warn": lambda message: None, "workers": workers}
    found = corpus.scan(folder)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        parsed = corpus.parse_corpus(found, cache / "parse", workers, progress=False)
        parse = median_time(lambda: corpus.parse_corpus(found, cache / "parse", workers, False),
                            runs, setup=lambda: empty(cache / "parse"))
        columns = [p.cols for f in parsed for p in f.pieces]
        encode = median_time(lambda: [encoding.encode_columns(c) for c in columns], runs)

        def load():
            return dataset.load_dataset(folder, encoding, cache_dir=cache / "load",
                                        transpose=transpose, **quiet)

        cold = median_time(load, runs, setup=lambda: empty(cache / "load"))
        notes_only = median_time(load, runs, setup=lambda: [
            shutil.rmtree(p) for p in (cache / "load").glob("tokens-*")])
        warm = median_time(load, runs)
        summary = load().summary
    files, notes = len(found.rels), sum(c["pitch"].size for c in columns)
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


# --- a load in a child process: time, peak memory, bytes per token -----------------------


def child_load(folder: str, cache: str, encoding: str, transpose: int, workers) -> dict:
    """Load as `composer train` does, build the first epoch's windows and one batch."""
    before = resident_bytes(os.getpid())
    seconds, data = timed(lambda: dataset.load_dataset(
        folder, make_encoding(encoding), transpose=transpose, cache_dir=cache, workers=workers,
        warn=lambda message: None))
    loaded = resident_bytes(os.getpid())
    epoch_seconds, epoch = timed(lambda: data.epoch(0, 0, batch_size=32, seq_len=64))
    epoch.batch(0)
    tokens = int(data.store.tokens.size)
    return {"load_seconds": seconds, "epoch_seconds": epoch_seconds, "tokens": tokens,
            "pieces": len(data.store), "train_sequences": data.summary.train_sequences,
            "windows": len(epoch), "dataset_bytes": data.nbytes, "epoch_bytes": epoch.nbytes,
            "bytes_per_token": (data.nbytes + epoch.nbytes) / tokens,
            "resident_growth_per_token": (loaded - before) / tokens}


def resident_bytes(pid: int) -> int:
    """VmRSS of a process (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_resident_bytes(root: int) -> int:
    """Sum of VmRSS over a process and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += resident_bytes(pid)
        todo += children.get(pid, [])
    return total


# Loads a folder as `composer train` does, with whichever composer is on PYTHONPATH (this
# checkout's, or an older one's, for --baseline): the API before the token store had no
# Dataset.epoch, and training windowed every stored transposed copy at once.
ANY_VERSION_LOAD = """
import json, sys, time
from composer.data.dataset import load_dataset
from composer.music.encoding import make_encoding
folder, cache, encoding, transpose = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
start = time.perf_counter()
data = load_dataset(folder, make_encoding(encoding), transpose=transpose, cache_dir=cache,
                    warn=lambda message: None)
loaded = time.perf_counter()
if hasattr(data, "epoch"):
    data.epoch(0, 0, 32, 64).batch(0)
else:
    from composer.training.config import TrainConfig
    from composer.training.train import epoch_windows
    epoch_windows(data.train, TrainConfig(transpose=transpose), 0)
done = time.perf_counter()
print(json.dumps({"load_seconds": loaded - start, "epoch_seconds": done - loaded}))
"""


def run_child(args: list[str], code_path: Path | None = None) -> dict:
    """Run this script with `args` in a child (or, with `code_path`, ANY_VERSION_LOAD with
    that composer checkout first on the path): its JSON answer, seconds and peak memory."""
    start = time.perf_counter()
    command, env = [sys.executable, __file__, *args], None
    if code_path is not None:
        command = [sys.executable, "-c", ANY_VERSION_LOAD, *args]
        env = {**os.environ, "PYTHONPATH": str(code_path)}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=tempfile.gettempdir())
    peak, done = [0], threading.Event()

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], tree_resident_bytes(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"the child run failed (exit {child.returncode})")
    result = json.loads(output)
    result.update(wall_seconds=time.perf_counter() - start,
                  cpu_seconds=usage.ru_utime + usage.ru_stime,  # the child and its workers
                  max_process_rss=usage.ru_maxrss * 1024, peak_tree_rss_sampled=peak[0])
    return result


def measure_synthetic(args) -> dict:
    from synthetic import make_corpus  # benchmarks/synthetic.py

    keep = Path(args.keep) if args.keep else None
    folder = keep or Path(tempfile.mkdtemp(prefix="composer-synthetic-"))
    try:
        made = timed(lambda: make_corpus(folder, args.synthetic, args.seed, REPO / "data"))[0]
        cache = Path(tempfile.mkdtemp(prefix="composer-bench-cache-"))
        options = ["--child-load", str(folder), "--cache", str(cache), "--encoding",
                   args.encoding, "--transpose", str(args.transpose)]
        if args.workers:
            options += ["--workers", str(args.workers)]
        try:
            result = {"cold": run_child(options)}
            result.update(baseline(args, folder, "cold"))
            result["warm"] = run_child(options)
            result.update(baseline(args, folder, "warm"))
            result["one_file_changed"] = one_file_changed(folder, cache, options)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return {"files": args.synthetic, "seed": args.seed, "transpose": args.transpose,
            "encoding": args.encoding, "cpus": len(os.sched_getaffinity(0)),
            "corpus_seconds": made, **result}


def baseline(args, folder: Path, name: str) -> dict:
    """The same load by the --baseline checkout ({} without one); its cache is made by the
    cold run and removed after the warm one."""
    if not args.baseline:
        return {}
    cache = Path(tempfile.gettempdir()) / f"composer-bench-baseline-cache-{os.getpid()}"
    if name == "cold":
        shutil.rmtree(cache, ignore_errors=True)
    try:
        return {f"baseline_{name}": run_child([str(folder), str(cache), args.encoding,
                                               str(args.transpose)], Path(args.baseline))}
    finally:
        if name == "warm":
            shutil.rmtree(cache, ignore_errors=True)


def cache_files(cache: Path) -> dict[str, tuple[int, int, int]]:
    """{path: (inode, mtime, size)} of every file in the cache."""
    found = {}
    for path in cache.rglob("*"):
        if path.is_file():
            stat = path.stat()
            found[str(path)] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    return found


def one_file_changed(folder: Path, cache: Path, options: list[str]) -> dict:
    """A load after one file changed: its time, and how much of the cache was rewritten."""
    from synthetic import change_one_file  # benchmarks/synthetic.py

    before = cache_files(cache)
    with change_one_file(folder):
        result = run_child(options)
    after = cache_files(cache)
    written = {p for p in after if before.get(p) != after[p]}
    notes = [p for p in after if "/notes-" in p]
    result.update(
        notes_files=len(notes), notes_bytes=sum(after[p][2] for p in notes),
        notes_files_rewritten=len([p for p in notes if p in written]),
        notes_bytes_rewritten=sum(after[p][2] for p in notes if p in written),
        cache_bytes=sum(v[2] for v in after.values()),
        cache_bytes_written=sum(after[p][2] for p in written))
    return result


def report_synthetic(result: dict) -> str:
    rows = [f"{result['files']:,} synthetic files (seed {result['seed']}, "
            f"{result['cold']['pieces']:,} pieces, {result['cold']['tokens']:,} tokens), "
            f"{result['encoding']}, transpose {result['transpose']} "
            f"({result['cold']['train_sequences']:,} training sequences), "
            f"{result['cpus']} cpus; corpus written or checked in "
            f"{result['corpus_seconds']:.1f} s"]
    for name in ("cold", "warm"):
        r = result[name]
        rows.append(
            f"  {name} load {r['load_seconds']:8.2f} s ({r['cpu_seconds'] / r['wall_seconds']:.2f} "
            f"cores busy)   epoch windows {r['epoch_seconds']:5.2f} s"
            f"   peak RSS {r['max_process_rss'] / 2**20:7.1f} MiB (largest process), "
            f"{r['peak_tree_rss_sampled'] / 2**20:7.1f} MiB (all processes, sampled)   "
            f"{r['bytes_per_token']:.3f} bytes/token "
            f"(resident growth {r['resident_growth_per_token']:.3f})")
    for name in ("cold", "warm"):
        if f"baseline_{name}" in result:
            r, b = result[name], result[f"baseline_{name}"]
            rows.append(
                f"  {name} load by the baseline {b['load_seconds']:8.2f} s   epoch windows "
                f"{b['epoch_seconds']:5.2f} s   peak RSS {b['max_process_rss'] / 2**20:7.1f} MiB"
                f" (largest process), {b['peak_tree_rss_sampled'] / 2**20:7.1f} MiB (all)   "
                f"baseline / this: {b['wall_seconds'] / r['wall_seconds']:.2f}x the time, "
                f"{b['peak_tree_rss_sampled'] / r['peak_tree_rss_sampled']:.2f}x the memory")
    c = result["one_file_changed"]
    rows.append(
        f"  one file changed: load {c['load_seconds']:.2f} s; notes cache: "
        f"{c['notes_files_rewritten']} of {c['notes_files']} shards rewritten "
        f"({c['notes_bytes_rewritten'] / 2**20:.1f} of {c['notes_bytes'] / 2**20:.1f} MiB); "
        f"cache written {c['cache_bytes_written'] / 2**20:.1f} of "
        f"{c['cache_bytes'] / 2**20:.1f} MiB (the new store included)")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO / "data"))
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--encoding", choices=ENCODING_NAMES, default="melody")
    parser.add_argument("--transpose", type=int, default=0, help="augmentation, semitones")
    parser.add_argument("--workers", type=int, default=None, help="parser processes")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                        help="measure a synthetic corpus of N files instead of FOLDER")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpus")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="write (or reuse) the synthetic corpus here and keep it")
    parser.add_argument("--baseline", default=None, metavar="DIR",
                        help="also time the loads by the composer checkout in DIR (e.g. "
                             "`git worktree add DIR main`), side by side")
    parser.add_argument("--child-load", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.child_load:
            print(json.dumps(child_load(args.child_load, args.cache, args.encoding,
                                        args.transpose, args.workers)))
            return 0
        if args.synthetic:
            result = measure_synthetic(args)
            print(json.dumps(result, indent=2) if args.json else report_synthetic(result))
            return 0
        result = measure(Path(args.folder), make_encoding(args.encoding), max(1, args.runs),
                         args.transpose, args.workers)
    except ComposerError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
