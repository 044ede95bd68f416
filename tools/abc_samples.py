"""Samples written as ABC and MusicXML, read back by composer and by music21: same notes?

    python tools/abc_samples.py OUT [--model models/default] [--num 20] [--seed 0] [--bars 16]

Draws --num samples twice with the same seed, once as MIDI and once as ABC (and once as
MusicXML), so the three hold the same notes; then reads every ABC file with composer's
reader and with music21 (repeats played out, ties joined), and every MusicXML file with
music21, and compares their melodies on the sixteenth grid with the MIDI file's. music21
is a development tool here (pip install music21==10.5.1), never a dependency of composer.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from abc_figures import grid  # noqa: E402

from composer.music.abc import read_abc  # noqa: E402
from composer.music.midi import read_midi  # noqa: E402
from composer.music.notes import Note, Piece  # noqa: E402


def music21_piece(path: Path, fmt: str) -> Piece:
    """The notes music21 reads from an ABC or MusicXML file: repeats out, ties joined."""
    warnings.simplefilter("ignore")
    from music21 import converter

    part = converter.parse(path.read_text(), format=fmt).parts[0]
    part = part.expandRepeats().stripTies()
    notes = [Note(float(n.offset), float(n.offset + n.duration.quarterLength),
                  max(p.midi for p in n.pitches))
             for n in part.flatten().notes if n.duration.quarterLength > 0]
    return Piece(path.name, sorted(notes))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--num", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bars", type=int, default=16)
    args = parser.parse_args(argv)
    for fmt in ("midi", "abc", "musicxml"):
        subprocess.run([sys.executable, "-m", "composer.cli", "sample", "--model", args.model,
                        "--num", str(args.num), "--seed", str(args.seed), "--bars",
                        str(args.bars), "--format", fmt, "--out", str(args.out / fmt)],
                       check=True, capture_output=True)
    counts = {"composer, ABC": 0, "music21, ABC": 0, "music21, MusicXML": 0}
    for k in range(1, args.num + 1):
        name = f"sample-{k:03d}"
        truth = grid(read_midi(args.out / "midi" / f"{name}.mid")[0])
        abc, xml = args.out / "abc" / f"{name}.abc", args.out / "musicxml" / f"{name}.musicxml"
        found = {"composer, ABC": read_abc(abc)[0], "music21, ABC": music21_piece(abc, "abc"),
                 "music21, MusicXML": music21_piece(xml, "musicxml")}
        for reader, piece in found.items():
            same = grid(piece) == truth
            counts[reader] += same
            if not same:
                print(f"  {name}: {reader} reads other notes")
    for reader, same in counts.items():
        print(f"{reader}: {same} of {args.num} samples read back with the MIDI file's notes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
