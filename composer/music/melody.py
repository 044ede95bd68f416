"""The melody encoding (the default): one token per step of the beat grid.

Vocabulary, for settings (steps_per_quarter, min_pitch, max_pitch, line):

    id 0                   REST         nothing sounds during this step
    id 1                   HOLD         the sounding note continues
    id 2 + (p - min_pitch) NOTE_ON(p)   pitch p starts, p in min_pitch..max_pitch

so the defaults (48..95) give 50 tokens: NOTE_ON(48) is id 2, NOTE_ON(95) is id 49.

Encoding rules, in order (notes are first clipped to beats 0..MAX_PIECE_BEATS):
1. Line: `line` picks the notes that make the melody. "highest" (default) and
   "lowest" use every note; "voice:N" only notes of voice N (the Nth
   (track, channel) pair the MIDI reader found); "program:N" only notes played
   by General MIDI program N.
2. Quantise: start and end round to the nearest step (halves up); a note lasts
   at least one step.
3. Collisions: notes of one voice that round onto the same start step (grace
   notes, fast tuplets) keep only the note(s) that start last in real time, so
   a grace note gives way to its main note; a chord (same real start) stays.
4. One pitch sounds while any of its notes sounds (notes of one pitch in
   different voices may overlap); each start of a note strikes its pitch again.
5. Skyline: at each step the line is the highest sounding pitch ("lowest": the
   lowest). Where the line's pitch changes, or a note of that pitch starts, the
   pitch is struck (NOTE_ON), even if it is a lower note that began earlier and
   is now uncovered; while it stays, HOLD.
6. Pitches outside min_pitch..max_pitch are folded in by whole octaves.
7. Leading silence is trimmed: the sequence starts at the line's first note and
   ends at its last note's end, so it starts with a NOTE_ON and never ends in REST.

Decoding: NOTE_ON starts a note, HOLD extends it, REST (or the next NOTE_ON)
ends it; a HOLD with no sounding note is read as REST. Notes get
DEFAULT_VELOCITY, DEFAULT_PROGRAM (or N for "program:N"), voice 0 (or N for
"voice:N"); times are in beats (step / steps_per_quarter).

Transposition on the ids (`transpose_ids`): NOTE_ON(p) becomes NOTE_ON(p + k), REST
and HOLD stay. That is the encoding of the transposed notes whenever every note of the
piece lies in min_pitch..max_pitch before and after the shift. At the edges a pitch
pushed out of the range is folded back by whole octaves; if the piece's own notes were
folded when it was encoded (rule 6), the folded pitch is what moves, so the result can
sit an octave away from encoding the transposed notes (e.g. 48..95, pitch 100 is
stored as 88; +10 gives 98, folded to 86, as encoding would; -10 gives 78 where
encoding the moved note, 90, gives 90).
"""

from __future__ import annotations

import re

import numpy as np

from composer.constants import (
    DEFAULT_PROGRAM,
    DEFAULT_VELOCITY,
    MELODY_MAX_PITCH,
    MELODY_MIN_PITCH,
    STEPS_PER_QUARTER,
)
from composer.errors import DataError
from composer.music.encoding import (
    Encoding,
    check_ids,
    check_int,
    check_pitch_range,
    clip_notes,
    fold_pitches,
    quantize,
    shift_pitch_ids,
    strike_segments,
)
from composer.music.notes import Note

REST, HOLD = 0, 1  # fixed ids of the two special tokens
FIRST_NOTE_ON = 2  # id of NOTE_ON(min_pitch)
_CELLS_PER_STEP, _CELLS_EXTRA = 8, 4096  # skyline painted in one go up to this many cells
_LINE = re.compile(r"^(highest|lowest|voice:(\d+)|program:(\d+))$")


def parse_line(line) -> tuple[str, int | None]:
    """("highest"|"lowest"|"voice"|"program", N or None) from a `line` setting."""
    match = _LINE.match(line) if isinstance(line, str) else None
    if not match:
        raise DataError(f"bad melody line {line!r}; use highest, lowest, voice:N or program:N")
    kind, _, _ = match.group(1).partition(":")
    number = match.group(2) or match.group(3)
    if kind == "program" and int(number) > 127:
        raise DataError(f"bad melody line {line!r}: programs are 0..127")
    return kind, None if number is None else int(number)


