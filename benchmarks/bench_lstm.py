"""Time one LSTM training step and sampling: composer's fused layer, the course-style
per-gate float64 functions, and PyTorch (when installed), side by side in one run.

    python benchmarks/bench_lstm.py                   # table of medians and ratios
    python benchmarks/bench_lstm.py --json            # machine-readable
    python benchmarks/bench_lstm.py --only condition  # the conditioned model's cost alone

A training step is forward + softmax cross-entropy over every step + backward,
for one layer of H units on token ids from a vocabulary of V, batch N, T steps.
On a 2-core machine, idle BLAS and torch worker threads spin and steal the other
library's cores, so the libraries are timed in alternating blocks of calls with
short pauses between them, and each figure is the median over the blocks.

The conditioning section times the same training step with and without the
conditioning input of layer 0 (composer.nn.condition), at a melody vocabulary and
the 21 fields of composer.music.conditioning (212 rows): "cond" with features
shaped like music (metre and key fixed per piece, the position in the bar counting
from a pickup, a chord per bar), "cond random" with every field drawn afresh at
every step (the worst case), "plain" without conditioning, and "main" the plain
step with layer 0's lookup and gradient as they were before conditioning (np.take's
buffered default mode; the token rows' gradient as a one-hot matrix product): the
issue's baseline, "today's" training step.
On a busy machine, `OPENBLAS_NUM_THREADS=1 ... --clock cpu` times by the process's
CPU time, which other programs' load disturbs much less than the wall clock; CPU time
counts every thread's, so torch then runs on one thread too (2 by the wall clock).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from composer.music.chords import QUALITY_NAMES, Chord  # noqa: E402
from composer.nn import model, rnn  # noqa: E402
from composer.nn.lstm import Workspace, workspace_array  # noqa: E402

VOCAB = 96  # tokens: about the size of the melody vocabulary plus headroom
TRAIN_SIZES = [(128, 1, 100), (256, 32, 100), (256, 64, 100), (512, 64, 100)]  # (H, N, T)
SAMPLE_HIDDEN, SAMPLE_STEPS = 256, 200
MELODY_VOCAB = 50  # the melody encoding's vocabulary
COND_TRAIN_SIZES = [(256, 32, 64), (256, 32, 100), (256, 64, 64), (256, 64, 100)]  # (H, N, T)
# the fields of composer.music.conditioning, in its column order: 21 fields, 212 rows
COND_SIZES = {"bar_position": 64, "beat": 16, "beat_position": 48, "meter": 9,
              "bar_of_phrase": 8, "key_tonic": 12, "key_mode": 7, "chord_root": 13,
              "chord_quality": 11, **{f"chord_tone_{pc}": 2 for pc in range(12)}}
# its COMMON_METERS 4/4 3/4 2/4 2/2 6/8 9/8 12/8 3/8 at 4 steps a quarter: bar, beat
BAR_STEPS, BEAT_STEPS = [16, 12, 8, 16, 12, 18, 24, 6], [4, 4, 4, 8, 6, 6, 6, 6]
# the tone flags of each (root, quality), root 12 and quality 10 being no chord
CHORD_TONES = np.zeros((13, 11, 12), np.int64)
for _root in range(12):
    for _quality, _name in enumerate(QUALITY_NAMES):
        CHORD_TONES[_root, _quality, list(Chord(_root, _name).tones)] = 1
PAUSE = 0.05  # seconds between blocks, so idle worker threads go back to sleep
TORCH_THREADS = {"wall": 2, "cpu": 1}  # torch's intra-op threads by clock: 2 = the cores


# --- composer ----------------------------------------------------------------


def composer_train_step(H, N, T, rng):
    params = model.init_params(VOCAB, H, 1, rng)
    ids = rng.integers(0, VOCAB, (T, N))
    targets = rng.integers(0, VOCAB, (T, N))
    state = model.zero_state(params, N)
    workspace = Workspace()  # as in training: big arrays reused from step to step

    def run():
        logits, _, cache = model.forward(params, ids, state, workspace=workspace)
        _, dlogits = model.cross_entropy(logits, targets)
        model.backward(params, dlogits, cache)

    return run


def musical_cond(T, N, rng):
    """(T, N, 21) fields shaped like music: per lane (a piece) one metre and key, the
    position in the bar from a random pickup, a chord per bar (root 12: no chord) with
    its twelve tone flags, which follow from its root and quality as in the music."""
    meter = rng.integers(0, len(BAR_STEPS), N)
    bar_steps, beat_steps = np.array(BAR_STEPS)[meter], np.array(BEAT_STEPS)[meter]
    steps = np.arange(T)[:, None] + rng.integers(0, bar_steps)  # (T, N): from the pickup
    bar, position = steps // bar_steps, steps % bar_steps
    lanes = np.arange(N)
    roots = rng.integers(0, 13, (bar.max() + 1, N))[bar, lanes]
    qualities = np.where(roots == 12, 10, rng.integers(0, 10, (bar.max() + 1, N))[bar, lanes])
    key_tonic, key_mode = rng.integers(0, 12, N), rng.integers(0, 7, N)
    fixed = [np.broadcast_to(v, (T, N)) for v in (meter, key_tonic, key_mode)]
    tones = CHORD_TONES[roots, qualities]  # (T, N, 12)
    return np.stack([position, position // beat_steps, position % beat_steps, fixed[0],
                     (bar + rng.integers(0, 8, N)) % 8, *fixed[1:], roots, qualities,
                     *np.moveaxis(tones, -1, 0)], axis=-1)


def random_cond(T, N, rng):
    """(T, N, 21) fields drawn afresh at every step: the conditioned model's worst case."""
    return np.stack([rng.integers(0, size, (T, N)) for size in COND_SIZES.values()], axis=-1)


