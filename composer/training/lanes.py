"""The lanes of the global batch, shared among the ranks, and each lane's random draws.

A training step works on the global batch of N lanes (--batch-size) whatever the number
of ranks: rank r of R owns the lanes [N r / R, N (r + 1) / R), carries their LSTM state
and computes their gradients, which a sum over the ranks joins. So that 1, 2 or 4 ranks
train the same weights (up to the rounding of that sum), nothing random may depend on
which rank holds a lane: the windows, their transpositions and chord dropout are drawn
for the whole epoch (composer.data), and the dropout masks of a step come from a
stream keyed by (seed, step, layer) in which lane n's draws have a place of their own
(`LaneUniforms`): a rank jumps to its first lane's place and draws only its lanes.
"""

from __future__ import annotations

import numpy as np

DROPOUT_STREAM = 0xD50  # mixed into the key of the dropout draws


def lane_share(lanes: int, rank: int, size: int) -> slice:
    """The lanes of the global batch that `rank` of `size` owns (contiguous, balanced)."""
    return slice(lanes * rank // size, lanes * (rank + 1) // size)


class LaneUniforms:
    """Uniform [0, 1) float32 draws for the lanes `share` of a global batch of `lanes`, one
    array (T, n, H) per call, the calls being the model's layers in order. It stands in for
    the numpy Generator that composer.nn.model.forward's dropout draws from.

    The stream of (seed, step, layer) is PCG64 keyed by those numbers; lane g's T * H draws
    start at its own offset (rounded up to whole 64-bit outputs, two float32 each), so a
    rank draws exactly the values the whole batch would have at its lanes.
    """

    def __init__(self, seed: int, step: int, share: slice, lanes: int):
        self.seed, self.step, self.share, self.lanes = seed, step, share, lanes
        self.layer = 0

    def random(self, shape, dtype=np.float32) -> np.ndarray:
        T, n, H = shape
        if n != self.share.stop - self.share.start or np.dtype(dtype) != np.float32:
            raise ValueError(f"draws for {n} lanes of float32, not {shape} of {dtype}")
        words = (T * H + 1) // 2  # 64-bit outputs per lane
        key = np.random.SeedSequence([self.seed, DROPOUT_STREAM, self.step, self.layer])
        self.layer += 1
        source = np.random.PCG64(key)
        source.advance(self.share.start * words)
        draws = np.random.Generator(source).random((n, 2 * words), dtype=np.float32)
        lane_major = draws[:, : T * H].reshape(n, T, H)
        return np.ascontiguousarray(lane_major.transpose(1, 0, 2))  # (T, n, H)
