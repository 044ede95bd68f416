"""The `composer` command line: parse options, call library code, print.

Library code raises ComposerError; every command turns it into one line
`Error: ...` and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields
from pathlib import Path

import click
import numpy as np

from composer import __version__, checkpoint, cli_media
from composer.clitools import reports_errors, warn
from composer.config import TrainConfig
from composer.constants import DEFAULT_PROGRAM, DEFAULT_QPM
from composer.errors import ComposerError
from composer.trained import MODELS_DIR

DEFAULTS = TrainConfig()
EXISTING_DIR = click.Path(path_type=Path, file_okay=False)
MIDI_FILE = click.Path(path_type=Path, dir_okay=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="composer")
def main():
    """Learn to compose music with an LSTM written from scratch in NumPy.

    \b
    composer train data/          train a model on a folder of MIDI files
    composer sample --length 200  write new music from the newest model
    composer evaluate MODEL DATA  compare a model with an n-gram baseline
    """


# --- train --------------------------------------------------------------------

TRAIN_OPTIONS = [  # (option, TrainConfig field, type, help)
    ("--encoding", "encoding", click.Choice(["melody", "performance"]),
     "melody: one line, a token per grid step; performance: all voices, as events"),
    ("--steps-per-quarter", "steps_per_quarter", click.IntRange(1, 48),
     "grid steps per quarter note (4 = sixteenth notes; 12 also keeps triplets)"),
    ("--hidden-size", "hidden_size", click.IntRange(1), "LSTM units per layer"),
    ("--layers", "layers", click.IntRange(1), "stacked LSTM layers"),
    ("--dropout", "dropout", click.FloatRange(0, 1, max_open=True),
     "dropout on each layer's output"),
    ("--seq-len", "seq_len", click.IntRange(1), "BPTT window in tokens"),
    ("--batch-size", "batch_size", click.IntRange(1), "parallel lanes of the token stream"),
    ("--epochs", "epochs", click.IntRange(1), "passes over the training data"),
    ("--max-steps", "max_steps", click.IntRange(0), "stop after this many steps (0 = no limit)"),
    ("--lr", "lr", click.FloatRange(0, min_open=True), "Adam learning rate"),
    ("--clip-norm", "clip_norm", click.FloatRange(0), "clip gradients to this global norm"),
    ("--clip-value", "clip_value", click.FloatRange(0),
     "clip each gradient element to +-this instead (the course's clip)"),
    ("--transpose", "transpose", click.IntRange(0, 12),
     "also train on every transposition by up to this many semitones"),
    ("--val-fraction", "val_fraction", click.FloatRange(0, 1, min_open=True, max_open=True),
     "share of pieces held out for validation"),
    ("--patience", "patience", click.IntRange(1), "epochs without progress before stopping"),
    ("--seed", "seed", int, "random seed: the same seed gives the same run"),
]


def train_options(command):
    for option, name, kind, text in reversed(TRAIN_OPTIONS):
        default = getattr(DEFAULTS, name)
        command = click.option(option, name, type=kind, default=None,
                               help=f"{text} [default: {default}]")(command)
    return command


@main.command()
@click.argument("data_dir", type=EXISTING_DIR)
@train_options
@click.option("--out", type=EXISTING_DIR, default=None,
              help="folder for the model [default: models/run-DATE-TIME]")
@click.option("--resume", type=EXISTING_DIR, default=None,
              help="continue the interrupted or finished run saved in this folder")
@click.option("--quiet", is_flag=True, help="no progress bars or per-epoch lines")
@reports_errors
def train(data_dir, out, resume, quiet, **settings):
    """Train a model on the MIDI files under DATA_DIR (searched recursively).

    Writes OUT/model.npz (the best weights, by validation NLL), OUT/checkpoint.npz
    (everything --resume needs) and OUT/loss.png. Ctrl-C stops after the current
    step and saves the checkpoint.
    """
    from composer.train import TrainingInterrupted
    from composer.train import train as run_training

    given = {name: value for name, value in settings.items() if value is not None}
    run, out = _start_run(given, out, resume)
    echo = (lambda message: None) if quiet else click.echo
    started = time.perf_counter()
    try:
        run_training(data_dir, out, run, quiet=quiet, echo=echo)
    except TrainingInterrupted as stopped:
        click.echo(f"\n{stopped}".replace("DATA_DIR", str(data_dir)), err=True)
        sys.exit(130)
    best = run.progress.best_nll
    click.echo(f"done in {time.perf_counter() - started:.0f} s: best validation NLL "
               f"{best:.4f} nats/step; model saved in {out / checkpoint.MODEL_FILE}")


def _start_run(given, out, resume):
    """(run, out folder): a resumed run, or a new one after checking the options."""
    from composer.train import load_resume, new_run

    if resume is not None:
        if out is not None or given:
            options = ["--out"] * (out is not None) + [_option_name(n) for n in given]
            raise click.UsageError(f"--resume continues with the saved settings; drop "
                                   f"{', '.join(options)}")
        return load_resume(resume), resume
    config = TrainConfig(**given)
    if "clip_value" in given and "clip_norm" in given:
        raise click.UsageError("give --clip-norm or --clip-value, not both")
    if "clip_value" in given:
        config.clip_norm = 0.0  # the course's clip replaces the default norm clipping
    config.validate()
    out = out or MODELS_DIR / time.strftime("run-%Y%m%d-%H%M%S")
    if any((out / name).exists() for name in (checkpoint.MODEL_FILE, checkpoint.RESUME_FILE)):
        raise ComposerError(f"{out} already holds a model; use --resume {out} or another --out")
    return new_run(config), out


def _option_name(field_name):
    return "--" + field_name.replace("_", "-")


# --- sample -------------------------------------------------------------------


@main.command()
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
              help="model folder or .npz file [default: the newest under models/, "
                   "else the shipped default]")
@click.option("--length", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="tokens to generate; a melody token is one sixteenth-note step, a "
                   "performance token one event (a note on/off, a time shift or a velocity)")
@click.option("--num", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="how many pieces to write")
@click.option("--temperature", type=click.FloatRange(0), default=1.0, show_default=True,
              help="below 1: safer, more repetitive; above 1: wilder; 0: always the likeliest")
@click.option("--top-k", type=click.IntRange(0), default=0, show_default=True,
              help="sample among the k likeliest tokens only (0 = all)")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), default=1.0,
              show_default=True, help="sample from the smallest set of tokens with this "
                                      "much probability (1 = all)")
@click.option("--primer", type=MIDI_FILE, default=None,
              help="a MIDI file whose notes open every sample")
@click.option("--seed", type=int, default=None, help="random seed for reproducible samples")
@click.option("--out", type=click.Path(path_type=Path), default=Path("samples"),
              show_default=True, help="a folder (files sample-001.mid, ...) or a .mid file; "
                                      "existing files are never overwritten")
@click.option("--qpm", type=click.FloatRange(10, 400), default=None,
              help="tempo in quarter notes per minute [default: the primer's, else 120]")
@click.option("--program", type=click.IntRange(0, 127), default=DEFAULT_PROGRAM,
              show_default=True, help="General MIDI program (0 = piano, 40 = violin)")
@click.option("--wav", is_flag=True, help="also render each sample to .wav with FluidSynth")
@reports_errors
def sample(model_path, length, num, temperature, top_k, top_p, primer, seed, out, qpm,
           program, wav):
    """Write new music from a trained model as MIDI files, and print their paths."""
    from composer.sampling import generate, output_paths
    from composer.trained import default_model_path, load_model

    trained = load_model(model_path or default_model_path())
    primer_ids, primer_qpm, signature = _read_primer(primer, trained.encoding)
    paths = output_paths(out, num)
    tokens = generate(trained, length, num, temperature=temperature, top_k=top_k, top_p=top_p,
                      primer=primer_ids, rng=np.random.default_rng(seed))
    for path, ids in zip(paths, tokens, strict=True):
        _write_sample(path, trained.encoding.decode(ids), qpm or primer_qpm, signature, program)
        click.echo(str(path))
        if wav:
            _render(path)


def _read_primer(primer, encoding):
    """(token ids or None, qpm, time signature) of the primer file."""
    from composer.midi_io import read_midi

    if primer is None:
        return None, DEFAULT_QPM, (4, 4)
    piece = read_midi(primer)[0]
    ids = encoding.encode(piece)
    if not len(ids):
        raise ComposerError(f"{primer}: no notes the {encoding.name} encoding can use")
    return ids, piece.qpm, piece.time_signature


def _write_sample(path, notes, qpm, signature, program):
    from composer.midi_io import write_midi

    path.parent.mkdir(parents=True, exist_ok=True)
    write_midi(path, notes, qpm=qpm, time_signature=signature, program=program)


def _render(path):
    from composer.render import free_path, render_wav

    click.echo(str(render_wav(path, free_path(path.with_suffix(".wav")), warn=warn)))


# --- evaluate and info ----------------------------------------------------------


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data_dir", type=EXISTING_DIR)
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@reports_errors
def evaluate(model_path, data_dir, as_json):
    """Score MODEL on the MIDI files under DATA_DIR, next to an n-gram baseline.

    Prints the NLL per step in nats and bits, perplexity, accuracy and event
    accuracy (steps whose true token starts a note) of the model and of an
    interpolated Kneser-Ney n-gram (order 1-5 chosen on the model's training
    data). Pieces the model was trained on are left out, so on its own training
    folder only its held-out validation pieces count.
    """
    from composer.evaluation import evaluate as run_evaluation
    from composer.metrics import format_scores_table
    from composer.trained import load_model

    result = run_evaluation(load_model(model_path), data_dir, warn=warn)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(f"{result.pieces} pieces of {data_dir} ({result.split})")
    click.echo(format_scores_table({"composer LSTM": result.model,
                                    f"{result.baseline_order}-gram Kneser-Ney": result.baseline}))
    ratio = result.model.event_accuracy / max(result.baseline.event_accuracy, 1e-12)
    side = "below" if result.nll_reduction >= 0 else "above"
    click.echo(f"NLL {abs(result.nll_reduction):.1%} {side} the baseline's; "
               f"event accuracy {ratio:.2f}x the baseline's")


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path), required=False)
@reports_errors
def info(model_path):
    """Show how MODEL was made: settings, vocabulary, size and training history.

    MODEL defaults to the newest model under models/, else the shipped default.
    """
    from composer.trained import default_model_path, load_model

    trained = load_model(model_path or default_model_path())
    click.echo(f"model: {trained.path}")
    click.echo(f"encoding: {trained.encoding!r}")
    click.echo(f"vocabulary: {trained.encoding.vocab_size} tokens")
    click.echo(f"parameters: {trained.parameter_count:,}")
    click.echo(f"trained on: {trained.data.get('folder', '?')} "
               f"({len(trained.train_tokens)} training pieces)")
    for f in fields(trained.config):
        click.echo(f"  {f.name:13} {getattr(trained.config, f.name)}")
    click.echo(_history_summary(trained.history))


def _history_summary(history):
    if not history:
        return "history: none"
    best = min(history, key=lambda h: h["valid_nll"])
    lines = [f"history: {len(history)} epochs, {history[-1]['step']} steps; best validation "
             f"NLL {best['valid_nll']:.4f} nats/step at epoch {best['epoch']}"]
    lines += [f"  epoch {h['epoch']:3}: train {h['train_nll']:.4f}  valid {h['valid_nll']:.4f}"
              for h in history]
    return "\n".join(lines)


for _command in cli_media.COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":
    main()
