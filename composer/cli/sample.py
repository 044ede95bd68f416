"""`composer sample`: new music from a trained model, written as MIDI files."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from composer.cli.common import MIDI_FILE, reports_errors, warn
from composer.constants import CHORD_WEIGHT, DEFAULT_PROGRAM, DEFAULT_QPM
from composer.errors import ComposerError

MAX_SAMPLE_TOKENS = 100_000  # tokens one sample may take to fill --bars
SUFFIXES = {"midi": ".mid", "abc": ".abc", "musicxml": ".musicxml"}  # --format -> suffix


def _checked(what):
    """A click callback that reads --meter, --key or --chords with composer.music's parser
    (a bad value is a usage error naming it) and passes the text on."""
    def check(ctx, param, value):
        from composer.music.chords import parse_progression
        from composer.music.form import parse_form
        from composer.music.keys import parse_key
        from composer.music.meter import parse_meter

        if value is None:
            return None
        if what == "form" and value.strip().lower() in ("none", "auto"):  # auto: the default
            return "none" if value.strip().lower() == "none" else None
        try:
            {"meter": parse_meter, "key": parse_key, "chords": parse_progression,
             "form": parse_form}[what](value)
        except ComposerError as error:
            raise click.BadParameter(str(error)) from None
        return value
    return check


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
@click.option("--bars", type=click.IntRange(1, 1000), default=None,
              help="write this many bars (after the primer's) instead of --length tokens")
@click.option("--meter", callback=_checked("meter"), metavar="N/D", default=None,
              help="time signature, e.g. 6/8, 2/2, 3/4 [default: the primer's, else drawn "
                   "as the model's training tunes had them, else 4/4]")
@click.option("--key", callback=_checked("key"), metavar="KEY", default=None,
              help="key and mode, e.g. 'D major', 'E minor', 'A dorian' [default: the "
                   "primer's, else the key --chords imply, else drawn as the model's "
                   "training tunes had them, else C major]")
@click.option("--chords", callback=_checked("chords"), metavar="CHORDS", default=None,
              help="chord progression, one chord a bar unless a length in bars follows a "
                   "colon, repeated to the end, e.g. 'Am F C G' or 'D:2 G A:0.5 D:0.5'; "
                   "written as a second track and as markers")
@click.option("--chord-weight", type=click.FloatRange(0, 10), default=CHORD_WEIGHT,
              show_default=True,
              help="how closely to follow --chords: 0 = as the model learnt; more pushes "
                   "towards chord tones (classifier-free guidance; needs a model that hears "
                   "chords)")
@click.option("--scale-lock", is_flag=True,
              help="draw only notes of the key's scale")
@click.option("--form", callback=_checked("form"), metavar="FORM", default=None,
              help="the tune's parts in playing order, e.g. AABB, ABAB, AABA, AB, or none: a "
                   "part played again replays its first time but for its last bar or two "
                   "(first and second endings), each part ends on a cadence and the piece on "
                   "the tonic [default: auto, AABB from 8 bars on; melody models]")
@click.option("--part-bars", type=click.IntRange(1, 1000), default=None,
              help="bars in a part [default: 8, fewer where the form would not fit once]")
@click.option("--primer", type=MIDI_FILE, default=None,
              help="a MIDI or ABC file whose notes open every sample (an ABC file's "
                   "first tune)")
@click.option("--seed", type=int, default=None, help="random seed for reproducible samples")
@click.option("--out", type=click.Path(path_type=Path), default=Path("samples"),
              show_default=True, help="a folder (files sample-001.mid, ...) or a .mid file; "
                                      "existing files are never overwritten")
@click.option("--qpm", type=click.FloatRange(10, 400), default=None,
              help="tempo in quarter notes per minute [default: the primer's, else 120]")
@click.option("--program", type=click.IntRange(0, 127), default=DEFAULT_PROGRAM,
              show_default=True, help="General MIDI program (0 = piano, 40 = violin)")
@click.option("--format", "fmt", type=click.Choice(["midi", "abc", "musicxml"]), default="midi",
              show_default=True,
              help="what to write: MIDI files, ABC notation (sample-001.abc: to read, play or "
                   "post) or MusicXML (for notation programs)")
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
def sample(model_path, length, num, temperature, top_k, top_p, bars, meter, key, chords,
           chord_weight, scale_lock, form, part_bars, primer, seed, out, qpm, program, fmt,
           wav, grammar, max_note_beats, max_voices, voices, programs):
    """Write new music from a trained model as MIDI files (or ABC, MusicXML), and print
    their paths.

    A model trained with conditioning (composer info shows it) follows --meter, --key and
    --chords; the files carry the time and key signatures and the chords either way.
    """
    from composer.generation.sampling import output_paths
    from composer.training.trained import default_model_path, load_model

    voice_programs = _voice_programs(voices, programs, program)
    _check_combinations(grammar, max_note_beats, max_voices, bars)
    _check_form(form, part_bars, bars, primer)
    if wav and fmt != "midi":
        raise click.UsageError("--wav renders MIDI; drop --wav or use --format midi")
    trained = load_model(model_path or default_model_path())
    _warn_unheard(trained, meter=meter, key=key, chords=chords)
    primer_piece, primer_ids = _read_primer(primer, trained.encoding)
    paths = output_paths(out, num, SUFFIXES[fmt])
    rng = np.random.default_rng(seed)
    contexts = _contexts(trained, num, rng, primer_piece, meter=meter, key=key, chords=chords)
    if primer_ids is None:
        contexts = _planned(trained, contexts, rng, form=form, part_bars=part_bars, bars=bars,
                            tokens=length + 1, chords=chords)
    cap = None if max_note_beats is None else max(
        1, round(max_note_beats * trained.encoding.steps_per_quarter))
    settings = dict(temperature=temperature, top_k=top_k, top_p=top_p, grammar=grammar,
                    max_note_steps=cap, max_voices=max_voices, scale_lock=scale_lock,
                    chord_weight=_guidance(trained, chords, chord_weight))
    if len(contexts) == 1:  # one context for all: drawn together, in one batch
        context, first_step = contexts[0]
        samples = _draw(trained, primer_ids, length, bars, num, rng,
                        dict(settings, context=context, first_step=first_step))
        contexts = contexts * num
    else:  # each sample in its own metre and key
        samples = [_draw(trained, primer_ids, length, bars, 1, rng,
                         dict(settings, context=context, first_step=first_step))[0]
                   for context, first_step in contexts]
    signature_qpm = qpm or (primer_piece.qpm if primer_piece else DEFAULT_QPM)
    for path, notes, (context, _) in zip(paths, samples, contexts, strict=True):
        _write_sample(path, notes, signature_qpm, context, program, voice_programs, fmt)
        click.echo(str(path))
        if wav:
            _render(path)


def _contexts(trained, num, rng, primer_piece, *, meter, key, chords) -> list:
    """[(context, first step)]: one for all the samples, or, when the metre or key is drawn
    as the training tunes had them, one drawn for each sample (said on stderr)."""
    from composer.generation.steering import sample_context

    heard = set(trained.config.condition) & {"metre", "key"}
    choices = trained.data.get("meter_keys") if heard else None
    drawn = primer_piece is None and heard and (meter is None or key is None)
    contexts = [sample_context(trained.encoding, meter=meter, key=key, chords=chords,
                               primer=primer_piece, rng=rng, choices=choices)
                for _ in range(num if drawn and choices else 1)]
    if drawn:
        how = [part for part, chosen in (("the key that the chords imply", key is None and chords),
                                         ("drawn as the training tunes' were",
                                          meter is None or (key is None and not chords)))
               if chosen]
        pairs = "; ".join(f"{_meter_text(c)}, {c.keys[0][1].name}" for c, _ in contexts)
        warn(f"metre and key: {pairs} ({'; '.join(how)}; --meter and --key choose)")
    return contexts


def _check_form(form, part_bars, bars, primer):
    """UsageError for a form that cannot be played (before any work)."""
    explicit = form not in (None, "none")
    if primer is not None and (explicit or part_bars is not None):
        raise click.UsageError("--form and --part-bars shape a tune from its start: they "
                               "cannot continue a --primer")
    if part_bars is not None and bars is not None and part_bars > bars:
        raise click.UsageError(f"--part-bars {part_bars} is longer than the piece (--bars "
                               f"{bars})")
    if form == "none" and part_bars is not None:
        raise click.UsageError("--part-bars needs a form; drop --form none")


def _planned(trained, contexts, rng, *, form, part_bars, bars, tokens, chords) -> list:
    """The contexts with the form plan of each sample (composer.music.form.sample_plan);
    none for a model that does not draw a token per grid step."""
    from dataclasses import replace

    from composer.errors import MusicError
    from composer.music.chords import parse_progression
    from composer.music.form import sample_plan
    from composer.music.meter import bar_steps

    if trained.encoding.name != "melody":
        if form not in (None, "none") or part_bars is not None:
            raise click.UsageError("--form and --part-bars need a melody model (a token per "
                                   f"grid step); this one is {trained.encoding.name}")
        return contexts
    cycle = None if chords is None else sum(b for _, b in parse_progression(chords))
    planned = []
    for context, first_step in contexts:
        length = bars or tokens / bar_steps(context.meter.first, context.steps_per_quarter)
        try:
            plan = sample_plan(form, part_bars, length, rng, cycle=cycle)
        except MusicError as error:
            raise click.UsageError(str(error)) from None
        planned.append((replace(context, form=plan), first_step))
    return planned


def _meter_text(context) -> str:
    first = context.meter.changes[0]
    return f"{first.numerator}/{first.denominator}"


def _check_combinations(grammar, max_note_beats, max_voices, bars):
    ctx = click.get_current_context()
    if not grammar and (max_note_beats is not None or max_voices is not None):
        raise click.UsageError("--max-note-beats and --max-voices need the grammar; "
                               "drop --no-grammar")
    if bars is not None and ctx.get_parameter_source("length") is not \
            click.core.ParameterSource.DEFAULT:
        raise click.UsageError("give --length or --bars, not both")


def _warn_unheard(trained, **asked):
    """A note on stderr for each setting the model was not trained to hear."""
    parts = {"meter": "metre", "key": "key", "chords": "chords"}
    for option, value in asked.items():
        if value is not None and parts[option] not in trained.config.condition:
            warn(f"note: this model was not trained with {parts[option]} conditioning; "
                 f"--{option} is only written into the file")


def _guidance(trained, chords, weight) -> float:
    """The chord weight to use: none without chords or for a model that does not hear them
    (the default weight then goes unused; an explicit one is refused)."""
    if chords is None or "chords" not in trained.config.condition:
        explicit = click.get_current_context().get_parameter_source("chord_weight") is not \
            click.core.ParameterSource.DEFAULT
        if explicit and weight:
            raise click.UsageError("--chord-weight needs --chords and a model that hears "
                                   "chords")
        return 0.0
    return weight


def _draw(trained, primer_ids, length, bars, num, rng, settings) -> list:
    """Each sample's notes, placed in the bars of the context (its first step on)."""
    from composer.generation.lengths import cut, draw_beats
    from composer.generation.sampling import generate
    from composer.music.notes import shifted

    encoding, context = trained.encoding, settings["context"]
    offset = settings["first_step"] / encoding.steps_per_quarter  # beats before the opening
    if bars is None:
        tokens = generate(trained, length, num, primer=primer_ids, rng=rng, **settings)
        return [shifted(encoding.decode(ids), offset) for ids in tokens]
    end = _bars_end(trained, primer_ids, offset, context.meter, bars)
    drawn = [draw_beats(trained, end - offset, primer_ids, max_tokens=MAX_SAMPLE_TOKENS,
                        rng=rng, **settings) for _ in range(num)]
    return [cut(shifted(encoding.decode(ids), offset), end) for ids in drawn]


