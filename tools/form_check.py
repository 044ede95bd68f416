"""Do samples have form? Repeated bars, parts played twice and endings, against the corpus.

    python tools/form_check.py --model models/default --data data --num 10 --bars 32

For each setting (default: a jig in 6/8, D major, and a reel in 2/2, G major), `num` samples
of `bars` bars are drawn with the form `composer sample` plays (AABB by default; --form),
read with their bars as written, and measured as composer.music.repetition defines: bars
repeating an earlier bar, bars equal to the bar 8 back, empty bars (a note held through, or
silence), distinct bars, self-similarity and endings on the tonic. The corpus is read the
same way (bars as written); its distinct-bar share is taken over the tunes of about the same
length (bars +- 4), as the issue's target asks. Prints each figure with its target, and JSON
with --json. `--form none --no-shape` shows what the model does on its own.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from composer.data.corpus import load_pieces
from composer.generation.sampling import generate
from composer.generation.shaping import part_marks
from composer.generation.steering import sample_context
from composer.music.form import sample_plan
from composer.music.keys import key_signature
from composer.music.meter import bar_beats, bar_steps, parse_meter
from composer.music.notes import Piece, TimeSignature
from composer.music.stats import align_columns
from composer.music.structure import Structure, repetition_summary, structure, structure_piece
from composer.training.trained import load_model

SETTINGS = (("6/8", "D major"), ("2/2", "G major"))
TARGETS = {  # figure: (at least, at most, relative to the corpus's figure)
    "repeated_bar_share": (0.35, None, False),
    "part_back_share": (0.30, None, False),
    "empty_bar_share": (None, 0.05, False),
    "distinct_bar_share": (0.40, None, True),
    "tonic_ending_share": (0.85, None, False),
}
LENGTH_SLACK = 4  # corpus tunes within this many bars of the samples' count as the same length


def draw(trained, *, meter, key, bars, num, seed, form=None, part_bars=None, shape=True,
         temperature=1.0) -> list[Piece]:
    """`num` samples of `bars` bars, as composer sample draws them, as Pieces."""
    rng = np.random.default_rng(seed)
    context, _ = sample_context(trained.encoding, meter=meter, key=key)
    context = replace(context, form=sample_plan(form, part_bars, bars, rng))
    steps = bars * bar_steps(parse_meter(meter), trained.encoding.steps_per_quarter)
    tokens = generate(trained, steps - 1, num, context=context, rng=rng, shape=shape,
                      temperature=temperature)
    return [Piece(f"sample {k}", trained.encoding.decode(ids), time_signature=parse_meter(meter),
                  time_signatures=[TimeSignature(0.0, *parse_meter(meter))],
                  key_signatures=[key_signature(k_) for _, k_ in context.keys],
                  parts=part_marks(context))
            for k, ids in enumerate(tokens)]


def corpus_figures(pieces, bars: int) -> dict:
    """The corpus's repetition figures (bars as written), and its distinct-bar share over
    the tunes of about `bars` bars."""
    whole = repetition_summary(structure(pieces).repetition)
    similar = [p for p in pieces
               if abs(p.duration / bar_beats(p.time_signature) - bars) <= LENGTH_SLACK]
    alike = repetition_summary(structure(similar).repetition)
    return whole | {"distinct_bar_share_same_length": alike["distinct_bar_share"],
                    "same_length_tunes": len(similar)}


def check(args) -> dict:
    trained = load_model(args.model)
    corpus = corpus_figures(load_pieces(args.data), args.bars)
    report = {"model": str(args.model), "condition": list(trained.config.condition),
              "form": args.form or "default", "shape": not args.no_shape, "bars": args.bars,
              "num": args.num, "seed": args.seed, "corpus": corpus, "settings": {}}
    pooled: list = []
    for meter, key in SETTINGS:
        samples = draw(trained, meter=meter, key=key, bars=args.bars, num=args.num,
                       seed=args.seed, form=args.form, part_bars=args.part_bars,
                       shape=not args.no_shape, temperature=args.temperature)
        report["settings"][f"{meter} {key}"] = _figures(samples, key)
        pooled += [(sample, key) for sample in samples]
    report["all"] = _figures(pooled, None)
    report["targets"] = _judged(report["all"], corpus)
    return report


def _figures(samples, key: str | None) -> dict:
    """Repetition figures of samples (or of (sample, key) pairs), judged in the key asked."""
    pairs = [(s, key) for s in samples] if key is not None else samples
    total = sum((structure_piece(s, key=k) for s, k in pairs), Structure())
    return repetition_summary(total.repetition)


def _judged(found: dict, corpus: dict) -> dict:
    judged = {}
    for name, (low, high, relative) in TARGETS.items():
        scale = corpus["distinct_bar_share_same_length"] if relative else 1.0
        low = None if low is None else low * scale
        value = found[name]
        met = value is not None and (low is None or value >= low) and \
            (high is None or value <= high)
        judged[name] = {"value": value, "at_least": low, "at_most": high, "met": met}
    return judged


def print_report(report: dict) -> None:
    print(f"model {report['model']} (hears: {', '.join(report['condition']) or 'nothing'}); "
          f"form {report['form']}, shaping {'on' if report['shape'] else 'off'}; "
          f"{report['num']} samples of {report['bars']} bars a setting, seed {report['seed']}")
    names = list(report["settings"])
    rows = [["", *names, "all", "corpus", "target"]]
    for name, judged in report["targets"].items():
        bound = (f">= {_pct(judged['at_least'])}" if judged["at_least"] is not None
                 else f"<= {_pct(judged['at_most'])}")
        rows.append([name, *(_pct(report["settings"][n][name]) for n in names),
                     _pct(judged["value"]), _pct(report["corpus"][name]),
                     f"{bound} {'met' if judged['met'] else 'NOT MET'}"])
    rows.append(["self_similarity", *(_pct(report["settings"][n]["self_similarity"])
                                      for n in names),
                 _pct(report["all"]["self_similarity"]), _pct(report["corpus"]["self_similarity"]),
                 ""])
    print(align_columns(rows))
    print(f"corpus distinct bars over its {report['corpus']['same_length_tunes']} tunes of "
          f"{report['bars']} +- {LENGTH_SLACK} bars: "
          f"{_pct(report['corpus']['distinct_bar_share_same_length'])}")


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--num", type=int, default=10, help="samples per setting")
    parser.add_argument("--bars", type=int, default=32, help="bars per sample")
    parser.add_argument("--form", default=None, help="AABB, ABAB, ..., or none [default: "
                                                     "what composer sample plays]")
    parser.add_argument("--part-bars", type=int, default=None)
    parser.add_argument("--no-shape", action="store_true",
                        help="no replays, cadences or ending: the model on its own")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = check(args)
    print(json.dumps(report, indent=2) if args.json else "", end="")
    if not args.json:
        print_report(report)


if __name__ == "__main__":
    main()
