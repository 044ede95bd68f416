"""How well assign_voices recovers the parts of real multi-voice pieces from their notes alone.

    python tools/voice_accuracy.py FOLDER [--voices 4]

For each MIDI file, the parts the reader found (Note.voice) are ranked by mean pitch
(highest = voice 0); the notes are pooled with their parts forgotten (two parts on one
pitch at one time become one note, as in the performance encoding), split again by
composer.music.voices.assign_voices, and each note counts as right when its voice is the
rank of a part that sang it. Prints the share of notes right and of files all right.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from composer.music.midi import read_midi
from composer.music.voices import assign_voices


def file_accuracy(path: Path, voices: int) -> tuple[int, int]:
    """(notes right, notes) of one file."""
    notes = read_midi(path)[0].notes
    pitches = defaultdict(list)
    for note in notes:
        pitches[note.voice].append(note.pitch)
    rank = {v: r for r, v in enumerate(sorted(pitches, key=lambda v: -np.mean(pitches[v])))}
    truth = defaultdict(set)  # (start, pitch) -> ranks of the parts that sang it
    pooled = {}
    for note in notes:
        truth[(note.start, note.pitch)].add(rank[note.voice])
        pooled.setdefault((note.start, note.pitch), note)
    split = assign_voices(list(pooled.values()), voices)
    return sum(n.voice in truth[(n.start, n.pitch)] for n in split), len(split)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--voices", type=int, default=4)
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.mid"))
    results = [file_accuracy(path, args.voices) for path in files]
    right, total = sum(r for r, _ in results), sum(t for _, t in results)
    perfect = sum(r == t for r, t in results)
    print(f"{len(files)} files: {right:,} of {total:,} notes in their own part "
          f"({right / total:.1%}); every note right in {perfect} files")


if __name__ == "__main__":
    main()
