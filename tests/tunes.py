"""A small synthetic corpus of folk-like tunes, written as MIDI files for tests.

Each tune walks a major scale in eighth notes with a motif that repeats every
bar, so a model can learn real structure (a trained LSTM should beat the
unigram baseline easily) while the files stay tiny.
"""

from pathlib import Path

import numpy as np

from composer.music.midi import write_midi
from composer.music.notes import Note

MAJOR = [0, 2, 4, 5, 7, 9, 11]
MOTIFS = [[0, 1, 2, 0], [2, 1, 0, 1], [0, 2, 4, 2], [4, 3, 2, 1]]  # scale degrees per bar


def tune_notes(rng, bars=8):
    """Eighth notes (0.5 beat) with a quarter at every bar end; a repeated motif."""
    tonic = 60 + int(rng.integers(-5, 6))
    motif = MOTIFS[int(rng.integers(len(MOTIFS)))]
    notes, beat = [], 0.0
    for bar in range(bars):
        shift = bar % 4  # the motif climbs the scale bar by bar
        for k, degree in enumerate(motif):
            d = degree + shift
            pitch = tonic + MAJOR[d % 7] + 12 * (d // 7)
            length = 1.0 if k == len(motif) - 1 else 0.5
            notes.append(Note(beat, beat + length, pitch))
            beat += length
    return notes


def write_corpus(folder, count=24, seed=0):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(count):
        write_midi(folder / f"tune{k:02d}.mid", tune_notes(rng), qpm=120)
    return folder
