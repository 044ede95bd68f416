"""Does a model do what it is asked? Samples steered by metre, key and chords against a corpus.

    python tools/steering_check.py --model models/default --data data --num 40 --bars 16

For each metre common in the corpus, `num` samples of `bars` bars are drawn with that
metre (and the corpus's most common key for it) and read with bars as written, then
compared with the corpus's tunes in that metre, read with their bar phase estimated
(pickups), by the Jensen-Shannon distance of melody onset positions in the bar
(composer.music.structure). Then samples over a chord progression (default
"Am F C G", key C major): the share of on-beat melody notes that are tones of the
bar's chord, against the corpus's with chords inferred from its melodies; samples with
a key: the share of notes in it (against the corpus's); and with --scale-lock.
Everything goes through the same code as `composer sample` (generation.steering,
generation.lengths), with the form it plays by default (AABB; --form none for none, as
before form existed). Prints a table, and JSON with --json.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from composer.data.corpus import load_pieces
from composer.generation.lengths import cut, draw_beats
from composer.generation.steering import sample_context
from composer.music.chords import parse_progression
from composer.music.form import sample_plan
from composer.music.keys import key_signature, parse_key
from composer.music.meter import bar_beats, parse_meter
from composer.music.notes import ChordSymbol, Piece, TimeSignature
from composer.music.phase import meter_name
from composer.music.structure import onset_distances, structure, structure_summary
from composer.training.trained import load_model

METRES = ("6/8", "2/2", "2/4", "4/4", "3/4", "9/8")
MAX_TOKENS = 20_000


def draw(trained, *, meter, key=None, chords=None, bars, num, seed, scale_lock=False,
         temperature=1.0, chord_weight=0.0, form=None):
    """`num` steered samples as Pieces carrying the metre, key and chords they were asked for."""
    context, _ = sample_context(trained.encoding, meter=meter, key=key, chords=chords)
    end = bars * bar_beats(parse_meter(meter))
    rng = np.random.default_rng(seed)
    if trained.encoding.name == "melody":
        cycle = None if chords is None else sum(b for _, b in parse_progression(chords))
        context = replace(context, form=sample_plan(form, None, bars, rng, cycle=cycle))
    pieces = []
    for k in range(num):
        ids = draw_beats(trained, end, max_tokens=MAX_TOKENS, rng=rng, context=context,
                         scale_lock=scale_lock, temperature=temperature,
                         chord_weight=chord_weight if chords else 0.0)
        notes = cut(trained.encoding.decode(ids), end)
        symbols = [ChordSymbol(b, c.symbol) for b, c in context.chords if b < end] \
            if chords else []
        pieces.append(Piece(f"sample {k}", notes, time_signature=parse_meter(meter),
                            time_signatures=[TimeSignature(0.0, *parse_meter(meter))],
                            key_signatures=[key_signature(k_) for _, k_ in context.keys],
                            chords=symbols))
    return pieces


def corpus_keys_by_metre(pieces) -> dict[str, str]:
    """The most common key (by the pieces' own keys) of the corpus's tunes in each metre."""
    from composer.music.keys import piece_keys

    found: dict[str, Counter] = {}
    for piece in pieces:
        found.setdefault(meter_name(piece.time_signature), Counter())[
            piece_keys(piece)[0][1].name] += 1
    return {metre: counts.most_common(1)[0][0] for metre, counts in found.items()}


def check(args) -> dict:
    trained = load_model(args.model)
    corpus = load_pieces(args.data)
    reference = structure(corpus, estimate=True)
    keys = corpus_keys_by_metre(corpus)
    common = dict(num=args.num, bars=args.bars, seed=args.seed, temperature=args.temperature,
                  chord_weight=args.chord_weight, form=args.form)
    report = {"model": str(args.model), "condition": list(trained.config.condition),
              "corpus": structure_summary(reference) | {"onsets": None}, "metres": {}}
    for metre in METRES:
        if metre not in reference.onsets:
            continue
        samples = draw(trained, meter=metre, key=keys.get(metre), **common)
        distance = onset_distances(structure(samples), reference).get(metre)
        report["metres"][metre] = {"key": keys.get(metre), "onset_js_bits": distance}
    over = draw(trained, meter=args.chord_meter, key=args.chord_key, chords=args.chords,
                **common)
    report["chords"] = {"progression": args.chords, "key": args.chord_key,
                        "meter": args.chord_meter,
                        **_shares(structure(over))}
    for lock in (False, True):
        keyed = draw(trained, meter="4/4", key=args.key, scale_lock=lock, **common)
        report["scale_lock" if lock else "key"] = {"key": args.key, **_shares(structure(keyed))}
    return report


def _shares(form) -> dict:
    summary = structure_summary(form)
    return {k: summary[k] for k in ("chord_tone_share", "in_key_share", "repeated_bar_share")}


def print_report(report: dict) -> None:
    corpus = report["corpus"]
    print(f"model {report['model']} (hears: {', '.join(report['condition']) or 'nothing'})")
    print("onset positions in the bar, JS distance to the corpus's tunes in that metre (bits):")
    for metre, found in report["metres"].items():
        value = found["onset_js_bits"]
        print(f"  {metre:5} ({found['key']}): " + ("-" if value is None else f"{value:.4f}"))
    chords = report["chords"]
    print(f"on-beat notes on chord tones over {chords['progression']!r} in "
          f"{chords['meter']}, {chords['key']}: "
          f"{_pct(chords['chord_tone_share'])} (corpus, inferred chords: "
          f"{_pct(corpus['chord_tone_share'])})")
    print(f"notes in key, asked for {report['key']['key']}: {_pct(report['key']['in_key_share'])}"
          f"; with --scale-lock: {_pct(report['scale_lock']['in_key_share'])} (corpus: "
          f"{_pct(corpus['in_key_share'])})")
    print(f"bars repeating an earlier bar: {_pct(report['key']['repeated_bar_share'])} "
          f"(corpus: {_pct(corpus['repeated_bar_share'])})")


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--num", type=int, default=40, help="samples per setting")
    parser.add_argument("--bars", type=int, default=16, help="bars per sample")
    parser.add_argument("--chords", default="Am F C G")
    parser.add_argument("--chord-key", default="C major")
    parser.add_argument("--chord-meter", default="4/4")
    parser.add_argument("--key", default="D major")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--chord-weight", type=float, default=0.0)
    parser.add_argument("--form", default=None, help="AABB, ..., or none [default: what "
                                                     "composer sample plays]")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    parse_key(args.key)
    report = check(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
