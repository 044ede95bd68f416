"""Checkpoints: NumPy arrays and a JSON header in one .npz file, no pickle.

A file holds named arrays plus "__meta__", the UTF-8 bytes of a JSON object with
the format tag, the settings, the vocabulary, the history and the other scalars,
and a SHA-256 of every array so that a tampered file is refused. Files are
written to a temporary name in the same folder and renamed, so a crash or a
Ctrl-C never leaves half a checkpoint behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from composer.errors import CheckpointError

FORMAT = "composer-checkpoint"
VERSION = 1
META_KEY = "__meta__"
MODEL_FILE = "model.npz"  # best weights, for sampling and evaluation
RESUME_FILE = "checkpoint.npz"  # the last state of a run, with optimiser state, for --resume


def save(path, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write arrays + meta to `path` atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT, "version": VERSION, **meta, "checksum": _checksum(arrays)}
    payload = dict(arrays)
    payload[META_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load(path) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of a composer checkpoint; CheckpointError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"{path}: not a readable composer checkpoint ({error})") from error
    meta = _read_meta(path, arrays.pop(META_KEY, None))
    if meta.pop("checksum", None) != _checksum(arrays):
        raise CheckpointError(f"{path}: the arrays do not match their checksum (file altered?)")
    return arrays, meta


def _read_meta(path, raw) -> dict:
    if raw is None:
        raise CheckpointError(f"{path}: not a composer checkpoint (no {META_KEY} header)")
    try:
        meta = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: damaged checkpoint header ({error})") from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a composer checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {meta.get('version')} (this composer reads {VERSION})"
        )
    return meta


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def with_prefix(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}.{name}": value for name, value in arrays.items()}


def strip_prefix(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    start = len(prefix) + 1
    return {name[start:]: v for name, v in arrays.items() if name.startswith(prefix + ".")}
