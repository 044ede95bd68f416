"""Steering a sample: the conditioning features of every step, and the scale lock.

A conditioned model is told, beside each token it reads, the features of the grid
step where the token it is about to draw acts (composer.music.conditioning's
alignment). While sampling that step is known before the draw: each token moves
the clock by a fixed number of steps (melody: 1 per token; performance: a
TIME_SHIFT's steps, 0 for the other events), `advance` below. So a `Steering`
keeps, per sample, the step of the next token and asks the context for its
features.

The scale lock forbids NOTE_ON tokens whose pitch class is outside the scale of the
key sounding at the next step (Magenta Studio users ask for exactly this); every
other token (REST, HOLD, NOTE_OFF, TIME_SHIFT, ...) stays allowed, so a row always
keeps a token to draw.
"""

from __future__ import annotations

import re

import numpy as np

from composer.constants import MAX_PIECE_BEATS
from composer.music.chords import parse_progression
from composer.music.conditioning import (
    Context,
    check_history,
    features,
    fields,
    piece_context,
    user_context,
)
from composer.music.encoding import Encoding, note_arrays
from composer.music.harmony import progression_key, progression_spans
from composer.music.keys import parse_key
from composer.music.lookback import HISTORY, LookbackState
from composer.music.meter import parse_meter, single_meter
from composer.music.notes import Piece

_NOTE_ON = re.compile(r"NOTE_ON\((\d+)\)")


def advance_table(encoding: Encoding) -> np.ndarray:
    """(V,) int64: the grid steps each token moves the clock by."""
    every = np.arange(encoding.vocab_size)
    pairs = np.stack([every, np.zeros_like(every)], axis=1)  # (V, 2): token v, then any
    return np.array([np.diff(encoding.token_steps(pair))[0] for pair in pairs],
                    dtype=np.int64)


def note_on_pitches(encoding: Encoding) -> np.ndarray:
    """(V,) int64: the pitch a token starts (NOTE_ON(p)), -1 for every other token."""
    pitches = [_NOTE_ON.fullmatch(name) for name in encoding.vocab]
    return np.array([int(m[1]) if m else -1 for m in pitches], dtype=np.int64)


def sample_context(encoding: Encoding, *, meter: str | None = None, key: str | None = None,
                   chords: str | None = None, primer: Piece | None = None,
                   beats: float = MAX_PIECE_BEATS, choices: dict[str, int] | None = None,
                   rng: np.random.Generator | None = None) -> tuple[Context, int]:
    """(context, first step of the opening) for a sample: the user's metre, key and chords
    (composer.music parsers: MusicError names a bad value). Without a primer, a metre or
    key not given is drawn (with `rng`) from `choices`, {"6/8 G major": pieces} of the
    training tunes (TrainedModel.data["meter_keys"]), among those that agree with what
    was given; else 4/4 and C major; no chords, bars from step 0. Chords without a key
    give the key they imply (harmony.progression_key). A primer's own metre
    (with its pickup), key and chord symbols carry on unless overridden; its tokens
    start at its first grid step."""
    spq = encoding.steps_per_quarter
    if primer is None:
        if key is None and chords is not None:  # the chords say which key: keep to it
            implied = progression_key(parse_progression(chords))
            key = None if implied is None else implied.name
        meter, key = _drawn(meter, key, choices, rng or np.random.default_rng())
        return user_context(meter=meter, key=key, chords=chords, steps_per_quarter=spq,
                            beats=beats), 0
    own = piece_context(primer, spq, infer=False)
    bars = single_meter(parse_meter(meter)) if meter is not None else own.meter
    keys = ((0.0, parse_key(key)),) if key is not None else own.keys
    spans, source = own.chords, own.chord_source
    if chords is not None:
        spans = tuple(progression_spans(parse_progression(chords), bars, beats))
        source = "given"
    first_step = encoding.first_step(note_arrays(primer.notes))
    return Context(spq, bars, keys, spans, source), first_step


def _drawn(meter, key, choices, rng):
    """(metre, key): those given, the others drawn from the training tunes' pairs."""
    if (meter is not None and key is not None) or not choices:
        return meter, key
    pairs = [(text.split(" ", 1), count) for text, count in choices.items()]
    pairs = [((m, k), n) for (m, k), n in pairs
             if (meter is None or parse_meter(m) == parse_meter(meter))
             and (key is None or parse_key(k) == parse_key(key))]
    if not pairs:  # nothing of that kind in training: the defaults for the rest
        return meter, key
    counts = np.array([n for _, n in pairs], dtype=np.float64)
    chosen_meter, chosen_key = pairs[int(rng.choice(len(pairs), p=counts / counts.sum()))][0]
    return meter or chosen_meter, key or chosen_key


