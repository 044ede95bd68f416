"""Shaping a melody sample: parts played again, cadences, and an ending on the tonic.

A melody model draws a token per grid step; `Shaping` tells the sampler, before each draw,
which tokens are forced or allowed, for K samples drawn together (token index t = step
first_step + t of the context's bars):

- **Replays** (a FormPlan's parts played again, composer.music.form): the bars a section
  replays take the tokens its source section drew at the same place, lane by lane (the
  model still reads them, so its state and its history fields follow the music). A HOLD the
  grammar no longer allows there (the note before it differs from the source's) strikes the
  held pitch again, and a rest stays a rest. The section's last bar or two (its ending) is
  drawn again.
- **Cadences**: the downbeat of every section's last bar starts a tone of the tonic triad
  (of the key sounding there), or of the chord given there when the context has chords.
- **The ending**: the piece's last bar brings the tonic at its last main beat (or keeps a
  tonic that started on a main beat of that bar), and after it only holds or rests: the
  piece ends on the tonic on a strong beat, whatever the length. A piece shorter than a bar
  still ends so.

Without a plan only the ending applies; a model that does not hear the key gets neither
cadences nor the ending (`cadences=False`: its key is unknown). Masks are (K, V) bool; the
sampler intersects them with the grammar's and yields where that would leave a row nothing.
"""

from __future__ import annotations

import numpy as np

from composer.constants import MAX_PIECE_BEATS
from composer.generation.steering import note_on_pitches
from composer.music.conditioning import Context
from composer.music.harmony import chord_at
from composer.music.lookback import bar_lines
from composer.music.melody import HOLD, REST
from composer.music.notes import PartMark


