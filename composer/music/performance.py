"""The performance encoding: polyphonic NOTE_ON / NOTE_OFF / TIME_SHIFT / VELOCITY events.

In the spirit of Performance RNN, but time moves on the beat grid
(steps_per_quarter steps per quarter note) instead of in milliseconds.
Vocabulary, with P = max_pitch - min_pitch + 1 (88 for the piano defaults 21..108),
M = max_shift (default MAX_TIME_SHIFT = 16) and B = velocity_bins (default 8):

    ids 0 .. P-1                 NOTE_ON(p)     p = min_pitch + id
    ids P .. 2P-1                NOTE_OFF(p)    p = min_pitch + id - P
    ids 2P .. 2P+M-1             TIME_SHIFT(k)  move on k = id - 2P + 1 steps
    ids 2P+M .. 2P+M+B-1         VELOCITY(b)    b = id - 2P - M + 1; later NOTE_ONs use bin b

(the defaults give 200 tokens: TIME_SHIFT(1) is id 176, VELOCITY(1) is id 192).

Encoding rules:
- Notes are clipped to beats 0..MAX_PIECE_BEATS. Start and end round to the
  nearest step (halves up); a note lasts >= 1 step. Pitches outside the range
  are folded in by whole octaves.
- One pitch sounds while any of its notes sounds, and each start strikes it
  again: notes of one pitch starting on the same step merge (latest end,
  loudest velocity); where a note of a sounding pitch starts, the pitch is
  switched off and on, and it then lasts to the latest end of its notes.
- Velocity v (1..127) falls in bin 1 + (v - 1) * B // 127; decoding gives the
  bin's mean velocity.
- Leading silence is trimmed (the first note starts at time 0). At each step:
  the NOTE_OFFs (in pitch order), then the NOTE_ONs in pitch order, each
  preceded by VELOCITY(b) only when its bin differs from the current one (the
  first NOTE_ON always gets one). Then TIME_SHIFTs to the next step with an
  event: a gap of g steps is g // M TIME_SHIFT(M) then TIME_SHIFT(g % M) if
  nonzero. The sequence ends with the last NOTE_OFFs.

Decoding accepts any order: a NOTE_OFF of a silent pitch is ignored; a NOTE_ON
of a sounding pitch ends it and starts it again (within one step: the note just
continues, with the newer velocity); a NOTE_OFF in the same step as its NOTE_ON
drops that zero-length note; notes still on at the end stop at the final time.
Before any VELOCITY token notes get DEFAULT_VELOCITY; all get DEFAULT_PROGRAM.

Transposition on the ids (`transpose_ids`): NOTE_ON(p) and NOTE_OFF(p) become
NOTE_ON(p + k) and NOTE_OFF(p + k); TIME_SHIFT and VELOCITY stay. That is the encoding
of the transposed notes whenever every note lies in min_pitch..max_pitch before and
after the shift. At the edges a pitch pushed out of the range is folded back by whole
octaves, token by token, after the notes were merged and ordered: where encoding the
moved notes would fold first, two notes can now land on one pitch (decoding restarts
it) or a step's NOTE_ONs leave pitch order; the sequence still decodes.
"""

from __future__ import annotations

import numpy as np

from composer.constants import (
    DEFAULT_PROGRAM,
    DEFAULT_VELOCITY,
    MAX_TIME_SHIFT,
    PERFORMANCE_MAX_PITCH,
    PERFORMANCE_MIN_PITCH,
    STEPS_PER_QUARTER,
    VELOCITY_BINS,
)
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


