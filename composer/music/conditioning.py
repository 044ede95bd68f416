"""Conditioning features: what a model is told about each grid step besides the tokens.

The music side computes them; the network only sees small integers, one lookup table per
field ("one-hot parts as lookups"). The fields, in column order, by part:

    part     field            size  value at a step
    metre    bar_position       64  steps since the bar line (clipped at 63)
             beat               16  beats since the bar line (clipped at 15)
             beat_position      48  steps since the beat (clipped at 47)
             meter               9  index in meter.COMMON_METERS, 8 for any other metre
             bar_of_phrase       8  bar number mod 8 (bar 0 = the first full bar; the
                                    pickup is bar -1, so 7)
    key      key_tonic          12  pitch class of the tonic
             key_mode            7  index in keys.MODE_NAMES
    chords   chord_root         13  pitch class of the root, 12 for no chord (N.C.)
             chord_quality      11  index in chords.QUALITY_NAMES, 10 for no chord
             chord_tone_0..11    2  1 if pitch class 0 (C), 1, ..., 11 (B) is a tone of
                                    the chord (Chord.tones), else 0; all 0 for no chord
    history  back_bar           51  the token at the same place 1 bar earlier, 50 for none
             back_2bars         51  ... 2 bars earlier
             back_part          51  ... 8 bars (a part) earlier
             run_part            8  how long the music has repeated the part before (bit
                                    length of the steps, capped: composer.music.lookback)
    form     part                8  0 for the pickup, then 1 + the index of the part (8 bars
                                    each, or the sections of a FormPlan), capped at 7
             bars_left           4  bars from this one to the piece's last: 0, 1, 2, or 3 for
                                    3 or more (and where the end is not known)

With a FormPlan (a sample's planned parts, composer.music.form), bar_of_phrase counts the
bars of each part so that its last bar is 7 (8-bar parts: 0..7; 4-bar parts: 4..7).
The history fields need the tokens themselves (melody encoding only): `features` takes
them ready made (composer.music.lookback computes them for a sequence, or while sampling).

The twelve chord-tone flags say outright which notes the chord holds: root and quality
alone are added to the gates, so turning them into the set of tones (a rotation of the
quality's pattern by the root) would have to be learnt; with the flags a network maps
each pitch class straight to its notes. Measured on data/ (README, "Steering"): more
on-beat chord tones in samples over a progression.

A **Context** holds what one piece needs for all of them, small and JSON-able: its grid
(steps per quarter), MeterMap (time signatures and bar phase), keys and chords, each as
(beat, value) spans. `features(context, steps, parts)` turns it into a (T, F) uint8 array for
any grid steps of the piece (step 0 = its beat 0); composer.music.feature_edits moves the
key, chord and history columns with the notes, as training's transposition needs, and
hides the chords or the end.

**Alignment** (how a model must use them): at input position t the network sees token t and
the features of the step where the token it predicts (t + 1) acts, as Magenta's lookback
RNN feeds the position being predicted. `sequence_features` does this: for an encoded
sequence it computes the features at `first_step + encoding.next_steps(ids)`, where
first_step = `encoding.first_step(cols)` (encodings trim leading silence) and next_steps is
t + 1 for the melody encoding and, for the performance encoding, the time after token t
(its time plus its TIME_SHIFT). When sampling, the step of the next token is known before
drawing it (melody: one more; performance: the time after the token just drawn).

**Where contexts come from**: `piece_context` reads a piece: its time signatures with the
estimated bar phase (composer.music.phase), its keys (keys.piece_keys), and its chord symbols
if it has any, else chords inferred from its notes (harmony.infer_chords, chord_source
"inferred"). Training and evaluation infer them from the notes of a piece's tokens
(`token_context`: the line a melody model predicts), so a cached piece keeps only its
small header context. Inferred chords look at the very notes a model predicts: an NLL measured with
them is not comparable with that of a model that does not see them. `user_context` builds
one from a user's settings ("6/8", "D major", "Am F C G") for sampling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from composer.constants import MAX_PIECE_BEATS
from composer.errors import MusicError
from composer.music.chords import NO_CHORD, QUALITY_NAMES, Chord, parse_chord, parse_progression
from composer.music.encoding import Encoding
from composer.music.form import FormPlan
from composer.music.harmony import infer_chords, progression_spans, symbol_spans
from composer.music.keys import MODE_NAMES, Key, parse_key, piece_keys
from composer.music.lookback import (
    HISTORY,
    HISTORY_TOKENS,
    NOTHING,
    RUN_VALUES,
    sequence_lookback,
)
from composer.music.meter import (
    COMMON_METERS,
    MeterMap,
    meter_id,
    meter_map,
    parse_meter,
    single_meter,
)
from composer.music.notes import Piece, shifted


@dataclass(frozen=True)
class Field:
    name: str
    size: int  # values 0..size-1: the rows of its lookup table
    part: str  # one of PARTS


PARTS = ("metre", "key", "chords", "history", "form")
FIELDS = (
    Field("bar_position", 64, "metre"),
    Field("beat", 16, "metre"),
    Field("beat_position", 48, "metre"),
    Field("meter", len(COMMON_METERS) + 1, "metre"),
    Field("bar_of_phrase", 8, "metre"),
    Field("key_tonic", 12, "key"),
    Field("key_mode", len(MODE_NAMES), "key"),
    Field("chord_root", 13, "chords"),
    Field("chord_quality", len(QUALITY_NAMES) + 1, "chords"),
    *(Field(f"chord_tone_{pc}", 2, "chords") for pc in range(12)),
    *(Field(name, HISTORY_TOKENS if kind == "back" else RUN_VALUES, "history")
      for name, kind, _ in HISTORY),
    Field("part", 8, "form"),
    Field("bars_left", 4, "form"),
)
FAR = 3  # bars_left where the end is 3 or more bars away, or not known
NO_ROOT, NO_QUALITY = 12, len(QUALITY_NAMES)  # the values of no chord
CHORD_SOURCES = ("file", "inferred", "given", "none")


def check_parts(parts: Iterable[str] | str) -> tuple[str, ...]:
    """The parts in PARTS order; "metre,key" is read as two parts. MusicError if unknown."""
    names = parts.split(",") if isinstance(parts, str) else list(parts)
    names = [name.strip() for name in names if name.strip()]
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        raise MusicError(f"unknown conditioning part {unknown[0]!r}; choose from "
                         f"{', '.join(PARTS)}")
    return tuple(part for part in PARTS if part in names)


def fields(parts: Iterable[str] | str) -> tuple[Field, ...]:
    """The fields of these parts, in column order (their sizes size the lookup tables)."""
    chosen = check_parts(parts)
    return tuple(f for f in FIELDS if f.part in chosen)


@dataclass(frozen=True)
class Context:
    """Everything the features of one piece need (see the module docstring)."""

    steps_per_quarter: int  # the grid the steps count
    meter: MeterMap
    keys: tuple[tuple[float, Key], ...]  # (beat, key) spans; the first from beat 0
    chords: tuple[tuple[float, Chord], ...] = ()  # (beat, chord) spans; N.C. before the first
    chord_source: str = "none"  # one of CHORD_SOURCES
    form: FormPlan | None = None  # a sample's planned parts (bar 0 = the first full bar)
    end_step: int | None = None  # the step after the piece's last token, when known

    def __post_init__(self):
        if not 1 <= self.steps_per_quarter <= 48:
            raise ValueError(f"steps_per_quarter must be 1..48, got {self.steps_per_quarter}")
        if not self.keys or self.keys[0][0] != 0:
            raise ValueError("a Context needs a key from beat 0")
        if self.chord_source not in CHORD_SOURCES:
            raise ValueError(f"chord_source must be one of {CHORD_SOURCES}, "
                             f"got {self.chord_source!r}")

    def to_json(self) -> dict:
        return {
            "steps_per_quarter": self.steps_per_quarter,
            "meter": self.meter.to_json(),
            "keys": [[float(beat), key.name] for beat, key in self.keys],
            "chords": [[float(beat), chord.symbol] for beat, chord in self.chords],
            "chord_source": self.chord_source,
            "form": None if self.form is None else self.form.to_json(),
            "end_step": self.end_step,
        }

    @classmethod
    def from_json(cls, data: dict) -> Context:
        return cls(
            steps_per_quarter=int(data["steps_per_quarter"]),
            meter=MeterMap.from_json(data["meter"]),
            keys=tuple((float(beat), parse_key(name)) for beat, name in data["keys"]),
            chords=tuple((float(beat), parse_chord(symbol)) for beat, symbol in data["chords"]),
            chord_source=str(data.get("chord_source", "none")),
            form=None if data.get("form") is None else FormPlan.from_json(data["form"]),
            end_step=None if data.get("end_step") is None else int(data["end_step"]),
        )


# --- Building contexts ------------------------------------------------------------------


def piece_context(piece: Piece, steps_per_quarter: int, *, infer: bool = True,
                  per: str = "bar") -> Context:
    """The context of a piece (module docstring); chords inferred per bar or half bar when
    the piece has no chord symbols and `infer` is true."""
    meter = meter_map(piece)
    keys = tuple(piece_keys(piece))
    chords, source = tuple(symbol_spans(piece.chords)), "file"
    if not chords:
        chords, source = (), "none"
        if infer and piece.notes:
            chords = tuple(infer_chords(piece.notes, meter, keys[0][1], per))
            source = "inferred"
    return Context(steps_per_quarter, meter, keys, chords, source)


def user_context(*, meter: str | tuple[int, int] | None = None, key: str | Key | None = None,
                 chords: str | None = None, steps_per_quarter: int = 4,
                 beats: float = MAX_PIECE_BEATS) -> Context:
    """A context from a user's settings: metre "6/8" (default 4/4), key "D major" (default
    C major), chords "Am F C G" (composer.music.chords.parse_progression; default none),
    bars from step 0 (no pickup), the progression repeated over `beats` beats."""
    time_signature = parse_meter(meter) if isinstance(meter, str) else (meter or (4, 4))
    meter_map_ = single_meter(time_signature)
    tonality = parse_key(key) if isinstance(key, str) else (key or Key(0, "major"))
    spans: tuple = ()
    if chords is not None:
        spans = tuple(progression_spans(parse_progression(chords), meter_map_, beats))
    return Context(steps_per_quarter, meter_map_, ((0.0, tonality),), spans,
                   "given" if spans else "none")


# --- Features -----------------------------------------------------------------------------


def features(context: Context, steps: np.ndarray, parts: Iterable[str] | str,
             lookback: np.ndarray | None = None) -> np.ndarray:
    """(T, F) uint8 features of the grid steps (T,) of the piece; F = len(fields(parts)).
    With the history part, `lookback` gives its (T, 5) columns (composer.music.lookback)."""
    steps = np.asarray(steps, dtype=np.int64).reshape(-1)
    columns = []
    for part in check_parts(parts):
        if part == "history":
            width = len([f for f in FIELDS if f.part == "history"])
            if lookback is None or lookback.shape != (steps.size, width):
                raise ValueError(f"the history part needs lookback columns of shape "
                                 f"({steps.size}, {width})")
            columns += list(np.asarray(lookback).T)
            continue
        columns += {"metre": _metre_columns, "key": _key_columns, "chords": _chord_columns,
                    "form": _form_columns}[part](context, steps)
    if not columns:
        return np.zeros((steps.size, 0), dtype=np.uint8)
    return np.stack(columns, axis=1).astype(np.uint8)


def _metre_columns(context: Context, steps: np.ndarray) -> list[np.ndarray]:
    spq = context.steps_per_quarter
    position, _, beat, segment = context.meter.positions(steps, spq)
    meters = np.array([meter_id((c.numerator, c.denominator)) for c in context.meter.changes])
    sizes = {f.name: f.size for f in FIELDS}
    return [
        np.minimum(position, sizes["bar_position"] - 1),
        np.minimum(position // beat, sizes["beat"] - 1),
        np.minimum(position % beat, sizes["beat_position"] - 1),
        meters[segment],
        _bar_of_phrase(context, context.meter.bar_numbers(steps, spq)) % sizes["bar_of_phrase"],
    ]


def _bar_of_phrase(context: Context, bars: np.ndarray) -> np.ndarray:
    """The bar number, or with a form plan the bar of its part counted so that a part's
    last bar is 7 (module docstring)."""
    if context.form is None:
        return bars
    sections = context.form.sections
    index = context.form.section_of(bars)
    firsts = np.array([s.first_bar for s in sections])[index]
    lengths = np.array([s.bars for s in sections])[index]
    return bars - firsts - lengths  # mod 8 by the caller: the last bar is -1, i.e. 7


def _form_columns(context: Context, steps: np.ndarray) -> list[np.ndarray]:
    """part and bars_left: from the form plan, else from 8-bar parts and the piece's end."""
    bars = context.meter.bar_numbers(steps, context.steps_per_quarter)
    sizes = {f.name: f.size for f in FIELDS}
    if context.form is not None:
        part = np.where(bars < 0, 0, context.form.section_of(bars) + 1)
        last = context.form.bars - 1
    else:
        part = np.maximum(bars // 8 + 1, 0)
        last = None if context.end_step is None else int(context.meter.bar_numbers(
            np.array([context.end_step - 1]), context.steps_per_quarter)[0])
    left = np.full(len(steps), FAR) if last is None else np.clip(last - bars, 0, FAR)
    return [np.minimum(part, sizes["part"] - 1), left]


def _span_index(context: Context, spans: Sequence[tuple[float, object]], steps: np.ndarray):
    """Index of the span sounding at each step (-1 before the first)."""
    starts = np.array([round(beat * context.steps_per_quarter) for beat, _ in spans])
    return np.searchsorted(starts, steps, side="right") - 1


def _key_columns(context: Context, steps: np.ndarray) -> list[np.ndarray]:
    index = np.maximum(_span_index(context, context.keys, steps), 0)  # the first from beat 0
    tonics = np.array([key.tonic for _, key in context.keys])
    modes = np.array([MODE_NAMES.index(key.mode) for _, key in context.keys])
    return [tonics[index], modes[index]]


def _chord_columns(context: Context, steps: np.ndarray) -> list[np.ndarray]:
    spans = [(0.0, NO_CHORD)] if not context.chords else context.chords
    index = _span_index(context, spans, steps)  # -1 before the first span picks ...
    chords = [chord for _, chord in spans] + [NO_CHORD]  # ... this last entry
    roots = np.array([NO_ROOT if c.root is None else c.root for c in chords])
    qualities = np.array([NO_QUALITY if c.root is None else QUALITY_NAMES.index(c.quality)
                          for c in chords])
    tones = np.array([[pc in c.tones for pc in range(12)] for c in chords])  # (chords, 12)
    return [roots[index], qualities[index], *tones[index].T]


def sequence_features(context: Context, encoding: Encoding, ids, first_step: int,
                      parts: Iterable[str] | str) -> np.ndarray:
    """(T, F) features to feed beside token ids (T,) that start at piece step `first_step`:
    input t gets the features of the step of token t + 1 (module docstring, "Alignment").
    The form part counts bars_left to the end of these tokens unless the context says."""
    next_steps = first_step + encoding.next_steps(ids)
    parts = check_parts(parts)
    lookback = None
    if "history" in parts:
        check_history(encoding)
        lookback = sequence_lookback(context.meter, encoding.steps_per_quarter, ids, first_step)
    if "form" in parts and context.form is None and context.end_step is None and len(ids):
        context = replace(context, end_step=int(next_steps[-1]))
    return features(context, next_steps, parts, lookback)


def check_history(encoding: Encoding) -> None:
    """MusicError unless the encoding has a token per grid step and ids the history fields
    can hold (composer.music.lookback: the melody encoding's)."""
    if encoding.name != "melody" or encoding.vocab_size > NOTHING:
        raise MusicError(f"history conditioning needs the melody encoding with at most "
                         f"{NOTHING} tokens (a token per grid step), not {encoding!r}")


def token_context(context: Context, encoding: Encoding, ids, first_step: int) -> Context:
    """The context with chords inferred from the notes of the tokens ids, placed at their
    piece step `first_step`, when it has none of its own (no chord symbols): what training
    and evaluation both use, so that a piece's store keeps only its small header context."""
    if context.chords or context.chord_source == "given":
        return context
    notes = shifted(encoding.decode(ids), first_step / encoding.steps_per_quarter)
    if not notes:
        return context
    chords = tuple(infer_chords(notes, context.meter, context.keys[0][1]))
    return replace(context, chords=chords, chord_source="inferred")
