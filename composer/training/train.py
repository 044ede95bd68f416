"""Training: truncated BPTT over a token stream, Adam, clipping, early stopping, resume.

Each epoch shuffles the training pieces (deterministically from the seed and the
epoch), lays them out in N lanes of windows of T tokens, every piece starting a
new window, and walks the lanes carrying the LSTM state from one window to the
next within a piece; a lane's state is reset to zero where a new piece starts,
as it is when a piece is scored or sampled.
After each epoch the model is scored on the held-out pieces; the best weights
go to OUT/model.npz and the whole run state to OUT/checkpoint.npz, so that an
interrupted run resumes exactly where it stopped.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from composer.constants import MODEL_BASELINE_TOKENS
from composer.data.contexts import ConditionFeatures, meter_key_counts
from composer.data.dataset import Dataset, load_dataset
from composer.data.windows import EpochWindows
from composer.errors import CheckpointError, ComposerError
from composer.evaluation.scoring import score_model
from composer.music.conditioning import hide_leaks
from composer.music.encoding import Encoding, make_encoding
from composer.music.limits import corpus_limits
from composer.nn import model
from composer.nn.lstm import Workspace
from composer.nn.optim import Adam, clip, clip_by_global_norm
from composer.training import checkpoint
from composer.training.config import TrainConfig
from composer.training.trained import model_arrays

LR_DECAY = 0.5  # the learning rate is multiplied by this after an epoch without progress


class TrainingInterrupted(ComposerError):
    """Ctrl-C: the checkpoint was written and the run can be resumed."""


@dataclass
class Progress:
    """Where a run stands; saved in the checkpoint so --resume continues exactly."""

    epoch: int = 0  # epochs finished
    window: int = 0  # windows done in the current epoch
    step: int = 0  # optimiser steps so far
    lr: float = 0.0  # current learning rate
    best_nll: float = math.inf  # best validation NLL so far (nats/step)
    bad_epochs: int = 0  # epochs since the best one
    loss_sum: float = 0.0  # training loss summed over this epoch's windows
    history: list[dict] = field(default_factory=list)  # one dict per epoch
    finished: bool = False


@dataclass
class Run:
    config: TrainConfig
    encoding: Encoding
    params: dict[str, np.ndarray]
    optimizer: Adam
    rng: np.random.Generator  # dropout
    progress: Progress
    state: list | None = None  # carried (h, c) per layer, or None at an epoch start
    features: ConditionFeatures | None = None  # conditioning of the data, when conditioned
    workspace: Workspace = field(default_factory=Workspace)  # big arrays reused step to step


def new_run(config: TrainConfig) -> Run:
    encoding = make_encoding(config.encoding, steps_per_quarter=config.steps_per_quarter)
    rng = np.random.default_rng(config.seed)
    params = model.init_params(encoding.vocab_size, config.hidden_size, config.layers, rng,
                               cond_sizes=config.cond_sizes() or ())
    return Run(config, encoding, params, Adam(lr=config.lr), rng, Progress(lr=config.lr))


def train(data_dir, out_dir, run: Run, *, quiet=False, echo=print, should_stop=None) -> Run:
    """Train `run` on the MIDI files under data_dir, writing into out_dir.

    should_stop() is asked after every step (default: has Ctrl-C been pressed);
    when it says yes the checkpoint is written and TrainingInterrupted raised.
    """
    config, out_dir = run.config, Path(out_dir)
    dataset = load_dataset(data_dir, run.encoding, transpose=config.transpose,
                           val_fraction=config.val_fraction, seed=config.seed,
                           progress=not quiet)
    echo(str(dataset.summary))
    if not dataset.valid:
        raise ComposerError(f"{data_dir}: too few pieces to hold any out for validation")
    if config.condition:
        echo(f"the model hears {', '.join(config.condition)}" + (
            f" (chords hidden from {config.chord_dropout:.0%} of the sequences)"
            if "chords" in config.condition else ""))
        run.features = ConditionFeatures(dataset.store, run.encoding, config.condition,
                                         chord_dropout=config.chord_dropout, seed=config.seed)
    data_info = {"folder": portable_name(data_dir), "pieces": dataset.summary.pieces,
                 # relative names of the training pieces: evaluate leaves them out
                 "train_names": dataset.train_names,
                 # note lengths and polyphony: the defaults of grammar-aware sampling
                 "note_limits": corpus_limits(run.encoding, dataset.train).to_dict(),
                 # "6/8 G major" -> training pieces: what sample draws when not told
                 "meter_keys": meter_key_counts(dataset.store, dataset.train_rows)}
    with _interrupt_flag() as interrupted:
        stop = should_stop or interrupted
        while not _done(run):
            _train_epoch(run, dataset, out_dir, data_info, quiet, echo, stop)
    return run


def portable_name(folder) -> str:
    """A name for a data folder that means something on any machine, never an absolute path:
    its path relative to the working folder when it lies inside it ("data", "data/oneills"),
    else the folder's own name."""
    path = Path(folder).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def _done(run: Run) -> bool:
    p = run.progress
    return p.finished or p.epoch >= run.config.epochs


