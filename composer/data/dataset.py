"""A folder of MIDI files as token sequences: scan, parse, cache, split, augment.

The path from files to training windows:

1. Scan: every file under the folder (recursively) whose name ends in .mid or
   .midi, in any case, sorted by relative path.
2. Parse: `composer.midi_io.read_midi` on each file, in worker processes when
   more than PARALLEL_MIN_FILES files need it. A file that fails is reported
   once through `warn` ("skipped PATH: problem") and left out.
3. Cache the notes: one store per folder keeps every file's notes under its
   relative path and content hash, so only new or changed files are parsed again.
4. Encode every piece; pieces that encode to nothing are left out (a file with
   no usable piece is reported like a parse failure).
5. Split by piece, never by window: a piece is held out for validation when a
   hash of (seed, piece name) falls below val_fraction, so adding files never
   moves the others. If that leaves no validation piece (val_fraction > 0, at
   least 2 pieces) the piece with the smallest hash is held out; if it leaves no
   training piece, the one with the largest hash goes back to training.
6. Augment the training pieces (only) by every transposition -N..+N semitones.
7. Cache the tokens: one .npz per (files and their hashes, encoding config,
   transposition, split settings, FORMAT_VERSION), so a second start is fast.

Caches live in `cache_dir`, else $COMPOSER_CACHE_DIR, else
$XDG_CACHE_HOME/composer, else ~/.cache/composer. They are written with
np.savez to a temporary file and renamed; they are read with allow_pickle=False;
a cache that cannot be read is rebuilt, one that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from composer.constants import MAX_FILE_BYTES
from composer.encoding import Encoding, note_arrays
from composer.errors import DataError, MidiError
from composer.notes import Note, Piece

FORMAT_VERSION = 1  # bump when the cache layout or the meaning of its contents changes
MIDI_SUFFIXES = (".mid", ".midi")  # compared in lower case
PARALLEL_MIN_FILES = 64  # parse in worker processes only above this many files
MAX_WORKERS = 4  # worker processes at most, when `workers` is not given
KEEP_TOKEN_CACHES = 8  # token caches kept per folder (the oldest are removed)
COLUMNS = ("start", "end", "pitch", "velocity", "program", "voice")  # note columns

Warn = Callable[[str], None]


@dataclass
class CorpusSummary:
    """What a corpus folder gave: files, pieces, steps (tokens) and vocabulary use."""

    folder: str
    files_found: int  # MIDI files under the folder
    files_used: int  # files with at least one usable piece
    skipped: dict[str, int] = field(default_factory=dict)  # problem -> number of files
    pieces: int = 0  # usable pieces (before transposition)
    steps: int = 0  # tokens in those pieces
    train_pieces: int = 0  # pieces in the training part (before transposition)
    valid_pieces: int = 0  # held-out pieces
    train_sequences: int = 0  # training sequences, transposed copies included
    train_steps: int = 0  # tokens in them
    valid_steps: int = 0  # tokens in the held-out pieces
    transpose: int = 0  # training pieces appear at every shift -transpose..+transpose
    tokens_used: int = 0  # distinct token ids that occur in train or valid
    vocab_size: int = 0  # V

    @property
    def files_skipped(self) -> int:
        return self.files_found - self.files_used

    def __str__(self) -> str:
        lines = [f"{self.folder}: {self.files_found:,} MIDI files, {self.files_used:,} used, "
                 f"{self.files_skipped:,} skipped{_reasons(self.skipped, ' ({})')}",
                 f"{self.pieces:,} pieces, {self.steps:,} steps: "
                 f"{self.train_pieces:,} for training, {self.valid_pieces:,} for validation "
                 f"({self.valid_steps:,} steps)"]
        if self.transpose:
            lines.append(f"transposed by -{self.transpose}..+{self.transpose} semitones: "
                         f"{self.train_sequences:,} training sequences, "
                         f"{self.train_steps:,} steps")
        lines.append(f"{self.tokens_used} of {self.vocab_size} tokens used")
        return "\n".join(lines)


@dataclass
class Dataset:
    """Token sequences ready for training. Each array is int32, shape (T,)."""

    train: list[np.ndarray]  # the train_pieces untransposed first, then transposed copies
    valid: list[np.ndarray]  # held-out pieces, never transposed
    train_names: list[str]  # piece name, plus " (+k)" for a copy transposed by k
    valid_names: list[str]
    summary: CorpusSummary


@dataclass
class _ParsedPiece:
    name: str  # relative path, plus "#k" for the k-th song of a type-2 file
    qpm: float
    time_signature: tuple[int, int]
    cols: dict[str, np.ndarray]  # note_arrays columns


@dataclass
class _ParsedFile:
    rel: str  # path relative to the folder, with "/"
    digest: str  # content hash
    problem: str  # "" when usable
    pieces: list[_ParsedPiece]


# --- public API ---------------------------------------------------------------


def load_dataset(folder, encoding: Encoding, *, transpose: int = 0, val_fraction: float = 0.1,
                 seed: int = 0, warn: Warn | None = None, cache_dir=None,
                 workers: int | None = None, progress: bool = False) -> Dataset:
    """Encode every MIDI file under `folder` (see the module docstring for the steps)."""
    _check_settings(transpose, val_fraction, seed, workers)
    warn = warn or _warn_stderr
    files, rels, digests = _scan(folder)
    cache = _cache_dir(cache_dir)
    key = _token_key(rels, digests, encoding, transpose, val_fraction, seed)
    cached = _load_tokens(cache, folder, key)
    if cached is None:
        parsed = _parse_corpus(folder, files, rels, digests, cache, workers, progress)
        cached = _build(parsed, encoding, transpose, val_fraction, seed, progress, folder)
        if cached[0].train or cached[0].valid:
            _save_tokens(cache, folder, key, *cached)
    dataset, problems = cached
    dataset.summary.folder = str(folder)
    _report(folder, problems, warn)
    if not dataset.train and not dataset.valid:
        raise DataError(_nothing_usable(folder, len(files), dataset.summary.skipped))
    return dataset


def load_pieces(folder, *, warn: Warn | None = None, cache_dir=None,
                workers: int | None = None, progress: bool = False) -> list[Piece]:
    """Every piece with notes under `folder`, parsed (through the notes cache)."""
    _check_workers(workers)
    files, rels, digests = _scan(folder)
    parsed = _parse_corpus(folder, files, rels, digests, _cache_dir(cache_dir), workers,
                           progress)
    _report(folder, {f.rel: f.problem for f in parsed if f.problem}, warn or _warn_stderr)
    pieces = [_to_piece(p) for f in parsed if not f.problem for p in f.pieces]
    if not pieces:
        reasons = Counter(f.problem for f in parsed)
        raise DataError(_nothing_usable(folder, len(files), reasons))
    return pieces


def split_pieces(names: Sequence[str], val_fraction: float, seed: int) -> np.ndarray:
    """Bool (pieces,): True for the pieces held out for validation (module docstring, 5)."""
    if not names:
        return np.zeros(0, dtype=bool)
    draw = np.array([_unit_hash(f"{seed}:{name}") for name in names])  # (pieces,) in [0, 1)
    valid = draw < val_fraction
    if len(names) >= 2 and val_fraction > 0 and not valid.any():
        valid[np.argmin(draw)] = True
    if len(names) >= 2 and valid.all():
        valid[np.argmax(draw)] = False
    if len(names) == 1:
        valid[:] = False
    return valid


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


def default_cache_dir() -> Path:
    """$COMPOSER_CACHE_DIR, else $XDG_CACHE_HOME/composer, else ~/.cache/composer."""
    if os.environ.get("COMPOSER_CACHE_DIR"):
        return Path(os.environ["COMPOSER_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "composer"
    return Path.home() / ".cache" / "composer"


# --- settings and messages ------------------------------------------------------


def _check_workers(workers) -> None:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer, not {workers!r}")


def _check_settings(transpose, val_fraction, seed, workers) -> None:
    _check_workers(workers)
    if isinstance(transpose, bool) or not isinstance(transpose, int) or not 0 <= transpose <= 24:
        raise ValueError(f"transpose must be an integer in 0..24 semitones, not {transpose!r}")
    if not isinstance(val_fraction, int | float) or not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), not {val_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, not {seed!r}")


def _warn_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _report(folder, problems: dict[str, str], warn: Warn) -> None:
    for rel in sorted(problems):
        warn(f"skipped {Path(folder, rel)}: {problems[rel]}")


def _reasons(counts: dict[str, int], template: str = "{}") -> str:
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


def _nothing_usable(folder, found: int, reasons) -> str:
    return f"none of the {found} MIDI files in {folder} could be used: {_reasons(dict(reasons))}"


# --- scanning and hashing ------------------------------------------------------


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _scan(folder) -> tuple[list[Path], list[str], list[str]]:
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


def _unit_hash(text: str) -> float:
    """A number in [0, 1) that depends only on `text`."""
    return int(hashlib.blake2b(text.encode(), digest_size=8).hexdigest(), 16) / 2.0**64


# --- parsing --------------------------------------------------------------------


def _parse_corpus(folder, files, rels, digests, cache: Path, workers, progress):
    """A _ParsedFile per file, from the notes cache where the hash matches, else parsed."""
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


def _parse_many(jobs: list[tuple[str, str, str]], workers, progress) -> list[_ParsedFile]:
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
            done: dict[int, list[_ParsedFile]] = {}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                bar.update(len(done[futures[future]]))
        return [f for i in range(len(chunks)) for f in done[i]]


def _parse_chunk(jobs: list[tuple[str, str, str]]) -> list[_ParsedFile]:
    """Worker process entry point: parse a few files."""
    return [_parse_file(*job) for job in jobs]


def _parse_file(path: str, rel: str, digest: str) -> _ParsedFile:
    """One file's pieces as columns, or the problem that stopped it."""
    from composer.midi_io import read_midi  # the only module that knows mido

    try:
        pieces = read_midi(path)
    except MidiError as error:
        return _ParsedFile(rel, digest, error.problem or "unreadable", [])
    parsed = []
    for k, piece in enumerate(pieces):
        if piece.name.startswith(path):
            suffix = piece.name[len(path):]
        else:
            suffix = f"#{k}" if len(pieces) > 1 else ""
        parsed.append(_ParsedPiece(rel + suffix, float(piece.qpm),
                                   tuple(piece.time_signature), note_arrays(piece.notes)))
    parsed = [p for p in parsed if p.cols["pitch"].size]
    return _ParsedFile(rel, digest, "" if parsed else "no notes", parsed)