def conditioned_train_step(H, N, T, rng, make_cond, as_main=False):
    """The training step at a melody vocabulary, conditioned on cond from make_cond,
    or plain when make_cond is None; as_main: with layer 0's lookup and gradient as
    they were before conditioning."""
    sizes = COND_SIZES if make_cond else ()
    params = model.init_params(MELODY_VOCAB, H, 1, rng, cond_sizes=sizes)
    ids = rng.integers(0, MELODY_VOCAB, (T, N))
    targets = rng.integers(0, MELODY_VOCAB, (T, N))
    cond = make_cond(T, N, rng) if make_cond else None
    state = model.zero_state(params, N)
    workspace = Workspace()

    def run():
        logits, _, cache = model.forward(params, ids, state, workspace=workspace, cond=cond,
                                         cond_sizes=sizes or None)
        _, dlogits = model.cross_entropy(logits, targets)
        model.backward(params, dlogits, cache)

    def as_before():
        usual = model.input_gates, model.input_gradients
        model.input_gates, model.input_gradients = main_lookup, main_gradients
        try:
            run()
        finally:
            model.input_gates, model.input_gradients = usual

    return as_before if as_main else run


def main_lookup(table, ids, Wc0=None, plan=None, workspace=None):  # noqa: N803
    """Layer 0's lookup as it was before conditioning (main at fd4cbf3)."""
    xg = workspace_array(workspace, "xg0", ids.shape + table.shape[1:], table.dtype)
    np.take(table, ids, axis=0, out=xg)
    return xg


def main_gradients(dxg, ids, vocab_size, plan=None, workspace=None):
    """Layer 0's gradients as they were before conditioning (main at fd4cbf3): the
    token's rows by a one-hot (V, T*N) matrix product, the bias by a sum."""
    dxg2 = dxg.reshape(-1, dxg.shape[-1])
    one_hot_t = np.zeros((vocab_size, dxg2.shape[0]), dxg2.dtype)
    one_hot_t[ids.reshape(-1), np.arange(dxg2.shape[0])] = 1
    return one_hot_t @ dxg2, dxg2.sum(axis=0), None


def conditioned_sampling(rng, conditioned):
    sizes = COND_SIZES if conditioned else ()
    params = model.init_params(MELODY_VOCAB, SAMPLE_HIDDEN, 1, rng, cond_sizes=sizes)
    cond = musical_cond(SAMPLE_STEPS, 1, rng) if conditioned else [None] * SAMPLE_STEPS

    def run():
        state = model.zero_state(params, 1)
        token = np.zeros(1, dtype=np.int64)
        for t in range(SAMPLE_STEPS):
            logits, state = model.step(params, token, state, cond[t], sizes or None)
            token = logits.argmax(axis=1)

    return run


def composer_sampling(rng):
    params = model.init_params(VOCAB, SAMPLE_HIDDEN, 1, rng)

    def run():
        state = model.zero_state(params, 1)
        token = np.zeros(1, dtype=np.int64)
        for _ in range(SAMPLE_STEPS):
            logits, state = model.step(params, token, state)
            token = logits.argmax(axis=1)

    return run


