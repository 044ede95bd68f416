"""A folder of MIDI files as parsed pieces: scan, parse in parallel, cache the notes.

1. Scan: every file under the folder (recursively) whose name ends in .mid or
   .midi, in any case, sorted by relative path.
2. Parse: `composer.music.midi.read_midi` on each file, in worker processes when
   more than PARALLEL_MIN_FILES files need it. A file that fails is reported
   once through `warn` ("skipped PATH: problem") and left out.
3. Cache the notes: one store per folder keeps every file's notes under its
   relative path and content hash, so only new or changed files are parsed again.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from composer.constants import MAX_FILE_BYTES
from composer.data.cache import (
    FORMAT_VERSION,
    folder_key,
    load_npz,
    resolve_cache_dir,
    save_npz,
    strings,
)
from composer.errors import DataError, MidiError
from composer.music.encoding import note_arrays
from composer.music.notes import Note, Piece

MIDI_SUFFIXES = (".mid", ".midi")  # compared in lower case
PARALLEL_MIN_FILES = 64  # parse in worker processes only above this many files
MAX_WORKERS = 4  # worker processes at most, when `workers` is not given
COLUMNS = ("start", "end", "pitch", "velocity", "program", "voice")  # note columns

Warn = Callable[[str], None]


@dataclass
class ParsedPiece:
    name: str  # relative path, plus "#k" for the k-th song of a type-2 file
    qpm: float
    time_signature: tuple[int, int]
    cols: dict[str, np.ndarray]  # note_arrays columns


@dataclass
class ParsedFile:
    rel: str  # path relative to the folder, with "/"
    digest: str  # content hash
    problem: str  # "" when usable
    pieces: list[ParsedPiece]


def load_pieces(folder, *, warn: Warn | None = None, cache_dir=None,
                workers: int | None = None, progress: bool = False) -> list[Piece]:
    """Every piece with notes under `folder`, parsed (through the notes cache)."""
    check_workers(workers)
    files, rels, digests = scan(folder)
    parsed = parse_corpus(folder, files, rels, digests, resolve_cache_dir(cache_dir), workers,
                           progress)
    report(folder, {f.rel: f.problem for f in parsed if f.problem}, warn or warn_stderr)
    pieces = [to_piece(p) for f in parsed if not f.problem for p in f.pieces]
    if not pieces:
        reasons = Counter(f.problem for f in parsed)
        raise DataError(nothing_usable(folder, len(files), reasons))
    return pieces


def find_midi_files(folder) -> list[Path]:
    """MIDI files under `folder`, recursively, sorted by relative path; DataError if none."""
    root = Path(folder)
    if not root.exists():
        raise DataError(f"{folder}: no such folder")
    if not root.is_dir():
        raise DataError(f"{folder}: not a folder")
    found = [Path(top, name) for top, _, names in os.walk(root) for name in names
             if name.lower().endswith(MIDI_SUFFIXES)]
    found = sorted((p for p in found if p.is_file()), key=lambda p: _relative(root, p))
    if not found:
        raise DataError(f"no MIDI files (.mid, .midi) found in {folder}")
    return found


def check_workers(workers) -> None:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer, not {workers!r}")


def warn_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def report(folder, problems: dict[str, str], warn: Warn) -> None:
    for rel in sorted(problems):
        warn(f"skipped {Path(folder, rel)}: {problems[rel]}")


def describe_problems(counts: dict[str, int], template: str = "{}") -> str:
    """'2 files: no notes; 1 file: empty file' (the four commonest problems, then the rest)."""
    if not counts:
        return ""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{_files(n)}: {problem}" for problem, n in ranked[:4]]
    if len(ranked) > 4:
        parts.append(f"{_files(sum(n for _, n in ranked[4:]))}: other problems")
    return template.format("; ".join(parts))


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def nothing_usable(folder, found: int, problems) -> str:
    """The error text for a folder none of whose `found` files could be used."""
    why = describe_problems(dict(problems))
    return f"none of the {found} MIDI files in {folder} could be used: {why}"


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def scan(folder) -> tuple[list[Path], list[str], list[str]]:
    """(files, relative paths, content hashes) of the MIDI files under `folder`."""
    files = find_midi_files(folder)
    return files, [_relative(Path(folder), p) for p in files], [_digest(p) for p in files]


def _digest(path: Path) -> str:
    """Content hash of a file; files too big to read are keyed by size and time instead."""
    try:
        stat = path.stat()
        if stat.st_size > MAX_FILE_BYTES:
            return f"big:{stat.st_size}:{stat.st_mtime_ns}"
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return "unreadable"


def parse_corpus(folder, files, rels, digests, cache: Path, workers, progress):
    """A ParsedFile per file, from the notes cache where the hash matches, else parsed."""
    store = _notes_store(cache, folder)
    known = _load_notes(store)
    todo = [i for i, (rel, dig) in enumerate(zip(rels, digests, strict=True))
            if rel not in known or known[rel].digest != dig]
    fresh = _parse_many([(str(files[i]), rels[i], digests[i]) for i in todo], workers, progress)
    fresh_by_rel = {f.rel: f for f in fresh}
    parsed = [fresh_by_rel.get(rel) or known[rel] for rel in rels]
    if todo or len(known) != len(parsed):
        _save_notes(store, parsed)
    return parsed


def _worker_count(workers: int | None, jobs: int) -> int:
    if jobs <= PARALLEL_MIN_FILES:
        return 1
    if workers is not None:
        return workers
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _parse_many(jobs: list[tuple[str, str, str]], workers, progress) -> list[ParsedFile]:
    """Parse (path, rel, digest) jobs, in worker processes when there are many."""
    count = _worker_count(workers, len(jobs))
    bar = tqdm(total=len(jobs), disable=not progress, unit="file", desc="reading MIDI")
    with bar:
        if count == 1:
            results = []
            for job in jobs:
                results.append(_parse_file(*job))
                bar.update(1)
            return results
        size = max(1, min(64, math.ceil(len(jobs) / (count * 8))))  # files per chunk
        chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
        with ProcessPoolExecutor(count) as pool:
            futures = {pool.submit(_parse_chunk, chunk): i for i, chunk in enumerate(chunks)}
            done: dict[int, list[ParsedFile]] = {}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                bar.update(len(done[futures[future]]))
        return [f for i in range(len(chunks)) for f in done[i]]


def _parse_chunk(jobs: list[tuple[str, str, str]]) -> list[ParsedFile]:
    """Worker process entry point: parse a few files."""
    return [_parse_file(*job) for job in jobs]


def _parse_file(path: str, rel: str, digest: str) -> ParsedFile:
    """One file's pieces as columns, or the problem that stopped it."""
    from composer.music.midi import read_midi  # the only module that knows mido

    try:
        pieces = read_midi(path)
    except MidiError as error:
        return ParsedFile(rel, digest, error.problem or "unreadable", [])
    parsed = []
    for k, piece in enumerate(pieces):
        if piece.name.startswith(path):
            suffix = piece.name[len(path):]
        else:
            suffix = f"#{k}" if len(pieces) > 1 else ""
        parsed.append(ParsedPiece(rel + suffix, float(piece.qpm),
                                   tuple(piece.time_signature), note_arrays(piece.notes)))
    parsed = [p for p in parsed if p.cols["pitch"].size]
    return ParsedFile(rel, digest, "" if parsed else "no notes", parsed)


