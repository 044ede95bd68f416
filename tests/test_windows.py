"""Training windows: piece-aligned, padded, every transition exactly once."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.data.windows import piece_windows
from composer.errors import DataError


def test_windows_by_hand():
    # piece A = 0..6 (6 transitions), piece B = 10..13 (3 transitions), T = 3, N = 2
    w = piece_windows([np.arange(0, 7), np.arange(10, 14)], batch_size=2, seq_len=3)
    assert w.ids.dtype == np.int32 and w.ids.shape == (2, 2, 4) and len(w) == 2
    assert w.ids[:, 0].tolist() == [[0, 1, 2, 3], [3, 4, 5, 6]]  # A fills lane 0
    assert w.ids[:, 1].tolist() == [[10, 11, 12, 13], [0, 0, 0, 0]]  # B, then padding
    assert w.mask[:, 1].tolist() == [[1, 1, 1], [0, 0, 0]]
    assert w.starts.tolist() == [[True, True], [False, False]]


def test_windows_pad_the_last_window_of_a_piece_and_reset_at_the_next():
    w = piece_windows([np.arange(1, 6), np.arange(20, 23)], batch_size=1, seq_len=3)
    # lane 0: piece 1..5 (4 transitions: 2 windows), then 20..22 (2 transitions: 1 window)
    assert w.ids[:, 0].tolist() == [[1, 2, 3, 4], [4, 5, 0, 0], [20, 21, 22, 0]]
    assert w.mask[:, 0].tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    assert w.starts[:, 0].tolist() == [True, False, True]


def test_windows_shrink_the_batch_and_skip_pieces_without_transitions():
    w = piece_windows([np.arange(5), np.array([7]), np.arange(3)], batch_size=8, seq_len=4)
    assert w.ids.shape == (1, 2, 5)  # two usable pieces, two lanes
    with pytest.raises(DataError, match="no piece has two tokens"):
        piece_windows([np.array([1]), np.array([], dtype=np.int32)], batch_size=2, seq_len=7)


@pytest.mark.parametrize("batch_size, seq_len", [(0, 4), (2, 0), (2.0, 4), (True, 4)])
def test_windows_reject_bad_sizes(batch_size, seq_len):
    with pytest.raises(ValueError, match="must be a positive integer"):
        piece_windows([np.arange(50)], batch_size, seq_len)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=8), st.integers(1, 6),
       st.integers(1, 9))
def test_windows_keep_every_transition_exactly_once(lengths, batch_size, seq_len):
    offsets = np.cumsum([0] + lengths)
    pieces = [np.arange(a, b) + 1000 * k for k, (a, b) in enumerate(zip(offsets, offsets[1:],
                                                                      strict=False))]
    usable = [p for p in pieces if len(p) > 1]
    if not usable:
        with pytest.raises(DataError):
            piece_windows(pieces, batch_size, seq_len)
        return
    w = piece_windows(pieces, batch_size, seq_len)
    real = w.mask.astype(bool)
    pairs = sorted(zip(w.ids[..., :-1][real].tolist(), w.ids[..., 1:][real].tolist(),
                       strict=True))
    expected = sorted((int(a), int(b)) for p in usable for a, b in zip(p, p[1:], strict=False))
    assert pairs == expected  # every transition once, and nothing across pieces
    assert w.starts.sum() == len(usable)
    assert w.ids.shape[1] == min(batch_size, len(usable))




def reference_windows(sequences, batch_size, seq_len):
    """The windows as they were built before the store: every piece's windows materialised,
    each piece to the lane with the fewest windows so far (ties: the lowest lane)."""
    T = seq_len
    pieces = [np.asarray(s) for s in sequences if len(s) > 1]
    lanes = [[] for _ in range(min(batch_size, len(pieces)))]
    lengths = [0] * len(lanes)
    for piece in pieces:
        count = -(-(len(piece) - 1) // T)
        padded = np.zeros(count * T + 1, dtype=np.int32)
        padded[: len(piece)] = piece
        index = np.arange(count)[:, None] * T + np.arange(T + 1)[None, :]
        lane = lengths.index(min(lengths))
        lanes[lane].append((padded[index], (index[:, 1:] < len(piece)).astype(np.float32)))
        lengths[lane] += count
    K, N = max(lengths), len(lanes)
    ids, mask = np.zeros((K, N, T + 1), np.int32), np.zeros((K, N, T), np.float32)
    starts = np.zeros((K, N), dtype=bool)
    for n, lane in enumerate(lanes):
        k = 0
        for piece_ids, piece_mask in lane:
            ids[k : k + len(piece_ids), n], mask[k : k + len(piece_ids), n] = piece_ids, piece_mask
            starts[k, n] = True
            k += len(piece_ids)
    return ids, mask, starts


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=14), st.integers(1, 6),
       st.integers(1, 9))
def test_windows_walked_lane_by_lane_equal_the_greedy_layout(lengths, batch_size, seq_len):
    pieces = [np.arange(1, n + 1) + 100 * k for k, n in enumerate(lengths)]
    if all(n < 2 for n in lengths):
        return
    w = piece_windows(pieces, batch_size, seq_len)
    ids, mask, starts = reference_windows(pieces, batch_size, seq_len)
    assert np.array_equal(w.ids, ids) and np.array_equal(w.mask, mask)
    assert np.array_equal(w.starts, starts)
