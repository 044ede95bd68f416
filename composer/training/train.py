"""Training: truncated BPTT over a token stream, Adam, clipping, early stopping, resume.

Each epoch shuffles the training pieces (deterministically from the seed and the
epoch), lays them out in N lanes of windows of T tokens, every piece starting a
new window, and walks the lanes carrying the LSTM state from one window to the
next within a piece; a lane's state is reset to zero where a new piece starts,
as it is when a piece is scored or sampled.
After each epoch the model is scored on the held-out pieces; the best weights
go to OUT/model.npz and the whole run state to OUT/checkpoint.npz, so that an
interrupted run resumes exactly where it stopped.

On several MPI ranks (training.world) the same loop runs on every rank: each owns a
share of the N lanes (training.lanes), computes their gradients, and a sum over the
ranks joins them before one identical optimiser step everywhere; the loss is the mean
over the whole batch's targets. Rank 0 alone prints and writes files.
"""

from __future__ import annotations

import functools
import math
import signal
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from composer.data.contexts import ConditionFeatures, meter_key_counts
from composer.data.dataset import Dataset, load_dataset, split_store
from composer.data.store import load_store
from composer.data.windows import EpochWindows
from composer.errors import ComposerError
from composer.music.limits import corpus_limits
from composer.nn import model
from composer.nn.optim import clip, clip_by_global_norm
from composer.training.config import TrainConfig
from composer.training.lanes import LaneUniforms, lane_share
from composer.training.resume import load_resume, save_model, save_resume
from composer.training.run import Progress, Run, new_run
from composer.training.validation import validate, validation_rows
from composer.training.world import AllRanksError

__all__ = ["Progress", "Run", "TrainingInterrupted", "load_resume", "new_run", "train"]

LR_DECAY = 0.5  # the learning rate is multiplied by this after an epoch without progress


class TrainingInterrupted(AllRanksError):
    """Ctrl-C: the checkpoint was written and the run can be resumed."""


def train(data_dir, out_dir, run: Run, *, quiet=False, echo=print, should_stop=None) -> Run:
    """Train `run` on the MIDI files under data_dir, writing into out_dir.

    should_stop() is asked after every step (default: has Ctrl-C been pressed);
    when it says yes (on any rank) the checkpoint is written and TrainingInterrupted
    raised on every rank. On MPI ranks other than 0, nothing is printed.
    """
    world = run.world
    quiet, echo = (quiet, echo) if world.is_root else (True, lambda message: None)
    with world.fail_together():
        dataset = _prepare(data_dir, run, quiet, echo)
        # what the files record about the data, made at the first save (not before step 1)
        data_info = functools.cache(
            lambda: _data_info(data_dir, dataset, run) if world.is_root else {})
        with _interrupt_flag() as interrupted:
            stop = should_stop or interrupted
            while not _done(run):
                _train_epoch(run, dataset, Path(out_dir), data_info, quiet, echo, stop)
    return run


def _prepare(data_dir, run: Run, quiet: bool, echo) -> Dataset:
    """The dataset, said, and the conditioning features of the run."""
    config = run.config
    dataset = _load_on_ranks(data_dir, config, run, quiet)
    echo(str(dataset.summary))
    if not dataset.valid:
        raise ComposerError(f"{data_dir}: too few pieces to hold any out for validation")
    if run.world.size > 1:
        echo(f"training on {run.world.describe()}, {config.batch_size} lanes in all")
    if config.condition:
        echo(f"the model hears {', '.join(config.condition)}" + (
            f" (chords hidden from {config.chord_dropout:.0%} of the sequences)"
            if "chords" in config.condition else ""))
        run.features = ConditionFeatures(dataset.store, run.encoding, config.condition,
                                         chord_dropout=config.chord_dropout, seed=config.seed)
    return dataset


