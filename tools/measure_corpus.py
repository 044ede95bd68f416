"""Measure composer's music-side estimators and statistics on the bundled corpus.

    python tools/measure_corpus.py keys        # key and mode against the ABC sources
    python tools/measure_corpus.py chords      # what the chord inference chooses
    python tools/measure_corpus.py halves      # structure statistics, one half against the other

keys: tools/corpus_truth.jsonl (from tools/corpus_truth.py, music21) has each tune's ABC K:
field; the figure is the share of tunes whose key (tonic and mode) composer names from the
MIDI key signature and the notes (composer.music.keys.piece_keys), next to the share the
signature's own major key gets right.

halves: the tunes of data/ split in two (alternate files in sorted order); the
Jensen-Shannon distance (bits) of their melody onset positions per metre, bars estimated
(composer.music.structure, as `composer stats --against` reads a corpus) and as written; and
the structure figures of the whole corpus (chord-tone share with inferred chords etc.).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from composer.errors import MusicError  # noqa: E402
from composer.music.harmony import infer_chords  # noqa: E402
from composer.music.keys import Key, parse_key, piece_keys  # noqa: E402
from composer.music.meter import meter_map  # noqa: E402
from composer.music.midi import read_midi  # noqa: E402
from composer.music.structure import onset_distances, structure, structure_summary  # noqa: E402


def truth_rows(truth: Path) -> list[dict]:
    return [json.loads(line) for line in truth.read_text().splitlines()]


def abc_key(field: str) -> Key:
    """The Key of an ABC K: field ("Ador", "G", "Em % comment"); C major when empty."""
    words = field.split("%")[0].split()
    return parse_key(words[0]) if words else Key(0, "major")


def measure_keys(data: Path, truth: Path) -> None:
    ours = signature = 0
    per_mode: Counter = Counter()
    tunes: Counter = Counter()
    rows = truth_rows(truth)
    for row in rows:
        try:
            true = abc_key(row["key"])
        except MusicError:
            true = Key(0, "major")
        piece = read_midi(data / row["file"])[0]
        guess = piece_keys(piece)[0][1]
        major = Key((7 * piece.key_signatures[0].sharps) % 12, "major")
        ours += guess == true
        signature += major == true
        per_mode[true.mode] += guess == true
        tunes[true.mode] += 1
    modes = ", ".join(f"{m} {per_mode[m]}/{tunes[m]}" for m, _ in tunes.most_common())
    print(f"{len(rows)} tunes: key and mode named as in the ABC source for {ours / len(rows):.1%}"
          f" ({modes}); the signature's major key: {signature / len(rows):.1%}")


def inferred(data: Path):
    """(piece, meter map, key, inferred chord spans) of every tune of data/."""
    for path in sorted(data.glob("*/*.mid")):
        piece = read_midi(path)[0]
        meter, key = meter_map(piece), piece_keys(piece)[0][1]
        yield piece, meter, key, infer_chords(piece.notes, meter, key)


def measure_chords(data: Path) -> None:
    spans = in_key = sevenths = 0
    for _, _, key, found in inferred(data):
        allowed = set(key.pitch_classes) | ({(key.tonic + 11) % 12} if key.mode == "minor"
                                            else set())
        spans += len(found)
        in_key += sum(chord.pitch_classes <= allowed for _, chord in found)
        sevenths += sum(chord.quality == "dominant7" for _, chord in found)
    print(f"{spans} inferred chord spans: {in_key / spans:.1%} in the key "
          f"(minor keys: with the raised 7th), {sevenths / spans:.1%} dominant 7th chords")


def measure_halves(data: Path) -> None:
    pieces = [read_midi(path)[0] for path in sorted(data.glob("*/*.mid"))]
    halves = (pieces[0::2], pieces[1::2])
    for estimate in (True, False):
        first, second = (structure(half, estimate=estimate) for half in halves)
        distances = onset_distances(first, second)
        shown = ", ".join(f"{m} {d:.4f}" for m, d in distances.items())
        notes = ", ".join(f"{m} {int(first.onsets[m].sum())}+{int(second.onsets[m].sum())}"
                          for m in distances)
        print(f"onset positions, half against half, bars {'estimated' if estimate else 'written'}"
              f": {shown} (notes: {notes})")
    whole = structure_summary(structure(pieces, estimate=True))
    print(f"whole corpus, bars estimated: on-beat notes on chord tones (inferred chords) "
          f"{whole['chord_tone_share']:.1%} of {whole['on_beat_notes']}; notes in key "
          f"{whole['in_key_share']:.1%}; bars repeating an earlier bar "
          f"{whole['repeated_bar_share']:.1%} of {whole['bars']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["keys", "chords", "halves"])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--truth", type=Path, default=ROOT / "tools" / "corpus_truth.jsonl")
    args = parser.parse_args(argv)
    if args.what == "keys":
        measure_keys(args.data, args.truth)
    elif args.what == "chords":
        measure_chords(args.data)
    else:
        measure_halves(args.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
