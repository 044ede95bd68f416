"""Training windows for truncated backpropagation through time, built a batch at a time.

Sequences of token ids are cut into windows of T transitions and laid out in N
lanes, so that a batch is one window from each lane, every sequence starts a
window (where the training loop resets that lane's LSTM state), and the state
is carried from window to window within a sequence.

An epoch's sequences are (piece, shift) pairs: a piece of the token store moved
by a number of semitones, in a shuffled order. Nothing but that order is kept (4
bytes per pair): the lanes are walked window by window, and a batch's windows are
cut from the store and transposed when the batch is asked for
(`EpochWindows.batch`), so memory does not grow with the number of shifts.

Conditioning features are added there too: the `features` hook receives each
Batch (store rows, shifts and token positions of its windows) and returns
per-step arrays (N, T+1, F), which it can compute from the store's per-piece
metadata (TokenStore.metadata) and move with the batch's shifts.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from composer.errors import DataError


@dataclass
class Batch:
    """One window per lane. ids: (N, T+1) int32, inputs [:, :-1] and targets [:, 1:];
    mask: (N, T) float32, 1 where the target is real music, 0 on padding; starts: (N,)
    bool, True where a window opens a sequence (that lane's state is reset)."""

    ids: np.ndarray
    mask: np.ndarray
    starts: np.ndarray
    rows: np.ndarray  # (N,) int64 store row of each lane's piece, -1 on an idle lane
    shifts: np.ndarray  # (N,) int64 semitones the piece is moved by
    positions: np.ndarray  # (N,) int64 index in the piece of the window's first token
    targets: int = 0  # real targets (mask 1) in the whole batch, all lanes of every rank
    features: dict[str, np.ndarray] = field(default_factory=dict)  # from the features hook


FeatureHook = Callable[[Batch], dict[str, np.ndarray]]


def positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def lane_count(windows: list[int], N: int) -> int:
    """K, the windows per lane, when sequences of `windows` windows each go, in order, to
    the lane with the fewest windows so far (ties: the lowest lane).

    The heap holds load * N + lane, so its smallest entry is the least loaded lane and,
    among equal loads, the lowest one.
    """
    heap = list(range(N))  # load 0 in every lane
    for count in windows:
        heapq.heapreplace(heap, heap[0] + count * N)
    return max(heap) // N


class _Walk:
    """Where the walk through an epoch stands at window k: per lane, the sequence it plays
    (-1: idle) and that sequence's window number; the next sequence to hand out."""

    def __init__(self, windows: np.ndarray, N: int):
        self.windows = windows  # (S,) windows of each sequence
        count = min(N, windows.size)
        self.item = np.full(N, -1, dtype=np.int64)
        self.item[:count] = np.arange(count)  # at window 0, lane n takes sequence n
        self.window = np.zeros(N, dtype=np.int64)
        self.next, self.k = count, 0

    def advance(self) -> None:
        """To window k + 1: lanes whose sequence ends take the next ones, lowest lane first.

        That is lane_count's greedy rule: a lane's load is the window where it frees up, so
        the least loaded lanes are the ones freeing up now, taken in lane order.
        """
        busy = self.item >= 0
        self.window[busy] += 1
        ended = np.flatnonzero(busy & (self.window >= self.windows[np.maximum(self.item, 0)]))
        given = min(ended.size, self.windows.size - self.next)
        self.item[ended] = -1
        self.item[ended[:given]] = np.arange(self.next, self.next + given)
        self.window[ended] = 0
        self.next += given
        self.k += 1


class EpochWindows:
    """One epoch's windows over (piece, shift) sequences, cut from the store on demand.

    tokens, offsets: the store (piece r is tokens[offsets[r]:offsets[r+1]]); rows (P,):
    the store rows of the pieces; sequences (S,): sequence j is piece j % P moved through
    tables[j // P] ((shifts, V) maps of token ids; `shifts`: their semitones), in the order
    given. Sequences of fewer than 2 tokens are left out; N shrinks to the number of
    sequences when there are fewer; DataError when none is left. Each sequence of L tokens
    takes ceil((L - 1) / T) windows, consecutive windows overlapping by one token so no
    transition is lost, the last one padded (token 0, mask 0).
    """

    def __init__(self, tokens, offsets, rows, sequences, tables, shifts, batch_size: int,
                 seq_len: int, features: FeatureHook | None = None):
        self.T, N = positive_int("seq_len", seq_len), positive_int("batch_size", batch_size)
        self.tokens, self.offsets, self.tables, self.features = tokens, offsets, tables, features
        self.rows, self.shifts = np.asarray(rows, dtype=np.int64), np.asarray(shifts, np.int64)
        lengths = self._lengths(np.asarray(sequences))
        self.sequences = np.asarray(sequences)[lengths > 1]  # (S,) what the walk hands out
        if not self.sequences.size:
            raise DataError("too little music for one window: no piece has two tokens")
        self.N = min(N, self.sequences.size)
        self.K = lane_count(self._windows(self.sequences).tolist(), self.N)
        self._walk: _Walk | None = None

    def __len__(self) -> int:
        return self.K

    @property
    def nbytes(self) -> int:
        """Bytes this epoch keeps beside the store: the order of its sequences."""
        return self.sequences.nbytes

    def _lengths(self, sequences: np.ndarray) -> np.ndarray:
        if not len(self.rows):
            return np.zeros(sequences.size, dtype=np.int64)
        rows = self.rows[sequences % len(self.rows)]
        return self.offsets[rows + 1] - self.offsets[rows]

    def _windows(self, sequences: np.ndarray) -> np.ndarray:
        return (self._lengths(sequences) - 1 + self.T - 1) // self.T  # ceil((L - 1) / T)

    def batch(self, k: int, lanes: slice = slice(None)) -> Batch:
        """Batch k: each lane's window k (a sequence's window, or padding). With `lanes`,
        only those lanes of it (a rank's share of the global batch); its `targets` still
        counts the real targets of all N lanes."""
        walk = self._walk_to(k)
        busy = walk.item >= 0
        j = np.where(busy, self.sequences[np.maximum(walk.item, 0)], 0)  # (N,) sequences
        P = len(self.rows)
        rows = np.where(busy, self.rows[j % P], -1)
        position = walk.window * self.T
        start = self.offsets[np.maximum(rows, 0)] + position  # (N,) first token
        available = np.where(busy, self.offsets[np.maximum(rows, 0) + 1] - start, 0)
        targets = int(np.clip(available - 1, 0, self.T).sum())
        busy, j, rows, position, start, available = (
            a[lanes] for a in (busy, j, rows, position, start, available))
        shift_index = j // P
        steps = np.arange(self.T + 1)
        real = steps[None, :] < available[:, None]  # (N, T+1)
        raw = self.tokens[np.where(real, start[:, None] + steps[None, :], 0)]
        ids = self.tables[shift_index[:, None], raw].astype(np.int32)
        ids[~real] = 0
        batch = Batch(ids, real[:, 1:].astype(np.float32), busy & (walk.window[lanes] == 0),
                      rows, np.where(busy, self.shifts[shift_index], 0),
                      np.where(busy, position, 0), targets)
        if self.features is not None:
            batch.features = self.features(batch)
        return batch

    def _walk_to(self, k: int) -> _Walk:
        """The walk at window k: continued when k is ahead, replayed from 0 otherwise (a
        resumed run starts mid-epoch)."""
        if not 0 <= k < self.K:
            raise IndexError(f"window {k} of an epoch of {self.K}")
        if self._walk is None or self._walk.k > k:
            self._walk = _Walk(self._windows(self.sequences), self.N)
        while self._walk.k < k:
            self._walk.advance()
        return self._walk


@dataclass
class Windows:
    """All windows of an epoch at once: ids (K, N, T+1), mask (K, N, T), starts (K, N)."""

    ids: np.ndarray
    mask: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def piece_windows(sequences: Sequence[np.ndarray], batch_size: int, seq_len: int) -> Windows:
    """Every window of `sequences` (untransposed, in order), materialised: for tests and
    small corpora; the same windows, in the same lanes, as EpochWindows."""
    pieces = [np.asarray(s, dtype=np.int64) for s in sequences]
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([p.size for p in pieces])
    tokens = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
    identity = np.arange(int(tokens.max()) + 1 if tokens.size else 1)[None, :]  # (1, V)
    epoch = EpochWindows(tokens, offsets, np.arange(len(pieces)), np.arange(len(pieces)),
                         identity, [0], batch_size, seq_len)
    batches = [epoch.batch(k) for k in range(len(epoch))]
    return Windows(np.stack([b.ids for b in batches]), np.stack([b.mask for b in batches]),
                   np.stack([b.starts for b in batches]))
