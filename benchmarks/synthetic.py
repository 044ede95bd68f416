"""A synthetic corpus of N varied folk-length MIDI files, made from the tunes in data/.

File i (seed s) is a tune of data/ drawn by numpy.random.default_rng([s, i]), varied:
- bars (by the tune's time signature) shuffled: one to four random pairs swapped;
- transposed by -5..+5 semitones;
- tempo scaled by 0.8..1.25;
- about 5% of the notes dropped.
Files go to DIR/NNN/tuneIIIIII.mid, 1,000 per folder, written by worker processes;
DIR/synthetic.json records (count, seed), so a folder made before is reused as it is.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from composer.data.corpus import load_pieces
from composer.music.midi import read_midi, write_midi
from composer.music.notes import Piece

MARKER = "synthetic.json"
FILES_PER_FOLDER = 1000
_SOURCES: list[Piece] = []  # the tunes of data/, shared with the forked workers


def make_corpus(folder: Path, count: int, seed: int, data_dir: Path) -> Path:
    """Write the corpus into `folder` unless it already holds this one; return the folder."""
    marker = folder / MARKER
    wanted = {"count": count, "seed": seed}
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    _SOURCES[:] = load_pieces(data_dir, warn=lambda message: None)
    chunks = [(folder, seed, range(start, min(start + 500, count)))
              for start in range(0, count, 500)]
    workers = len(os.sched_getaffinity(0))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for _ in pool.imap_unordered(_write_chunk, chunks):
            pass
    marker.write_text(json.dumps(wanted))
    return folder


def _write_chunk(job) -> None:
    folder, seed, indices = job
    for i in indices:
        piece = varied(_SOURCES, np.random.default_rng([seed, i]))
        path = folder / f"{i // FILES_PER_FOLDER:03d}" / f"tune{i:06d}.mid"
        path.parent.mkdir(exist_ok=True)
        write_midi(path, piece.notes, qpm=piece.qpm, time_signature=piece.time_signature)


def varied(sources: list[Piece], rng: np.random.Generator) -> Piece:
    """A copy of a random source tune: bars swapped, transposed, tempo changed, notes dropped."""
    source = sources[int(rng.integers(len(sources)))]
    numerator, denominator = source.time_signature
    bar = numerator * 4 / denominator  # beats per bar
    bars = int(source.duration // bar) + 1
    place = np.arange(bars)  # where each bar goes
    for _ in range(int(rng.integers(1, 5))):
        a, b = rng.integers(bars, size=2)
        place[[a, b]] = place[[b, a]]
    shift = int(rng.integers(-5, 6))
    notes = []
    for note in source.notes:
        index = min(int(note.start // bar), bars - 1)
        moved = (place[index] - index) * bar
        pitch = note.pitch + shift
        if rng.random() >= 0.05 and 0 <= pitch <= 127:
            notes.append(replace(note, start=note.start + moved, end=note.end + moved,
                                 pitch=pitch))
    if not notes:
        notes = source.notes[:1]
    qpm = round(source.qpm * float(rng.uniform(0.8, 1.25)), 2)
    return Piece(source.name, sorted(notes), qpm, source.time_signature)


@contextlib.contextmanager
def change_one_file(folder: Path):
    """Within the block, the corpus's first file holds another tune; then it is put back."""
    path = folder / "000" / "tune000000.mid"
    original = path.read_bytes()
    other = varied(read_midi(folder / "001" / "tune001000.mid"), np.random.default_rng(12345))
    write_midi(path, other.notes, qpm=other.qpm, time_signature=other.time_signature)
    try:
        yield path
    finally:
        path.write_bytes(original)
