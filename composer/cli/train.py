"""`composer train`: the options of a run, checked before any work starts."""

from __future__ import annotations

import sys
import time

import click

from composer.cli.common import EXISTING_DIR, reports_errors
from composer.errors import ComposerError
from composer.training import checkpoint
from composer.training.config import TrainConfig
from composer.training.trained import MODELS_DIR

DEFAULTS = TrainConfig()


class ConditionParts(click.ParamType):
    """ "metre,key,chords" (any of them, comma-separated) or "none" -> a tuple of parts."""

    name = "PARTS"

    def convert(self, value, param, ctx):
        from composer.music.conditioning import check_parts

        if isinstance(value, tuple):
            return value
        if value.strip().lower() == "none":
            return ()
        try:
            return check_parts(value)
        except ComposerError as error:
            self.fail(f"{value!r}: {error}", param, ctx)


TRAIN_OPTIONS = [  # (option, TrainConfig field, type, help)
    ("--encoding", "encoding", click.Choice(["melody", "performance"]),
     "melody: one line, a token per grid step; performance: all voices, as events"),
    ("--steps-per-quarter", "steps_per_quarter", click.IntRange(1, 48),
     "grid steps per quarter note (4 = sixteenth notes; 12 also keeps triplets)"),
    ("--condition", "condition", ConditionParts(),
     "what the model hears besides the notes: metre (position in the bar, time signature), "
     "key, chords (the file's chord symbols, else inferred per bar), history (what sounded "
     "1, 2 and 8 bars before; melody only), form (the part, the bars to the end), "
     "comma-separated, or none; the performance encoding's default leaves history out"),
    ("--chord-dropout", "chord_dropout", click.FloatRange(0, 1),
     "share of pieces (per epoch and transposition) trained with their chords hidden, so "
     "the model also plays without chords"),
    ("--hidden-size", "hidden_size", click.IntRange(1), "LSTM units per layer"),
    ("--layers", "layers", click.IntRange(1), "stacked LSTM layers"),
    ("--dropout", "dropout", click.FloatRange(0, 1, max_open=True),
     "dropout on each layer's output"),
    ("--seq-len", "seq_len", click.IntRange(1), "BPTT window in tokens"),
    ("--batch-size", "batch_size", click.IntRange(1), "parallel lanes of the token stream"),
    ("--epochs", "epochs", click.IntRange(1), "passes over the training data"),
    ("--max-steps", "max_steps", click.IntRange(0), "stop after this many steps (0 = no limit)"),
    ("--lr", "lr", click.FloatRange(0, min_open=True), "Adam learning rate at the start"),
    ("--schedule", "schedule", click.Choice(["plateau", "cosine"]),
     "plateau: halve the rate after an epoch without progress; cosine: lower it smoothly "
     "to 0 at --max-steps"),
    ("--clip-norm", "clip_norm", click.FloatRange(0), "clip gradients to this global norm"),
    ("--clip-value", "clip_value", click.FloatRange(0),
     "clip each gradient element to +-this instead (the course's clip)"),
    ("--transpose", "transpose", click.IntRange(0, 12),
     "also train on every transposition by up to this many semitones"),
    ("--val-fraction", "val_fraction", click.FloatRange(0, 1, min_open=True, max_open=True),
     "share of pieces held out for validation"),
    ("--val-pieces", "val_pieces", click.IntRange(0),
     "score at most this many held-out pieces after each epoch (a sample drawn from the "
     "seed, its NLL given with a standard error; 0 = all)"),
    ("--patience", "patience", click.IntRange(1), "epochs without progress before stopping"),
    ("--seed", "seed", int, "random seed: the same seed gives the same run"),
]


def train_options(command):
    for option, name, kind, text in reversed(TRAIN_OPTIONS):
        default = getattr(DEFAULTS, name)
        default = ",".join(default) or "none" if isinstance(default, tuple) else default
        command = click.option(option, name, type=kind, default=None,
                               help=f"{text} [default: {default}]")(command)
    return command


@click.command()
@click.argument("data_dir", type=EXISTING_DIR)
@train_options
@click.option("--out", type=EXISTING_DIR, default=None,
              help="folder for the model [default: models/run-DATE-TIME]")
@click.option("--resume", type=EXISTING_DIR, default=None,
              help="continue the interrupted or finished run saved in this folder")
@click.option("--quiet", is_flag=True, help="no progress bars or per-epoch lines")
@reports_errors
def train(data_dir, out, resume, quiet, **settings):
    """Train a model on the MIDI and ABC files under DATA_DIR (searched recursively).

    Writes OUT/model.npz (the best weights, by validation NLL), OUT/checkpoint.npz
    (everything --resume needs) and OUT/loss.png. Ctrl-C stops after the current
    step and saves the checkpoint.
    """
    from composer.training.train import TrainingInterrupted
    from composer.training.train import train as run_training
    from composer.training.world import current_world

    world = current_world()  # several MPI ranks under mpiexec or srun, else this process
    given = {name: value for name, value in settings.items() if value is not None}
    run, out = _start_run(given, out, resume, world)
    says = world.is_root  # rank 0 alone prints
    echo = (lambda message: None) if quiet or not says else click.echo
    started = time.perf_counter()
    try:
        run_training(data_dir, out, run, quiet=quiet, echo=echo)
    except TrainingInterrupted as stopped:
        if says:
            click.echo(f"\n{stopped}".replace("DATA_DIR", str(data_dir)), err=True)
        sys.exit(130)
    best = run.progress.best_nll
    if says:
        click.echo(f"done in {time.perf_counter() - started:.0f} s: best validation NLL "
                   f"{best:.4f} nats/step; model saved in {out / checkpoint.MODEL_FILE}")


def _start_run(given, out, resume, world):
    """(run, out folder): a resumed run, or a new one after checking the options."""
    from composer.training.train import load_resume, new_run

    if resume is not None:
        if out is not None or given:
            options = ["--out"] * (out is not None) + [_option_name(n) for n in given]
            raise click.UsageError(f"--resume continues with the saved settings; drop "
                                   f"{', '.join(options)}")
        return load_resume(resume, world), resume
    config = TrainConfig(**given)
    if "condition" not in given and config.encoding != "melody":  # history: melody only
        config.condition = tuple(p for p in config.condition if p != "history")
    if "clip_value" in given and "clip_norm" in given:
        raise click.UsageError("give --clip-norm or --clip-value, not both")
    if "clip_value" in given:
        config.clip_norm = 0.0  # the course's clip replaces the default norm clipping
    config.validate()
    # the ranks' clocks may tick apart: the folder is named by rank 0
    out = out or world.broadcast(MODELS_DIR / time.strftime("run-%Y%m%d-%H%M%S"))
    if any((out / name).exists() for name in (checkpoint.MODEL_FILE, checkpoint.RESUME_FILE)):
        raise ComposerError(f"{out} already holds a model; use --resume {out} or another --out")
    return new_run(config, world), out


def _option_name(field_name):
    return "--" + field_name.replace("_", "-")
