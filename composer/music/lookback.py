"""Lookback: what sounded a bar, two bars and a part earlier, as conditioning fields.

In the spirit of Magenta's Lookback RNN: a tune repeats itself (about half the bars of
data/ repeat an earlier bar, and the parts of a reel or jig are played twice), so the
network is told, for the step it is about to predict, the token that sounded at the same
place in the bar 1, 2 and 8 bars (a part) earlier: copying it is then one table row away.
One more field says for how many steps the music has been repeating what it played 8 bars
(a part) before. Each field earns its place in held-out NLL (README, "Form"); a run field
for the bar before was measured too, and dropped: it did not help.

Definitions, for a target step s (the step of the token being predicted) of a piece whose
bars are those of its MeterMap (pickup and metre changes included, as meter.bar_numbers):

- **back(s, k)**: the step at the same position in the bar k bars before s's bar; none when
  that bar is shorter than the position, or when the step comes before the piece's first
  token. It is always before s, so the field never shows the token being predicted.
- **back_bar, back_2bars, back_part**: the token id at back(s, 1), back(s, 2), back(s, 8), or
  NOTHING (= HISTORY_TOKENS - 1) where back is none. Token ids are those of the melody
  encoding (a token per grid step), so the fields move with a transposition of the tokens.
- **run_part**: r = how many steps in a row, ending at s - 1 (the token just read), played
  the token of their own back(u, 8); the field is the bit length of r capped at
  RUN_VALUES - 1: 0 for none, 1 for 1, 2 for 2-3, 3 for 4-7, ..., 7 for 64 or more.

Training and evaluation compute them for a whole sequence (`sequence_lookback`); sampling
computes them a step at a time as tokens are drawn (`LookbackState`): the two agree exactly
(tested), so the model hears the same fields in both.
"""

from __future__ import annotations

import numpy as np

from composer.music.meter import MeterMap

HISTORY = (  # (field, kind, bars back), in column order: the tokens first, then the runs
    ("back_bar", "back", 1), ("back_2bars", "back", 2), ("back_part", "back", 8),
    ("run_part", "run", 8),
)
HISTORY_FIELDS = tuple(name for name, _, _ in HISTORY)
HISTORY_TOKENS = 51  # the melody encoding's 50 token ids, and NOTHING
NOTHING = HISTORY_TOKENS - 1
RUN_VALUES = 8  # run lengths as bit lengths 0..7 (64 steps or more: 7)


def bar_lines(meter: MeterMap, steps_per_quarter: int, end_step: int) -> np.ndarray:
    """(B,) int64 steps where the bars start, from the pickup's bar (which may start before
    step 0) through the first bar line after end_step: the bars of meter.bar_numbers."""
    starts, anchors, bars, _ = meter.grid(steps_per_quarter)
    stops = [*starts[1:].tolist(), max(end_step, int(starts[-1])) + 1]
    lines = [np.arange(anchor, stop, bar)
             for anchor, stop, bar in zip(anchors.tolist(), stops, bars.tolist(), strict=True)]
    after = lines[-1][-1] + bars[-1] if len(lines[-1]) else stops[-1]
    return np.concatenate([*lines, [after]]).astype(np.int64)


def back_steps(lines: np.ndarray, steps: np.ndarray, bars: int, first: int) -> np.ndarray:
    """(M,) int64: back(s, bars) of each step s of steps (M,), -1 where there is none;
    lines from bar_lines (covering the steps), first = the step of the piece's first token."""
    steps = np.asarray(steps, dtype=np.int64)
    bar = np.searchsorted(lines, steps, side="right") - 1  # index of each step's bar
    source = bar - bars
    valid = source >= 0
    source = np.maximum(source, 0)
    back = lines[source] + (steps - lines[np.maximum(bar, 0)])
    valid &= back < lines[source + 1]  # the earlier bar is long enough
    valid &= back >= first
    return np.where(valid, back, -1)


def run_field(run: np.ndarray) -> np.ndarray:
    """Run lengths (any shape, >= 0) as their field values: bit length, capped."""
    run = np.asarray(run, dtype=np.int64)
    bits = np.zeros(run.shape, dtype=np.int64)
    nonzero = run > 0
    bits[nonzero] = np.floor(np.log2(run[nonzero])).astype(np.int64) + 1
    return np.minimum(bits, RUN_VALUES - 1)


