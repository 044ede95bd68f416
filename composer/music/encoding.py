"""The interface every encoding offers: notes to token ids and back.

An encoding turns a Piece into a 1-D array of token ids and any sequence of
ids back into notes. Its vocabulary (token names, index = id) is fixed by its
settings, and `config()` holds those settings so a model can rebuild the exact
encoding it was trained with (`encoding_from_config`).

Two encodings exist: "melody" (composer.music.melody, the default) and
"performance" (composer.music.performance). Shared helpers for quantising notes onto
the beat grid and folding pitches into a range live here too.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from composer.constants import MAX_PIECE_BEATS
from composer.errors import DataError
from composer.music.notes import Note, Piece

# name -> (module, class): imported lazily because those modules import this one.
_ENCODINGS = {
    "melody": ("composer.music.melody", "MelodyEncoding"),
    "performance": ("composer.music.performance", "PerformanceEncoding"),
}
ENCODING_NAMES = tuple(_ENCODINGS)  # the names make_encoding accepts


class Encoding(ABC):
    """Notes <-> token ids. Subclasses set `name` and `vocab` in __init__."""

    name: str  # "melody" or "performance"
    vocab: list[str]  # token names; index = token id

    @property
    def vocab_size(self) -> int:
        """V, the number of tokens."""
        return len(self.vocab)

    def encode(self, piece: Piece) -> np.ndarray:
        """Token ids of `piece`: int32, shape (T,); empty if nothing to encode."""
        return self.encode_columns(note_arrays(piece.notes))

    @abstractmethod
    def encode_columns(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        """Token ids (T,) int32 of notes given as `note_arrays` columns (the fast path)."""

    @abstractmethod
    def decode(self, ids: Sequence[int] | np.ndarray) -> list[Note]:
        """Notes of any id sequence (ids in 0..V-1), sorted; never fails on odd orders."""

    @abstractmethod
    def transpose_ids(self, ids, shift: int) -> np.ndarray:
        """Token ids (same shape, int32) of the same music moved by `shift` semitones.

        A token-by-token map, so it applies to any window of a sequence (training
        transposes on the fly, a batch at a time). It equals `encode(transpose(piece,
        shift))` whenever every note of the piece lies in the encoding's pitch range both
        before and after the shift. A pitch the shift pushes out of the range is folded
        back in by whole octaves, token by token; each encoding says what that gives at
        the edges. ids may have any shape; values in 0..V-1.
        """

    def transpose_tables(self, shifts: Sequence[int]) -> np.ndarray:
        """(S, V) int32: row s maps every token id to its id moved by shifts[s] semitones."""
        every = np.arange(self.vocab_size)
        rows = [self.transpose_ids(every, shift) for shift in shifts]
        return np.stack(rows) if rows else np.zeros((0, self.vocab_size), np.int32)

    @abstractmethod
    def event_mask(self) -> np.ndarray:
        """Bool (V,): True for the tokens that start a note (NOTE_ON)."""

    @abstractmethod
    def config(self) -> dict:
        """JSON-able settings, including "name"; `encoding_from_config` inverts it."""

    @abstractmethod
    def token_steps(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """(T,) int64: the grid step, counted from the sequence's first step, at which each
        token acts (melody: its own step; performance: the time shifted before it)."""

    def next_steps(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """(T,) int64: the step at which the token after each one acts (whatever it is):
        the step a model predicts from token t, so conditioning.sequence_features uses it."""
        ids = check_ids(ids, self.vocab_size)
        return self.token_steps(np.append(ids, 0))[1:]

    @abstractmethod
    def first_step(self, cols: dict[str, np.ndarray]) -> int:
        """The grid step of the piece (from its beat 0) where `encode_columns(cols)` starts,
        leading silence being trimmed; 0 when there is nothing to encode."""

    def token_id(self, token: str) -> int:
        """The id of a token name such as "NOTE_ON(60)"; KeyError if unknown."""
        if not hasattr(self, "_ids"):
            self._ids = {name: i for i, name in enumerate(self.vocab)}
        return self._ids[token]

    def tokens(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """Token names of an id sequence (for printing and tests)."""
        return [self.vocab[i] for i in check_ids(ids, self.vocab_size).tolist()]

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({settings})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Encoding) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.config().items())))


def make_encoding(name: str, **settings) -> Encoding:
    """The encoding called `name` with `settings`; DataError for unknown names or settings."""
    if name not in _ENCODINGS:
        allowed = ", ".join(ENCODING_NAMES)
        raise DataError(f"unknown encoding {name!r}; choose one of: {allowed}")
    module, cls_name = _ENCODINGS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    try:
        return cls(**settings)
    except TypeError as error:  # an unknown keyword
        raise DataError(f"bad settings for the {name} encoding: {error}") from error


def encoding_from_config(config: dict) -> Encoding:
    """Rebuild an encoding from `Encoding.config()`; DataError on anything else."""
    if not isinstance(config, dict) or not isinstance(config.get("name"), str):
        raise DataError(f"an encoding config must be a dict with a 'name', not {config!r}")
    settings = {k: v for k, v in config.items() if k != "name"}
    return make_encoding(config["name"], **settings)


# --- Helpers shared by the encodings ------------------------------------------


def check_ids(ids, vocab_size: int) -> np.ndarray:
    """`ids` as an int64 array (T,); ValueError unless every id is in 0..vocab_size-1."""
    array = np.asarray(ids)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"token ids must be a 1-D sequence of integers, got {array.dtype}")
    bad = (array < 0) | (array >= vocab_size)
    if bad.any():
        raise ValueError(f"token id {array[bad][0]} out of range 0..{vocab_size - 1}")
    return array.astype(np.int64)


def check_int(name: str, value, low: int, high: int) -> int:
    """`value` if it is an int in low..high, else DataError naming it and the range."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise DataError(f"{name} must be an integer, not {value!r}")
    if not low <= value <= high:
        raise DataError(f"{name} must be in {low}..{high}, not {value}")
    return int(value)


