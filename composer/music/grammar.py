"""The grammar of the token languages: which tokens may come next, for K sequences at once.

A sampler asks `allowed(remaining)` for a (K, V) bool mask before it draws each token
and reports the drawn tokens with `advance(tokens)`; the grammar keeps the state of
every sequence (what sounds, since when, what came last). Scoring never uses it.

Performance encoding (PerformanceGrammar), in the order the encoder writes a step
(composer.music.performance): the NOTE_OFFs, then the NOTE_ONs, each preceded by a
VELOCITY when the loudness changes, then the TIME_SHIFTs to the next step. So:

1. NOTE_OFF(p) only while p sounds and was struck before this step (no zero-length
   note), before any NOTE_ON of this step, in rising pitch order within the step.
2. NOTE_ON(p) only while p is silent, fewer than max_voices notes sound, and p is
   above the step's previous NOTE_ON (rising pitch order).
3. VELOCITY(b) only when b differs from the current bin and a NOTE_ON can follow;
   after a VELOCITY only a NOTE_ON.
4. TIME_SHIFT(k) not after a TIME_SHIFT shorter than the longest (a gap is written as
   longest shifts, then one shorter), and never past the moment where a sounding note
   reaches max_note_steps: that note must be released first.
5. Release: a note that has lasted max_note_steps is switched off at once (its
   NOTE_OFF is the only token allowed).
6. The end: with `remaining` tokens left, no NOTE_ON (VELOCITY) is allowed once the
   notes sounding could no longer all be released, and at the last tokens only the
   NOTE_OFFs (and one TIME_SHIFT if a note was struck on the current step), so a
   sequence ends with nothing sounding.
Rules 1-4 are those of the encoder's own output; when they leave a sequence no
token (after an odd primer), only rules 5-6 and "NOTE_OFF of a sounding pitch"
apply.

Melody encoding (MelodyGrammar): HOLD only while a note sounds (not at the start, not
after a REST) and only until the note has lasted max_note_steps.
"""

from __future__ import annotations

import numpy as np

from composer.music.encoding import Encoding
from composer.music.melody import FIRST_NOTE_ON, HOLD
from composer.music.performance import PerformanceEncoding

NO_LIMIT = 1 << 40  # steps: "no cap" for max_note_steps


class MelodyGrammar:
    """State of K melody-token sequences: how long each one's current note has lasted."""

    def __init__(self, encoding: Encoding, num: int, max_note_steps: int = NO_LIMIT):
        self.vocab_size = encoding.vocab_size
        self.max_note_steps = max_note_steps
        self.length = np.zeros(num, dtype=np.int64)  # (K,) steps the note has lasted, 0 = none

    def allowed(self, remaining: int | None = None) -> np.ndarray:
        """(K, V) bool: the tokens each sequence may take next."""
        mask = np.ones((self.length.size, self.vocab_size), dtype=bool)
        mask[:, HOLD] = (self.length > 0) & (self.length < self.max_note_steps)
        return mask

    def advance(self, tokens: np.ndarray) -> None:
        """Take one token per sequence, (K,) ids."""
        held = (tokens == HOLD) & (self.length > 0)
        self.length = np.where(tokens >= FIRST_NOTE_ON, 1, np.where(held, self.length + 1, 0))


