"""The models the studio offers, named by id: the shipped one and those under ./models/.

The page never sends a path. `Catalog.entries` lists the runs under ./models/ (id = the
folder's name, newest first) and the model shipped with composer (id "default", or
"shipped" when ./models/default is another model); the same file is listed once. Ids are
looked up in that list, so "../x" or "/etc" can never reach the file system. Loaded
models are cached by path and modification time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from composer.errors import ComposerError
from composer.studio.conditioning import supported_conditioning
from composer.studio.request import RequestError, check_id
from composer.training import checkpoint, trained

MAX_LISTED = 40  # newest runs listed from ./models/
MAX_CACHED = 4  # loaded models kept in memory


@dataclass(frozen=True)
class ModelEntry:
    id: str
    file: Path  # its model.npz
    shipped: bool = False


def shipped_model_file() -> Path | None:
    """The model.npz shipped with composer, if any (inside the installed package, or
    models/default in a source checkout)."""
    folder = trained.shipped_model_path()
    if folder is None:
        return None
    file = Path(folder) / checkpoint.MODEL_FILE
    return file if file.is_file() else None


class Catalog:
    """The models under `models_dir` (default ./models) and the shipped one.

    `shipped` overrides where the shipped model.npz is (None: no shipped model); by
    default it is found with `shipped_model_file`.
    """

    def __init__(self, models_dir: Path | None = None, shipped: Path | None | str = "installed"):
        self.models_dir = Path(models_dir) if models_dir is not None else trained.MODELS_DIR
        self.shipped = shipped_model_file() if shipped == "installed" else shipped
        self._cache: dict[tuple[Path, float], object] = {}
        self._lock = threading.Lock()

    def entries(self) -> list[ModelEntry]:
        """The models on offer now (rescanned each call: training may add runs)."""
        found = sorted(self.models_dir.glob(f"*/{checkpoint.MODEL_FILE}"),
                       key=lambda p: (p.stat().st_mtime, str(p)), reverse=True)[:MAX_LISTED]
        shipped = self.shipped.resolve() if self.shipped else None
        entries = [ModelEntry(p.parent.name, p, p.resolve() == shipped) for p in found]
        entries = [e for e in entries if _usable_id(e.id)]
        if shipped and not any(e.shipped for e in entries):
            name = "default" if all(e.id != "default" for e in entries) else "shipped"
            entries.append(ModelEntry(name, self.shipped, True))
        return entries

    def default_id(self) -> str | None:
        """The model `composer sample` would use: the newest run, else the shipped one."""
        entries = self.entries()
        return entries[0].id if entries else None

    def entry(self, model_id) -> ModelEntry:
        check_id(model_id, "model")
        for entry in self.entries():
            if entry.id == model_id:
                return entry
        raise RequestError(f"no model {model_id!r}; the models are: "
                           f"{', '.join(e.id for e in self.entries()) or 'none'}", "model", 404)

    def load(self, model_id):
        """The TrainedModel of an id; RequestError for unknown ids, CheckpointError if broken."""
        file = self.entry(model_id).file
        key = (file.resolve(), file.stat().st_mtime)
        with self._lock:
            if key not in self._cache:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = trained.load_model(file)
            return self._cache[key]

    def describe(self) -> list[dict]:
        """What the page shows about each model; a broken file is listed with its error."""
        described = []
        default = self.default_id()
        for entry in self.entries():
            about = {"id": entry.id, "shipped": entry.shipped, "default": entry.id == default}
            try:
                about.update(_about(self.load(entry.id)))
            except ComposerError as error:
                about["error"] = str(error)
            described.append(about)
        return described


def _usable_id(name: str) -> bool:
    try:
        check_id(name, "model")
    except RequestError:
        return False
    return True


def _about(model) -> dict:
    best = min((h["valid_nll"] for h in model.history), default=None)
    folder = model.data.get("folder")
    return {"encoding": model.encoding.name, "steps_per_quarter": model.config.steps_per_quarter,
            "parameters": model.parameter_count, "layers": model.config.layers,
            "hidden_size": model.config.hidden_size,
            "trained_on": Path(folder).name if folder else None,
            "pieces": len(model.train_tokens), "valid_nll": best,
            "supports": supported_conditioning(model)}
