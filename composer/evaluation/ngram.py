"""Interpolated Kneser-Ney n-gram models: the baseline the LSTM has to beat.

A model of order n predicts token w from the n-1 tokens h before it. Each piece is padded on
the left with n-1 BOS symbols (id V, outside the vocabulary), so the start of a piece has
contexts of its own and no n-gram crosses from one piece into the next.

The recursion (Chen & Goodman 1998, interpolated Kneser-Ney), for m = n, n-1, ..., 1, where h'
is h without its oldest symbol:

    P_m(w | h) = max(c_m(h w) - D_m, 0) / c_m(h)  +  gamma_m(h) * P_{m-1}(w | h')
    gamma_m(h) = D_m * N1+(h .) / c_m(h)
    P_m(w | h) = P_{m-1}(w | h')              when c_m(h) = 0 (context never seen)
    P_0(w)     = 1 / V

    c_n(h w)   = how often h w occurs (raw counts, top order only)
    c_m(h w)   = N1+(. h w), the number of distinct symbols seen before h w (m < n),
                 except raw counts for m-grams starting with BOS (their only left neighbour)
    c_m(h)     = sum over w of c_m(h w)
    N1+(h .)   = the number of distinct w with c_m(h w) > 0

Since every count is >= 1 and 0 <= D_m <= 1, each P_m(. | h) sums to 1; with D_m > 0 every
token keeps some mass from the uniform P_0.

Implementation: an m-gram (s_1 .. s_m) is the int64 key sum_i s_i * B**(m - i) with base
B = V + 1. The m-grams of one order are kept sorted, so those sharing a context h form one
contiguous run; counting is np.unique on keys and look-ups are np.searchsorted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from composer.evaluation.metrics import ScoreAccumulator, Scores

MAX_ORDER = 5  # highest n-gram order: 4 tokens of context
DISCOUNT_RANGE = (0.1, 0.95)  # estimated discounts D = n1 / (n1 + 2 n2) are clipped into this
BLOCK_STEPS = 4096  # steps per dense (steps, V) block when scoring, to bound memory
HOLDOUT_FRACTION = 0.1  # share of the training pieces held out to choose the order


@dataclass(frozen=True)
class _Level:
    """The counts of one order m: m-grams h w and their contexts h (m - 1 symbols)."""

    gram_keys: np.ndarray  # (G,) int64, sorted: key(h) * B + w
    gram_counts: np.ndarray  # (G,) float64: c_m(h w), raw at the top order, continuation below
    ctx_keys: np.ndarray  # (C,) int64, sorted: key(h)
    ctx_start: np.ndarray  # (C,) int64: index in gram_keys of the first m-gram with context h
    ctx_types: np.ndarray  # (C,) int64: N1+(h .), the length of that run
    ctx_total: np.ndarray  # (C,) float64: c_m(h)
    discount: float  # D_m


class KneserNey:
    """An interpolated Kneser-Ney model of a given order over token ids 0..V-1."""

    def __init__(self, order: int, vocab_size: int, discount=None):
        """`discount`: None (estimate each D_m from the counts), one float for every order,
        or a sequence of `order` floats, D_1 first; each in [0, 1]."""
        self.order = _check_int("order", order, 1, MAX_ORDER)
        self.vocab_size = _check_int("vocab_size", vocab_size, 1, None)
        self.base = self.vocab_size + 1  # B: token ids 0..V-1 plus BOS = V
        if self.base**self.order >= 2**62:
            raise ValueError(f"vocab_size {vocab_size} is too large for order {order} keys")
        self.bos = self.vocab_size
        self.discount = _check_discount(discount, self.order)  # (order,) or None
        self.levels: list[_Level] = []  # levels[m - 1] holds order m
        self.unigram: np.ndarray | None = None  # (V,) P_1, the same for every step

    # --- Fitting ------------------------------------------------------------

    def fit(self, sequences) -> KneserNey:
        """Count the n-grams of every order in `sequences` (1-D integer arrays)."""
        pieces = _check_sequences(sequences, self.vocab_size)
        padded = self._pad(pieces)  # (P,) all pieces, each after order-1 BOS
        real = np.flatnonzero(padded != self.bos)  # positions of the tokens
        top = _window_keys(padded, self.order, self.base)[real - self.order + 1]
        keys, counts = np.unique(top, return_counts=True)
        levels = [(keys, counts)]
        for m in range(self.order - 1, 0, -1):
            keys, counts = self._lower_counts(keys, counts, m)
            levels.append((keys, counts))
        levels.reverse()
        self.levels = [
            self._make_level(keys, counts, m) for m, (keys, counts) in enumerate(levels, 1)
        ]
        unigram = np.full((1, self.vocab_size), 1.0 / self.vocab_size)  # P_0
        self._interpolate(unigram, self.levels[0], np.zeros(1, np.int64))  # the empty context
        self.unigram = unigram[0]
        return self

    @property
    def discounts(self) -> list[float]:
        """The discounts D_1..D_n in use (estimated or given); empty before `fit`."""
        return [level.discount for level in self.levels]

    def _pad(self, pieces: list[np.ndarray]) -> np.ndarray:
        """All pieces in one int64 array, each preceded by order-1 BOS symbols."""
        bos = np.full(self.order - 1, self.bos, np.int64)
        return np.concatenate([np.zeros(0, np.int64)] + [x for p in pieces for x in (bos, p)])

    def _lower_counts(self, keys: np.ndarray, counts: np.ndarray, m: int):
        """The m-gram keys and counts c_m from the (m+1)-gram keys and counts."""
        # Each distinct (m+1)-gram, cut to its last m symbols, stands for one distinct left
        # neighbour of that m-gram, so counting them gives N1+(. h w). An m-gram that starts
        # with BOS has BOS as its only left neighbour; it keeps its raw count instead (as
        # KenLM does), which its one (m+1)-gram carries.
        suffixes = keys % self.base**m
        starts_with_bos = suffixes // self.base ** (m - 1) == self.bos
        keys, inverse = np.unique(suffixes, return_inverse=True)
        weights = np.where(starts_with_bos, counts, 1)
        return keys, np.bincount(inverse, weights=weights, minlength=keys.size)

    def _make_level(self, keys: np.ndarray, counts: np.ndarray, m: int) -> _Level:
        """Group the sorted m-gram keys by context and pick the discount D_m."""
        contexts = keys // self.base  # sorted, since keys are
        starts = np.flatnonzero(np.r_[True, contexts[1:] != contexts[:-1]]) if keys.size else keys
        counts = counts.astype(np.float64)
        if self.discount is None:
            discount = estimate_discount(counts)
        else:
            discount = float(self.discount[m - 1])
        return _Level(
            gram_keys=keys,
            gram_counts=counts,
            ctx_keys=contexts[starts],
            ctx_start=starts,
            ctx_types=np.diff(np.r_[starts, keys.size]),
            ctx_total=np.add.reduceat(counts, starts) if keys.size else counts,
            discount=discount,
        )

    # --- Prediction ---------------------------------------------------------

    def distributions(self, sequence) -> np.ndarray:
        """(T-1, V): the distribution of token t given tokens 0..t-1, for t = 1..T-1."""
        (piece,) = _check_sequences([sequence], self.vocab_size)
        return np.concatenate(
            [np.zeros((0, self.vocab_size))] + [dist for dist, _ in self._blocks(piece)]
        )

    def score(self, sequences, event_mask: np.ndarray) -> Scores:
        """Scores of the steps t >= 1 of every piece; `event_mask`: bool (V,)."""
        accumulator = ScoreAccumulator(event_mask)
        for piece in _check_sequences(sequences, self.vocab_size):
            for dist, targets in self._blocks(piece):
                rows = np.arange(len(targets))
                logprob = np.log(dist[rows, targets])  # (steps,)
                accumulator.add(logprob, dist.argmax(axis=1), targets)
        return accumulator.result()

    def _blocks(self, piece: np.ndarray):
        """Yield (distributions (steps, V), targets (steps,)) for blocks of a piece's steps."""
        if self.unigram is None:
            raise RuntimeError("fit the KneserNey model before asking for predictions")
        padded = np.concatenate([np.full(self.order - 1, self.bos, np.int64), piece])
        # windows[k][s]: key of padded[s:s+k], the context of length k ending before s + k.
        windows = [_window_keys(padded, k, self.base) for k in range(self.order)]
        targets_at = np.arange(self.order, len(padded))  # padded positions of tokens 1..T-1
        for start in range(0, len(targets_at), BLOCK_STEPS):
            at = targets_at[start : start + BLOCK_STEPS]  # (steps,)
            dist = np.tile(self.unigram, (len(at), 1))  # (steps, V) P_1
            for m in range(2, self.order + 1):
                self._interpolate(dist, self.levels[m - 1], windows[m - 1][at - m + 1])
            yield dist, padded[at]

    def _interpolate(self, dist: np.ndarray, level: _Level, contexts: np.ndarray) -> None:
        """Turn dist (steps, V) = P_{m-1} into P_m in place, given each step's context key."""
        assert dist.flags.c_contiguous  # dist.ravel() below must be a view
        if not level.ctx_keys.size:
            return
        index = np.searchsorted(level.ctx_keys, contexts)  # (steps,)
        index = np.minimum(index, level.ctx_keys.size - 1)
        rows = np.flatnonzero(level.ctx_keys[index] == contexts)  # steps with a seen context
        index = index[rows]
        types, total = level.ctx_types[index], level.ctx_total[index]
        gamma = np.ones(len(contexts))  # (steps,) 1 for unseen contexts: P_m = P_{m-1}
        gamma[rows] = level.discount * types / total
        dist *= gamma[:, None]  # gamma_m(h) P_{m-1}(w | h')
        # Add max(c(h w) - D, 0) / c(h) for every w seen after h: the runs of m-grams.
        run_offsets = np.cumsum(types) - types
        grams = np.arange(types.sum()) + np.repeat(level.ctx_start[index] - run_offsets, types)
        words = level.gram_keys[grams] % self.base
        flat = np.repeat(rows * self.vocab_size, types) + words  # index into dist.ravel()
        excess = np.maximum(level.gram_counts[grams] - level.discount, 0.0)
        dist.ravel()[flat] += excess / np.repeat(total, types)


