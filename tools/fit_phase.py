"""Fit the bar-phase tables of composer.music.phase on data/, and measure the estimator.

The truth comes from tools/corpus_truth.jsonl (made by tools/corpus_truth.py with music21
from the ABC sources of data/): each tune's pickup and the starts of its full bars. This tool
needs only composer and that file::

    python tools/fit_phase.py            # prints the figures, rewrites phase_profiles.py
    python tools/fit_phase.py --dry-run  # prints the figures only

Figures printed, over the tunes of data/ (all 966; the 3 with a change of time signature are
scored on their first metre):
- exact: share of tunes whose estimated phase equals the true pickup (mod one bar);
- beat: share whose estimate is off by whole beats only (the beat grid is right);
- bars: share of the true full-bar starts (in the first metre) that the estimate marks as
  bar lines (a tune whose repeats replay its pickup shifts its bar lines halfway through;
  no single phase gets those right);
for phase 0 (the file's own grid), the hand-made metrical weights (no tables), the tables
fitted on the other half of the tunes (2-fold, interleaved by file name: the honest figure),
the tables fitted on all tunes (what composer ships), and those with bar lines that may
shift mid-tune (estimate_bar_lines: what composer uses; exact and beat judge its first
phase).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from composer.music.meter import MeterMap, bar_beats, beat_beats, time_signatures  # noqa: E402
from composer.music.midi import read_midi  # noqa: E402
from composer.music.phase import (  # noqa: E402
    SWITCH_COST,
    estimate_bar_lines,
    estimate_phase,
    fit_profiles,
)

MIN_TUNES = 20  # metres with fewer tunes get no table (the hand-made weights instead)


def load(data: Path, truth: Path) -> list[dict]:
    """One row per tune: its piece, first metre, true phase and true bar starts."""
    rows = []
    for line in truth.read_text().splitlines():
        true = json.loads(line)
        piece = read_midi(data / true["file"])[0]
        changes = time_signatures(piece)
        meter = (changes[0].numerator, changes[0].denominator)
        bar = bar_beats(meter)
        until = changes[1].beat if len(changes) > 1 else np.inf
        starts = [s + k * length for s, length, count in true["bars"] if length == bar
                  for k in range(count) if s + k * length < until]
        rows.append({"file": true["file"], "piece": piece, "changes": changes, "meter": meter,
                     "phase": true["pickup"] % bar, "starts": np.array(starts)})
    return rows


def examples(rows: list[dict]):
    return [(r["piece"].notes, r["meter"], r["phase"]) for r in rows if len(r["changes"]) == 1]


def judge(row: dict, estimate: float | MeterMap) -> tuple[bool, bool, int, int]:
    """(exact, beat-level, true bar starts hit, true bar starts) for one estimate: a phase,
    or a MeterMap whose bar lines may shift (its phase is the first part's)."""
    meter_map = estimate if isinstance(estimate, MeterMap) else MeterMap(row["changes"], estimate)
    phase = meter_map.phase
    lines = meter_map.downbeats(row["piece"].duration)
    hit = int(np.isin(np.round(row["starts"] * 48), np.round(lines * 48)).sum())
    off = (phase - row["phase"]) % bar_beats(row["meter"])
    beats = off / beat_beats(row["meter"])
    return phase == row["phase"], abs(beats - round(beats)) < 1e-9, hit, len(row["starts"])


def report(label: str, rows: list[dict], phases: list) -> None:
    exact = beat = hit = total = 0
    per_meter: Counter = Counter()
    tunes: Counter = Counter()
    for row, phase in zip(rows, phases, strict=True):
        e, b, h, t = judge(row, phase)
        exact, beat, hit, total = exact + e, beat + b, hit + h, total + t
        name = f"{row['meter'][0]}/{row['meter'][1]}"
        per_meter[name] += e
        tunes[name] += 1
    meters = ", ".join(f"{m} {per_meter[m]}/{tunes[m]}" for m, _ in tunes.most_common())
    print(f"{label:<34} exact {exact / len(rows):6.1%}  beat {beat / len(rows):6.1%}  "
          f"bars {hit / total:6.1%}   ({meters})")


def module_text(profiles: dict, tunes: int) -> str:
    """The source of composer/music/phase_profiles.py."""
    lines = [
        '"""Bar-phase tables for composer.music.phase, fitted by tools/fit_phase.py: do not edit.',
        "",
        f"Counted on the {tunes} single-metre tunes of data/ with their true bar lines (from",
        "the ABC sources); log probabilities with add-one smoothing, positions in sixteenths",
        "from the bar line. onsets[position][IOI class]; pickup[phase]; last[position of the",
        "last onset]; end[position where the last note ends].",
        '"""',
        "",
        "# fmt: off",
        "PROFILES = {",
    ]
    for name, table in sorted(profiles.items()):
        lines.append(f'    "{name}": {{')
        lines.append(f'        "tunes": {table["tunes"]},')
        lines.append('        "onsets": [')
        lines += [_wrapped(row, 12) for row in table["onsets"]]
        lines.append("        ],")
        for key in ("pickup", "last", "end"):
            lines.append(f'        "{key}":')
            lines.append(_wrapped(table[key], 12))
        lines.append("    },")
    lines += ["}", "# fmt: on", ""]
    return "\n".join(lines)


def _wrapped(values: list[float], indent: int) -> str:
    text = "[" + ", ".join(f"{v:g}" for v in values) + "],"
    return textwrap.fill(text, 99, initial_indent=" " * indent,
                         subsequent_indent=" " * (indent + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--truth", type=Path, default=ROOT / "tools" / "corpus_truth.jsonl")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "composer" / "music" / "phase_profiles.py")
    parser.add_argument("--dry-run", action="store_true", help="do not write --out")
    args = parser.parse_args(argv)
    rows = load(args.data, args.truth)
    print(f"{len(rows)} tunes; {sum(r['phase'] > 0 for r in rows)} open with a pickup")
    halves = (rows[0::2], rows[1::2])
    report("phase 0 (the file's own grid)", rows, [0.0] * len(rows))
    report("hand-made metrical weights", rows,
           [estimate_phase(r["piece"].notes, r["changes"], {}) for r in rows])
    fitted = [fit_profiles(examples(half), MIN_TUNES) for half in halves]
    cross = {r["file"]: estimate_phase(r["piece"].notes, r["changes"], fitted[1 - k])
             for k, half in enumerate(halves) for r in half}
    report("tables from the other half (2-fold)", rows, [cross[r["file"]] for r in rows])
    cross_shifting = {r["file"]: estimate_bar_lines(r["piece"].notes, r["changes"], fitted[1 - k])
                      for k, half in enumerate(halves) for r in half}
    report("the same, bar lines that shift", rows, [cross_shifting[r["file"]] for r in rows])
    shipped = fit_profiles(examples(rows), MIN_TUNES)
    report("tables from all tunes (shipped)", rows,
           [estimate_phase(r["piece"].notes, r["changes"], shipped) for r in rows])
    shifting = [estimate_bar_lines(r["piece"].notes, r["changes"], shipped) for r in rows]
    report("shipped, bar lines that shift", rows, shifting)
    shifted = sum(len(m.changes) > len(r["changes"]) for m, r in zip(shifting, rows, strict=True))
    print(f"  ({shifted} tunes with a shift; switch cost {SWITCH_COST:g} nats)")
    if not args.dry_run:
        args.out.write_text(module_text(shipped, len(examples(rows))))
        print(f"wrote {args.out} ({', '.join(sorted(shipped))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
