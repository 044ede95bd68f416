"""`composer evaluate` and `composer info`: how good a model is, and how it was made."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import click

from composer.cli.common import EXISTING_DIR, reports_errors, warn


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data_dir", type=EXISTING_DIR)
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@reports_errors
def evaluate(model_path, data_dir, as_json):
    """Score MODEL on the MIDI and ABC files under DATA_DIR, next to an n-gram baseline.

    Prints the NLL per step in nats and bits, perplexity, accuracy and event
    accuracy (steps whose true token starts a note) of the model and of an
    interpolated Kneser-Ney n-gram (order 1-5 chosen on the model's training
    data). Pieces the model was trained on are left out, so on its own training
    folder only its held-out validation pieces count.
    """
    from composer.evaluation.evaluate import evaluate as run_evaluation
    from composer.evaluation.metrics import format_scores_table
    from composer.training.trained import load_model

    result = run_evaluation(load_model(model_path), data_dir, warn=warn)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(f"{result.pieces} pieces of {data_dir} ({result.split})")
    heard = _heard(result.condition)
    click.echo(format_scores_table({f"composer LSTM{heard}": result.model,
                                    f"{result.baseline_order}-gram Kneser-Ney": result.baseline}))
    ratio = result.model.event_accuracy / max(result.baseline.event_accuracy, 1e-12)
    side = "below" if result.nll_reduction >= 0 else "above"
    click.echo(f"NLL {abs(result.nll_reduction):.1%} {side} the baseline's; "
               f"event accuracy {ratio:.2f}x the baseline's")
    if result.with_chords is not None:
        sources = ", ".join(f"{k}: {v}" for k, v in result.chord_sources.items())
        click.echo(f"\nwith the pieces' chords ({sources} pieces); inferred chords are "
                   "computed from the notes being predicted,\nso this NLL is NOT comparable "
                   "with the baseline's or the one above:")
        click.echo(format_scores_table({"composer LSTM (chords)": result.with_chords}))


def _heard(condition) -> str:
    """" (metre, key from the files; history; chords hidden)" for a conditioned model, else
    "": what the comparable score heard (composer.evaluation.evaluate)."""
    if not condition:
        return ""
    shown = [part for part in condition if part in ("metre", "key")]
    heard = [f"{', '.join(shown)} from the files"] if shown else []
    heard += ["history" for part in condition if part == "history"]
    heard += ["form, the end hidden" for part in condition if part == "form"]
    heard += ["chords hidden" for part in condition if part == "chords"]
    return f" ({'; '.join(heard)})"


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path), required=False)
@reports_errors
def info(model_path):
    """Show how MODEL was made: settings, vocabulary, size and training history.

    MODEL defaults to the newest model under models/, else the shipped default.
    """
    from composer.training.trained import default_model_path, load_model

    trained = load_model(model_path or default_model_path())
    click.echo(f"model: {trained.path}")
    click.echo(f"encoding: {trained.encoding!r}")
    click.echo(f"vocabulary: {trained.encoding.vocab_size} tokens")
    click.echo(f"parameters: {trained.parameter_count:,}")
    click.echo(f"trained on: {trained.data.get('folder', '?')} "
               f"({len(trained.data.get('train_names', trained.train_tokens))} training pieces)")
    for f in fields(trained.config):
        value = getattr(trained.config, f.name)
        value = ", ".join(value) or "none" if isinstance(value, tuple) else value
        click.echo(f"  {f.name:17} {value}")
    click.echo(_grammar_defaults(trained))
    click.echo(_history_summary(trained.history))


def _grammar_defaults(trained):
    """The limits `composer sample` takes from the training corpus."""
    limits = trained.note_limits
    beats = limits.max_note_steps() / limits.steps_per_quarter
    voices = f", at most {limits.max_voices()} at once" if trained.encoding.name == "performance" \
        else ""
    return f"grammar defaults: notes up to {beats:g} beats{voices}"


def _history_summary(history):
    if not history:
        return "history: none"
    best = min(history, key=lambda h: h["valid_nll"])
    lines = [f"history: {len(history)} epochs, {history[-1]['step']} steps; best validation "
             f"NLL {best['valid_nll']:.4f} nats/step at epoch {best['epoch']}"]
    lines += [f"  epoch {h['epoch']:3}: train {h['train_nll']:.4f}  valid {h['valid_nll']:.4f}"
              for h in history]
    return "\n".join(lines)
