"""Where composer keeps its caches, and how it writes and reads them.

Caches live in `cache_dir`, else $COMPOSER_CACHE_DIR, else $XDG_CACHE_HOME/composer,
else ~/.cache/composer. They are written with np.savez to a temporary file and
renamed; they are read with allow_pickle=False; a cache that cannot be read is
rebuilt, one that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1  # bump when the cache layout or the meaning of its contents changes


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


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> bool:
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


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an .npz file, or None if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except Exception:  # noqa: BLE001 - any damage to a cache means "rebuild it"
        return None


def strings(values: Sequence[str]) -> np.ndarray:
    return np.array(list(values), dtype=str) if len(values) else np.zeros(0, dtype="<U1")
