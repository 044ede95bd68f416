"""The notes cache: every file's parsed notes, in shards chosen by a hash of its path.

A file's relative path picks one of NUM_SHARDS shards, so a folder of 100,000 files
becomes 64 files of about 1,600 each, and a change to one file rewrites only its
shard (the other 63 are not touched). A shard is one checked .npz (cache.save_npz):

    files, digests, problems     (F,) relative path, content hash, problem ("" = usable)
    tune_file, tune_problems     (B,) index of the file, and why a tune of it was left out
    piece_file                   (P,) int32 index of the file each piece came from
    piece_names, piece_meta      (P,) name, and JSON of notes.piece_metadata
    piece_notes                  (P,) int64 notes per piece
    start, end                   (notes,) float64 beats
    pitch, velocity, program     (notes,) uint8
    voice                        (notes,) int32

A shard that is missing, unreadable or fails its checksum reads as empty, so its
files are parsed again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from composer.data.cache import FORMAT_VERSION, folder_key, load_npz, save_npz, strings
from composer.music.notes import Note, Piece, restore_metadata

NUM_SHARDS = 64  # shards per folder: one changed file rewrites 1/64 of the notes cache
COLUMN_TYPES = {"start": np.float64, "end": np.float64, "pitch": np.uint8,
                "velocity": np.uint8, "program": np.uint8, "voice": np.int32}


@dataclass
class ParsedPiece:
    name: str  # relative path, plus "#k" for the k-th song of a type-2 file
    meta: str  # JSON of composer.music.notes.piece_metadata
    cols: dict[str, np.ndarray]  # note_arrays columns


@dataclass
class ParsedFile:
    rel: str  # path relative to the folder, with "/"
    digest: str  # content hash
    problem: str  # "" when usable
    pieces: list[ParsedPiece]
    tune_problems: list[str] = field(default_factory=list)  # tunes of an ABC file left out


def shard_of(rel: str) -> int:
    """The shard (0..NUM_SHARDS-1) that keeps the file at relative path `rel`."""
    digest = hashlib.blake2b(rel.encode("utf-8", "surrogateescape"), digest_size=4).digest()
    return int.from_bytes(digest, "little") % NUM_SHARDS


def shard_path(cache: Path, folder, shard: int) -> Path:
    return cache / f"notes-v{FORMAT_VERSION}-{folder_key(folder)}" / f"shard-{shard:02d}.npz"


def to_piece(parsed: ParsedPiece) -> Piece:
    c = parsed.cols
    rows = zip(c["start"].tolist(), c["end"].tolist(), c["pitch"].tolist(),
               c["velocity"].tolist(), c["program"].tolist(), c["voice"].tolist(), strict=True)
    piece = restore_metadata(Piece(parsed.name, [Note(*row) for row in rows]),
                             json.loads(parsed.meta))
    return replace(piece, name=parsed.name)  # the relative name, whatever the metadata says


def read_index(path: Path) -> dict[str, str]:
    """{relative path: digest} of a shard, without reading its notes ({} if unreadable)."""
    data = load_npz(path, only=("files", "digests"))
    if data is None or data["files"].shape != data["digests"].shape:
        return {}
    return dict(zip(data["files"].tolist(), data["digests"].tolist(), strict=True))


def read_shard(path: Path) -> dict[str, ParsedFile]:
    """Parsed files by relative path ({} if the shard is missing or damaged)."""
    data = load_npz(path)
    try:
        return _unpack(data) if data is not None else {}
    except (KeyError, ValueError, IndexError, TypeError):
        return {}


def write_shard(path: Path, files: list[ParsedFile]) -> bool:
    """Save `files` as one shard (atomically); False if it cannot be written."""
    pieces = [(i, p) for i, f in enumerate(files) for p in f.pieces]
    arrays = {
        "files": strings([f.rel for f in files]),
        "digests": strings([f.digest for f in files]),
        "problems": strings([f.problem for f in files]),
        "tune_file": np.array([i for i, f in enumerate(files) for _ in f.tune_problems],
                              dtype=np.int32),
        "tune_problems": strings([p for f in files for p in f.tune_problems]),
        "piece_file": np.array([i for i, _ in pieces], dtype=np.int32),
        "piece_names": strings([p.name for _, p in pieces]),
        "piece_meta": strings([p.meta for _, p in pieces]),
        "piece_notes": np.array([p.cols["pitch"].size for _, p in pieces], dtype=np.int64),
    }
    for name, kind in COLUMN_TYPES.items():
        parts = [p.cols[name] for _, p in pieces]
        arrays[name] = np.concatenate(parts).astype(kind) if parts else np.zeros(0, kind)
    return save_npz(path, arrays)


def _unpack(data: dict[str, np.ndarray]) -> dict[str, ParsedFile]:
    files = [ParsedFile(str(rel), str(dig), str(problem), []) for rel, dig, problem
             in zip(data["files"], data["digests"], data["problems"], strict=True)]
    counts = data["piece_notes"]
    ends = np.cumsum(counts)  # (pieces,)
    if (counts < 0).any() or (ends[-1] if ends.size else 0) != data["pitch"].size:
        raise ValueError("note counts do not add up")
    columns = {name: data[name].astype(np.int64 if name not in ("start", "end") else np.float64)
               for name in COLUMN_TYPES}
    if any(c.shape != (data["pitch"].size,) for c in columns.values()):
        raise ValueError("note columns differ in length")
    for owner, problem in zip(data["tune_file"].tolist(), data["tune_problems"].tolist(),
                              strict=True):
        files[int(owner) if owner >= 0 else len(files)].tune_problems.append(problem)
    names, metas = data["piece_names"].tolist(), data["piece_meta"].tolist()
    owners = data["piece_file"]
    if not len(names) == len(metas) == counts.size == owners.size or \
            (owners.size and (owners.min() < 0 or owners.max() >= len(files))):
        raise ValueError("pieces do not match their files")
    for k, owner in enumerate(owners.tolist()):
        rows = slice(int(ends[k] - counts[k]), int(ends[k]))
        cols = {c: columns[c][rows] for c in COLUMN_TYPES}
        files[owner].pieces.append(ParsedPiece(names[k], metas[k], cols))
    return {f.rel: f for f in files}
