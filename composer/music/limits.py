"""How long a corpus's notes last and how many sound at once: the defaults of the grammar.

`composer train` measures its training pieces once with `corpus_limits` and saves the
result in the model (`NoteLimits.to_dict`, JSON); `composer sample` derives from it
the longest note it lets a sample hold (`max_note_steps`) and the most notes it lets
sound at once (`max_voices`), unless the user sets them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from composer.errors import DataError
from composer.music.encoding import Encoding
from composer.music.texture import note_lengths, sounding_time

LIMIT_PIECES = 2_000  # corpus_limits measures at most this many pieces (the first ones)
NOTE_CAP_SHARE = 0.999  # the default cap covers this share of the corpus's notes


@dataclass(frozen=True)
class NoteLimits:
    """A corpus's note lengths and polyphony, in grid steps of its encoding."""

    steps_per_quarter: int
    length_counts: dict[int, int]  # note length in steps -> number of notes
    sounding_steps: dict[int, int]  # k -> grid steps during which exactly k notes sound

    def to_dict(self) -> dict:
        """JSON-able form (keys become strings)."""
        return {"steps_per_quarter": self.steps_per_quarter,
                "length_counts": {str(k): v for k, v in sorted(self.length_counts.items())},
                "sounding_steps": {str(k): v for k, v in sorted(self.sounding_steps.items())}}

    @classmethod
    def from_dict(cls, data: dict) -> NoteLimits:
        """Inverse of to_dict; DataError if anything is missing or not a count."""
        try:
            lengths = {int(k): int(v) for k, v in data["length_counts"].items()}
            sounding = {int(k): int(v) for k, v in data["sounding_steps"].items()}
            return cls(int(data["steps_per_quarter"]), lengths, sounding)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise DataError(f"bad note limits in the model: {error!r}") from error

    def max_voices(self, share: float = NOTE_CAP_SHARE) -> int:
        """The fewest notes sounding at once that the corpus did not exceed for at least
        `share` of its time (so a rare overlap left by quantising is no precedent); >= 1."""
        return max(_quantile(self.sounding_steps, share, default=1), 1)

    def max_note_steps(self, share: float = NOTE_CAP_SHARE) -> int:
        """The shortest length (steps) that at least `share` of the notes do not exceed;
        never below one beat (and one bar of 4/4 when no note was measured)."""
        cap = _quantile(self.length_counts, share, default=4 * self.steps_per_quarter)
        return max(cap, self.steps_per_quarter)


def _quantile(counts: dict[int, int], share: float, default: int) -> int:
    """The smallest key whose cumulative count reaches `share` of the total."""
    if not counts or sum(counts.values()) <= 0:
        return default
    keys = np.array(sorted(counts))
    cumulative = np.cumsum([counts[k] for k in keys], dtype=np.float64)
    return int(keys[np.searchsorted(cumulative / cumulative[-1], share - 1e-12)])


def corpus_limits(encoding: Encoding, sequences: Sequence[np.ndarray]) -> NoteLimits:
    """Note lengths and polyphony of up to LIMIT_PIECES token sequences, decoded."""
    spq = encoding.steps_per_quarter
    lengths: dict[int, int] = {}
    sounding = np.zeros(0, dtype=np.int64)
    for ids in sequences[:LIMIT_PIECES]:
        notes = encoding.decode(ids)
        steps = np.rint(note_lengths(notes) * spq).astype(np.int64)
        for length, count in zip(*np.unique(steps, return_counts=True), strict=True):
            lengths[int(length)] = lengths.get(int(length), 0) + int(count)
        time = np.rint(sounding_time(notes) * spq).astype(np.int64)
        sounding = _add(sounding, time)
    return NoteLimits(spq, lengths, {k: int(v) for k, v in enumerate(sounding) if v})


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum of two 1-D count arrays of different lengths."""
    out = np.zeros(max(a.size, b.size), dtype=np.int64)
    out[: a.size] += a
    out[: b.size] += b
    return out