def _bars_end(trained, primer_ids, offset, meter, bars) -> float:
    """The beat where `bars` bars after the primer's last bar line end."""
    from composer.generation.lengths import covered_beats
    from composer.music.meter import bar_beats

    primer_end = offset + covered_beats(trained, primer_ids) if primer_ids is not None else 0.0
    lines = meter.downbeats(primer_end + 4096)
    start = lines[lines >= primer_end - 1e-9][0] if primer_ids is not None else 0.0
    length = bar_beats(meter.meter_at(start))
    return float(start + bars * length)


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
    """(piece or None, token ids or None) of the primer file."""
    from composer.music.files import read_music

    if primer is None:
        return None, None
    piece = read_music(primer)[0]
    ids = encoding.encode(piece)
    if not len(ids):
        raise ComposerError(f"{primer}: no notes the {encoding.name} encoding can use")
    return piece, ids


def _write_sample(path, notes, qpm, context, program, voice_programs, fmt="midi"):
    from composer.generation.shaping import part_marks
    from composer.music.keys import key_signature
    from composer.music.midi import write_midi
    from composer.music.notes import ChordSymbol
    from composer.music.voices import assign_voices

    path.parent.mkdir(parents=True, exist_ok=True)
    marks = dict(qpm=qpm, time_signatures=context.meter.changes,
                 key_signatures=[key_signature(key, beat) for beat, key in context.keys],
                 parts=part_marks(context))
    if context.chord_source in ("given", "file"):
        end = max((n.end for n in notes), default=0.0)
        marks["chords"] = [ChordSymbol(beat, chord.symbol) for beat, chord in context.chords
                           if beat < end - 1e-9]
    if voice_programs is not None:
        notes = assign_voices(notes, len(voice_programs), voice_programs)
    if fmt != "midi":
        _write_notation(path, notes, marks, context, fmt)
    elif voice_programs is None:
        write_midi(path, notes, program=program, **marks)
    else:
        write_midi(path, notes, by_voice=True, **marks)


def _write_notation(path, notes, marks, context, fmt):
    """A sample as ABC or MusicXML, laid out in its context's bars (the pickup) and keys."""
    from composer.cli.notation import notation_text
    from composer.music.notes import Piece

    first = context.meter.changes[0]
    piece = Piece(path.stem, notes, qpm=marks["qpm"],
                  time_signature=(first.numerator, first.denominator),
                  time_signatures=list(marks["time_signatures"]),
                  key_signatures=marks["key_signatures"], chords=marks.get("chords", []),
                  parts=list(marks["parts"]))
    text = notation_text(piece, fmt, path.stem, meter=context.meter, keys=context.keys)
    path.write_text(text, encoding="utf-8")


def _render(path):
    from composer.listen.render import free_path, render_wav

    click.echo(str(render_wav(path, free_path(path.with_suffix(".wav")), warn=warn)))