def _to_piece(parsed: _ParsedPiece) -> Piece:
    c = parsed.cols
    rows = zip(c["start"].tolist(), c["end"].tolist(), c["pitch"].tolist(),
               c["velocity"].tolist(), c["program"].tolist(), c["voice"].tolist(), strict=True)
    return Piece(parsed.name, [Note(*row) for row in rows], parsed.qpm, parsed.time_signature)


# --- encoding, splitting, augmenting -----------------------------------------------


def _build(parsed, encoding, transpose, val_fraction, seed, progress, folder):
    """(Dataset, problems by relative path) from parsed files."""
    problems = {f.rel: f.problem for f in parsed if f.problem}
    usable: list[tuple[_ParsedPiece, np.ndarray]] = []
    used_files = 0
    for f in tqdm(parsed, disable=not progress, unit="file", desc="encoding"):
        encoded = [(p, encoding.encode_columns(p.cols)) for p in f.pieces]
        encoded = [(p, ids) for p, ids in encoded if ids.size]
        if f.pieces and not encoded:
            problems[f.rel] = f"no notes the {encoding.name} encoding can use"
        used_files += bool(encoded)
        usable += encoded
    held_out = split_pieces([p.name for p, _ in usable], val_fraction, seed)
    train = [pair for pair, out in zip(usable, held_out, strict=True) if not out]
    valid = [pair for pair, out in zip(usable, held_out, strict=True) if out]
    train_ids, train_names = _augment(train, encoding, transpose)
    summary = CorpusSummary(
        folder=str(folder), files_found=len(parsed), files_used=used_files,
        skipped=dict(Counter(problems.values())), pieces=len(usable),
        steps=sum(ids.size for _, ids in usable), train_pieces=len(train),
        valid_pieces=len(valid), train_sequences=len(train_ids),
        train_steps=sum(ids.size for ids in train_ids),
        valid_steps=sum(ids.size for _, ids in valid), transpose=transpose,
        tokens_used=_tokens_used(train_ids + [ids for _, ids in valid], encoding.vocab_size),
        vocab_size=encoding.vocab_size)
    dataset = Dataset(train_ids, [ids for _, ids in valid], train_names,
                      [p.name for p, _ in valid], summary)
    return dataset, problems