def estimate_discount(counts: np.ndarray) -> float:
    """D = n1 / (n1 + 2 n2) from the counts of counts, clipped into DISCOUNT_RANGE."""
    n1, n2 = np.count_nonzero(counts == 1), np.count_nonzero(counts == 2)
    low, high = DISCOUNT_RANGE
    if n1 + 2 * n2 == 0:
        return low  # no rare m-grams at all: discount little
    return float(np.clip(n1 / (n1 + 2 * n2), low, high))


# --- Choosing the order -----------------------------------------------------------


def holdout_nlls(
    train_sequences,
    vocab_size: int,
    orders: Iterable[int] = range(1, MAX_ORDER + 1),
    holdout_fraction: float = HOLDOUT_FRACTION,
    seed: int = 0,
) -> dict[int, float]:
    """NLL per step (nats) of each order, fitted on part of the pieces, scored on the rest."""
    pieces = _check_sequences(train_sequences, vocab_size)
    fit_part, held_out = split_pieces(pieces, holdout_fraction, seed)
    if sum(max(len(p) - 1, 0) for p in held_out) == 0:
        raise ValueError("the held-out pieces have no steps to score; add longer pieces")
    no_events = np.zeros(vocab_size, bool)
    return {
        order: KneserNey(order, vocab_size).fit(fit_part).score(held_out, no_events).nll
        for order in orders
    }