def _load_on_ranks(data_dir, config: TrainConfig, run: Run, quiet: bool) -> Dataset:
    """The dataset, on every rank: rank 0 loads it (building the cache if need be, saying
    which files it skipped); the others map the store rank 0 found, or (where that folder
    is not theirs to see, on another machine) load it themselves, quietly."""
    world = run.world
    settings = dict(transpose=config.transpose, val_fraction=config.val_fraction,
                    seed=config.seed)
    dataset = load_dataset(data_dir, run.encoding, progress=not quiet, **settings) \
        if world.is_root else None
    where = world.broadcast(_store_location(dataset) if world.is_root else None)
    if world.is_root:
        return dataset
    found = load_store(Path(where[0]), run.encoding.vocab_size) if where else None
    if found is not None:
        return split_store(found[0], where[1], run.encoding, config.transpose,
                           config.val_fraction, config.seed, str(data_dir))
    return load_dataset(data_dir, run.encoding, warn=lambda message: None, **settings)


def _store_location(dataset: Dataset) -> tuple[str, dict] | None:
    """(folder, info) of a memory-mapped store, for the other ranks; None if in memory."""
    filename = getattr(dataset.store.tokens, "filename", None)
    return (str(Path(filename).parent), dataset.store_info) if filename else None


def _data_info(data_dir, dataset: Dataset, run: Run) -> dict:
    """What the model file records about its data (rank 0 only; 2.7 s on 100,000 files)."""
    return {"folder": portable_name(data_dir), "pieces": dataset.summary.pieces,
            # relative names of the training pieces: evaluate leaves them out
            "train_names": dataset.train_names,
            # note lengths and polyphony: the defaults of grammar-aware sampling
            "note_limits": corpus_limits(run.encoding, dataset.train).to_dict(),
            # "6/8 G major" -> training pieces: what sample draws when not told
            "meter_keys": meter_key_counts(dataset.store, dataset.train_rows)}


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
    share = _share(run, windows)
    if run.resumed_state is not None:  # a resumed run: this rank's lanes of the saved state
        run.state = [(h[share].copy(), c[share].copy()) for h, c in run.resumed_state]
        run.resumed_state = None
    bar = tqdm(total=len(windows), initial=progress.window, disable=quiet, unit="step",
               desc=f"epoch {progress.epoch + 1}/{config.epochs}", leave=False,
               mininterval=0.5)
    with bar:
        while progress.window < len(windows):
            loss = train_step(run, windows, progress.window, share)
            loss, stopping = run.world.sum_(np.array([loss, float(stop())]))
            progress.window += 1
            progress.loss_sum += loss
            bar.update(1)
            bar.set_postfix(loss=f"{progress.loss_sum / progress.window:.3f}")
            if config.max_steps and progress.step >= config.max_steps:
                progress.finished = True
                break
            if stopping:
                save_resume(run, out_dir, data_info())
                raise TrainingInterrupted(_interrupted_message(out_dir, progress))
    _end_epoch(run, dataset, out_dir, data_info, echo)


def _share(run: Run, windows: EpochWindows) -> slice:
    """This rank's lanes of the epoch's global batch; every rank needs at least one."""
    world = run.world
    if world.size > windows.N:
        raise ComposerError(f"{windows.N} lanes cannot be shared by {world.size} ranks: "
                            f"give --batch-size of at least {world.size}, or fewer ranks")
    return lane_share(windows.N, world.rank, world.size)


def epoch_windows(dataset: Dataset, config: TrainConfig, epoch: int,
                  features: ConditionFeatures | None = None) -> EpochWindows:
    """This epoch's windows: every (piece, shift) pair shuffled by (seed, epoch), each
    starting a window, cut and transposed from the token store a batch at a time, with
    their conditioning features when there are any."""
    hook = None if features is None else features.for_epoch(epoch)
    return dataset.epoch(config.seed, epoch, config.batch_size, config.seq_len, hook)