def _in_key_tokens(context: Context, pitches: np.ndarray) -> np.ndarray:
    """(keys, V) bool: per key of the context, the tokens that are not a NOTE_ON (pitches
    -1) or start a note of its scale."""
    scales = np.zeros((len(context.keys), 12), dtype=bool)  # (keys, 12)
    for k, (_, key) in enumerate(context.keys):
        scales[k, list(key.pitch_classes)] = True
    return scales[:, pitches % 12] | (pitches < 0)


class Steering:
    """Per-step features and the scale lock for K samples drawn together."""

    def __init__(self, encoding: Encoding, context: Context, parts, *, first_step: int = 0,
                 scale_lock: bool = False, length: int = 0):
        self.context, self.parts, self.scale_lock = context, tuple(parts), scale_lock
        self.advance = advance_table(encoding)
        self.first_step, self.length = first_step, length  # length: tokens after the opening
        self.next_step: np.ndarray | None = None  # (K,) step of each sample's next token
        self.lookback: LookbackState | None = None  # the history fields, once opened
        self._table: np.ndarray | None = None  # (steps, F) every step's features, when known
        self._history = [k for k, f in enumerate(fields(self.parts)) if f.part == "history"]
        if "history" in self.parts:
            check_history(encoding)
        if scale_lock:  # the context is fixed: its keys' starts and allowed tokens, once
            self._key_starts = np.array([round(beat * context.steps_per_quarter)
                                         for beat, _ in context.keys])
            self._in_key = _in_key_tokens(context, note_on_pitches(encoding))  # (keys, V)

    def opening(self, opening: np.ndarray) -> np.ndarray | None:
        """Features (P - 1, K, F) for running the opening (K, P) through the model, all but
        its last token; None when there are none to run. Sets the clock after the opening."""
        after = self.first_step + np.cumsum(self.advance[opening], axis=1)  # (K, P)
        self.next_step = after[:, -1]
        self._make_table(opening.shape[1])
        lookback = self._open_lookback(opening)  # (P - 1, K, 5) or None
        if opening.shape[1] < 2 or not self.parts:
            return None
        steps = after[:, :-1].T  # (P - 1, K): the step of token t + 1, fed with token t
        flat = None if lookback is None else lookback.reshape(-1, lookback.shape[-1])
        return features(self.context, steps.reshape(-1), self.parts, flat).reshape(
            *steps.shape, -1)

    def _open_lookback(self, opening: np.ndarray) -> np.ndarray | None:
        """The history fields heard while the opening (K, P) is read: (P - 1, K, 5)."""
        if "history" not in self.parts:
            return None
        num, length = opening.shape
        self.lookback = LookbackState(self.context.meter, self.context.steps_per_quarter, num,
                                      self.first_step, length + self.length)
        self.lookback.push(opening[:, 0])
        rows = []
        for t in range(1, length):  # the fields of token t's step, heard with token t - 1
            rows.append(self.lookback.fields())
            self.lookback.push(opening[:, t])
        return np.stack(rows) if rows else np.zeros((0, num, len(HISTORY)), np.int64)

    def _make_table(self, opening: int) -> None:
        """Where every token moves the clock one step at most (the melody encoding), the
        features of every step the sample can reach, made at once (the per-step call was
        44% of a melody sample's time); the history columns are filled in per step."""
        if not self.parts or self.advance.max() > 1:
            return
        steps = np.arange(self.first_step + opening + self.length + 1)
        placeholder = np.zeros((len(steps), len(self._history)), np.int64)
        self._table = features(self.context, steps, self.parts,
                               placeholder if self._history else None)

    def current(self) -> np.ndarray | None:
        """(K, F) features of each sample's next step, fed with its current token."""
        if not self.parts:
            return None
        lookback = None if self.lookback is None else self.lookback.fields()
        if self._table is None or self.next_step.max() >= len(self._table):
            return features(self.context, self.next_step, self.parts, lookback)
        rows = self._table[self.next_step]  # a copy
        if lookback is not None:
            rows[:, self._history] = lookback
        return rows

    def allowed(self) -> np.ndarray | None:
        """(K, V) bool: the tokens the scale lock allows next; None without the lock."""
        return None if not self.scale_lock else self._allowed_at(self.next_step)

    def allowed_first(self) -> np.ndarray | None:
        """(V,) bool: the tokens the scale lock allows at the first step; None without it."""
        return None if not self.scale_lock else self._allowed_at(np.array([self.first_step]))[0]

    def _allowed_at(self, steps: np.ndarray) -> np.ndarray:
        """(K, V) bool: the tokens allowed under the key sounding at each of the steps (K,)."""
        index = np.maximum(np.searchsorted(self._key_starts, steps, side="right") - 1, 0)
        return self._in_key[index]

    def step(self, drawn: np.ndarray) -> None:
        """Move each sample's clock past the token it just drew (and hear it)."""
        self.next_step = self.next_step + self.advance[drawn]
        if self.lookback is not None:
            self.lookback.push(drawn)
