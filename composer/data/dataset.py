"""A folder of MIDI files as token sequences: encode, split, augment, cache.

The path from files to training windows:

1. Scan: every file under the folder (recursively) whose name ends in .mid or
   .midi, in any case, sorted by relative path.
2. Parse: `composer.music.midi.read_midi` on each file, in worker processes when
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

The caches are those of composer.data.cache.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from composer.data.cache import (
    FORMAT_VERSION,
    folder_key,
    load_npz,
    resolve_cache_dir,
    save_npz,
    strings,
)
from composer.data.corpus import (
    ParsedPiece,
    Warn,
    check_workers,
    describe_problems,
    nothing_usable,
    parse_corpus,
    report,
    scan,
    warn_stderr,
)
from composer.errors import DataError
from composer.music.encoding import Encoding

KEEP_TOKEN_CACHES = 8  # token caches kept per folder (the oldest are removed)


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
                 f"{self.files_skipped:,} skipped{describe_problems(self.skipped, ' ({})')}",
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


def load_dataset(folder, encoding: Encoding, *, transpose: int = 0, val_fraction: float = 0.1,
                 seed: int = 0, warn: Warn | None = None, cache_dir=None,
                 workers: int | None = None, progress: bool = False) -> Dataset:
    """Encode every MIDI file under `folder` (see the module docstring for the steps)."""
    _check_settings(transpose, val_fraction, seed, workers)
    warn = warn or warn_stderr
    files, rels, digests = scan(folder)
    cache = resolve_cache_dir(cache_dir)
    key = _token_key(rels, digests, encoding, transpose, val_fraction, seed)
    cached = _load_tokens(cache, folder, key)
    if cached is None:
        parsed = parse_corpus(folder, files, rels, digests, cache, workers, progress)
        cached = _build(parsed, encoding, transpose, val_fraction, seed, progress, folder)
        if cached[0].train or cached[0].valid:
            _save_tokens(cache, folder, key, *cached)
    dataset, problems = cached
    dataset.summary.folder = str(folder)
    report(folder, problems, warn)
    if not dataset.train and not dataset.valid:
        raise DataError(nothing_usable(folder, len(files), dataset.summary.skipped))
    return dataset


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


def _check_settings(transpose, val_fraction, seed, workers) -> None:
    check_workers(workers)
    if isinstance(transpose, bool) or not isinstance(transpose, int) or not 0 <= transpose <= 24:
        raise ValueError(f"transpose must be an integer in 0..24 semitones, not {transpose!r}")
    if not isinstance(val_fraction, int | float) or not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), not {val_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, not {seed!r}")


def _unit_hash(text: str) -> float:
    """A number in [0, 1) that depends only on `text`."""
    return int(hashlib.blake2b(text.encode(), digest_size=8).hexdigest(), 16) / 2.0**64


def _build(parsed, encoding, transpose, val_fraction, seed, progress, folder):
    """(Dataset, problems by relative path) from parsed files."""
    problems = {f.rel: f.problem for f in parsed if f.problem}
    usable: list[tuple[ParsedPiece, np.ndarray]] = []
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


def _token_key(rels, digests, encoding: Encoding, transpose, val_fraction, seed) -> str:
    key = {"version": FORMAT_VERSION, "files": list(zip(rels, digests, strict=True)),
           "encoding": encoding.config(), "transpose": transpose,
           "val_fraction": float(val_fraction), "seed": seed}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def _token_path(cache: Path, folder, key: str) -> Path:
    return cache / f"tokens-v{FORMAT_VERSION}-{folder_key(folder)}-{key}.npz"


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
              "valid_lengths": valid_lengths, "train_names": strings(dataset.train_names),
              "valid_names": strings(dataset.valid_names),
              "problem_files": strings(list(problems)),
              "problems": strings(list(problems.values())),
              "summary": np.array(json.dumps(asdict(dataset.summary)))}
    path = _token_path(cache, folder, key)
    if save_npz(path, arrays):
        _prune(cache, folder, keep=path)


def _load_tokens(cache: Path, folder, key: str):
    """(Dataset, problems) from the token cache, or None if absent or damaged."""
    data = load_npz(_token_path(cache, folder, key))
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
    pattern = f"tokens-v{FORMAT_VERSION}-{folder_key(folder)}-*.npz"
    try:
        caches = sorted(cache.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in caches[KEEP_TOKEN_CACHES:]:
            if old != keep:
                old.unlink(missing_ok=True)
    except OSError:
        pass
