"""Where composer keeps its caches, and how it writes and reads them.

Caches live in `cache_dir`, else $COMPOSER_CACHE_DIR, else $XDG_CACHE_HOME/composer,
else ~/.cache/composer. Files are written to a temporary name and renamed (a folder
is filled under a temporary name and renamed whole); arrays are read with
allow_pickle=False; every file carries a checksum of its contents, and a cache that
cannot be read or does not match it is rebuilt, never trusted; a cache that cannot
be written is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FORMAT_VERSION = 7  # bump when the cache layout or the meaning of its contents changes
CHECKSUM_KEY = "checksum"  # the array of a checked .npz that holds its checksum


def default_cache_dir() -> Path:
    """$COMPOSER_CACHE_DIR, else $XDG_CACHE_HOME/composer, else ~/.cache/composer."""
    if os.environ.get("COMPOSER_CACHE_DIR"):
        return Path(os.environ["COMPOSER_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "composer"
    return Path.home() / ".cache" / "composer"


def resolve_cache_dir(cache_dir) -> Path:
    return Path(cache_dir) if cache_dir is not None else default_cache_dir()


def folder_key(folder) -> str:
    return hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:16]


def text_key(text: str) -> str:
    """A short hash of `text`, for cache file names."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def unit_hash(text: str) -> float:
    """A number in [0, 1) that depends only on `text` (seeded splits and draws)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8)
    return int(digest.hexdigest(), 16) / 2.0**64


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """A hash of every array's name, type, shape and bytes."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write `arrays` and their checksum atomically (temporary file, rename); False on failure."""
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays, **{CHECKSUM_KEY: np.array(checksum(arrays))})
        os.replace(temp, path)
        return True
    except OSError:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        return False


def load_npz(path: Path, only: Sequence[str] | None = None) -> dict[str, np.ndarray] | None:
    """The arrays of a file written by save_npz, or None if missing, unreadable or altered.

    `only`: read just these arrays and skip the checksum (a quick look at an index;
    whoever then trusts the contents reads the whole file).
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if only is not None:
                return {name: data[name] for name in only}
            arrays = {name: data[name] for name in data.files}
        stored = str(arrays.pop(CHECKSUM_KEY))
        return arrays if stored == checksum(arrays) else None
    except Exception:  # noqa: BLE001 - any damage to a cache means "rebuild it"
        return None


def strings(values: Sequence[str]) -> np.ndarray:
    return np.array(list(values), dtype=str) if len(values) else np.zeros(0, dtype="<U1")


def text_column(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 byte array (B,) uint8 and their (count + 1,) int64 offsets."""
    encoded = [value.encode("utf-8", "surrogateescape") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def column_texts(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    """The strings of a text_column (blob, offsets); ValueError if they do not fit."""
    if offsets.ndim != 1 or offsets.size == 0 or offsets[0] != 0 or offsets[-1] != blob.size \
            or (np.diff(offsets) < 0).any():
        raise ValueError("text offsets do not fit their bytes")
    data = np.asarray(blob).tobytes()
    bounds = offsets.tolist()
    return [data[a:b].decode("utf-8", "surrogateescape") for a, b in zip(bounds, bounds[1:],
                                                                          strict=False)]


def new_temp_dir(final: Path) -> Path | None:
    """An empty folder beside `final` to fill before publish_dir; None if it cannot be made."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=final.parent, prefix=final.name + ".", suffix=".tmp"))
    except OSError:
        return None


def publish_dir(temp: Path, final: Path) -> bool:
    """Rename the filled `temp` folder to `final` (atomic); False if that fails.

    An existing `final` (another process built the same thing) is replaced.
    """
    try:
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        os.replace(temp, final)
        return True
    except OSError:
        shutil.rmtree(temp, ignore_errors=True)
        return False


def remove_old_versions(cache: Path, folder) -> None:
    """Delete this folder's caches of older FORMAT_VERSIONs (they are never read again)."""
    key = folder_key(folder)
    for version in range(1, FORMAT_VERSION):
        for old in cache.glob(f"*-v{version}-{key}*"):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    old.unlink()