def check_pitch_range(min_pitch, max_pitch) -> tuple[int, int]:
    """A valid (min_pitch, max_pitch): within 0..127 and at least one octave wide."""
    low = check_int("min_pitch", min_pitch, 0, 127)
    high = check_int("max_pitch", max_pitch, 0, 127)
    if high - low < 11:
        raise DataError(f"the pitch range {low}..{high} must span at least 12 semitones")
    return low, high


def fold_pitches(pitches: np.ndarray, low: int, high: int) -> np.ndarray:
    """Pitches moved by whole octaves into low..high (which spans >= 12 semitones)."""
    below = np.maximum(low - pitches, 0)
    above = np.maximum(pitches - high, 0)
    return pitches + 12 * (-(-below // 12)) - 12 * (-(-above // 12))


def shift_pitch_ids(ids, shift, vocab_size: int, first_id: int, low: int, high: int):
    """Pitch token ids moved by `shift` semitones, folded into low..high; others unchanged.

    The tokens first_id .. first_id + (high - low) stand for the pitches low..high (a
    NOTE_ON or NOTE_OFF block); ids of any shape, int32 out. TypeError for a shift that is
    not an integer, ValueError for an id outside 0..vocab_size-1.
    """
    if isinstance(shift, bool) or not isinstance(shift, int | np.integer):
        raise TypeError(f"shift must be an integer number of semitones, not {shift!r}")
    ids = np.asarray(ids)
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"token ids must be integers, got {ids.dtype}")
    ids = ids.astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        bad = ids[(ids < 0) | (ids >= vocab_size)][0]
        raise ValueError(f"token id {bad} out of range 0..{vocab_size - 1}")
    pitch = ids - first_id + low
    is_pitch = (ids >= first_id) & (ids <= first_id + high - low)
    moved = fold_pitches(pitch + int(shift), low, high) - low + first_id
    return np.where(is_pitch, moved, ids).astype(np.int32)


def round_half_up(x: np.ndarray) -> np.ndarray:
    """Nearest integer, halves rounded up (np.round would round halves to even)."""
    return np.floor(x + 0.5).astype(np.int64)


def note_arrays(notes: Sequence[Note]) -> dict[str, np.ndarray]:
    """Columns of a note list: start, end (float64 beats), pitch, velocity, program, voice."""
    if not notes:
        empty_f, empty_i = np.zeros(0), np.zeros(0, dtype=np.int64)
        return dict(
            start=empty_f,
            end=empty_f,
            pitch=empty_i,
            velocity=empty_i,
            program=empty_i,
            voice=empty_i,
        )
    table = np.array(
        [(n.start, n.end, n.pitch, n.velocity, n.program, n.voice) for n in notes], dtype=np.float64
    )  # (notes, 6)
    start, end = table[:, 0], table[:, 1]
    pitch, velocity, program, voice = table[:, 2:].astype(np.int64).T
    return dict(start=start, end=end, pitch=pitch, velocity=velocity, program=program, voice=voice)


def clip_notes(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The notes that sound within beats 0..MAX_PIECE_BEATS, their times clipped to it.

    The MIDI reader already cuts pieces there; this bounds the work on hand-made pieces
    too. Notes with a non-finite time, no length or a pitch outside 0..127 are dropped.
    """
    start = np.clip(cols["start"], 0.0, float(MAX_PIECE_BEATS))
    end = np.clip(cols["end"], 0.0, float(MAX_PIECE_BEATS))
    keep = np.isfinite(start) & np.isfinite(end) & (end > start)
    keep &= (cols["pitch"] >= 0) & (cols["pitch"] <= 127)
    if keep.all():
        return {**cols, "start": start, "end": end}
    return {**{k: v[keep] for k, v in cols.items()}, "start": start[keep], "end": end[keep]}


def quantize(start: np.ndarray, end: np.ndarray, steps_per_quarter: int):
    """Start and end steps, each rounded to the nearest step; every note lasts >= 1 step."""
    first = round_half_up(start * steps_per_quarter)
    last = np.maximum(round_half_up(end * steps_per_quarter), first + 1)
    return first, last


def strike_segments(pitch, first, last, level=None):
    """Same-pitch notes as non-overlapping segments (pitch, first, last, level).

    A pitch sounds while any of its notes sounds, and each start strikes it again:
    a segment runs from one start of its pitch to the next start or to the latest
    end reached so far, whichever is first. Notes of one pitch that start on the
    same step merge (level, e.g. velocity: the largest). Arrays are (notes,) ints.
    """
    order = np.lexsort((last, first, pitch))
    pitch, first, last = pitch[order], first[order], last[order]
    new_pitch = np.ones(pitch.size, dtype=bool)
    new_pitch[1:] = pitch[1:] != pitch[:-1]
    lift = np.cumsum(new_pitch) * (int(last.max()) + 1)  # keeps each pitch's running max apart
    reach = np.maximum.accumulate(last + lift) - lift  # latest end so far within the pitch
    next_first = np.append(first[1:], np.iinfo(np.int64).max)
    end = np.where(np.append(~new_pitch[1:], False), np.minimum(reach, next_first), reach)
    keep = end > first  # drops all but the last note of a (pitch, step) group
    if level is not None:
        new_group = new_pitch | np.append(True, first[1:] != first[:-1])
        starts = np.flatnonzero(new_group)
        loudest = np.maximum.reduceat(level[order], starts)  # (groups,)
        level = loudest[np.cumsum(new_group) - 1][keep]
    return pitch[keep], first[keep], end[keep], level

