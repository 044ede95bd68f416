"""The token cache: encoded shards ("segments") and the token store assembled from them.

For one folder and one encoding (its settings hashed):

    tokens-v2-FOLDER/ENCODING/segment-XX.npz   shard XX's pieces encoded (checked .npz):
        key             hash of the shard's (path, digest) pairs and the encoding
        files, problems (F,) relative paths; problem after encoding ("" = used)
        tune_file, tune_problems  (B,) the file, and why a tune of it was left out
        piece_file      (P,) int32 index of each piece's file
        names, meta     (P,) piece names and metadata JSON (with the first step and
                        conditioning context: composer.data.contexts)
        lengths         (P,) int64 tokens per piece
        tokens          (total,) uint8 / uint16
    tokens-v2-FOLDER/ENCODING/store-KEY/       the store (composer.data.store) of the
                                               whole folder; KEY hashes every (path, digest)

A warm start scans the folder, finds the store for its key and maps it. Otherwise the
shards whose segment is missing, damaged or out of date are encoded again (their notes
refreshed first, composer.data.corpus), in worker processes when there are many, and
the store is assembled by streaming the segments into one memory-mapped file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.data.cache import (
    FORMAT_VERSION,
    folder_key,
    load_npz,
    new_temp_dir,
    publish_dir,
    save_npz,
    strings,
    text_column,
    text_key,
)
from composer.data.contexts import meta_with_context
from composer.data.corpus import Scan, ShardJob, files_to_parse, refresh_notes, run_jobs, shard_jobs
from composer.data.store import TokenStore, load_store, token_dtype, write_info
from composer.errors import DataError
from composer.music.encoding import Encoding, encoding_from_config

KEEP_STORES = 2  # stores kept per folder and encoding (older file states are removed)
KEEP_ENCODINGS = 8  # encodings whose segments are kept per folder (least recently used go)


@dataclass
class SegmentJob(ShardJob):
    """A shard to encode: its files, notes cache, segment file, key and encoding settings."""

    segment_path: str = ""
    key: str = ""
    encoding: dict | None = None


def encoding_dir(cache: Path, folder, encoding: Encoding) -> Path:
    settings = json.dumps(encoding.config(), sort_keys=True)
    return cache / f"tokens-v{FORMAT_VERSION}-{folder_key(folder)}" / text_key(settings)[:16]


def store_key(found: Scan) -> str:
    return text_key(json.dumps(list(zip(found.rels, found.digests, strict=True))))


def load_or_build_store(found: Scan, encoding: Encoding, cache: Path, workers,
                        progress) -> tuple[TokenStore, dict]:
    """(store, info) for the scanned files: the cached store, else one built from segments."""
    home = encoding_dir(cache, found.folder, encoding)
    final = home / f"store-{store_key(found)}"
    loaded = load_store(final, encoding.vocab_size)
    if loaded is None or not _usable_info(loaded[1], encoding.vocab_size):
        segments = _fresh_segments(found, encoding, cache, home, workers, progress)
        loaded = _assemble(segments, encoding.vocab_size, final, len(found.rels))
        _prune(home)
    _touch(home)
    return loaded


def _usable_info(info: dict, vocab_size: int) -> bool:
    """Whether a store's info holds what the dataset reads from it."""
    try:
        return isinstance(info["files_found"], int) and isinstance(info["files_used"], int) \
            and all(isinstance(v, str) for v in info["problems"].values()) \
            and all(isinstance(v, list) for v in info["tune_problems"].values()) \
            and len(info["histogram"]) == vocab_size
    except (KeyError, TypeError, AttributeError):
        return False