def _augment(train, encoding: Encoding, transpose: int):
    """Training sequences and names: the pieces, then each shift 1, -1, 2, -2, ... in turn."""
    ids = [ids for _, ids in train]
    names = [p.name for p, _ in train]
    shifts = [s for k in range(1, transpose + 1) for s in (k, -k)]
    for shift in shifts:
        for piece, _ in train:
            moved = encoding.encode_columns(_transposed(piece.cols, shift))
            if moved.size:
                ids.append(moved)
                names.append(f"{piece.name} ({shift:+d})")
    return ids, names


def _transposed(cols: dict[str, np.ndarray], shift: int) -> dict[str, np.ndarray]:
    """Columns moved by `shift` semitones; notes pushed outside 0..127 are dropped."""
    pitch = cols["pitch"] + shift
    keep = (pitch >= 0) & (pitch <= 127)
    moved = {k: v[keep] for k, v in cols.items()}
    moved["pitch"] = pitch[keep]
    return moved


def _tokens_used(sequences: list[np.ndarray], vocab_size: int) -> int:
    if not sequences:
        return 0
    return int(np.count_nonzero(np.bincount(np.concatenate(sequences), minlength=vocab_size)))


# --- caches -------------------------------------------------------------------------


def _cache_dir(cache_dir) -> Path:
    return Path(cache_dir) if cache_dir is not None else default_cache_dir()


