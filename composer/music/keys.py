"""Keys and scales: pitch-class names, the Krumhansl-Kessler key estimate, scale membership.

**key**: Krumhansl-Schmuckler estimation: the Pearson correlation of the notes'
pitch-class durations (in beats) with the 24 rotations of the Krumhansl-Kessler
major and minor probe-tone profiles; the best one wins. **In key** = a pitch class in
the key's scale: the major scale, or for a minor key the natural minor scale (as in
MusPy's pitch_in_scale_rate: a raised leading tone counts as outside).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from composer.music.notes import Note

PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Conventional spelling of key tonics (index = pitch class).
MAJOR_KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)  # semitones above the tonic
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0..11 (0 = C)
    mode: str  # "major" or "minor"
    correlation: float  # Pearson r with the winning profile, -1..1

    @property
    def name(self) -> str:
        names = MAJOR_KEY_NAMES if self.mode == "major" else MINOR_KEY_NAMES
        return f"{names[self.tonic]} {self.mode}"

    @property
    def pitch_classes(self) -> frozenset[int]:
        scale = MAJOR_SCALE if self.mode == "major" else MINOR_SCALE
        return frozenset((self.tonic + step) % 12 for step in scale)


def pitch_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI pitch: 60 -> "C4", 61 -> "C#4"."""
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


def estimate_key(notes: Iterable[Note]) -> Key | None:
    """Krumhansl-Schmuckler key of the notes (durations per pitch class); None if undecidable."""
    weights = np.zeros(12)
    for note in notes:
        weights[note.pitch % 12] += note.end - note.start
    if np.ptp(weights) == 0:  # no notes, or all pitch classes alike: no correlation
        return None
    best = None
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1])
            if best is None or r > best.correlation:
                best = Key(tonic, mode, r)
    return best


def in_key_count(notes: Iterable[Note], key: Key) -> int:
    """How many notes have a pitch class in the key's scale."""
    scale = key.pitch_classes
    return sum(1 for note in notes if note.pitch % 12 in scale)
