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

    @property
    def max_voices(self) -> int:
        """The most notes that sounded at once anywhere in the corpus (at least 1)."""
        return max([k for k, steps in self.sounding_steps.items() if steps > 0], default=1)

    def max_note_steps(self, share: float = NOTE_CAP_SHARE) -> int:
        """The shortest length (steps) that at least `share` of the notes do not exceed;
        never below one beat."""
        if not self.length_counts:
            return 4 * self.steps_per_quarter  # no notes measured: one bar of 4/4
        lengths = np.array(sorted(self.length_counts))
        counts = np.array([self.length_counts[k] for k in lengths], dtype=np.float64)
        covered = np.cumsum(counts) / counts.sum()
        cap = int(lengths[np.searchsorted(covered, share - 1e-12)])
        return max(cap, self.steps_per_quarter)


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
