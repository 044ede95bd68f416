"""A trained model as saved by `composer train`: weights, encoding, settings, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from composer.errors import CheckpointError, ComposerError
from composer.music.encoding import Encoding, encoding_from_config
from composer.music.limits import NoteLimits, corpus_limits
from composer.training import checkpoint
from composer.training.config import TrainConfig

MODELS_DIR = Path("models")  # where `composer train` puts runs, relative to the working folder
# The default model, first as an installed package has it (pyproject.toml maps the repository's
# models/ folder to composer/shipped), then as a source checkout or editable install has it.
SHIPPED_MODEL_PLACES = (
    Path(__file__).resolve().parents[1] / "shipped" / "default",
    Path(__file__).resolve().parents[2] / "models" / "default",
)


@dataclass
class TrainedModel:
    params: dict[str, np.ndarray]
    encoding: Encoding
    config: TrainConfig
    path: Path
    history: list[dict] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # where and how the data was read
    train_tokens: list[np.ndarray] = field(default_factory=list)  # untransposed, for baselines
    start_counts: np.ndarray | None = None  # (V,) how often each token opens a training piece

    @property
    def note_limits(self) -> NoteLimits:
        """The training pieces' note lengths and polyphony (saved by train; else measured on
        the training tokens kept in the model file)."""
        saved = self.data.get("note_limits")
        if saved is not None:
            return NoteLimits.from_dict(saved)
        return corpus_limits(self.encoding, self.train_tokens)

    @property
    def parameter_count(self) -> int:
        return int(sum(p.size for p in self.params.values()))


def model_arrays(params, train_tokens, start_counts) -> dict[str, np.ndarray]:
    """The arrays of a model file: weights, the training tokens and the start counts."""
    lengths = np.array([len(s) for s in train_tokens], dtype=np.int64)
    tokens = np.concatenate(train_tokens) if train_tokens else np.zeros(0, np.int32)
    arrays = checkpoint.with_prefix("param", params)
    arrays.update({"train.tokens": tokens.astype(np.uint16), "train.lengths": lengths,
                   "start_counts": start_counts})
    return arrays


def load_model(path) -> TrainedModel:
    """A model from a run folder (its model.npz) or a .npz file."""
    path = Path(path)
    file = path / checkpoint.MODEL_FILE if path.is_dir() else path
    arrays, meta = checkpoint.load(file)
    try:
        config = TrainConfig.from_dict(meta["config"])
        encoding = encoding_from_config(meta["encoding"])
        lengths = arrays["train.lengths"]
        tokens = np.split(arrays["train.tokens"].astype(np.int32), np.cumsum(lengths)[:-1])
        params = checkpoint.strip_prefix("param", arrays)
        _check_shapes(params, config, encoding)
        return TrainedModel(params, encoding, config, file, meta.get("history", []),
                            meta.get("data", {}), tokens if len(lengths) else [],
                            arrays["start_counts"])
    except (KeyError, TypeError, ValueError, ComposerError) as error:
        raise CheckpointError(f"{file}: incomplete or inconsistent model ({error})") from error


def _check_shapes(params, config, encoding):
    H, V = config.hidden_size, encoding.vocab_size
    expected = {"Wy": (H, V), "by": (V,)}
    for layer in range(config.layers):
        expected.update({f"Wx{layer}": (V if layer == 0 else H, 4 * H),
                         f"Wh{layer}": (H, 4 * H), f"b{layer}": (4 * H,)})
    sizes = config.cond_sizes()
    if sizes:
        expected["Wc0"] = (sum(sizes.values()), 4 * H)
    if set(params) != set(expected):
        raise ValueError(f"parameters {sorted(params)}, expected {sorted(expected)}")
    for name, shape in expected.items():
        if params[name].shape != shape:
            raise ValueError(f"{name} has shape {params[name].shape}, expected {shape}")


def shipped_model_path() -> Path | None:
    """The folder of the default model shipped with composer, or None if it is missing."""
    return next((p for p in SHIPPED_MODEL_PLACES if (p / checkpoint.MODEL_FILE).is_file()), None)


def default_model_path() -> Path:
    """The newest model under ./models, else the shipped default model."""
    found = sorted(MODELS_DIR.glob(f"*/{checkpoint.MODEL_FILE}"),
                   key=lambda p: (p.stat().st_mtime, str(p)))
    if found:
        return found[-1].parent
    shipped = shipped_model_path()
    if shipped is not None:
        return shipped
    raise CheckpointError(
        f"no model found under {MODELS_DIR}/ and no shipped default model; "
        "train one with `composer train DATA_DIR` or pass --model PATH"
    )