def choose_order(
    train_sequences,
    vocab_size: int,
    orders: Iterable[int] = range(1, MAX_ORDER + 1),
    holdout_fraction: float = HOLDOUT_FRACTION,
    seed: int = 0,
) -> int:
    """The order with the lowest held-out NLL (the lowest such order on a tie)."""
    orders = list(orders)
    if not orders:
        raise ValueError("orders is empty; give at least one order to choose from")
    if len(orders) == 1:
        return _check_int("order", orders[0], 1, MAX_ORDER)
    nlls = holdout_nlls(train_sequences, vocab_size, orders, holdout_fraction, seed)
    return min(orders, key=lambda order: (nlls[order], order))


def fit_baseline(
    train_sequences,
    vocab_size: int,
    orders: Iterable[int] = range(1, MAX_ORDER + 1),
    seed: int = 0,
) -> KneserNey:
    """A KneserNey model of the order `choose_order` picks, refitted on every piece."""
    pieces = _check_sequences(train_sequences, vocab_size)
    order = choose_order(pieces, vocab_size, orders, seed=seed)
    return KneserNey(order, vocab_size).fit(pieces)


def split_pieces(
    pieces: Sequence[np.ndarray], holdout_fraction: float, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(kept, held out): a deterministic shuffle by piece; at least one piece on each side."""
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    if len(pieces) < 2:
        raise ValueError(f"need at least 2 pieces to hold some out, got {len(pieces)}")
    held = min(max(round(holdout_fraction * len(pieces)), 1), len(pieces) - 1)
    order = np.random.default_rng(seed).permutation(len(pieces))
    held_set = set(order[:held].tolist())
    kept = [p for i, p in enumerate(pieces) if i not in held_set]
    return kept, [p for i, p in enumerate(pieces) if i in held_set]


# --- Helpers ---------------------------------------------------------------------


def _window_keys(padded: np.ndarray, length: int, base: int) -> np.ndarray:
    """(len(padded) - length + 1,) int64: the key of every window padded[s : s + length]."""
    count = max(len(padded) - length + 1, 0)
    keys = np.zeros(count, np.int64)
    for j in range(length):
        keys = keys * base + padded[j : j + count]
    return keys


def _check_int(name: str, value, low: int, high: int | None) -> int:
    """`value` as an int in low..high (high None: no upper bound)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        allowed = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be in {allowed}, got {value}")
    return int(value)


def _check_discount(discount, order: int) -> np.ndarray | None:
    """None, or (order,) float64 discounts D_1..D_n, each in [0, 1]."""
    if discount is None:
        return None
    values = np.asarray(discount, dtype=np.float64)
    values = np.full(order, float(values)) if values.ndim == 0 else values
    if values.shape != (order,):
        raise ValueError(f"discount must be one float or {order} floats, got {discount!r}")
    if not np.all((values >= 0.0) & (values <= 1.0)):
        raise ValueError(f"each discount must be in [0, 1], got {discount!r}")
    return values


def _check_sequences(sequences, vocab_size: int) -> list[np.ndarray]:
    """Each sequence as a 1-D int64 array of token ids in 0..V-1."""
    if isinstance(sequences, np.ndarray) and sequences.ndim == 1:
        raise TypeError("sequences must be a list of 1-D token arrays, not a single array")
    pieces = []
    for i, sequence in enumerate(sequences):
        array = np.asarray(sequence)
        if array.ndim != 1:
            raise ValueError(f"sequence {i} must be 1-D, got shape {array.shape}")
        if array.size and array.dtype.kind not in "iu":
            raise TypeError(f"sequence {i} must hold integer token ids, got dtype {array.dtype}")
        array = array.astype(np.int64)
        if array.size and (array.min() < 0 or array.max() >= vocab_size):
            bad = array.min() if array.min() < 0 else array.max()
            raise ValueError(f"sequence {i} has token {bad}, outside 0..{vocab_size - 1}")
        pieces.append(array)
    return pieces
