"""The token store: every usable piece's token ids in one array, memory-mapped from the cache.

On disk a store is one folder of .npy files plus info.json, written under a
temporary name and renamed whole:

    tokens.npy                    (total,) uint8 when V <= 256, else uint16
    offsets.npy                   (P + 1,) int64: piece i is tokens[offsets[i]:offsets[i + 1]]
    names.npy, name_offsets.npy   piece names, UTF-8 (cache.text_column)
    meta.npy, meta_offsets.npy    per-piece metadata: JSON of notes.piece_metadata
    order.npy                     (P,) int64 rows in file order (relative path, then song)
    info.json                     vocab_size, whatever the builder adds (files found and
                                  used, problems, histogram) and a checksum of it all

Loading maps the arrays (np.load(mmap_mode="r")), so a store costs pages of the
page cache rather than private memory, and checks the checksum, the shapes and the
token range: a store that fails any check is not used (it is rebuilt).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.data.cache import checksum, column_texts, new_temp_dir, publish_dir, text_column

ARRAYS = ("tokens", "offsets", "names", "name_offsets", "meta", "meta_offsets", "order")
INFO_FILE = "info.json"


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned type that holds ids 0..vocab_size-1 (uint8 or uint16)."""
    if not 1 <= vocab_size <= 65536:
        raise ValueError(f"vocab_size must be in 1..65536 for the token store, not {vocab_size}")
    return np.dtype(np.uint8 if vocab_size <= 256 else np.uint16)


@dataclass
class TokenStore:
    """Pieces of token ids in one contiguous array (see the module docstring)."""

    tokens: np.ndarray  # (total,) uint8 / uint16, usually memory-mapped
    offsets: np.ndarray  # (P + 1,) int64
    names: np.ndarray  # (bytes,) uint8, UTF-8 of every piece name
    name_offsets: np.ndarray  # (P + 1,) int64
    meta: np.ndarray  # (bytes,) uint8, UTF-8 JSON per piece
    meta_offsets: np.ndarray  # (P + 1,) int64
    order: np.ndarray  # (P,) int64 rows in file order
    vocab_size: int

    def __len__(self) -> int:
        return self.offsets.size - 1

    @property
    def lengths(self) -> np.ndarray:
        """(P,) int64 tokens per piece."""
        return np.diff(self.offsets)

    @property
    def nbytes(self) -> int:
        """Bytes of every array (mapped or not)."""
        return int(sum(getattr(self, name).nbytes for name in ARRAYS))

    def piece(self, row: int) -> np.ndarray:
        """Token ids of piece `row`, int32 (T,)."""
        return np.asarray(self.tokens[self.offsets[row]:self.offsets[row + 1]], dtype=np.int32)

    def piece_names(self, rows: Sequence[int] | None = None) -> list[str]:
        names = column_texts(self.names, self.name_offsets)
        return names if rows is None else [names[r] for r in rows]

    def metadata(self, row: int) -> dict:
        """The per-piece context saved with piece `row` (notes.piece_metadata)."""
        start, end = self.meta_offsets[row], self.meta_offsets[row + 1]
        return json.loads(np.asarray(self.meta[start:end]).tobytes().decode())

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}


def store_from_pieces(sequences: Sequence[np.ndarray], names: Sequence[str],
                      metas: Sequence[str], vocab_size: int,
                      order: np.ndarray | None = None) -> TokenStore:
    """An in-memory store of token sequences with their names and metadata JSON."""
    dtype = token_dtype(vocab_size)
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sequences])
    tokens = np.concatenate(sequences).astype(dtype) if len(sequences) else np.zeros(0, dtype)
    name_bytes, name_offsets = text_column(names)
    meta_bytes, meta_offsets = text_column(metas)
    order = np.arange(len(sequences), dtype=np.int64) if order is None else order
    return TokenStore(tokens, offsets, name_bytes, name_offsets, meta_bytes, meta_offsets,
                      np.asarray(order, dtype=np.int64), vocab_size)


def save_store(store: TokenStore, path: Path, info: dict) -> bool:
    """Write `store` as the folder `path` (atomically); False if it cannot be written."""
    temp = new_temp_dir(path)
    if temp is None:
        return False
    try:
        for name, array in store.arrays().items():
            np.save(temp / f"{name}.npy", array, allow_pickle=False)
        write_info(temp, store, info)
    except OSError:
        shutil.rmtree(temp, ignore_errors=True)
        return False
    return publish_dir(temp, path)


def write_info(folder: Path, store: TokenStore, info: dict) -> None:
    full = {**info, "vocab_size": store.vocab_size}
    full["checksum"] = _checksum(store.arrays(), full)
    (folder / INFO_FILE).write_text(json.dumps(full))


def _checksum(arrays: dict[str, np.ndarray], info: dict) -> str:
    """A hash of the arrays and of the info (all but its checksum)."""
    text = json.dumps({k: v for k, v in info.items() if k != "checksum"}, sort_keys=True)
    return checksum({**arrays, INFO_FILE: np.frombuffer(text.encode(), dtype=np.uint8)})


def load_store(path: Path, vocab_size: int) -> tuple[TokenStore, dict] | None:
    """(store with memory-mapped arrays, info) from the folder `path`; None if it is
    missing, damaged or not for this vocabulary."""
    try:
        info = json.loads((path / INFO_FILE).read_text())
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                  for name in ARRAYS}
        store = TokenStore(**arrays, vocab_size=vocab_size)
        if info.get("vocab_size") != vocab_size or info.get("checksum") != _checksum(arrays, info):
            return None
        check_store(store)
    except Exception:  # noqa: BLE001 - any damage to a cache means "rebuild it"
        return None
    return store, info


def check_store(store: TokenStore) -> None:
    """ValueError unless the arrays fit together and every token is in the vocabulary."""
    count = len(store)
    if store.tokens.dtype != token_dtype(store.vocab_size) or store.tokens.ndim != 1:
        raise ValueError(f"tokens of type {store.tokens.dtype}")
    for offsets, size in ((store.offsets, store.tokens.size), (store.name_offsets,
                          store.names.size), (store.meta_offsets, store.meta.size)):
        if offsets.shape != (count + 1,) or offsets[0] != 0 or offsets[-1] != size \
                or (np.diff(offsets) < 0).any():
            raise ValueError("offsets do not fit their array")
    if store.lengths.size and store.lengths.min() < 1:
        raise ValueError("an empty piece")
    if not np.array_equal(np.sort(store.order), np.arange(count)):
        raise ValueError("order is not a permutation of the rows")
    if store.tokens.size and int(store.tokens.max()) >= store.vocab_size:
        raise ValueError("a token outside the vocabulary")
