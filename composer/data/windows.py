"""Training windows for truncated backpropagation through time.

Pieces of token ids are cut into windows of T transitions and laid out in N
lanes, so that a batch is one window from each lane, every piece starts a
window (where the training loop resets that lane's LSTM state), and the state
is carried from window to window within a piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from composer.errors import DataError


@dataclass
class Windows:
    """Training windows for truncated BPTT, aligned so that every piece starts a window.

    ids: (K, N, T+1) int32, inputs [..., :-1] and targets [..., 1:];
    mask: (K, N, T) float32, 1 where the target is real music, 0 on padding;
    starts: (K, N) bool, True where a window opens a new piece: the LSTM state
    of that lane is reset there, and carried from the previous window otherwise.
    """

    ids: np.ndarray
    mask: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def piece_windows(sequences: Sequence[np.ndarray], batch_size: int, seq_len: int) -> Windows:
    """Cut pieces into windows of T transitions, laid out in N lanes.

    Each piece of L tokens gives ceil((L - 1) / T) windows, consecutive windows
    overlapping by one token so no transition is lost; its last window is padded
    (token 0, mask 0). Pieces go, in order, to the lane with the fewest windows so
    far (ties: the lowest lane), and the lanes are padded to the same length K.
    Pieces of fewer than 2 tokens have no transition and are left out; N shrinks
    to the number of pieces when there are fewer; DataError when none is left.
    """
    T = _positive_int("seq_len", seq_len)
    pieces = [np.asarray(s, dtype=np.int32) for s in sequences if len(s) > 1]
    if not pieces:
        raise DataError("too little music for one window: no piece has two tokens")
    lanes = [[] for _ in range(min(_positive_int("batch_size", batch_size), len(pieces)))]
    lengths = [0] * len(lanes)
    for piece in pieces:
        windows = _piece_windows(piece, T)  # (k, T+1), (k, T)
        lane = lengths.index(min(lengths))
        lanes[lane].append(windows)
        lengths[lane] += len(windows[0])
    return _stack_lanes(lanes, max(lengths), T)


def _positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def _piece_windows(piece: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """(k, T+1) windows of one piece and their (k, T) target mask."""
    count = -(-(len(piece) - 1) // T)  # ceil
    padded = np.zeros(count * T + 1, dtype=np.int32)
    padded[: len(piece)] = piece
    index = np.arange(count)[:, None] * T + np.arange(T + 1)[None, :]  # (k, T+1)
    return padded[index], (index[:, 1:] < len(piece)).astype(np.float32)


def _stack_lanes(lanes, K: int, T: int) -> Windows:
    N = len(lanes)
    ids = np.zeros((K, N, T + 1), dtype=np.int32)
    mask = np.zeros((K, N, T), dtype=np.float32)
    starts = np.zeros((K, N), dtype=bool)
    for n, lane in enumerate(lanes):
        k = 0
        for piece_ids, piece_mask in lane:
            ids[k : k + len(piece_ids), n] = piece_ids
            mask[k : k + len(piece_ids), n] = piece_mask
            starts[k, n] = True
            k += len(piece_ids)
    return Windows(ids, mask, starts)