def _folder_key(folder) -> str:
    return hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:16]


def _notes_store(cache: Path, folder) -> Path:
    return cache / f"notes-v{FORMAT_VERSION}-{_folder_key(folder)}.npz"


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write `arrays` atomically (temporary file, then rename); False if that fails."""
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        os.replace(temp, path)
        return True
    except OSError:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        return False


def _load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an .npz file, or None if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except Exception:  # noqa: BLE001 - any damage to a cache means "rebuild it"
        return None


def _strings(values: Sequence[str]) -> np.ndarray:
    return np.array(list(values), dtype=str) if len(values) else np.zeros(0, dtype="<U1")


def _save_notes(store: Path, parsed: list[_ParsedFile]) -> None:
    pieces = [(i, p) for i, f in enumerate(parsed) for p in f.pieces]
    counts = np.array([p.cols["pitch"].size for _, p in pieces], dtype=np.int64)
    arrays = {
        "files": _strings([f.rel for f in parsed]),
        "digests": _strings([f.digest for f in parsed]),
        "problems": _strings([f.problem for f in parsed]),
        "piece_file": np.array([i for i, _ in pieces], dtype=np.int64),
        "piece_names": _strings([p.name for _, p in pieces]),
        "piece_qpm": np.array([p.qpm for _, p in pieces], dtype=np.float64),
        "piece_ts": np.array([p.time_signature for _, p in pieces], dtype=np.int64).reshape(-1, 2),
        "piece_notes": counts,
    }
    for name in COLUMNS:
        parts = [p.cols[name] for _, p in pieces]
        kind = np.float64 if name in ("start", "end") else np.int32
        arrays[name] = np.concatenate(parts).astype(kind) if parts else np.zeros(0, kind)
    _save_npz(store, arrays)


def _load_notes(store: Path) -> dict[str, _ParsedFile]:
    """Parsed files by relative path from the notes store ({} if absent or damaged)."""
    data = _load_npz(store)
    try:
        return _unpack_notes(data) if data is not None else {}
    except (KeyError, ValueError, IndexError, TypeError):
        return {}


def _unpack_notes(data: dict[str, np.ndarray]) -> dict[str, _ParsedFile]:
    files = [_ParsedFile(str(rel), str(dig), str(problem), []) for rel, dig, problem
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
        files[owner].pieces.append(_ParsedPiece(name, float(data["piece_qpm"][k]), ts, cols))
    return {f.rel: f for f in files}


def _token_key(rels, digests, encoding: Encoding, transpose, val_fraction, seed) -> str:
    key = {"version": FORMAT_VERSION, "files": list(zip(rels, digests, strict=True)),
           "encoding": encoding.config(), "transpose": transpose,
           "val_fraction": float(val_fraction), "seed": seed}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def _token_path(cache: Path, folder, key: str) -> Path:
    return cache / f"tokens-v{FORMAT_VERSION}-{_folder_key(folder)}-{key}.npz"


def _pack(sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([s.size for s in sequences], dtype=np.int64)
    tokens = np.concatenate(sequences) if sequences else np.zeros(0, np.int32)
    return tokens.astype(np.int32), lengths


def _unpack(tokens: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    if lengths.sum() != tokens.size:
        raise ValueError("token counts do not add up")
    return np.split(tokens.astype(np.int32), np.cumsum(lengths)[:-1]) if lengths.size else []


def _save_tokens(cache: Path, folder, key: str, dataset: Dataset, problems: dict) -> None:
    train, train_lengths = _pack(dataset.train)
    valid, valid_lengths = _pack(dataset.valid)
    arrays = {"train": train, "train_lengths": train_lengths, "valid": valid,
              "valid_lengths": valid_lengths, "train_names": _strings(dataset.train_names),
              "valid_names": _strings(dataset.valid_names),
              "problem_files": _strings(list(problems)),
              "problems": _strings(list(problems.values())),
              "summary": np.array(json.dumps(asdict(dataset.summary)))}
    path = _token_path(cache, folder, key)
    if _save_npz(path, arrays):
        _prune(cache, folder, keep=path)


def _load_tokens(cache: Path, folder, key: str):
    """(Dataset, problems) from the token cache, or None if absent or damaged."""
    data = _load_npz(_token_path(cache, folder, key))
    if data is None:
        return None
    try:
        summary = CorpusSummary(**json.loads(str(data["summary"])))
        dataset = Dataset(_unpack(data["train"], data["train_lengths"]),
                          _unpack(data["valid"], data["valid_lengths"]),
                          data["train_names"].tolist(), data["valid_names"].tolist(), summary)
        problems = dict(zip(data["problem_files"].tolist(), data["problems"].tolist(),
                            strict=True))
    except (KeyError, ValueError, TypeError):
        return None
    if len(dataset.train) != len(dataset.train_names) or \
            len(dataset.valid) != len(dataset.valid_names):
        return None
    return dataset, problems


def _prune(cache: Path, folder, keep: Path) -> None:
    """Remove all but the KEEP_TOKEN_CACHES newest token caches of `folder`."""
    pattern = f"tokens-v{FORMAT_VERSION}-{_folder_key(folder)}-*.npz"
    try:
        caches = sorted(cache.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in caches[KEEP_TOKEN_CACHES:]:
            if old != keep:
                old.unlink(missing_ok=True)
    except OSError:
        pass
