"""A run's files: the best weights (OUT/model.npz) and everything --resume needs
(OUT/checkpoint.npz), written by rank 0 alone.

The resume checkpoint holds the state of the whole run, never one rank's: the weights
and Adam's moments (alike on every rank), the progress, and the carried LSTM state of
every lane of the global batch, gathered from the ranks that own them. So a run can be
resumed on another number of ranks: each takes its lanes of that state. Nothing random
needs saving: every draw is keyed by the seed, the epoch and the step (training.lanes).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from composer.constants import MODEL_BASELINE_TOKENS
from composer.data.dataset import Dataset
from composer.errors import CheckpointError
from composer.training import checkpoint
from composer.training.config import TrainConfig
from composer.training.run import Progress, Run, new_run
from composer.training.trained import model_arrays
from composer.training.world import Solo


def _meta(run: Run, data_info) -> dict:
    return {"config": run.config.to_dict(), "encoding": run.encoding.config(),
            "vocab": run.encoding.vocab, "history": run.progress.history, "data": data_info}


def save_model(run: Run, dataset: Dataset, out_dir, data_info) -> Path:
    """The current weights as OUT/model.npz (what sample and evaluate read); rank 0 only."""
    train = dataset.baseline_pieces(MODEL_BASELINE_TOKENS, run.config.seed)  # untransposed
    arrays = model_arrays(run.params, train, dataset.start_counts())
    return checkpoint.save(Path(out_dir) / checkpoint.MODEL_FILE, arrays, _meta(run, data_info))


def save_resume(run: Run, out_dir, data_info) -> Path | None:
    """Everything --resume needs: weights, Adam, progress, the carried state of every lane.
    Called by every rank (the state is gathered); rank 0 writes, the others get None."""
    state = gather_state(run.world, run.state)
    if not run.world.is_root:
        return None
    arrays = checkpoint.with_prefix("param", run.params)
    optimizer = run.optimizer.state_dict()
    arrays.update(checkpoint.with_prefix("adam", optimizer["arrays"]))
    for layer, (h, c) in enumerate(state or []):
        arrays[f"state.h{layer}"], arrays[f"state.c{layer}"] = h, c
    progress = asdict(run.progress)
    progress["best_nll"] = _json_float(progress["best_nll"])
    meta = _meta(run, data_info)
    meta.update(progress=progress, adam=optimizer["scalars"])
    return checkpoint.save(Path(out_dir) / checkpoint.RESUME_FILE, arrays, meta)


def gather_state(world: Solo, state: list | None) -> list | None:
    """Every lane's (h, c) per layer on rank 0, the ranks' lanes in rank order."""
    shares = world.gather(state)
    if shares is None or shares[0] is None:
        return None
    return [tuple(np.concatenate([share[layer][k] for share in shares]) for k in (0, 1))
            for layer in range(len(shares[0]))]


def load_resume(out_dir, world: Solo | None = None) -> Run:
    """The run saved in OUT/checkpoint.npz, ready to continue on `world`'s ranks."""
    path = Path(out_dir) / checkpoint.RESUME_FILE
    arrays, meta = checkpoint.load(path)
    try:
        run = new_run(TrainConfig.from_dict(meta["config"]), world)
        run.params = checkpoint.strip_prefix("param", arrays)
        run.optimizer.load_state_dict({"arrays": checkpoint.strip_prefix("adam", arrays),
                                       "scalars": meta["adam"]})
        progress = dict(meta["progress"])
        progress["best_nll"] = float(progress["best_nll"])
        run.progress = Progress(**progress)
        layers = run.config.layers
        if "state.h0" in arrays:
            run.resumed_state = [(arrays[f"state.h{k}"], arrays[f"state.c{k}"])
                                 for k in range(layers)]
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: incomplete checkpoint ({error})") from error
    return run


def _json_float(value: float):
    return value if math.isfinite(value) else "inf"