def _train_epoch(run, dataset, out_dir, data_info, quiet, echo, stop):
    config, progress = run.config, run.progress
    windows = epoch_windows(dataset, config, progress.epoch, run.features)
    bar = tqdm(total=len(windows), initial=progress.window, disable=quiet, unit="step",
               desc=f"epoch {progress.epoch + 1}/{config.epochs}", leave=False,
               mininterval=0.5)
    with bar:
        while progress.window < len(windows):
            loss = train_step(run, windows, progress.window)
            progress.window += 1
            progress.loss_sum += loss
            bar.update(1)
            bar.set_postfix(loss=f"{progress.loss_sum / progress.window:.3f}")
            if config.max_steps and progress.step >= config.max_steps:
                progress.finished = True
                break
            if stop():
                save_resume(run, out_dir, data_info)
                raise TrainingInterrupted(_interrupted_message(out_dir, progress))
    _end_epoch(run, dataset, out_dir, data_info, echo)


def epoch_windows(dataset: Dataset, config: TrainConfig, epoch: int,
                  features: ConditionFeatures | None = None) -> EpochWindows:
    """This epoch's windows: every (piece, shift) pair shuffled by (seed, epoch), each
    starting a window, cut and transposed from the token store a batch at a time, with
    their conditioning features when there are any."""
    hook = None if features is None else features.for_epoch(epoch)
    return dataset.epoch(config.seed, epoch, config.batch_size, config.seq_len, hook)


def train_step(run: Run, windows: EpochWindows, k: int) -> float:
    """One optimiser step on window k; returns the loss in nats/step."""
    config, batch = run.config, windows.batch(k)  # ids (N, T+1)
    ids, targets = batch.ids[:, :-1].T, batch.ids[:, 1:].T  # time-major (T, N)
    state = _carried_state(run, batch.starts)
    cond = batch.features["cond"].transpose(1, 0, 2) if run.features else None  # (T, N, F)
    logits, run.state, cache = model.forward(run.params, ids, state, config.dropout, run.rng,
                                             run.workspace, cond, config.cond_sizes())
    loss, dlogits = model.cross_entropy(logits, targets, batch.mask.T)
    grads, _ = model.backward(run.params, dlogits, cache)  # state is carried, not learned
    if config.clip_value:
        clip(grads, config.clip_value)
    if config.clip_norm:
        clip_by_global_norm(grads, config.clip_norm)
    run.optimizer.lr = _learning_rate(run)
    run.optimizer.step(run.params, grads)
    run.progress.step += 1
    return loss


def _learning_rate(run: Run) -> float:
    """The rate of the next step: the plateau schedule's current one, or the cosine's."""
    config = run.config
    if config.schedule != "cosine" or not config.max_steps:
        return run.progress.lr
    done = min(run.progress.step / config.max_steps, 1.0)
    return config.lr * 0.5 * (1 + math.cos(math.pi * done))


def _carried_state(run: Run, starts: np.ndarray):
    """The state from the previous window, zeroed in the lanes where a piece starts."""
    if run.state is None:
        return model.zero_state(run.params, len(starts))
    keep = (~starts).astype(run.params["Wy"].dtype)[:, None]  # (N, 1)
    return [(h * keep, c * keep) for h, c in run.state]


def _end_epoch(run: Run, dataset: Dataset, out_dir, data_info, echo):
    progress, started = run.progress, time.perf_counter()
    scores = score_model(run.params, dataset.valid, run.encoding.event_mask(),
                         **_valid_features(run, dataset))
    train_nll = progress.loss_sum / max(progress.window, 1)
    progress.history.append({"epoch": progress.epoch + 1, "step": progress.step,
                             "train_nll": train_nll, "valid_nll": scores.nll,
                             "valid_accuracy": scores.accuracy,
                             "valid_event_accuracy": scores.event_accuracy,
                             "lr": _learning_rate(run)})
    improved = scores.nll < progress.best_nll
    echo(f"epoch {progress.epoch + 1}: train {train_nll:.4f} nats/step | valid "
         f"{scores.nll:.4f} nats/step ({scores.bits:.3f} bits), ppl {scores.perplexity:.3f}, "
         f"acc {scores.accuracy:.1%}, event acc {scores.event_accuracy:.1%}"
         f"{' (best)' if improved else ''} [{time.perf_counter() - started:.1f} s to score]")
    if improved:
        progress.best_nll, progress.bad_epochs = scores.nll, 0
        save_model(run, dataset, out_dir, data_info)
    else:
        progress.bad_epochs += 1
        if run.config.schedule == "plateau":
            progress.lr *= LR_DECAY
        progress.finished |= progress.bad_epochs >= run.config.patience
    progress.epoch += 1
    progress.window, progress.loss_sum = 0, 0.0
    run.state = None
    save_resume(run, out_dir, data_info)
    _plot_history(progress.history, out_dir, echo)


