"""Time drawing a sample, per token: with form (history fields, a form plan, shaping) against
sampling as it was before form existed, side by side in one run.

    python benchmarks/bench_sample.py                  # the shipped model, 32 bars of 6/8
    python benchmarks/bench_sample.py --num 10 --clock cpu

"form" is `composer sample`'s path today: the shipped model (metre, key, chords and history),
32 bars of 6/8 in D major with its default form (AABB in parts of 8 bars: replays, cadences
and the ending on the tonic). "before" is the path before form: the same weights without
the history rows (a model that hears metre, key and chords), no plan, no shaping, and the
features computed step by step as main computed them (Steering's table of every step's
features came with form); its loop is otherwise main's (composer.generation.sampling with
shape=False: the features, the grammar, the model's step and the draw). --table-before
gives "before" the table too: the cost of form alone. Both draw `num` samples at once with the same
seed. On a 2-core machine idle BLAS threads spin and steal the other side's core, so the
two are timed in alternating blocks with short pauses between them, and each figure is the
median over the blocks; --clock cpu times by the process's CPU time, which other programs'
load disturbs much less than the wall clock.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from composer.generation.sampling import generate  # noqa: E402
from composer.generation.steering import Steering, sample_context  # noqa: E402
from composer.music.conditioning import fields  # noqa: E402
from composer.music.form import sample_plan  # noqa: E402
from composer.music.meter import bar_steps, parse_meter  # noqa: E402
from composer.training.trained import default_model_path, load_model  # noqa: E402

PAUSE = 0.05  # seconds between blocks, so idle worker threads go back to sleep
BEFORE_PARTS = ("metre", "key", "chords")  # what the shipped model heard before form


def without_history(trained):
    """The same model, minus its history rows: the model of before form, as sizes go."""
    kept = sum(f.size for f in fields(BEFORE_PARTS))
    params = {**trained.params, "Wc0": trained.params["Wc0"][:kept]}
    config = replace(trained.config, condition=BEFORE_PARTS)
    return replace(trained, params=params, config=config)


def sampler(trained, *, bars, num, meter, key, shape, seed, table=True):
    """A function drawing `num` samples of `bars` bars; and the tokens each draws. Without
    `table`, Steering computes the features step by step, as before form."""
    context, _ = sample_context(trained.encoding, meter=meter, key=key)
    if shape:
        context = replace(context, form=sample_plan(None, None, bars))
    tokens = bars * bar_steps(parse_meter(meter), trained.encoding.steps_per_quarter)

    def run():
        made = Steering._make_table
        if not table:
            Steering._make_table = lambda self, opening: None
        try:
            generate(trained, tokens - 1, num, context=context, shape=shape,
                     rng=np.random.default_rng(seed))
        finally:
            Steering._make_table = made

    return run, tokens * num


def time_interleaved(runs, blocks, clock):
    """{name: [seconds per call of each block]}, the runs alternating block by block."""
    samples = {name: [] for name in runs}
    for _ in range(blocks):
        for name, run in runs.items():
            time.sleep(PAUSE)
            start = clock()
            run()
            samples[name].append(clock() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--bars", type=int, default=32)
    parser.add_argument("--num", type=int, default=1, help="samples drawn at once")
    parser.add_argument("--meter", default="6/8")
    parser.add_argument("--key", default="D major")
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--table-before", action="store_true",
                        help="give 'before' the table of features too (form's cost alone)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    trained = load_model(args.model or default_model_path())
    if "history" not in trained.config.condition:
        sys.exit(f"{args.model or 'the shipped model'} hears no history: nothing to compare")
    common = dict(bars=args.bars, num=args.num, meter=args.meter, key=args.key, seed=0)
    form, tokens = sampler(trained, shape=True, **common)
    before, _ = sampler(without_history(trained), shape=False, table=args.table_before,
                        **common)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    form(), before()  # warm up
    times = time_interleaved({"form": form, "before": before}, args.blocks, clock)
    per_token = {name: 1e3 * statistics.median(values) / tokens for name, values in times.items()}
    report = {"model": str(args.model or default_model_path()), "bars": args.bars,
              "table_before": args.table_before,
              "num": args.num, "tokens": tokens, "clock": args.clock, "blocks": args.blocks,
              "ms_per_token": per_token, "ratio": per_token["form"] / per_token["before"]}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.num} sample(s) of {args.bars} bars of {args.meter} ({tokens} tokens a block), "
          f"{args.clock} clock, median of {args.blocks} alternating blocks")
    for name in ("before", "form"):
        print(f"  {name:7} {per_token[name]:.3f} ms per token")
    print(f"  form / before: {report['ratio']:.2f}x")


if __name__ == "__main__":
    main()
