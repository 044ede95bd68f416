"""Metre: bars and beats of time signatures, and where they fall in a piece (MeterMap).

Definitions (times in beats = quarter notes, as in Piece; steps = grid steps, with
steps_per_quarter of them per beat):

- **bar** of n/d: n * 4 / d beats. **beat**: one 1/d note, except in compound metres
  (n a multiple of 3 above 3: 6/8, 9/8, 12/8, 6/4 ...) where the beat is three of them (a
  dotted note). On a grid too coarse for the metre (3/32 at 4 steps per quarter) bar and beat
  lengths in steps are rounded, and are at least 1.
- A **MeterMap** is a piece's time signatures (each from its beat until the next) plus its
  **phase**: the beats before the first downbeat (the pickup, or anacrusis). Bar lines of the
  first time signature fall at phase + k * bar for every integer k (so the pickup is the end
  of a bar numbered -1); each later time signature starts a bar where it takes effect, as
  MIDI files place them on bar lines. composer.music.phase estimates the phase of a piece.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from dataclasses import dataclass

import numpy as np

from composer.errors import MusicError
from composer.music.notes import Piece, TimeSignature

# The metres with their own id in the conditioning features (others share one "other" id).
COMMON_METERS = ((4, 4), (3, 4), (2, 4), (2, 2), (6, 8), (9, 8), (12, 8), (3, 8))
DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)
MAX_NUMERATOR = 64  # beats in a bar that parse_meter accepts
_METER = re.compile(r"^\s*(\d{1,3})\s*/\s*(\d{1,3})\s*$")


def parse_meter(text: str) -> tuple[int, int]:
    """(numerator, denominator) of a time signature such as "6/8"; MusicError if bad."""
    if not isinstance(text, str):
        raise TypeError(f"a metre must be a string such as '6/8', got {text!r}")
    match = _METER.match(text)
    if not match:
        raise MusicError(f"bad metre {text!r}: write it as NUMERATOR/DENOMINATOR, e.g. 6/8")
    return check_meter((int(match.group(1)), int(match.group(2))), text)


def check_meter(meter, text: str | None = None) -> tuple[int, int]:
    """`meter` as an (int, int) time signature; MusicError unless 1..64 / a power of 2 to 64."""
    numerator, denominator = meter
    shown = text if text is not None else f"{numerator}/{denominator}"
    if denominator not in DENOMINATORS:
        raise MusicError(f"bad metre {shown!r}: the denominator must be one of "
                         f"{', '.join(map(str, DENOMINATORS))}")
    if not 1 <= numerator <= MAX_NUMERATOR:
        raise MusicError(f"bad metre {shown!r}: the numerator must be 1..{MAX_NUMERATOR}")
    return int(numerator), int(denominator)


def is_compound(meter: tuple[int, int]) -> bool:
    """True for 6/8, 9/8, 12/8, 6/4, ...: beats of three (dotted) units."""
    return meter[0] % 3 == 0 and meter[0] > 3


def bar_beats(meter: tuple[int, int]) -> float:
    """Length of one bar in beats (quarter notes): 6/8 -> 3.0."""
    return meter[0] * 4 / meter[1]


def beat_beats(meter: tuple[int, int]) -> float:
    """Length of one beat in quarter notes: 6/8 -> 1.5 (a dotted quarter), 2/2 -> 2.0."""
    return (3 if is_compound(meter) else 1) * 4 / meter[1]


def bar_steps(meter: tuple[int, int], steps_per_quarter: int) -> int:
    """Grid steps in one bar (rounded, at least 1): 6/8 at 4 steps per quarter -> 12."""
    return max(1, round(bar_beats(meter) * steps_per_quarter))


def beat_steps(meter: tuple[int, int], steps_per_quarter: int) -> int:
    """Grid steps in one beat (rounded, at least 1): 6/8 at 4 steps per quarter -> 6."""
    return max(1, round(beat_beats(meter) * steps_per_quarter))


def meter_id(meter: tuple[int, int]) -> int:
    """Index of the metre in COMMON_METERS, or len(COMMON_METERS) for any other."""
    meter = (int(meter[0]), int(meter[1]))
    return COMMON_METERS.index(meter) if meter in COMMON_METERS else len(COMMON_METERS)


@dataclass(frozen=True)
class MeterMap:
    """The time signatures of a piece and its bar phase (see the module docstring)."""

    changes: tuple[TimeSignature, ...]  # sorted by beat; the first at beat 0
    phase: float = 0.0  # beats from the start to the first downbeat, 0 <= phase < first bar

    def __post_init__(self):
        if not self.changes or self.changes[0].beat != 0:
            raise ValueError("a MeterMap needs a time signature at beat 0")
        first = bar_beats(self.first)
        if not (math.isfinite(self.phase) and 0 <= self.phase < first):
            raise ValueError(f"phase must be in 0..{first:g} beats, got {self.phase}")

    @property
    def first(self) -> tuple[int, int]:
        return self.changes[0].numerator, self.changes[0].denominator

    @functools.cached_property
    def _change_beats(self) -> list[float]:
        return [c.beat for c in self.changes]

    def meter_at(self, beat: float) -> tuple[int, int]:
        """The time signature sounding at `beat` (the first one before beat 0)."""
        index = max(0, bisect.bisect_right(self._change_beats, beat + 1e-9) - 1)
        return self.changes[index].numerator, self.changes[index].denominator

    def grid(self, steps_per_quarter: int):
        """Per time signature (K,) int64 arrays: start step, anchor step (a bar line at or
        before the start), bar steps and beat steps."""
        meters = [(c.numerator, c.denominator) for c in self.changes]
        starts = np.array([round(c.beat * steps_per_quarter) for c in self.changes])
        bars = np.array([bar_steps(m, steps_per_quarter) for m in meters])
        beats = np.array([beat_steps(m, steps_per_quarter) for m in meters])
        anchors = starts.copy()
        anchors[0] = round(self.phase * steps_per_quarter) - bars[0]  # bar -1 holds the pickup
        return starts, anchors, bars, beats

    def positions(self, steps: np.ndarray, steps_per_quarter: int):
        """(position in the bar, bar length, beat length, segment index) of each step, all (T,)
        int64; steps before 0 count as the first time signature's."""
        steps = np.asarray(steps, dtype=np.int64)
        starts, anchors, bars, beats = self.grid(steps_per_quarter)
        segment = np.maximum(np.searchsorted(starts, steps, side="right") - 1, 0)
        position = (steps - anchors[segment]) % bars[segment]
        return position, bars[segment], beats[segment], segment

    def bar_numbers(self, steps: np.ndarray, steps_per_quarter: int) -> np.ndarray:
        """(T,) int64 number of the bar each step is in: 0 from the first downbeat, -1 for the
        pickup; a bar cut short by a change of time signature counts as one."""
        steps = np.asarray(steps, dtype=np.int64)
        starts, anchors, bars, _ = self.grid(steps_per_quarter)
        downbeats = anchors + np.where(np.arange(len(starts)) == 0, bars, 0)  # first bar lines
        firsts = np.zeros(len(starts), dtype=np.int64)  # number of each segment's first bar
        for k in range(1, len(starts)):
            firsts[k] = firsts[k - 1] + -(-(starts[k] - downbeats[k - 1]) // bars[k - 1])
        segment = np.maximum(np.searchsorted(starts, steps, side="right") - 1, 0)
        return firsts[segment] + (steps - downbeats[segment]) // bars[segment]

    def downbeats(self, end_beat: float) -> np.ndarray:
        """Beats of the bar lines in 0..end_beat (inclusive), float64, sorted."""
        lines = []
        stops = [c.beat - 1e-9 for c in self.changes[1:]] + [math.inf]  # before the next one
        for k, (change, stop) in enumerate(zip(self.changes, stops, strict=True)):
            length = bar_beats((change.numerator, change.denominator))
            start = self.phase if k == 0 else change.beat
            last = min(stop, end_beat + 1e-9)
            count = max(0, math.floor((last - start) / length) + 1)
            lines.append(start + length * np.arange(count))
        found = np.concatenate(lines)
        return found[(found >= 0) & (found <= end_beat + 1e-9)]

    def to_json(self) -> dict:
        return {"changes": [[float(b), int(n), int(d)] for b, n, d in self.changes],
                "phase": float(self.phase)}

    @classmethod
    def from_json(cls, data: dict) -> MeterMap:
        changes = tuple(TimeSignature(float(b), int(n), int(d)) for b, n, d in data["changes"])
        return cls(changes, float(data.get("phase", 0.0)))


def time_signatures(piece: Piece) -> tuple[TimeSignature, ...]:
    """The piece's time signatures with the first moved to beat 0 (a file's first one often
    comes a little late); `Piece.time_signature` alone when the list is empty."""
    changes = list(piece.time_signatures) or [TimeSignature(0.0, *piece.time_signature)]
    return (changes[0]._replace(beat=0.0), *changes[1:])


def meter_map(piece: Piece, phase: float | None = None) -> MeterMap:
    """The piece's MeterMap; unless a phase is given (beats), its bar lines estimated from
    the notes, the phase and where they shift (composer.music.phase.estimate_bar_lines)."""
    changes = time_signatures(piece)
    if phase is None:
        from composer.music.phase import estimate_bar_lines  # phase imports this module

        return estimate_bar_lines(piece.notes, changes)
    return MeterMap(changes, phase)


def single_meter(meter: tuple[int, int], phase: float = 0.0) -> MeterMap:
    """A MeterMap of one time signature (checked) for the whole piece."""
    return MeterMap((TimeSignature(0.0, *check_meter(meter)),), phase)
