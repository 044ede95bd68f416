"""A folder of MIDI and ABC files as token sequences: encode, split, transpose on the fly.

The path from files to training windows:

1. Scan and parse (composer.data.corpus): every .mid/.midi/.abc file under the folder,
   sorted by relative path, parsed in worker processes when there are many; the
   notes are cached in shards, so a changed file is the only one parsed again. A
   file that fails is reported once through `warn` ("skipped PATH: problem").
2. Encode (composer.data.tokens): pieces that encode to nothing are left out (a
   file with no usable piece is reported like a parse failure). The token ids of
   every usable piece sit in one memory-mapped store (composer.data.store), cached
   per folder state and encoding: a warm start scans, hashes and maps it.
3. Split by piece, never by window: a piece is held out for validation when a
   hash of (seed, piece name) falls below val_fraction, so adding files never
   moves the others. If that leaves no validation piece (val_fraction > 0, at
   least 2 pieces) the piece with the smallest hash is held out; if it leaves no
   training piece, the one with the largest hash goes back to training.
4. Augment the training pieces (only) by every transposition -N..+N semitones,
   on the fly: an epoch covers every (training piece, shift) pair, shifts in the
   order 0, +1, -1, +2, -2, ..., and each batch is transposed as it is cut from
   the store (Encoding.transpose_ids, composer.data.windows). Nothing transposed is
   stored, so the loaded set takes the same memory whatever N is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from composer.data.cache import resolve_cache_dir, unit_hash
from composer.data.corpus import (
    Warn,
    check_workers,
    describe_problems,
    nothing_usable,
    report,
    warn_stderr,
)
from composer.data.corpus import scan as scan_folder
from composer.data.store import TokenStore
from composer.data.tokens import load_or_build_store, problem_counts
from composer.data.windows import EpochWindows, FeatureHook
from composer.errors import DataError
from composer.music.encoding import Encoding

BASELINE_SEED = 0xB45E  # mixed with the run's seed to choose the pieces a model file keeps


@dataclass
class CorpusSummary:
    """What a corpus folder gave: files, pieces, steps (tokens) and vocabulary use."""

    folder: str
    files_found: int  # MIDI and ABC files under the folder
    files_used: int  # files with at least one usable piece
    skipped: dict[str, int] = field(default_factory=dict)  # problem -> number of files
    tunes_skipped: int = 0  # tunes left out of ABC files whose other tunes are used
    pieces: int = 0  # usable pieces (before transposition)
    steps: int = 0  # tokens in those pieces
    train_pieces: int = 0  # pieces in the training part (before transposition)
    valid_pieces: int = 0  # held-out pieces
    train_sequences: int = 0  # (training piece, shift) pairs an epoch covers
    train_steps: int = 0  # tokens in them
    valid_steps: int = 0  # tokens in the held-out pieces
    transpose: int = 0  # training pieces appear at every shift -transpose..+transpose
    tokens_used: int = 0  # distinct token ids that occur in train (any shift) or valid
    vocab_size: int = 0  # V

    @property
    def files_skipped(self) -> int:
        return self.files_found - self.files_used

    def __str__(self) -> str:
        tunes = f"; {self.tunes_skipped:,} tunes skipped in them" if self.tunes_skipped else ""
        lines = [f"{self.folder}: {self.files_found:,} music files, {self.files_used:,} used, "
                 f"{self.files_skipped:,} skipped{describe_problems(self.skipped, ' ({})')}"
                 + tunes,
                 f"{self.pieces:,} pieces, {self.steps:,} steps: "
                 f"{self.train_pieces:,} for training, {self.valid_pieces:,} for validation "
                 f"({self.valid_steps:,} steps)"]
        if self.transpose:
            lines.append(f"transposed by -{self.transpose}..+{self.transpose} semitones: "
                         f"{self.train_sequences:,} training sequences, "
                         f"{self.train_steps:,} steps")
        lines.append(f"{self.tokens_used} of {self.vocab_size} tokens used")
        return "\n".join(lines)


class Pieces(Sequence):
    """Some pieces of a store, each read as an int32 array (T,) when indexed."""

    def __init__(self, store: TokenStore, rows: np.ndarray):
        self.store, self.rows = store, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Pieces(self.store, self.rows[index])
        return self.store.piece(int(self.rows[index]))

    @property
    def lengths(self) -> np.ndarray:
        return self.store.lengths[self.rows]

    @property
    def names(self) -> list[str]:
        return self.store.piece_names(self.rows.tolist())


@dataclass
class Dataset:
    """Training and validation pieces of a token store, and the training shifts."""

    store: TokenStore  # every usable piece, untransposed, usually memory-mapped
    train_rows: np.ndarray  # (P,) int64 store rows of the training pieces, in file order
    valid_rows: np.ndarray  # store rows of the held-out pieces, in file order
    shifts: tuple[int, ...]  # training shifts in epoch order: 0, +1, -1, +2, -2, ...
    tables: np.ndarray  # (len(shifts), V) token ids moved by each shift (the store's type)
    summary: CorpusSummary
    store_info: dict = field(default_factory=dict)  # the store's info (split_store's input)

    @property
    def train(self) -> Pieces:
        """The training pieces, untransposed."""
        return Pieces(self.store, self.train_rows)

    @property
    def valid(self) -> Pieces:
        return Pieces(self.store, self.valid_rows)

    @property
    def train_names(self) -> list[str]:
        return self.train.names

    @property
    def valid_names(self) -> list[str]:
        return self.valid.names

    @property
    def nbytes(self) -> int:
        """Bytes of every array the dataset holds (mapped from the cache or not)."""
        return self.store.nbytes + self.train_rows.nbytes + self.valid_rows.nbytes + \
            self.tables.nbytes

    def epoch(self, seed: int, epoch: int, batch_size: int, seq_len: int,
              features: FeatureHook | None = None) -> EpochWindows:
        """This epoch's windows: every (training piece, shift) pair once, shuffled by
        (seed, epoch). Pair j is piece j % P at shift j // P, the order in which pieces
        and their stored transposed copies used to be listed, so a seed shuffles alike."""
        count = len(self.train_rows) * len(self.shifts)
        order = np.random.default_rng([seed, epoch]).permutation(count)
        order = order.astype(np.int32 if count < 2**31 else np.int64)
        return EpochWindows(self.store.tokens, self.store.offsets, self.train_rows, order,
                            self.tables, self.shifts, batch_size, seq_len, features)

    def start_counts(self) -> np.ndarray:
        """(V,) how often each token opens a training piece."""
        firsts = self.store.tokens[self.store.offsets[self.train_rows]]
        return np.bincount(firsts, minlength=self.store.vocab_size)

    def baseline_pieces(self, max_tokens: int, seed: int) -> list[np.ndarray]:
        """Untransposed training pieces, in file order, of at most `max_tokens` tokens in
        all: every piece when they fit, else pieces drawn at random (seeded) until full."""
        lengths = self.train.lengths
        rows = self.train_rows
        if lengths.sum() > max_tokens:
            order = np.random.default_rng([seed, BASELINE_SEED]).permutation(len(rows))
            keep = order[np.cumsum(lengths[order]) <= max_tokens]
            rows = rows[np.sort(keep)]
        return [self.store.piece(int(r)) for r in rows]


def load_dataset(folder, encoding: Encoding, *, transpose: int = 0, val_fraction: float = 0.1,
                 seed: int = 0, warn: Warn | None = None, cache_dir=None,
                 workers: int | None = None, progress: bool = False) -> Dataset:
    """Encode every MIDI and ABC file under `folder` (see the module docstring)."""
    _check_settings(transpose, val_fraction, seed, workers)
    found = scan_folder(folder)
    store, info = load_or_build_store(found, encoding, resolve_cache_dir(cache_dir), workers,
                                      progress)
    report(folder, info["problems"], warn or warn_stderr, info.get("tune_problems"))
    if not len(store):
        raise DataError(nothing_usable(folder, len(found.rels), problem_counts(info)))
    return split_store(store, info, encoding, transpose, val_fraction, seed, str(folder))


def training_shifts(transpose: int) -> tuple[int, ...]:
    """0, then 1, -1, 2, -2, ... up to +-transpose."""
    return (0,) + tuple(s for k in range(1, transpose + 1) for s in (k, -k))


def split_store(store: TokenStore, info: dict, encoding: Encoding, transpose: int,
                val_fraction: float, seed: int, folder: str) -> Dataset:
    """The Dataset of a store: the split (module docstring, 3) and the summary."""
    names = store.piece_names()
    held_out = split_pieces([names[r] for r in store.order.tolist()], val_fraction, seed)
    order = np.asarray(store.order, dtype=np.int64)
    shifts = training_shifts(transpose)
    tables = encoding.transpose_tables(shifts).astype(store.tokens.dtype)  # ids fit the store
    dataset = Dataset(store, order[~held_out], order[held_out], shifts, tables,
                      CorpusSummary(folder, 0, 0), info)
    dataset.summary = _summary(dataset, info, folder, transpose)
    return dataset


def _summary(dataset: Dataset, info: dict, folder: str, transpose: int) -> CorpusSummary:
    store, copies = dataset.store, len(dataset.shifts)
    train_steps, valid_steps = int(dataset.train.lengths.sum()), int(dataset.valid.lengths.sum())
    return CorpusSummary(
        folder=folder, files_found=info["files_found"], files_used=info["files_used"],
        skipped=problem_counts(info), pieces=len(store), steps=int(store.tokens.size),
        tunes_skipped=sum(len(found) for found in info.get("tune_problems", {}).values()),
        train_pieces=len(dataset.train_rows), valid_pieces=len(dataset.valid_rows),
        train_sequences=len(dataset.train_rows) * copies, train_steps=train_steps * copies,
        valid_steps=valid_steps, transpose=transpose, tokens_used=_tokens_used(dataset, info),
        vocab_size=store.vocab_size)


def _tokens_used(dataset: Dataset, info: dict) -> int:
    """Distinct ids in the held-out pieces and in the training pieces at any shift."""
    store = dataset.store
    total = np.asarray(info["histogram"], dtype=np.int64)  # (V,) over the whole store
    valid = [store.tokens[store.offsets[r]:store.offsets[r + 1]]
             for r in dataset.valid_rows.tolist()]
    in_valid = np.bincount(np.concatenate(valid), minlength=store.vocab_size) if valid else \
        np.zeros(store.vocab_size, dtype=np.int64)
    used = in_valid > 0
    in_train = np.flatnonzero(total - in_valid > 0)
    for table in dataset.tables:
        used[table[in_train]] = True
    return int(used.sum())


def split_pieces(names: Sequence[str], val_fraction: float, seed: int) -> np.ndarray:
    """Bool (pieces,): True for the pieces held out for validation (module docstring, 3)."""
    if not names:
        return np.zeros(0, dtype=bool)
    draw = np.array([unit_hash(f"{seed}:{name}") for name in names])  # (pieces,) in [0, 1)
    valid = draw < val_fraction
    if len(names) >= 2 and val_fraction > 0 and not valid.any():
        valid[np.argmin(draw)] = True
    if len(names) >= 2 and valid.all():
        valid[np.argmax(draw)] = False
    if len(names) == 1:
        valid[:] = False
    return valid


def _check_settings(transpose, val_fraction, seed, workers) -> None:
    check_workers(workers)
    if isinstance(transpose, bool) or not isinstance(transpose, int) or not 0 <= transpose <= 24:
        raise ValueError(f"transpose must be an integer in 0..24 semitones, not {transpose!r}")
    if not isinstance(val_fraction, int | float) or not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), not {val_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, not {seed!r}")
