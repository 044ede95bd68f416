"""`composer sample`: new music from a trained model, written as MIDI files."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from composer.cli.common import MIDI_FILE, reports_errors, warn
from composer.constants import DEFAULT_PROGRAM, DEFAULT_QPM
from composer.errors import ComposerError


@click.command()
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
@click.option("--grammar/--no-grammar", default=True, show_default=True,
              help="draw only tokens that can follow (a NOTE_OFF of a sounding pitch, a HOLD "
                   "of a sounding note, ...), release long notes and, at the end, every "
                   "note; --no-grammar samples the model's plain probabilities")
@click.option("--max-note-beats", type=click.FloatRange(0, min_open=True), default=None,
              help="release a note once it has lasted this many quarter notes [default: "
                   "from the model: the length 99.9% of its training notes do not exceed]")
@click.option("--max-voices", type=click.IntRange(1), default=None,
              help="at most this many notes sounding at once (performance models) "
                   "[default: from the model: the most its training pieces had at once "
                   "for 99.9% of their time]")
@click.option("--voices", type=click.IntRange(1, 15), default=None,
              help="write the notes as this many voices, one MIDI track each, split by "
                   "register and continuity (voice 1 the highest) [default: one track]")
@click.option("--programs", type=str, default=None, metavar="P1,P2,...",
              help="General MIDI program of each voice, highest first (with --voices; "
                   "replaces --program), e.g. 52,52,52,52")
@reports_errors
def sample(model_path, length, num, temperature, top_k, top_p, primer, seed, out, qpm,
           program, wav, grammar, max_note_beats, max_voices, voices, programs):
    """Write new music from a trained model as MIDI files, and print their paths."""
    from composer.generation.sampling import generate, output_paths
    from composer.training.trained import default_model_path, load_model

    voice_programs = _voice_programs(voices, programs, program)
    if not grammar and (max_note_beats is not None or max_voices is not None):
        raise click.UsageError("--max-note-beats and --max-voices need the grammar; "
                               "drop --no-grammar")
    trained = load_model(model_path or default_model_path())
    primer_ids, primer_qpm, signature = _read_primer(primer, trained.encoding)
    paths = output_paths(out, num)
    cap = None if max_note_beats is None else max(
        1, round(max_note_beats * trained.encoding.steps_per_quarter))
    tokens = generate(trained, length, num, temperature=temperature, top_k=top_k, top_p=top_p,
                      primer=primer_ids, rng=np.random.default_rng(seed), grammar=grammar,
                      max_note_steps=cap, max_voices=max_voices)
    for path, ids in zip(paths, tokens, strict=True):
        _write_sample(path, trained.encoding.decode(ids), qpm or primer_qpm, signature, program,
                      voice_programs)
        click.echo(str(path))
        if wav:
            _render(path)


def _voice_programs(voices, programs, program):
    """One program per voice (None without --voices); UsageError for a bad --programs."""
    ctx = click.get_current_context()
    if programs is None:
        return None if voices is None else [program] * voices
    if voices is None:
        raise click.UsageError("--programs needs --voices")
    if ctx.get_parameter_source("program") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("give --program or --programs, not both")
    try:
        chosen = [int(text) for text in programs.split(",")]
    except ValueError:
        raise click.BadParameter(f"{programs!r} is not a comma-separated list of numbers",
                                 param_hint="--programs") from None
    if len(chosen) != voices or not all(0 <= p <= 127 for p in chosen):
        raise click.BadParameter(f"{programs!r}: give {voices} programs (one per voice), "
                                 "each 0..127", param_hint="--programs")
    return chosen


def _read_primer(primer, encoding):
    """(token ids or None, qpm, time signature) of the primer file."""
    from composer.music.midi import read_midi

    if primer is None:
        return None, DEFAULT_QPM, (4, 4)
    piece = read_midi(primer)[0]
    ids = encoding.encode(piece)
    if not len(ids):
        raise ComposerError(f"{primer}: no notes the {encoding.name} encoding can use")
    return ids, piece.qpm, piece.time_signature


def _write_sample(path, notes, qpm, signature, program, voice_programs):
    from composer.music.midi import write_midi
    from composer.music.voices import assign_voices

    path.parent.mkdir(parents=True, exist_ok=True)
    if voice_programs is None:
        write_midi(path, notes, qpm=qpm, time_signature=signature, program=program)
        return
    notes = assign_voices(notes, len(voice_programs), voice_programs)
    write_midi(path, notes, qpm=qpm, time_signature=signature, by_voice=True)


def _render(path):
    from composer.listen.render import free_path, render_wav

    click.echo(str(render_wav(path, free_path(path.with_suffix(".wav")), warn=warn)))
