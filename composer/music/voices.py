"""Split polyphonic notes into voices by register and continuity.

`assign_voices(notes, n)` gives each note a voice 0..n-1, voice 0 the highest (the
soprano of a chorale, a piano's right hand when n = 2). Onsets are taken in time
order; the notes that start together, highest first, go to voices in the same order
(a higher note never to a lower voice), choosing the assignment of least total cost,
where a note's cost in a voice is:

- continuity: the distance in semitones from the voice's previous note (a voice that
  has not sung yet starts from its place in the piece's range: voice v of n sits at
  the top of the range minus (v + 1/2) / n of its width);
- crossing: CROSSING for every voice still holding a note that the new note would
  cross (a note above a held note of a higher voice, or below one of a lower voice);
- busy: BUSY when the voice still holds a note (the voice would sing a chord), and
  SHARED for every further note it takes at this onset.

So a voice is only given two notes at once when more notes sound than there are voices.
The assignment is an exact dynamic programme over (note, voice), O(notes x n) per onset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby

import numpy as np

from composer.music.notes import Note

CROSSING = 24.0  # semitones of cost per held voice a note would cross
BUSY = 48.0  # cost of giving a note to a voice whose previous note still sounds
SHARED = 48.0  # cost of each further note a voice takes at one onset


def assign_voices(notes: Sequence[Note], voices: int,
                  programs: Sequence[int] | None = None) -> list[Note]:
    """The notes with `voice` set to 0..voices-1 (0 = highest) and, when `programs` is given
    (one General MIDI program per voice), their program; sorted by (start, pitch)."""
    if voices < 1:
        raise ValueError(f"voices must be at least 1, not {voices}")
    if programs is not None and len(programs) != voices:
        raise ValueError(f"{len(programs)} programs for {voices} voices; give one per voice")
    ordered = sorted(notes, key=lambda n: (n.start, -n.pitch, n.end))
    if not ordered:
        return []
    state = _Voices(voices, min(n.pitch for n in ordered), max(n.pitch for n in ordered))
    out = []
    for start, group in groupby(ordered, key=lambda n: n.start):
        chord = list(group)  # highest first
        for note, voice in zip(chord, state.place(start, chord), strict=True):
            program = note.program if programs is None else programs[voice]
            out.append(replace(note, voice=voice, program=program))
    out.sort(key=lambda n: (n.start, n.pitch, n.voice))
    return out


class _Voices:
    """Each voice's last pitch and the time its last note ends."""

    def __init__(self, count: int, lowest: int, highest: int):
        width = highest - lowest
        self.pitch = highest - (np.arange(count) + 0.5) * width / count  # (n,) places
        self.until = np.full(count, -np.inf)  # (n,) end of each voice's last note, beats

    def place(self, start: float, chord: list[Note]) -> list[int]:
        """Voices for the notes of one onset (highest first); updates the state."""
        pitches = np.array([n.pitch for n in chord], dtype=np.float64)  # (c,)
        chosen = _cheapest(self._costs(start, pitches))
        for note, voice in zip(chord, chosen, strict=True):
            self.pitch[voice] = note.pitch  # of several, the lowest (the last) stays
            self.until[voice] = max(self.until[voice], note.end)
        return chosen

    def _costs(self, start: float, pitches: np.ndarray) -> np.ndarray:
        """(c, n) cost of each note in each voice."""
        held = self.until > start  # (n,)
        cost = np.abs(pitches[:, None] - self.pitch[None, :]) + BUSY * held[None, :]
        index = np.arange(self.pitch.size)
        above = (index[None, :] < index[:, None]) & held[None, :]  # (n voices v, n held h)
        below = (index[None, :] > index[:, None]) & held[None, :]
        # a note in voice v crosses held voice h above it if it is higher, below it if lower
        higher = pitches[:, None] > self.pitch[None, :]  # (c, n held)
        lower = pitches[:, None] < self.pitch[None, :]
        cost += CROSSING * (higher.astype(float) @ above.T + lower.astype(float) @ below.T)
        return cost


def _cheapest(cost: np.ndarray) -> list[int]:
    """Non-decreasing voices for notes 0..c-1 minimising the summed cost, plus SHARED for
    each note that shares its voice with the previous one. cost: (c, n)."""
    c, n = cost.shape
    total = np.empty((c, n))  # best cost of notes 0..i with note i in voice v
    came = np.zeros((c, n), dtype=np.int64)  # voice of note i - 1 on that best path
    total[0] = cost[0]
    for i in range(1, c):
        best_before = np.minimum.accumulate(np.concatenate([[np.inf], total[i - 1, :-1]]))
        where_before = _argmin_prefix(total[i - 1])
        same = total[i - 1] + SHARED
        take_same = same <= best_before
        total[i] = cost[i] + np.where(take_same, same, best_before)
        came[i] = np.where(take_same, np.arange(n), where_before)
    voices = [int(np.argmin(total[-1]))]
    for i in range(c - 1, 0, -1):
        voices.append(int(came[i, voices[-1]]))
    return voices[::-1]


def _argmin_prefix(values: np.ndarray) -> np.ndarray:
    """(n,) for each v, the index of the smallest of values[:v] (0 for v = 0, unused)."""
    out = np.zeros(values.size, dtype=np.int64)
    best = 0
    for v in range(1, values.size):
        if values[v - 1] < values[best]:
            best = v - 1
        out[v] = best
    return out