# --- the course's per-gate functions, float64 --------------------------------


def course_train_step(H, N, T, rng):
    params = {f"W{g}": rng.standard_normal((H, H + VOCAB)) * 0.05 for g in "fico"}
    params.update({f"b{g}": np.zeros((H, 1)) for g in "fico"})
    params["Wy"], params["by"] = rng.standard_normal((VOCAB, H)) * 0.05, np.zeros((VOCAB, 1))
    x = np.eye(VOCAB)[rng.integers(0, VOCAB, (N, T))].transpose(2, 0, 1)  # (n_x, m, T_x)
    y_true = np.eye(VOCAB)[rng.integers(0, VOCAB, (N, T))].transpose(2, 0, 1)
    a0 = np.zeros((H, N))

    def run():
        a, y, _, caches = rnn.lstm_forward(x, a0, params)
        dz = (y - y_true) / (N * T)  # softmax cross-entropy gradient, per step
        da = np.einsum("yh,ymt->hmt", params["Wy"], dz)
        rnn.lstm_backward(da, caches)
        np.einsum("ymt,hmt->yh", dz, a)  # dWy

    return run


# --- PyTorch -----------------------------------------------------------------


def torch_modules(H, threads):
    import torch

    torch.set_num_threads(threads)
    embed = torch.nn.Embedding(VOCAB, H)
    lstm = torch.nn.LSTM(H, H)
    head = torch.nn.Linear(H, VOCAB)
    return torch, embed, lstm, head


def torch_train_step(H, N, T, rng, threads):
    torch, embed, lstm, head = torch_modules(H, threads)
    ids = torch.from_numpy(rng.integers(0, VOCAB, (T, N)))
    targets = torch.from_numpy(rng.integers(0, VOCAB, (T * N,)))
    modules = (embed, lstm, head)

    def run():
        for m in modules:
            m.zero_grad(set_to_none=True)
        out, _ = lstm(embed(ids))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(T * N, VOCAB), targets)
        loss.backward()

    return run


def torch_sampling(rng, threads):
    torch, embed, lstm, head = torch_modules(SAMPLE_HIDDEN, threads)

    def run():
        with torch.no_grad():
            state = None
            token = torch.zeros((1, 1), dtype=torch.long)
            for _ in range(SAMPLE_STEPS):
                out, state = lstm(embed(token), state)
                token = head(out).argmax(dim=-1)

    return run


# --- timing ------------------------------------------------------------------


def time_interleaved(runs, blocks, calls_per_block, clock=time.perf_counter):
    """Median seconds per call of each run, timed in alternating blocks."""
    samples = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm up: allocations, BLAS threads, torch's first-call setup
    for _ in range(blocks):
        for name, run in runs.items():
            start = clock()
            for _ in range(calls_per_block[name]):
                run()
            samples[name].append((clock() - start) / calls_per_block[name])
            time.sleep(PAUSE)
    return {name: statistics.median(s) for name, s in samples.items()}


def have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def condition_benchmark(blocks, clock):
    """Rows of plain and conditioned timings at the same sizes, with their ratios."""
    rng = np.random.default_rng(0)
    rows = []
    for H, N, T in COND_TRAIN_SIZES:
        runs = {"main": conditioned_train_step(H, N, T, rng, None, as_main=True),
                "plain": conditioned_train_step(H, N, T, rng, None),
                "cond": conditioned_train_step(H, N, T, rng, musical_cond),
                "cond random": conditioned_train_step(H, N, T, rng, random_cond)}
        times = time_interleaved(runs, blocks, dict.fromkeys(runs, 2), clock)
        rows.append({"task": "train", "hidden": H, "batch": N, "steps": T, **times})
    runs = {"plain": conditioned_sampling(rng, False), "cond": conditioned_sampling(rng, True)}
    times = time_interleaved(runs, blocks, dict.fromkeys(runs, 2), clock)
    rows.append({"task": "sample", "hidden": SAMPLE_HIDDEN, "batch": 1, "steps": SAMPLE_STEPS,
                 **times})
    for row in rows:
        row["cond/plain"] = row["cond"] / row["plain"]
        if "main" in row:
            row["cond/main"] = row["cond"] / row["main"]
            row["plain/main"] = row["plain"] / row["main"]
            row["random/plain"] = row["cond random"] / row["plain"]
    return rows