class PerformanceEncoding(Encoding):
    """Polyphonic event tokens on the beat grid. See the module docstring.

    steps_per_quarter: grid steps per quarter note (1..48); min_pitch..max_pitch:
    pitches with NOTE_ON/NOTE_OFF tokens (0..127, at least 12); max_shift: longest
    TIME_SHIFT in steps (1..1024); velocity_bins: VELOCITY tokens (1..127).
    """

    name = "performance"

    def __init__(
        self,
        steps_per_quarter: int = STEPS_PER_QUARTER,
        min_pitch: int = PERFORMANCE_MIN_PITCH,
        max_pitch: int = PERFORMANCE_MAX_PITCH,
        max_shift: int = MAX_TIME_SHIFT,
        velocity_bins: int = VELOCITY_BINS,
    ):
        self.steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter, 1, 48)
        self.min_pitch, self.max_pitch = check_pitch_range(min_pitch, max_pitch)
        self.max_shift = check_int("max_shift", max_shift, 1, 1024)
        self.velocity_bins = check_int("velocity_bins", velocity_bins, 1, 127)
        pitches = range(self.min_pitch, self.max_pitch + 1)
        self.num_pitches = len(pitches)  # P
        self.off_base = self.num_pitches  # id of NOTE_OFF(min_pitch)
        self.shift_base = 2 * self.num_pitches  # id of TIME_SHIFT(1)
        self.velocity_base = self.shift_base + self.max_shift  # id of VELOCITY(1)
        self.vocab = (
            [f"NOTE_ON({p})" for p in pitches]
            + [f"NOTE_OFF({p})" for p in pitches]
            + [f"TIME_SHIFT({k})" for k in range(1, self.max_shift + 1)]
            + [f"VELOCITY({b})" for b in range(1, self.velocity_bins + 1)]
        )
        self._bin_velocity = self._bin_velocities()  # (B + 1,), index = bin

    def config(self) -> dict:
        return {
            "name": self.name,
            "steps_per_quarter": self.steps_per_quarter,
            "min_pitch": self.min_pitch,
            "max_pitch": self.max_pitch,
            "max_shift": self.max_shift,
            "velocity_bins": self.velocity_bins,
        }

    def event_mask(self) -> np.ndarray:
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[: self.num_pitches] = True
        return mask

    def velocity_bin(self, velocity):
        """Bin 1..B of MIDI velocities (clipped to 1..127); works on arrays too."""
        return 1 + (np.clip(velocity, 1, 127) - 1) * self.velocity_bins // 127

    def bin_velocity(self, bins):
        """The MIDI velocity that decoding gives bin 1..B (the bin's rounded mean)."""
        return self._bin_velocity[bins]

    def _bin_velocities(self) -> np.ndarray:
        """(B + 1,) the rounded mean velocity of each bin (index 0 unused)."""
        velocities = np.arange(1, 128)
        bins = self.velocity_bin(velocities)
        sums = np.bincount(bins, weights=velocities, minlength=self.velocity_bins + 1)
        counts = np.maximum(np.bincount(bins, minlength=self.velocity_bins + 1), 1)
        return np.floor(sums / counts + 0.5).astype(np.int64)

    # --- encode ---------------------------------------------------------------

    def encode_columns(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        cols = clip_notes(cols)
        if cols["pitch"].size == 0:
            return np.zeros(0, dtype=np.int32)
        first, last = quantize(cols["start"], cols["end"], self.steps_per_quarter)
        pitch = fold_pitches(cols["pitch"], self.min_pitch, self.max_pitch) - self.min_pitch
        pitch, first, last, bins = strike_segments(
            pitch, first, last, self.velocity_bin(cols["velocity"]))
        first, last = first - first.min(), last - first.min()
        keys, ids = self._events(pitch, first, last, bins)
        order = np.lexsort(keys[::-1])  # sort by step, class, pitch, sub-order
        return ids[order].astype(np.int32)

    def _events(self, pitch, first, last, bins):
        """(keys (4, E): step, class, pitch, sub-order; ids (E,)) of every token."""
        on_order = np.lexsort((pitch, first))
        on_bins = bins[on_order]
        changed = np.ones(on_bins.size, dtype=bool)
        changed[1:] = on_bins[1:] != on_bins[:-1]
        velocity = on_order[changed]  # notes whose NOTE_ON needs a VELOCITY first
        shift_steps, shift_ids, shift_sub = self._shifts(np.union1d(first, last))
        n_off, n_on, n_vel = last.size, first.size, velocity.size
        keys = np.concatenate(
            [
                [shift_steps, np.zeros_like(shift_steps), np.zeros_like(shift_steps), shift_sub],
                [last, np.full(n_off, 1), pitch, np.zeros(n_off, dtype=np.int64)],
                [first[velocity], np.full(n_vel, 2), pitch[velocity], np.zeros(n_vel, np.int64)],
                [first, np.full(n_on, 2), pitch, np.ones(n_on, dtype=np.int64)],
            ],
            axis=1,
        )
        ids = np.concatenate(
            [shift_ids, self.off_base + pitch, self.velocity_base + bins[velocity] - 1, pitch]
        )
        return keys, ids

    def _shifts(self, steps: np.ndarray):
        """(step, id, sub-order) of the TIME_SHIFTs that lead to each event step."""
        gaps = np.diff(steps)  # (S - 1,) >= 1
        full, rest = gaps // self.max_shift, gaps % self.max_shift
        count = full + (rest > 0)  # TIME_SHIFT tokens per gap
        owner = np.repeat(np.arange(gaps.size), count)
        sub = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        size = np.where(sub < full[owner], self.max_shift, rest[owner])  # k of each token
        return steps[1:][owner], self.shift_base + size - 1, sub

    def token_steps(self, ids) -> np.ndarray:
        ids = check_ids(ids, self.vocab_size)
        is_shift = (ids >= self.shift_base) & (ids < self.velocity_base)
        shift = np.where(is_shift, ids - self.shift_base + 1, 0)  # (T,) steps each token moves
        return np.cumsum(shift) - shift  # the time before each token

    def first_step(self, cols: dict[str, np.ndarray]) -> int:
        cols = clip_notes(cols)
        if cols["pitch"].size == 0:
            return 0
        return int(quantize(cols["start"], cols["end"], self.steps_per_quarter)[0].min())

    def transpose_ids(self, ids, shift: int) -> np.ndarray:
        """NOTE_ON/NOTE_OFF(p) -> (p + shift), folded into the range; see the docstring."""
        moved = shift_pitch_ids(ids, shift, self.vocab_size, 0, self.min_pitch,
                                self.max_pitch)  # NOTE_ON block
        return shift_pitch_ids(moved, shift, self.vocab_size, self.off_base, self.min_pitch,
                               self.max_pitch)  # NOTE_OFF block

    # --- decode ---------------------------------------------------------------

    def decode(self, ids) -> list[Note]:
        ids = check_ids(ids, self.vocab_size).tolist()
        now, velocity = 0, DEFAULT_VELOCITY  # steps, MIDI velocity
        sounding: dict[int, tuple[int, int]] = {}  # pitch -> (start step, velocity)
        spans: list[tuple[int, int, int, int]] = []  # (start, end, pitch, velocity)
        for token in ids:
            if token < self.off_base:  # NOTE_ON
                pitch = token + self.min_pitch
                _close(sounding, spans, pitch, now)
                sounding[pitch] = (now, velocity)
            elif token < self.shift_base:  # NOTE_OFF
                _close(sounding, spans, token - self.off_base + self.min_pitch, now)
            elif token < self.velocity_base:  # TIME_SHIFT
                now += token - self.shift_base + 1
            else:  # VELOCITY
                velocity = int(self._bin_velocity[token - self.velocity_base + 1])
        for pitch in list(sounding):
            _close(sounding, spans, pitch, now)
        spq = self.steps_per_quarter
        spans.sort(key=_start_pitch)
        return [Note(s / spq, e / spq, p, v, DEFAULT_PROGRAM, 0) for s, e, p, v in spans]


def _start_pitch(span: tuple[int, int, int, int]) -> tuple[int, int]:
    return span[0], span[2]


def _close(sounding: dict, spans: list, pitch: int, now: int) -> None:
    """End `pitch` at step `now` if it sounds; a zero-length note is dropped."""
    if pitch in sounding:
        start, velocity = sounding.pop(pitch)
        if start < now:
            spans.append((start, now, pitch, velocity))