class PerformanceGrammar:
    """State of K performance-token sequences (see the module docstring for the rules).

    Letters: K sequences, P pitches of the encoding, M longest shift, B velocity bins.
    """

    def __init__(self, encoding: PerformanceEncoding, num: int,
                 max_note_steps: int = NO_LIMIT, max_voices: int = NO_LIMIT):
        self.enc = encoding
        self.max_note_steps, self.max_voices = max_note_steps, max_voices
        P = encoding.num_pitches
        self.sounding = np.zeros((num, P), dtype=bool)  # (K, P)
        self.onset = np.zeros((num, P), dtype=np.int64)  # (K, P) step each sounding pitch began
        self.now = np.zeros(num, dtype=np.int64)  # (K,) current step
        self.last_on = np.full(num, -1)  # (K,) pitch index of this step's last NOTE_ON
        self.last_off = np.full(num, -1)  # (K,) pitch index of this step's last NOTE_OFF
        self.velocity = np.zeros(num, dtype=np.int64)  # (K,) current bin, 0 = none yet
        self.after_velocity = np.zeros(num, dtype=bool)  # (K,) the last token was a VELOCITY
        self.after_short_shift = np.zeros(num, dtype=bool)  # (K,) last: TIME_SHIFT(k < M)

    # --- state ------------------------------------------------------------------

    def advance(self, tokens: np.ndarray) -> None:
        """Take one token per sequence, (K,) ids."""
        enc, rows = self.enc, np.arange(tokens.size)
        on, off = tokens < enc.off_base, (tokens >= enc.off_base) & (tokens < enc.shift_base)
        shift = (tokens >= enc.shift_base) & (tokens < enc.velocity_base)
        velocity = tokens >= enc.velocity_base
        pitch = np.where(on, tokens, tokens - enc.off_base)
        self.sounding[rows[on], pitch[on]] = True
        self.onset[rows[on], pitch[on]] = self.now[on]
        self.sounding[rows[off], pitch[off]] = False
        self.last_on = np.where(on, pitch, np.where(shift, -1, self.last_on))
        self.last_off = np.where(off, pitch, np.where(shift, -1, self.last_off))
        size = tokens - enc.shift_base + 1  # steps of a TIME_SHIFT
        self.now = np.where(shift, self.now + size, self.now)
        self.after_short_shift = shift & (size < enc.max_shift)
        self.velocity = np.where(velocity, tokens - enc.velocity_base + 1, self.velocity)
        self.after_velocity = velocity

    def room(self) -> np.ndarray:
        """(K,) steps before the first sounding note reaches max_note_steps (NO_LIMIT if none)."""
        left = np.where(self.sounding, self.onset + self.max_note_steps - self.now[:, None],
                        NO_LIMIT)
        return np.maximum(left.min(axis=1), 0)

    # --- what may come next ------------------------------------------------------------

    def allowed(self, remaining: int | None = None) -> np.ndarray:
        """(K, V) bool: the tokens each sequence may take next, `remaining` tokens (this one
        included) before the end (None: no end in sight)."""
        room, voices = self.room(), self.sounding.sum(axis=1)  # (K,), (K,)
        fresh = (self.sounding & (self.onset == self.now[:, None])).any(axis=1)  # (K,)
        need = voices + fresh  # (K,) tokens that releasing everything takes
        spare = (NO_LIMIT if remaining is None else remaining) - need  # (K,)
        strict = self._strict(room, voices, spare)
        mask = np.where(strict.any(axis=1, keepdims=True), strict, self._loose(room))
        return self._override_end(mask, fresh, spare <= 0)

    def _strict(self, room, voices, spare) -> np.ndarray:
        """(K, V) the encoder's own order (rules 1-4), with the voice limit and the end."""
        enc, P = self.enc, self.enc.num_pitches
        pitches = np.arange(P)
        can_on = ((~self.sounding) & (pitches > self.last_on[:, None])
                  & ((voices < self.max_voices) & (spare > 2))[:, None])  # (K, P)
        can_off = (self.sounding & (self.onset < self.now[:, None])
                   & (pitches > self.last_off[:, None]) & (self.last_on < 0)[:, None])
        sizes = np.arange(1, enc.max_shift + 1)
        can_shift = (sizes <= room[:, None]) & ~self.after_short_shift[:, None]  # (K, M)
        bins = np.arange(1, enc.velocity_bins + 1)
        can_velocity = ((bins != self.velocity[:, None])
                        & (can_on.any(axis=1) & (spare > 3))[:, None])  # (K, B)
        mask = np.concatenate([can_on, can_off, can_shift, can_velocity], axis=1)
        mask[self.after_velocity, enc.off_base:] = False  # after a VELOCITY: a NOTE_ON
        return mask

    def _loose(self, room) -> np.ndarray:
        """(K, V) the fallback: NOTE_OFF of any sounding pitch, or a TIME_SHIFT within room;
        never empty (a sequence whose notes all began this step has room >= 1)."""
        enc = self.enc
        mask = np.zeros((room.size, enc.vocab_size), dtype=bool)
        mask[:, enc.off_base : enc.shift_base] = self.sounding & (self.onset < self.now[:, None])
        sizes = np.arange(1, enc.max_shift + 1)
        mask[:, enc.shift_base : enc.velocity_base] = sizes <= room[:, None]
        return mask

    def _override_end(self, mask, fresh, closing) -> np.ndarray:
        """Rules 5 and 6: a note at the cap is released at once; at the end, release."""
        enc = self.enc
        at_cap = self.sounding & (self.onset + self.max_note_steps <= self.now[:, None])
        forced = at_cap.any(axis=1)  # (K,)
        offs = np.zeros_like(mask)
        offs[:, enc.off_base : enc.shift_base] = at_cap
        mask = np.where(forced[:, None], offs, mask)
        ending = closing & ~forced  # (K,) release what sounds: offs, after one shift if fresh
        release = np.zeros_like(mask)
        release[:, enc.off_base : enc.shift_base] = self.sounding & (self.onset < self.now[:, None])
        release[:, enc.shift_base] = fresh  # TIME_SHIFT(1): room >= 1 here, nothing at the cap
        return np.where((ending & release.any(axis=1))[:, None], release, mask)


def make_grammar(encoding: Encoding, num: int, max_note_steps: int | None = None,
                 max_voices: int | None = None):
    """The grammar of `encoding` for `num` sequences; None limits mean no limit."""
    cap = NO_LIMIT if max_note_steps is None else max_note_steps
    if isinstance(encoding, PerformanceEncoding):
        voices = NO_LIMIT if max_voices is None else max_voices
        return PerformanceGrammar(encoding, num, cap, voices)
    return MelodyGrammar(encoding, num, cap)
