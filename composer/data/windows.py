"""Training windows for truncated backpropagation through time, built a batch at a time.

Sequences of token ids are cut into windows of T transitions and laid out in N
lanes, so that a batch is one window from each lane, every sequence starts a
window (where the training loop resets that lane's LSTM state), and the state
is carried from window to window within a sequence.

An epoch's sequences are (piece, shift) pairs: a piece of the token store moved
by a number of semitones. Only the layout is computed up front (8 bytes per
sequence); a batch's windows are cut from the store and transposed when the batch
is asked for (`EpochWindows.batch`), so memory does not grow with the number of
shifts. Conditioning features are added there too: the `features` hook receives
each Batch (store rows, shifts and token positions of its windows) and returns
per-step arrays, which it can compute from the store's per-piece metadata
(TokenStore.metadata) and move with the batch's shifts.
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
    features: dict[str, np.ndarray] = field(default_factory=dict)  # from the features hook


FeatureHook = Callable[[Batch], dict[str, np.ndarray]]


@dataclass
class Layout:
    """Where each sequence goes: lane n holds sequences[lane_items[bounds[n]:bounds[n+1]]],
    the i-th of them starting at window lane_first[i]. K windows per lane."""

    lane_items: np.ndarray  # (S',) int32 sequence index, grouped by lane
    lane_first: np.ndarray  # (S',) int32 first window of each
    bounds: np.ndarray  # (N + 1,) int64
    K: int

    @property
    def nbytes(self) -> int:
        return self.lane_items.nbytes + self.lane_first.nbytes + self.bounds.nbytes


def lay_out(lengths: np.ndarray, batch_size: int, seq_len: int) -> Layout:
    """Lanes for sequences of `lengths` tokens, in order.

    A sequence of L tokens takes ceil((L - 1) / T) windows, consecutive windows
    overlapping by one token so no transition is lost. Sequences go, in order, to the
    lane with the fewest windows so far (ties: the lowest lane); sequences of fewer
    than 2 tokens are left out; N shrinks to the number of sequences when there are
    fewer; DataError when none is left.
    """
    T, N = positive_int("seq_len", seq_len), positive_int("batch_size", batch_size)
    lengths = np.asarray(lengths, dtype=np.int64)
    usable = np.flatnonzero(lengths > 1)
    if not usable.size:
        raise DataError("too little music for one window: no piece has two tokens")
    N = min(N, usable.size)
    windows = (lengths[usable] - 1 + T - 1) // T  # (S',) ceil((L - 1) / T)
    lane, first = _assign(windows.tolist(), N)
    order = np.argsort(lane, kind="stable")  # by lane, then in sequence order
    bounds = np.searchsorted(lane[order], np.arange(N + 1)).astype(np.int64)
    loads = np.bincount(lane, weights=windows, minlength=N)
    return Layout(usable[order].astype(np.int32), first[order].astype(np.int32), bounds,
                  int(loads.max()))


def _assign(windows: list[int], N: int) -> tuple[np.ndarray, np.ndarray]:
    """(lane, first window) of each sequence: greedy, to the least loaded lane (lowest first).

    The heap holds load * N + lane, so the smallest entry is the least loaded lane and,
    among equal loads, the lowest lane.
    """
    heap = list(range(N))  # load 0 in every lane
    entries = []
    for count in windows:
        entries.append(heap[0])
        heapq.heapreplace(heap, heap[0] + count * N)
    first, lane = np.divmod(np.array(entries, dtype=np.int64), N)
    return lane, first


def positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


class EpochWindows:
    """One epoch's windows over (piece, shift) sequences, cut from the store on demand.

    tokens, offsets: the store (piece r is tokens[offsets[r]:offsets[r+1]]); rows (P,):
    the store rows of the pieces; sequences (S,): sequence j is piece j % P moved by
    shift j // P, i.e. transposed through tables[j // P] ((shifts, V) id maps, shifts:
    their semitones). Sequences are laid out in the order given.
    """

    def __init__(self, tokens, offsets, rows, sequences, tables, shifts, batch_size: int,
                 seq_len: int, features: FeatureHook | None = None):
        self.tokens, self.offsets = tokens, offsets
        self.rows = np.asarray(rows, dtype=np.int64)
        self.sequences = np.asarray(sequences)
        self.tables, self.shifts = tables, np.asarray(shifts, dtype=np.int64)
        self.T, self.features = positive_int("seq_len", seq_len), features
        lengths = np.diff(offsets)[self.rows[self.sequences % max(len(self.rows), 1)]] \
            if self.sequences.size else np.zeros(0, np.int64)
        self.layout = lay_out(lengths, batch_size, seq_len)
        self.sequences = self.sequences[self.layout.lane_items]  # grouped by lane
        self.layout.lane_items = self.layout.lane_items[:0]  # no longer needed

    def __len__(self) -> int:
        return self.layout.K

    @property
    def nbytes(self) -> int:
        """Bytes this epoch adds to the store: the layout and the lane-ordered sequences."""
        return self.layout.nbytes + self.sequences.nbytes

    def batch(self, k: int) -> Batch:
        """Batch k: each lane's window k (a sequence's window, or padding)."""
        item, window = self._lane_windows(k)  # (N,) index into the lane order, -1 if idle
        busy = item >= 0
        j = np.where(busy, self.sequences[np.maximum(item, 0)], 0)
        P = max(len(self.rows), 1)
        rows = np.where(busy, self.rows[j % P] if len(self.rows) else 0, -1)
        shift_index = j // P
        position = window * self.T
        start = self.offsets[np.maximum(rows, 0)] + position  # (N,) first token
        available = np.where(busy, self.offsets[np.maximum(rows, 0) + 1] - start, 0)
        steps = np.arange(self.T + 1)
        real = steps[None, :] < available[:, None]  # (N, T+1)
        raw = self.tokens[np.where(real, start[:, None] + steps[None, :], 0)]
        ids = self.tables[shift_index[:, None], raw].astype(np.int32)
        ids[~real] = 0
        batch = Batch(ids, real[:, 1:].astype(np.float32), busy & (window == 0), rows,
                      np.where(busy, self.shifts[shift_index], 0), np.where(busy, position, 0))
        if self.features is not None:
            batch.features = self.features(batch)
        return batch

    def _lane_windows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(N,) per lane: the index (lane order) of the sequence covering window k, or -1,
        and the window's number within that sequence."""
        bounds, first = self.layout.bounds, self.layout.lane_first
        N = bounds.size - 1
        item = np.full(N, -1, dtype=np.int64)
        window = np.zeros(N, dtype=np.int64)
        for n in range(N):
            lo, hi = int(bounds[n]), int(bounds[n + 1])
            i = lo + int(np.searchsorted(first[lo:hi], k, side="right")) - 1
            if i >= lo and k - int(first[i]) < self._windows_of(i):
                item[n], window[n] = i, k - int(first[i])
        return item, window

    def _windows_of(self, i: int) -> int:
        """Windows of the i-th sequence in lane order."""
        j = int(self.sequences[i])
        row = self.rows[j % len(self.rows)]
        return -(-(int(self.offsets[row + 1] - self.offsets[row]) - 1) // self.T)


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
    small corpora. Same layout as EpochWindows (see lay_out)."""
    pieces = [np.asarray(s, dtype=np.int64) for s in sequences]
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([p.size for p in pieces])
    tokens = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
    vocab = int(tokens.max()) + 1 if tokens.size else 1
    identity = np.arange(vocab, dtype=np.int64)[None, :]  # (1, V): no shift
    epoch = EpochWindows(tokens, offsets, np.arange(len(pieces)), np.arange(len(pieces)),
                         identity, [0], batch_size, seq_len)
    batches = [epoch.batch(k) for k in range(len(epoch))]
    return Windows(np.stack([b.ids for b in batches]), np.stack([b.mask for b in batches]),
                   np.stack([b.starts for b in batches]))
