"""A folder of MIDI and ABC files as parsed pieces: scan, parse in parallel, cache the notes.

1. Scan: every file under the folder (recursively) whose name ends in .mid, .midi or
   .abc, in any case, sorted by relative path, with a hash of its contents.
2. Work by shard (composer.data.shards): the files are grouped by a hash of their
   relative path; a shard's job parses the files whose hash its notes cache does not
   know and rewrites that shard alone. Jobs run in worker processes when more than
   PARALLEL_MIN_FILES files need work, a shard per task, so each worker holds one
   shard's notes at a time.
3. Parse: `composer.music.midi.read_midi` on each MIDI file, and
   `composer.music.abc.read_abc_book` on each ABC file (a piece per X: tune). A file
   that fails is reported once through `warn` ("skipped PATH: problem") and left out; so
   is each tune of an ABC file that cannot be read ("skipped PATH: X:12, line 40: ..."),
   while the file's other tunes are used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from composer.constants import MAX_FILE_BYTES
from composer.data.cache import remove_old_versions, resolve_cache_dir
from composer.data.shards import (
    NUM_SHARDS,
    ParsedFile,
    ParsedPiece,
    read_index,
    read_shard,
    shard_of,
    shard_path,
    to_piece,
    write_shard,
)
from composer.errors import AbcError, DataError, MidiError
from composer.music.encoding import note_arrays
from composer.music.notes import Piece, piece_metadata

MIDI_SUFFIXES = (".mid", ".midi")  # compared in lower case
ABC_SUFFIXES = (".abc",)
MUSIC_SUFFIXES = MIDI_SUFFIXES + ABC_SUFFIXES
PARALLEL_MIN_FILES = 64  # work in worker processes only above this many files
MAX_WORKERS = 4  # worker processes at most, when `workers` is not given

Warn = Callable[[str], None]


@dataclass
class Scan:
    """The music files under a folder, sorted by relative path."""

    folder: str
    paths: list[str]
    rels: list[str]  # relative paths with "/"
    digests: list[str]  # content hashes

    def by_shard(self) -> dict[int, list[int]]:
        """{shard: indices of its files, in path order} for the shards that have files."""
        shards: dict[int, list[int]] = {}
        for i, rel in enumerate(self.rels):
            shards.setdefault(shard_of(rel), []).append(i)
        return shards


@dataclass
class ShardJob:
    """One shard's files, (path, relative path, digest) each, and its notes cache file."""

    shard: int
    files: list[tuple[str, str, str]]
    notes_path: str


def load_pieces(folder, *, warn: Warn | None = None, cache_dir=None,
                workers: int | None = None, progress: bool = False) -> list[Piece]:
    """Every piece with notes under `folder`, parsed (through the notes cache)."""
    check_workers(workers)
    found = scan(folder)
    parsed = parse_corpus(found, resolve_cache_dir(cache_dir), workers, progress)
    report(folder, {f.rel: f.problem for f in parsed if f.problem}, warn or warn_stderr,
           {f.rel: f.tune_problems for f in parsed if f.tune_problems})
    pieces = [to_piece(p) for f in parsed if not f.problem for p in f.pieces]
    if not pieces:
        raise DataError(nothing_usable(folder, len(parsed), Counter(f.problem for f in parsed)))
    return pieces


def find_music_files(folder) -> list[Path]:
    """MIDI and ABC files under `folder`, recursively, sorted by relative path; DataError
    if none."""
    return [Path(path) for _, path in _music_files(folder)]


def _music_files(folder) -> list[tuple[str, str]]:
    """(relative path with "/", path) of the music files under `folder`, sorted; DataError
    if there are none. Like os.walk: symbolic links to folders are not followed, folders
    that cannot be read are passed over."""
    root = Path(folder)
    if not root.exists():
        raise DataError(f"{folder}: no such folder")
    if not root.is_dir():
        raise DataError(f"{folder}: not a folder")
    found, todo = [], [("", str(root))]
    while todo:
        prefix, top = todo.pop()
        try:
            with os.scandir(top) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        todo.append((prefix + entry.name + "/", entry.path))
                    elif entry.name.lower().endswith(MUSIC_SUFFIXES) and entry.is_file():
                        found.append((prefix + entry.name, entry.path))
        except OSError:
            continue
    if not found:
        raise DataError(f"no MIDI or ABC files (.mid, .midi, .abc) found in {folder}")
    return sorted(found)


def check_workers(workers) -> None:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer, not {workers!r}")


def warn_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def report(folder, problems: dict[str, str], warn: Warn,
           tune_problems: dict[str, list[str]] | None = None) -> None:
    """One line per file that was left out, and per tune left out of a file."""
    lines = [(rel, problem) for rel, problem in problems.items()]
    lines += [(rel, problem) for rel, found in (tune_problems or {}).items() for problem in found]
    for rel, problem in sorted(lines, key=lambda line: line[0]):
        warn(f"skipped {Path(folder, rel)}: {problem}")


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
    return f"none of the {found} music files in {folder} could be used: {why}"