def train_step(run: Run, windows: EpochWindows, k: int, share: slice = slice(None)) -> float:
    """One optimiser step on window k, this rank computing the lanes `share` of it; returns
    this rank's part of the loss (nats/step: the shares' parts add up to the batch's)."""
    config, batch = run.config, windows.batch(k, share)  # ids (n, T+1)
    ids, targets = batch.ids[:, :-1].T, batch.ids[:, 1:].T  # time-major (T, n)
    state = _carried_state(run, batch.starts)
    cond = batch.features["cond"].transpose(1, 0, 2) if run.features else None  # (T, n, F)
    draws = LaneUniforms(config.seed, run.progress.step, _lanes(share, windows.N), windows.N)
    logits, run.state, cache = model.forward(run.params, ids, state, config.dropout, draws,
                                             run.workspace, cond, config.cond_sizes())
    loss, dlogits = model.cross_entropy(logits, targets, batch.mask.T, batch.targets)
    grads, _ = model.backward(run.params, dlogits, cache)  # state is carried, not learned
    _sum_gradients(run.world, grads)
    if config.clip_value:
        clip(grads, config.clip_value)
    if config.clip_norm:
        clip_by_global_norm(grads, config.clip_norm)
    run.optimizer.lr = _learning_rate(run)
    run.optimizer.step(run.params, grads)
    run.progress.step += 1
    return loss


def _lanes(share: slice, lanes: int) -> slice:
    return slice(*share.indices(lanes)[:2])


def _sum_gradients(world, grads: dict[str, np.ndarray]) -> None:
    """Replace each gradient by its sum over the ranks (one sum of one flat buffer)."""
    if world.size == 1:
        return
    names = sorted(grads)
    flat = world.sum_(np.concatenate([grads[name].ravel() for name in names]))
    offset = 0
    for name in names:
        size = grads[name].size
        grads[name] = flat[offset : offset + size].reshape(grads[name].shape)
        offset += size


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
    rows = validation_rows(dataset.valid_rows, run.config.val_pieces, run.config.seed)
    result = validate(run, dataset, rows)
    scores = result.scores
    train_nll = progress.loss_sum / max(progress.window, 1)
    progress.history.append({"epoch": progress.epoch + 1, "step": progress.step,
                             "train_nll": train_nll, "valid_nll": scores.nll,
                             "valid_accuracy": scores.accuracy,
                             "valid_event_accuracy": scores.event_accuracy,
                             "lr": _learning_rate(run)})
    if result.pieces < result.held_out:
        progress.history[-1].update(valid_stderr=result.stderr, valid_pieces=result.pieces)
    improved = scores.nll < progress.best_nll
    echo(f"epoch {progress.epoch + 1}: train {train_nll:.4f} nats/step | valid "
         f"{scores.nll:.4f}{result.describe()} nats/step ({scores.bits:.3f} bits), "
         f"ppl {scores.perplexity:.3f}, acc {scores.accuracy:.1%}, event acc "
         f"{scores.event_accuracy:.1%}{' (best)' if improved else ''} "
         f"[{time.perf_counter() - started:.1f} s to score]")
    if improved:
        progress.best_nll, progress.bad_epochs = scores.nll, 0
        if run.world.is_root:
            save_model(run, dataset, out_dir, data_info())
    else:
        progress.bad_epochs += 1
        if run.config.schedule == "plateau":
            progress.lr *= LR_DECAY
        progress.finished |= progress.bad_epochs >= run.config.patience
    progress.epoch += 1
    progress.window, progress.loss_sum = 0, 0.0
    run.state = None
    save_resume(run, out_dir, data_info())
    if run.world.is_root:
        _plot_history(progress.history, out_dir, echo)


def _plot_history(history, out_dir, echo):
    try:
        from composer.listen.plot import plot_loss_curve

        plot_loss_curve(history, Path(out_dir) / "loss.png")
    except ComposerError as error:  # matplotlib missing: say so once per run
        if len(history) == 1:
            echo(f"note: no loss curve picture ({error})")


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