def benchmark(blocks, torch_threads, clock=time.perf_counter):
    """Rows of timings and ratios; torch_threads 0: without PyTorch."""
    rng = np.random.default_rng(0)
    rows = []
    for H, N, T in TRAIN_SIZES:
        runs = {"composer": composer_train_step(H, N, T, rng),
                "course": course_train_step(H, N, T, rng)}
        if torch_threads:
            runs["torch"] = torch_train_step(H, N, T, rng, torch_threads)
        calls = {"composer": 3, "course": 1, "torch": 3}
        times = time_interleaved(runs, blocks, calls, clock)
        rows.append({"task": "train", "hidden": H, "batch": N, "steps": T, **times})
    runs = {"composer": composer_sampling(rng)}
    if torch_threads:
        runs["torch"] = torch_sampling(rng, torch_threads)
    times = time_interleaved(runs, blocks, {"composer": 2, "torch": 1}, clock)
    rows.append({"task": "sample", "hidden": SAMPLE_HIDDEN, "batch": 1, "steps": SAMPLE_STEPS,
                 **times})
    for row in rows:
        if "course" in row:
            row["course/composer"] = row["course"] / row["composer"]
        if "torch" in row:
            row["composer/torch"] = row["composer"] / row["torch"]
    return rows


def blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(f"{p['internal_api']} {p.get('version')} {p.get('architecture')} "
                     f"{p['num_threads']} threads" for p in pools)


def _ms(row, key):
    return f"{row[key] * 1e3:.2f}" if key in row else "-"


def _ratio(row, key):
    return f"{row[key]:.2f}x" if key in row else "-"


def print_table(rows, clock_name, torch_threads):
    print(f"BLAS: {blas_description()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}"
          f"; {clock_name} time; torch threads: {torch_threads}")
    print(f"{'task':6} {'H':>4} {'N':>3} {'T':>4} {'composer ms':>12} {'course ms':>10} "
          f"{'torch ms':>9} {'course/composer':>16} {'composer/torch':>15}")
    for r in rows:
        print(f"{r['task']:6} {r['hidden']:>4} {r['batch']:>3} {r['steps']:>4} "
              f"{_ms(r, 'composer'):>12} {_ms(r, 'course'):>10} {_ms(r, 'torch'):>9} "
              f"{_ratio(r, 'course/composer'):>16} {_ratio(r, 'composer/torch'):>15}")
    print("(medians per call; sample = 200 single-token steps at batch 1; "
          "composer/torch < 1 means composer is faster)")


def print_condition_table(rows, clock_name):
    print(f"conditioning: V={MELODY_VOCAB}, {len(COND_SIZES)} fields, "
          f"{sum(COND_SIZES.values())} rows; {clock_name} time; OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}")
    columns = [("main ms", "main", _ms), ("plain ms", "plain", _ms), ("cond ms", "cond", _ms),
               ("random ms", "cond random", _ms), ("cond/plain", "cond/plain", _ratio),
               ("cond/main", "cond/main", _ratio), ("plain/main", "plain/main", _ratio),
               ("random/plain", "random/plain", _ratio)]
    print(f"{'task':6} {'H':>4} {'N':>3} {'T':>4} " + " ".join(f"{c:>12}" for c, _, _ in columns))
    for r in rows:
        print(f"{r['task']:6} {r['hidden']:>4} {r['batch']:>3} {r['steps']:>4} "
              + " ".join(f"{show(r, key):>12}" for _, key, show in columns))
    print("(cond: metre and key fixed per piece, position from a pickup, a chord per bar; "
          "random: every field new at every step;\n main: the plain step with layer 0's lookup "
          "and gradient as before conditioning)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--blocks", type=int, default=9, help="timed blocks per library")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--only", choices=["libraries", "condition"],
                        help="run one section: the libraries compared, or conditioning")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall clock, or the process's CPU time (steadier on a busy "
                             "machine; use with OPENBLAS_NUM_THREADS=1; torch on 1 thread)")
    args = parser.parse_args()
    rows, cond_rows = [], []
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    torch_threads = TORCH_THREADS[args.clock] if have_torch() and not args.no_torch else 0
    if args.only != "condition":
        rows = benchmark(args.blocks, torch_threads, clock)
    if args.only != "libraries":
        cond_rows = condition_benchmark(args.blocks, clock)
    if args.json:
        print(json.dumps({"blas": blas_description(), "results": rows,
                          "condition": cond_rows}, indent=2))
        return
    if rows:
        print_table(rows, args.clock, torch_threads)
    if cond_rows:
        print_condition_table(cond_rows, args.clock)


if __name__ == "__main__":
    main()
