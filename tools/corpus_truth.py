"""The musical facts MIDI lost, read again from the ABC sources of data/ with music21.

data/ was made from ABC tune books by tools/build_corpus.py (music21 10.5.1). The MIDI files
keep the notes, the time signatures and the key signatures, but lose three things this tool
recovers, so that composer's estimators can be measured against the truth:

* the **bar lines**: where each measure starts, in playing order (repeats played out as
  build_corpus plays them), hence the pickup (anacrusis) before the first full bar;
* the **mode** of the ABC ``K:`` field (``K:Ador`` is A dorian; the MIDI key signature
  only says "G major", the same accidentals);
* the **chord symbols** some transcribers wrote (``"Am"``), with their beats.

Output: one JSON object per line (``tools/corpus_truth.jsonl``), for each file of data/::

    {"file": "oneills/0007-....mid", "meter": [6, 8], "pickup": 0.5, "key": "Ador",
     "bars": [[0.5, 3.0, 15], ...], "chords": [[0.5, "Am"], ...]}

``bars`` lists the starts of the full-length measures as runs [first start, bar length,
count] in quarter notes (a regular tune has one run per time signature); ``pickup`` is the
length of the first measure when it is shorter than a full bar, else 0. music21 is a
development-only dependency, never one of composer's::

    python3 -m venv /tmp/m21venv && /tmp/m21venv/bin/pip install music21==10.5.1 mido
    /tmp/m21venv/bin/python tools/corpus_truth.py          # about 3 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import sys
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_corpus as bc  # noqa: E402  (the sibling tool: same tunes, same play order)


def _key_field(abc: str) -> str:
    """The ABC K: field of a tune, e.g. "Ador", "G", "Em" ("" if none)."""
    found = re.search(r"^K:\s*(\S.*?)\s*$", abc, re.M)
    return found.group(1) if found else ""


def _runs(starts: list[tuple[float, float]]) -> list[list]:
    """[[first start, bar length, count], ...]: consecutive equal bars merged."""
    runs: list[list] = []
    for start, length in starts:
        last = runs[-1] if runs else None
        if last and last[1] == length and abs(last[0] + last[1] * last[2] - start) < 1e-9:
            last[2] += 1
        else:
            runs.append([start, length, 1])
    return runs


def _blip(measures: list[tuple[float, float, float]], k: int) -> bool:
    """A lone measure whose time signature differs from both neighbours' (music21 marks
    a pickup bar inside a tune with a signature of its length): not a real bar."""
    nominal = measures[k][2]
    before = measures[k - 1][2] if k > 0 else None
    after = measures[k + 1][2] if k + 1 < len(measures) else None
    return nominal != before and nominal != after and (before or after) is not None


def _measures(part, order):
    """(start in quarters, length, nominal bar length) of each measure, in playing order."""
    from music21 import stream

    measures = list(part.getElementsByClass(stream.Measure))
    offsets = [float(part.elementOffset(m)) for m in measures]
    lengths = [b - a for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    lengths.append(float(measures[-1].duration.quarterLength))
    played, base = [], 0.0
    for k in range(len(measures)) if order is None else order:
        nominal = float(measures[k].barDuration.quarterLength)
        played.append((base, lengths[k], nominal))
        base += lengths[k]
    return played


def truth(tune: bc.Tune) -> dict:
    """The bar lines, key field and chord symbols of one tune (or an "error")."""
    warnings.simplefilter("ignore")
    from music21 import converter, harmony

    out = {"file": bc.file_name(tune), "key": _key_field(tune.abc)}
    try:
        part = converter.parse(bc.fix_abc(tune.abc), format="abc").parts[0]
        _, order = bc._play_order(part)
        measures = _measures(part, order)
        timeline = bc._timeline(part, order)
    except Exception as exc:  # the same tunes build_corpus skipped
        return {**out, "error": type(exc).__name__}
    first = measures[0]
    out["pickup"] = first[1] if first[1] < first[2] - 1e-9 else 0.0
    full = [
        (start, nominal)
        for k, (start, length, nominal) in enumerate(measures)
        if abs(length - nominal) < 1e-9 and not _blip(measures, k)
    ]
    out["bars"] = _runs(full)
    out["chords"] = [
        [round(float(off), 6), el.figure]
        for off, el in timeline
        if isinstance(el, harmony.ChordSymbol) and not isinstance(el, harmony.NoChord)
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--data", type=Path, default=root / "data")
    parser.add_argument("--out", type=Path, default=root / "tools" / "corpus_truth.jsonl")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    skipped: Counter = Counter()
    music = bc.corpus_dir()
    tunes = bc.oneills_tunes(music, skipped) + bc.ryans_tunes(music, skipped)
    tunes = [t for t in tunes if (args.data / bc.file_name(t)).exists()]
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        rows = list(pool.imap(truth, tunes, chunksize=8))
    with open(args.out, "w", encoding="utf-8") as file:
        for row in sorted(rows, key=lambda r: r["file"]):
            file.write(json.dumps(row) + "\n")
    errors = Counter(r["error"] for r in rows if "error" in r)
    print(f"{len(rows)} tunes, {sum(bool(r.get('chords')) for r in rows)} with chord symbols, "
          f"{sum(r.get('pickup', 0) > 0 for r in rows)} with a pickup; errors: {dict(errors)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