def scan(folder) -> Scan:
    """The music files under `folder` with their relative paths and content hashes."""
    files = _music_files(folder)
    return Scan(str(folder), [path for _, path in files], [rel for rel, _ in files],
                [_digest(path) for _, path in files])


def _digest(path: str) -> str:
    """Content hash of a file; files too big to read are keyed by size and time instead."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            stat = os.stat(path)
            return f"big:{stat.st_size}:{stat.st_mtime_ns}"
        return hashlib.blake2b(data, digest_size=16).hexdigest()
    except OSError:
        return "unreadable"


def shard_jobs(found: Scan, cache: Path) -> list[ShardJob]:
    """A job per shard with files; the notes caches of shards left without files are removed."""
    remove_old_versions(cache, found.folder)
    groups = found.by_shard()
    for shard in set(range(NUM_SHARDS)) - set(groups):
        with contextlib.suppress(OSError):
            shard_path(cache, found.folder, shard).unlink(missing_ok=True)
    return [ShardJob(shard, [(found.paths[i], found.rels[i], found.digests[i]) for i in group],
                     str(shard_path(cache, found.folder, shard)))
            for shard, group in sorted(groups.items())]


def files_to_parse(job: ShardJob) -> int:
    """How many of the job's files its notes cache does not know (by path and hash)."""
    known = read_index(Path(job.notes_path))
    return sum(known.get(rel) != digest for _, rel, digest in job.files)


def parse_corpus(found: Scan, cache: Path, workers, progress) -> list[ParsedFile]:
    """A ParsedFile per file (in path order), from the notes cache or parsed."""
    jobs = shard_jobs(found, cache)
    work = [files_to_parse(job) for job in jobs]
    done = run_jobs(refresh_notes, jobs, work, workers, progress, "reading MIDI")
    by_rel = {f.rel: f for files in done for f in files}
    return [by_rel[rel] for rel in found.rels]


def refresh_notes(job: ShardJob) -> list[ParsedFile]:
    """The shard's files, parsed: from its notes cache where the hash matches, else read
    from the file; the shard is rewritten only when something changed."""
    path = Path(job.notes_path)
    known = read_shard(path)
    parsed = [known[rel] if rel in known and known[rel].digest == digest
              else _parse_file(file, rel, digest) for file, rel, digest in job.files]
    if len(known) != len(parsed) or any(f is not known.get(f.rel) for f in parsed):
        write_shard(path, parsed)
    return parsed


def run_jobs(task, jobs: list, work: list[int], workers, progress, desc) -> list:
    """[task(job) for job in jobs], in worker processes when the work is large."""
    count = min(_worker_count(workers, sum(work)), len(jobs))
    bar = tqdm(total=sum(len(job.files) for job in jobs), disable=not progress, unit="file",
               desc=desc)
    with bar:
        if count <= 1:
            results = []
            for job in jobs:
                results.append(task(job))
                bar.update(len(job.files))
            return results
        with ProcessPoolExecutor(count) as pool:
            futures = {pool.submit(task, job): k for k, job in enumerate(jobs)}
            done = {}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                bar.update(len(jobs[futures[future]].files))
        return [done[k] for k in range(len(jobs))]


def _worker_count(workers: int | None, work: int) -> int:
    if work <= PARALLEL_MIN_FILES:
        return 1
    if workers is not None:
        return workers
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _parse_file(path: str, rel: str, digest: str) -> ParsedFile:
    """One file's pieces as columns, or the problem that stopped it."""
    from composer.music.abc import read_abc_book
    from composer.music.midi import read_midi  # the only module that knows mido

    tune_problems: list[str] = []
    try:
        if rel.lower().endswith(ABC_SUFFIXES):
            book = read_abc_book(path)
            pieces, tune_problems = book.pieces, book.problems
        else:
            pieces = read_midi(path)
    except (MidiError, AbcError) as error:
        return ParsedFile(rel, digest, error.problem or "unreadable", [])
    parsed = []
    for k, piece in enumerate(pieces):
        if piece.name.startswith(path):
            suffix = piece.name[len(path):]
        else:
            suffix = f"#{k}" if len(pieces) > 1 else ""
        meta = {k: v for k, v in piece_metadata(piece).items() if k != "name"}  # kept apart
        meta = json.dumps(meta, separators=(",", ":"))
        parsed.append(ParsedPiece(rel + suffix, meta, note_arrays(piece.notes)))
    parsed = [p for p in parsed if p.cols["pitch"].size]
    if not parsed and len(tune_problems) == 1:  # its one tune: said once, as the file's
        return ParsedFile(rel, digest, tune_problems[0], [])
    problem = "" if parsed else "no tune could be read" if tune_problems else "no notes"
    return ParsedFile(rel, digest, problem, parsed, tune_problems)