def to_piece(parsed: ParsedPiece) -> Piece:
    c = parsed.cols
    rows = zip(c["start"].tolist(), c["end"].tolist(), c["pitch"].tolist(),
               c["velocity"].tolist(), c["program"].tolist(), c["voice"].tolist(), strict=True)
    return Piece(parsed.name, [Note(*row) for row in rows], parsed.qpm, parsed.time_signature)


def _notes_store(cache: Path, folder) -> Path:
    return cache / f"notes-v{FORMAT_VERSION}-{folder_key(folder)}.npz"


def _save_notes(store: Path, parsed: list[ParsedFile]) -> None:
    pieces = [(i, p) for i, f in enumerate(parsed) for p in f.pieces]
    counts = np.array([p.cols["pitch"].size for _, p in pieces], dtype=np.int64)
    arrays = {
        "files": strings([f.rel for f in parsed]),
        "digests": strings([f.digest for f in parsed]),
        "problems": strings([f.problem for f in parsed]),
        "piece_file": np.array([i for i, _ in pieces], dtype=np.int64),
        "piece_names": strings([p.name for _, p in pieces]),
        "piece_qpm": np.array([p.qpm for _, p in pieces], dtype=np.float64),
        "piece_ts": np.array([p.time_signature for _, p in pieces], dtype=np.int64).reshape(-1, 2),
        "piece_notes": counts,
    }
    for name in COLUMNS:
        parts = [p.cols[name] for _, p in pieces]
        kind = np.float64 if name in ("start", "end") else np.int32
        arrays[name] = np.concatenate(parts).astype(kind) if parts else np.zeros(0, kind)
    save_npz(store, arrays)


def _load_notes(store: Path) -> dict[str, ParsedFile]:
    """Parsed files by relative path from the notes store ({} if absent or damaged)."""
    data = load_npz(store)
    try:
        return _unpack_notes(data) if data is not None else {}
    except (KeyError, ValueError, IndexError, TypeError):
        return {}


def _unpack_notes(data: dict[str, np.ndarray]) -> dict[str, ParsedFile]:
    files = [ParsedFile(str(rel), str(dig), str(problem), []) for rel, dig, problem
             in zip(data["files"], data["digests"], data["problems"], strict=True)]
    ends = np.cumsum(data["piece_notes"])  # (pieces,)
    if ends.size and ends[-1] != data["pitch"].size:
        raise ValueError("note counts do not add up")
    columns = {name: data[name].astype(np.int64 if name not in ("start", "end") else np.float64)
               for name in COLUMNS}
    for k, (owner, name) in enumerate(zip(data["piece_file"].tolist(),
                                          data["piece_names"].tolist(), strict=True)):
        rows = slice(ends[k] - data["piece_notes"][k], ends[k])
        cols = {c: columns[c][rows] for c in COLUMNS}
        ts = tuple(int(x) for x in data["piece_ts"][k])
        files[owner].pieces.append(ParsedPiece(name, float(data["piece_qpm"][k]), ts, cols))
    return {f.rel: f for f in files}