def _valid_features(run: Run, dataset: Dataset) -> dict:
    """score_model's conditioning arguments for the held-out pieces: their metre and key,
    their chords hidden, so that the validation NLL (which chooses the weights kept) is the
    one comparable with an unconditioned model's (composer.evaluation.evaluate)."""
    if run.features is None:
        return {}
    rows, parts = dataset.valid_rows.tolist(), run.config.condition
    return {"features": [hide_leaks(run.features.piece_features(r), parts) for r in rows],
            "cond_sizes": run.config.cond_sizes()}


def _plot_history(history, out_dir, echo):
    try:
        from composer.listen.plot import plot_loss_curve

        plot_loss_curve(history, Path(out_dir) / "loss.png")
    except ComposerError as error:  # matplotlib missing: say so once per run
        if len(history) == 1:
            echo(f"note: no loss curve picture ({error})")


# --- files --------------------------------------------------------------------


def _meta(run: Run, data_info) -> dict:
    return {"config": run.config.to_dict(), "encoding": run.encoding.config(),
            "vocab": run.encoding.vocab, "history": run.progress.history, "data": data_info}


def save_model(run: Run, dataset: Dataset, out_dir, data_info) -> Path:
    """The current weights as OUT/model.npz (what sample and evaluate read)."""
    train = dataset.baseline_pieces(MODEL_BASELINE_TOKENS, run.config.seed)  # untransposed
    arrays = model_arrays(run.params, train, dataset.start_counts())
    return checkpoint.save(Path(out_dir) / checkpoint.MODEL_FILE, arrays, _meta(run, data_info))


def save_resume(run: Run, out_dir, data_info) -> Path:
    """Everything --resume needs: weights, Adam, progress, carried state, random state."""
    arrays = checkpoint.with_prefix("param", run.params)
    optimizer = run.optimizer.state_dict()
    arrays.update(checkpoint.with_prefix("adam", optimizer["arrays"]))
    for layer, (h, c) in enumerate(run.state or []):
        arrays[f"state.h{layer}"], arrays[f"state.c{layer}"] = h, c
    progress = asdict(run.progress)
    progress["best_nll"] = _json_float(progress["best_nll"])
    meta = _meta(run, data_info)
    meta.update(progress=progress, adam=optimizer["scalars"],
                rng=run.rng.bit_generator.state)
    return checkpoint.save(Path(out_dir) / checkpoint.RESUME_FILE, arrays, meta)


def load_resume(out_dir) -> Run:
    """The run saved in OUT/checkpoint.npz, ready to continue."""
    path = Path(out_dir) / checkpoint.RESUME_FILE
    arrays, meta = checkpoint.load(path)
    try:
        run = new_run(TrainConfig.from_dict(meta["config"]))
        run.params = checkpoint.strip_prefix("param", arrays)
        run.optimizer.load_state_dict({"arrays": checkpoint.strip_prefix("adam", arrays),
                                       "scalars": meta["adam"]})
        progress = dict(meta["progress"])
        progress["best_nll"] = float(progress["best_nll"])
        run.progress = Progress(**progress)
        run.rng.bit_generator.state = meta["rng"]
        layers = run.config.layers
        if "state.h0" in arrays:
            run.state = [(arrays[f"state.h{k}"], arrays[f"state.c{k}"]) for k in range(layers)]
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: incomplete checkpoint ({error})") from error
    return run


def _json_float(value: float):
    return value if math.isfinite(value) else "inf"


def _interrupted_message(out_dir, progress: Progress) -> str:
    return (f"interrupted at step {progress.step} (epoch {progress.epoch + 1}); the checkpoint "
            f"is saved in {out_dir}. Resume with: composer train DATA_DIR --resume {out_dir}")


class _interrupt_flag:
    """Context manager: the first Ctrl-C sets a flag instead of killing the step."""

    def __enter__(self):
        self.pressed = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return lambda: self.pressed

    def _handle(self, signum, frame):
        if self.pressed:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.pressed = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False