def _fresh_segments(found, encoding, cache, home, workers, progress) -> list:
    """Per shard: (path, key) of its up-to-date segment, or the segment's arrays if they
    could not be saved. Stale shards are encoded (in parallel when there are many)."""
    jobs = [_segment_job(job, home, encoding) for job in shard_jobs(found, cache)]
    for old in set(home.glob("segment-*.npz")) - {Path(job.segment_path) for job in jobs}:
        with contextlib.suppress(OSError):
            old.unlink()  # a shard left without files
    current = {job.shard: (job.segment_path, job.key) for job in jobs
               if read_segment(Path(job.segment_path), job.key) is not None}
    stale = [job for job in jobs if job.shard not in current]
    work = [files_to_parse(job) + len(job.files) // 4 for job in stale]  # encoding is cheaper
    built = run_jobs(encode_shard, stale, work, workers, progress, "reading and encoding")
    current.update({job.shard: arrays or (job.segment_path, job.key)
                    for job, arrays in zip(stale, built, strict=True)})
    return [current[job.shard] for job in jobs]


def _segment_job(job: ShardJob, home: Path, encoding: Encoding) -> SegmentJob:
    pairs = [(rel, digest) for _, rel, digest in job.files]
    key = text_key(json.dumps([pairs, encoding.config()]))
    path = home / f"segment-{job.shard:02d}.npz"
    return SegmentJob(job.shard, job.files, job.notes_path, str(path), key, encoding.config())


def encode_shard(job: SegmentJob) -> dict | None:
    """Refresh the shard's notes, encode its pieces and save the segment; the segment's
    arrays if it could not be saved, else None (a worker's answer stays small)."""
    encoding = encoding_from_config(job.encoding)
    parsed = refresh_notes(job)
    problems, pieces = _encode_files(parsed, encoding)
    dtype = token_dtype(encoding.vocab_size)
    sequences = [ids.astype(dtype) for _, _, ids in pieces]
    arrays = {"key": np.array(job.key), "files": strings([f.rel for f in parsed]),
              "problems": strings(problems),
              "tune_file": np.array([i for i, f in enumerate(parsed) for _ in f.tune_problems],
                                    dtype=np.int32),
              "tune_problems": strings([p for f in parsed for p in f.tune_problems]),
              "piece_file": np.array([owner for owner, _, _ in pieces], dtype=np.int32),
              "names": strings([piece.name for _, piece, _ in pieces]),
              # piece_metadata JSON plus the first step and the conditioning context
              "meta": strings([meta_with_context(piece, encoding) for _, piece, _ in pieces]),
              "lengths": np.array([s.size for s in sequences], dtype=np.int64),
              "tokens": np.concatenate(sequences) if sequences else np.zeros(0, dtype)}
    return None if save_npz(Path(job.segment_path), arrays) else arrays


def _encode_files(parsed, encoding: Encoding):
    """(problem per file, [(file index, ParsedPiece, ids)] of the pieces that encode to
    something); a file whose pieces all encode to nothing gets a problem of its own."""
    problems, pieces = [], []
    for index, file in enumerate(parsed):
        encoded = [(index, p, encoding.encode_columns(p.cols)) for p in file.pieces]
        encoded = [item for item in encoded if item[2].size]
        usable = not file.pieces or encoded
        problems.append(file.problem if usable else
                        f"no notes the {encoding.name} encoding can use")
        pieces += encoded
    return problems, pieces


def read_segment(path: Path, key: str) -> dict | None:
    """A segment's arrays if the file is intact, consistent and made for `key`."""
    arrays = load_npz(path)
    try:
        if arrays is None or str(arrays["key"]) != key:
            return None
        pieces = arrays["lengths"].size
        if arrays["tokens"].ndim != 1 or arrays["lengths"].sum() != arrays["tokens"].size or \
                not arrays["names"].size == arrays["meta"].size == arrays["piece_file"].size \
                == pieces or arrays["files"].shape != arrays["problems"].shape or \
                arrays["tune_file"].shape != arrays["tune_problems"].shape or \
                ((arrays["tune_file"] < 0) | (arrays["tune_file"] >= arrays["files"].size)).any():
            return None
        return arrays
    except (KeyError, ValueError, TypeError):
        return None


def _assemble(segments: list, vocab_size: int, final: Path, files_found: int):
    """Stream the segments ((path, key) or arrays) into one store at `final` (in memory if
    it cannot be written): a first pass reads all but the tokens, a second copies those."""
    parts = [_part(segment) for segment in segments]
    lengths = np.concatenate([p["lengths"] for p in parts]) if parts else np.zeros(0, np.int64)
    temp = new_temp_dir(final)
    tokens = _token_array(temp, token_dtype(vocab_size), int(lengths.sum()))
    histogram = np.zeros(vocab_size, dtype=np.int64)
    start = 0
    for segment, part in zip(segments, parts, strict=True):
        chunk = segment["tokens"] if isinstance(segment, dict) else \
            (load_npz(Path(segment[0]), only=("tokens",)) or {}).get("tokens")  # checked: _part
        if chunk is None or chunk.size != part["lengths"].sum():
            raise DataError(f"the token cache {segment[0]} changed while it was read; run again")
        tokens[start:start + chunk.size] = chunk
        histogram += np.bincount(chunk, minlength=vocab_size)[:vocab_size]
        start += chunk.size
    problems = {rel: problem for p in parts for rel, problem in
                zip(p["files"].tolist(), p["problems"].tolist(), strict=True) if problem}
    info = {"files_found": files_found, "problems": problems, "histogram": histogram.tolist(),
            "files_used": sum(int(np.unique(p["piece_file"]).size) for p in parts),
            "tune_problems": _tune_problems(parts)}
    return _publish(_store(tokens, lengths, parts, vocab_size), info, temp, final)


def _tune_problems(parts: list[dict]) -> dict[str, list[str]]:
    """{relative path: problems} of the tunes left out of the files that hold them."""
    found: dict[str, list[str]] = {}
    for part in parts:
        files = part["files"].tolist()
        for owner, problem in zip(part["tune_file"].tolist(), part["tune_problems"].tolist(),
                                  strict=True):
            found.setdefault(files[owner], []).append(problem)
    return found


def _part(segment) -> dict:
    """A segment's arrays but its tokens, checked against its key."""
    arrays = segment if isinstance(segment, dict) else read_segment(Path(segment[0]), segment[1])
    if arrays is None:
        raise DataError(f"the token cache {segment[0]} changed while it was read; run again")
    return {name: array for name, array in arrays.items() if name != "tokens"}


def _token_array(temp: Path | None, dtype, size: int) -> np.ndarray:
    if temp is None:
        return np.empty(size, dtype)
    return np.lib.format.open_memmap(temp / "tokens.npy", mode="w+", dtype=dtype, shape=(size,))


def _store(tokens, lengths, parts, vocab_size) -> TokenStore:
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    names = [n for p in parts for n in p["names"].tolist()]
    metas = [m for p in parts for m in p["meta"].tolist()]
    songs = []  # (relative path, position in its segment) of every piece: sorts in file order
    for part in parts:
        files = part["files"].tolist()
        songs += [(files[f], n) for n, f in enumerate(part["piece_file"].tolist())]
    order = np.array(sorted(range(len(songs)), key=songs.__getitem__), dtype=np.int64)
    return TokenStore(tokens, offsets, *text_column(names), *text_column(metas), order,
                      vocab_size)


def _publish(store: TokenStore, info: dict, temp: Path | None, final: Path):
    """Save the store beside its tokens and rename the folder into place; then map it."""
    if temp is None:
        return store, info
    try:
        store.tokens.flush()
        for name, array in store.arrays().items():
            if name != "tokens":
                np.save(temp / f"{name}.npy", array, allow_pickle=False)
        write_info(temp, store, info)
    except OSError:
        shutil.rmtree(temp, ignore_errors=True)
        return _in_memory(store), info
    if not publish_dir(temp, final):
        return _in_memory(store), info
    return load_store(final, store.vocab_size) or (_in_memory(store), info)


def _in_memory(store: TokenStore) -> TokenStore:
    store.tokens = np.array(store.tokens)
    return store


def _touch(path: Path) -> None:
    """Mark an encoding's folder as recently used (for _prune)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _prune(home: Path) -> None:
    """Keep the KEEP_STORES newest stores here and the KEEP_ENCODINGS newest encodings."""
    try:
        stores = sorted(home.glob("store-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in stores[KEEP_STORES:]:
            shutil.rmtree(old, ignore_errors=True)
        homes = sorted(home.parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in homes[KEEP_ENCODINGS:]:
            shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass


def problem_counts(info: dict) -> dict[str, int]:
    return dict(Counter(info["problems"].values()))