class MelodyEncoding(Encoding):
    """One token per grid step: REST, HOLD or NOTE_ON(p). See the module docstring.

    steps_per_quarter: grid steps per quarter note (1..48); min_pitch..max_pitch:
    the pitches with a NOTE_ON token (0..127, at least 12 of them); line: which
    notes make the melody ("highest", "lowest", "voice:N", "program:N").
    """

    name = "melody"

    def __init__(
        self,
        steps_per_quarter: int = STEPS_PER_QUARTER,
        min_pitch: int = MELODY_MIN_PITCH,
        max_pitch: int = MELODY_MAX_PITCH,
        line: str = "highest",
    ):
        self.steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter, 1, 48)
        self.min_pitch, self.max_pitch = check_pitch_range(min_pitch, max_pitch)
        self.line = line
        self._line_kind, self._line_number = parse_line(line)
        pitches = range(self.min_pitch, self.max_pitch + 1)
        self.vocab = ["REST", "HOLD"] + [f"NOTE_ON({p})" for p in pitches]

    def config(self) -> dict:
        return {
            "name": self.name,
            "steps_per_quarter": self.steps_per_quarter,
            "min_pitch": self.min_pitch,
            "max_pitch": self.max_pitch,
            "line": self.line,
        }

    def event_mask(self) -> np.ndarray:
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[FIRST_NOTE_ON:] = True
        return mask

    # --- encode ---------------------------------------------------------------

    def encode_columns(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        cols = self._line_notes(clip_notes(cols))
        if cols["pitch"].size == 0:
            return np.zeros(0, dtype=np.int32)
        first, last = quantize(cols["start"], cols["end"], self.steps_per_quarter)
        keep = _last_onsets(cols["voice"], first, cols["start"])
        pitch, first, last, _ = strike_segments(cols["pitch"][keep], first[keep], last[keep])
        origin = first.min()
        top = self._skyline(pitch, first - origin, last - origin)  # (T,) pitch or -1
        return self._tokens(top, pitch, first - origin)

    def _line_notes(self, cols: dict) -> dict:
        """The columns of the notes the line may use (rule 1)."""
        if self._line_kind in ("voice", "program"):
            keep = cols[self._line_kind] == self._line_number
            cols = {k: v[keep] for k, v in cols.items()}
        return cols

    def _skyline(self, pitch, first, last) -> np.ndarray:
        """(T,) the line's pitch at each step (highest or lowest sounding), -1 if none."""
        lowest = self._line_kind == "lowest"
        key = pitch.max() - pitch if lowest else pitch - pitch.min()  # >= 0, larger wins
        top = _top_keys(key, first, last, int(last.max()))
        if lowest:
            return np.where(top >= 0, pitch.max() - top, -1)
        return np.where(top >= 0, top + pitch.min(), -1)

    def _tokens(self, top: np.ndarray, pitch: np.ndarray, first: np.ndarray) -> np.ndarray:
        """Token ids (T,) from the line's pitch at each step and the segments' starts."""
        steps = np.arange(top.size)
        changed = np.ones(top.size, dtype=bool)
        changed[1:] = top[1:] != top[:-1]
        struck = np.isin(top * top.size + steps, pitch * top.size + first)  # a start of top
        strike = (top >= 0) & (changed | struck)
        folded = fold_pitches(top, self.min_pitch, self.max_pitch)
        ids = np.where(strike, FIRST_NOTE_ON + folded - self.min_pitch, HOLD)
        return np.where(top < 0, REST, ids).astype(np.int32)

    def token_steps(self, ids) -> np.ndarray:
        return np.arange(check_ids(ids, self.vocab_size).size, dtype=np.int64)

    def first_step(self, cols: dict[str, np.ndarray]) -> int:
        cols = self._line_notes(clip_notes(cols))
        if cols["pitch"].size == 0:
            return 0
        return int(quantize(cols["start"], cols["end"], self.steps_per_quarter)[0].min())

    def transpose_ids(self, ids, shift: int) -> np.ndarray:
        """NOTE_ON(p) -> NOTE_ON(p + shift), folded into the range; see the module docstring."""
        return shift_pitch_ids(ids, shift, self.vocab_size, FIRST_NOTE_ON, self.min_pitch,
                               self.max_pitch)

    # --- decode ---------------------------------------------------------------

    def decode(self, ids) -> list[Note]:
        ids = check_ids(ids, self.vocab_size)
        onsets = np.flatnonzero(ids >= FIRST_NOTE_ON)  # (notes,) steps
        stops = np.append(np.flatnonzero(ids != HOLD), ids.size)  # REST / NOTE_ON / end
        ends = stops[np.searchsorted(stops, onsets, side="right")]
        pitches = ids[onsets] - FIRST_NOTE_ON + self.min_pitch
        program = self._line_number if self._line_kind == "program" else DEFAULT_PROGRAM
        voice = self._line_number if self._line_kind == "voice" else 0
        spq = self.steps_per_quarter
        return [
            Note(s / spq, e / spq, p, DEFAULT_VELOCITY, program, voice)
            for s, e, p in zip(onsets.tolist(), ends.tolist(), pitches.tolist(), strict=True)
        ]


def _top_keys(key, first, last, steps: int) -> np.ndarray:
    """(steps,) the largest key among the segments [first, last) covering each step, or -1.

    Segments of one key never overlap, so they cover at most (keys x steps) cells:
    few cells are painted in one np.maximum.at, many key by key instead.
    """
    top = np.full(steps, -1, dtype=np.int64)
    length = last - first  # (notes,) >= 1
    if length.sum() <= _CELLS_PER_STEP * steps + _CELLS_EXTRA:
        owner = np.repeat(np.arange(key.size), length)  # (cells,)
        offset = np.arange(owner.size) - np.repeat(np.cumsum(length) - length, length)
        np.maximum.at(top, first[owner] + offset, key[owner])
        return top
    for value in np.unique(key)[::-1]:  # largest key first
        edges = np.zeros(steps + 1, dtype=np.int64)
        np.add.at(edges, first[key == value], 1)
        np.add.at(edges, last[key == value], -1)
        top[(top < 0) & (np.cumsum(edges[:-1]) > 0)] = value
    return top


def _last_onsets(voice, first, start) -> np.ndarray:
    """Bool mask keeping, per (voice, start step), the notes that start last (rule 3)."""
    order = np.lexsort((start, first, voice))
    v, f, s = voice[order], first[order], start[order]
    new_group = np.ones(order.size, dtype=bool)
    new_group[1:] = (v[1:] != v[:-1]) | (f[1:] != f[:-1])
    group = np.cumsum(new_group) - 1
    latest = np.maximum.reduceat(s, np.flatnonzero(new_group))  # (groups,)
    keep = np.empty(order.size, dtype=bool)
    keep[order] = s == latest[group]
    return keep