def sequence_lookback(meter: MeterMap, steps_per_quarter: int, ids, first_step: int):
    """(L, 5) int64 lookback fields fed beside the tokens ids (L,) of a melody sequence whose
    token t sounds at step first_step + t: row t holds the fields of target step
    first_step + t + 1 (composer.music.conditioning's alignment)."""
    ids = np.asarray(ids, dtype=np.int64)
    length = len(ids)
    own = first_step + np.arange(length)  # each token's step
    targets = own + 1
    lines = bar_lines(meter, steps_per_quarter, int(targets[-1]) if length else first_step)

    def token_at(steps):
        return np.where(steps >= 0, ids[np.clip(steps - first_step, 0, max(length - 1, 0))],
                        NOTHING)

    columns = []
    for _, kind, k in HISTORY:
        if kind == "back":
            columns.append(token_at(back_steps(lines, targets, k, first_step)))
        else:
            back = back_steps(lines, own, k, first_step)
            repeats = (back >= 0) & (ids == token_at(back))  # token u equals its back(u, k)
            columns.append(run_field(_runs_ending_at(repeats)))
    return np.stack(columns, axis=1) if length else np.zeros((0, len(HISTORY)), np.int64)


def _runs_ending_at(flags: np.ndarray) -> np.ndarray:
    """(L,) for each u, how many flags in a row are True ending at u (0 if flags[u] is False)."""
    index = np.arange(len(flags))
    last_false = np.maximum.accumulate(np.where(flags, -1, index))
    return index - last_false


class LookbackState:
    """The lookback fields of K sequences drawn a token at a time (sampling).

    All K sequences start at step `first_step` and advance one step per token (the melody
    encoding); `capacity` tokens are planned for (more make room as they come).
    `fields()` gives the (K, F) fields of the next step, `push(ids)` records the K tokens
    drawn for it; `tokens[:, :length]` holds what was drawn so far.
    """

    def __init__(self, meter: MeterMap, steps_per_quarter: int, num: int, first_step: int,
                 capacity: int):
        self.meter, self.steps_per_quarter = meter, steps_per_quarter
        self.first_step, self.length = first_step, 0
        self.fields_ = HISTORY
        self.tokens = np.full((num, 0), NOTHING, dtype=np.int64)  # (K, capacity)
        self.runs = np.zeros((num, len(HISTORY)), dtype=np.int64)  # used by the run fields
        self._make_room(max(capacity, 1))

    def _make_room(self, capacity: int) -> None:
        """Room for `capacity` tokens: the buffer, and for each step up to it (capacity + 1,
        fields) the token index of its back(step, k), -1 for none."""
        more = capacity - self.tokens.shape[1]
        self.tokens = np.pad(self.tokens, ((0, 0), (0, more)), constant_values=NOTHING)
        lines = bar_lines(self.meter, self.steps_per_quarter, self.first_step + capacity + 1)
        steps = self.first_step + np.arange(capacity + 1)
        self.back = np.stack([back_steps(lines, steps, k, self.first_step) - self.first_step
                              for _, _, k in self.fields_], axis=1)
        self.back[self.back < 0] = -1

    def _tokens_back(self, index: int, j: int) -> np.ndarray:
        """(K,) the tokens at back(step of token `index`) of field j, NOTHING where none."""
        source = self.back[index, j]
        return self.tokens[:, source] if source >= 0 else np.full(len(self.tokens), NOTHING)

    def fields(self) -> np.ndarray:
        """(K, F) int64 history fields of the next step (first_step + length)."""
        return np.stack([self._tokens_back(self.length, j) if kind == "back"
                         else run_field(self.runs[:, j])
                         for j, (_, kind, _) in enumerate(self.fields_)], axis=1)

    def push(self, ids: np.ndarray) -> None:
        """Record the K tokens drawn for the next step, and update the runs."""
        if self.length + 1 >= self.tokens.shape[1]:
            self._make_room(2 * self.tokens.shape[1])
        for j, (_, kind, _) in enumerate(self.fields_):
            if kind == "run":
                same = ids == self._tokens_back(self.length, j)  # NOTHING equals no token
                self.runs[:, j] = np.where(same, self.runs[:, j] + 1, 0)
        self.tokens[:, self.length] = ids
        self.length += 1