class Shaping:
    """Forced tokens and masks of a melody sample of `total` tokens (module docstring)."""

    def __init__(self, encoding, context: Context, first_step: int, total: int, *,
                 cadences: bool = True, drawn_from: int = 1):
        spq = context.steps_per_quarter
        self.pitches = note_on_pitches(encoding)  # (V,) pitch of each NOTE_ON, -1 else
        self.vocab_size, self.total = encoding.vocab_size, total
        steps = first_step + np.arange(total)
        lines = bar_lines(context.meter, spq, first_step + total)
        bars = context.meter.bar_numbers(steps, spq)
        self.source = np.full(total, -1, dtype=np.int64)  # token index each replays, or -1
        self.classes: dict[int, frozenset[int]] = {}  # token index -> pitch classes to start
        self.final = total  # no ending without cadences
        if context.form is not None:
            self._plan_replays(context, lines, bars, first_step)
            if cadences:
                self._plan_cadences(context, lines, first_step)
        if cadences and total > drawn_from:
            self._plan_ending(context, first_step, drawn_from)

    def _plan_replays(self, context, lines, bars, first_step):
        """source[t] for the replayed bars of each section."""
        for section in context.form.sections:  # bar b starts at lines[b + 1] (bar_lines)
            if section.source is None:
                continue
            offset = section.first_bar - context.form.sections[section.source].first_bar
            inside = (bars >= section.first_bar) & \
                (bars < section.first_bar + section.replayed_bars)
            for t in np.flatnonzero(inside).tolist():
                line = int(bars[t]) + 1
                position = first_step + t - lines[line]
                self.source[t] = lines[line - offset] + position - first_step

    def _plan_cadences(self, context, lines, first_step):
        """The tonic-triad (or given chord) tones at each section's last downbeat."""
        for section in context.form.sections:
            t = int(lines[section.end_bar]) - first_step  # the last bar's line: end_bar - 1 + 1
            if 0 <= t < self.total and self.source[t] < 0:
                self.classes[t] = _cadence_classes(context, t + first_step)

    def _plan_ending(self, context, first_step, drawn_from):
        """The last main beat of the last bar: the tonic (module docstring). Tokens before
        index drawn_from (the opening) are not drawn: the last main beat after them then,
        or the first drawn token if a piece is that short."""
        steps = first_step + np.arange(drawn_from, self.total)
        position, _, beat, _ = context.meter.positions(steps, context.steps_per_quarter)
        bar_starts = steps - position
        main = np.flatnonzero(position % beat == 0)
        in_last = main[bar_starts[main] == bar_starts[-1]]
        self.final_bar = int(bar_starts[-1]) - first_step  # token index of the last bar
        self.main_beats = set((drawn_from + main).tolist())
        chosen = in_last if len(in_last) else main
        self.final = drawn_from + (int(chosen[-1]) if len(chosen) else 0)
        key = _key_at(context, self.final + first_step)
        self.tonic = key.tonic
        self.source[self.final:] = -1  # the ending is drawn, never replayed
        self.classes.pop(self.final, None)

    # --- per step ----------------------------------------------------------------

    def forced(self, t: int, tokens: np.ndarray) -> np.ndarray | None:
        """(K,) the token each sample must take at index t, or None when they are drawn.
        tokens (K, >= t): what was drawn so far."""
        source = self.source[t]
        if source < 0:
            return None
        copied = tokens[:, source].copy()
        for k in np.flatnonzero(copied == HOLD).tolist():  # holds what the source held?
            held = _struck(tokens[k, : source + 1])
            if _struck(tokens[k, :t]) != held:  # no: strike the source's pitch (or rest)
                copied[k] = held
        return copied

    def allowed(self, t: int, tokens: np.ndarray) -> np.ndarray | None:
        """(K, V) bool: the tokens allowed at index t by the cadences and the ending, or None
        when anything goes."""
        if t in self.classes:
            return self._starts(self.classes[t], len(tokens))
        if t < self.final:
            return None
        mask = np.zeros((len(tokens), self.vocab_size), dtype=bool)
        if t == self.final:
            mask |= self._starts(frozenset({self.tonic}), len(tokens))
            mask[:, HOLD] = self._tonic_held(tokens[:, :t])
        else:
            mask[:, [HOLD, REST]] = True
        return mask

    def _starts(self, classes: frozenset[int], num: int) -> np.ndarray:
        """(K, V): the NOTE_ONs of these pitch classes."""
        row = (self.pitches >= 0) & np.isin(self.pitches % 12, list(classes))
        return np.broadcast_to(row, (num, self.vocab_size)).copy()

    def _tonic_held(self, tokens: np.ndarray) -> np.ndarray:
        """(K,) True where a tonic sounds that started on a main beat of the final bar."""
        held = np.zeros(len(tokens), dtype=bool)
        for k, row in enumerate(tokens):
            start = _last_onset(row)
            if start >= self.final_bar and start in self.main_beats:
                held[k] = self.pitches[row[start]] % 12 == self.tonic
        return held


def _last_onset(row: np.ndarray) -> int:
    """Index of the last token that is not a HOLD (a NOTE_ON or a REST), -1 if none."""
    found = np.flatnonzero(row != HOLD)
    return int(found[-1]) if len(found) else -1


def _struck(row: np.ndarray) -> int:
    """The last NOTE_ON or REST of a row of tokens: what sounds after it (REST if none)."""
    start = _last_onset(row)
    return int(row[start]) if start >= 0 else REST


def part_marks(context: Context) -> list[PartMark]:
    """Where each section of the context's form plan starts, as Piece.parts (none without)."""
    if context.form is None:
        return []
    lines = context.meter.downbeats(MAX_PIECE_BEATS)  # bar b's line is lines[b]
    return [PartMark(float(lines[s.first_bar]), s.letter) for s in context.form.sections
            if s.first_bar < len(lines)]


def _key_at(context: Context, step: int):
    beat = step / context.steps_per_quarter
    index = max(0, int(np.searchsorted([b for b, _ in context.keys], beat, side="right")) - 1)
    return context.keys[index][1]


def _cadence_classes(context: Context, step: int) -> frozenset[int]:
    """Pitch classes a cadence may land on at `step`: the given chord's, else the tonic
    triad of the key (scale degrees 1, 3 and 5 of its mode)."""
    if context.chord_source == "given" and context.chords:
        chord = chord_at(list(context.chords), [step / context.steps_per_quarter])[0]
        if chord.root is not None:
            return frozenset(chord.pitch_classes)
    scale = _key_at(context, step).scale
    return frozenset((scale[0], scale[2], scale[4]))
