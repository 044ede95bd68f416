"""The listening commands: `composer render`, `composer plot` and `composer stats`.

Thin click commands over composer.listen.render, composer.listen.plot and composer.music.stats;
composer.cli adds every command in COMMANDS to the `composer` group.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from composer.cli.common import output_path, reports_errors, require_path
from composer.listen.plot import plot_piano_roll, require_matplotlib
from composer.listen.render import (
    DEFAULT_GAIN,
    DEFAULT_SAMPLE_RATE,
    MAX_GAIN,
    SAMPLE_RATES,
    SOUNDFONT_ENV,
    SOUNDFONT_PLACES,
    render_wav,
    wav_info,
)
from composer.music import stats as st
from composer.music import structure as sx
from composer.music import texture as tx
from composer.music.chords import parse_progression
from composer.music.keys import parse_key
from composer.music.meter import parse_meter

FILE = click.Path(path_type=Path, dir_okay=False)


def _warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


@click.command()
@click.argument("midi_file", type=FILE)
@click.option("-o", "--output", type=FILE, help="WAV file to write  [default: MIDI_FILE with .wav]")
@click.option(
    "--soundfont",
    type=FILE,
    help=f"General MIDI .sf2 soundfont  [default: ${SOUNDFONT_ENV}, else {SOUNDFONT_PLACES[0]}]",
)
@click.option(
    "--gain",
    type=click.FloatRange(0, MAX_GAIN, min_open=True),
    default=DEFAULT_GAIN,
    show_default=True,
    help="FluidSynth output gain; lowered automatically if the result would clip",
)
@click.option(
    "--sample-rate",
    type=click.IntRange(*SAMPLE_RATES),
    default=DEFAULT_SAMPLE_RATE,
    show_default=True,
    help="samples per second (Hz)",
)
@click.option("--overwrite", is_flag=True, help="replace the output file if it exists")
@reports_errors
def render(midi_file, output, soundfont, gain, sample_rate, overwrite):
    """Render MIDI_FILE to audio (WAV) with FluidSynth, to hear it.

    Needs FluidSynth and a General MIDI soundfont: on Debian/Ubuntu
    `sudo apt-get install fluidsynth fluid-soundfont-gm`. Without -o the WAV
    goes next to the MIDI file; an existing file is never overwritten
    silently (a free name such as song-1.wav is picked and reported).
    """
    require_path(midi_file)
    wav = output_path(midi_file, output, ".wav", overwrite)
    render_wav(
        midi_file, wav, gain=gain, soundfont=soundfont, sample_rate=sample_rate,
        overwrite=overwrite, warn=_warn,
    )  # fmt: skip
    info = wav_info(wav)
    click.echo(f"Wrote {wav} ({info.seconds:.1f} s, peak {info.peak_dbfs:.1f} dBFS)")


@click.command()
@click.argument("midi_file", type=FILE)
@click.option("-o", "--output", type=FILE, help="PNG file to write  [default: MIDI_FILE with .png]")
@click.option("--overwrite", is_flag=True, help="replace the output file if it exists")
@click.option("--estimate-phase", is_flag=True,
              help="draw the bars from the estimated first downbeat (after a pickup) "
                   "instead of from time 0, as written")
@reports_errors
def plot(midi_file, output, overwrite, estimate_phase):
    """Draw MIDI_FILE as a piano roll (PNG): pitch against beats, with the bars of its time
    signatures and its chord symbols.

    Needs matplotlib: pip install 'numpy-lstm-composer[plot]'.
    """
    from composer.music.files import read_music
    from composer.music.meter import meter_map

    require_matplotlib()
    require_path(midi_file)
    pieces = read_music(midi_file)
    png = output_path(midi_file, output, ".png", overwrite)
    if len(pieces) > 1:
        click.echo(f"{midi_file} holds {len(pieces)} songs; drawing the first")
    bars = meter_map(pieces[0]) if estimate_phase else None
    plot_piano_roll(pieces[0], png, title=midi_file.name, bars=bars)
    click.echo(f"Wrote {png}")


def _load(path: Path) -> list:
    """The pieces of a MIDI or ABC file, or of every such file in a folder."""
    if path.is_dir():
        from composer.data.corpus import load_pieces

        return load_pieces(path, warn=_warn)
    from composer.music.files import read_music

    return read_music(path)


def _column_names(path: Path, reference: Path) -> tuple[str, str]:
    if str(path) != str(reference):
        return str(path), str(reference)
    return str(path), f"{reference} (reference)"


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--against",
    "reference",
    type=click.Path(path_type=Path),
    metavar="DATA_DIR",
    help="reference corpus (a folder of MIDI or ABC files) to print side by side, with "
         "distances",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
@click.option("--meter", metavar="N/D",
              help="read PATH's pieces in this metre, bar lines from time 0, e.g. 6/8")
@click.option("--chords", "progression", metavar="CHORDS",
              help='judge PATH\'s on-beat notes against this progression, one chord a bar '
                   'unless durations are given: "Am F C G", "Am:2 F C:0.5 G:0.5"')
@click.option("--key", metavar="KEY",
              help="judge PATH's notes and endings against this key, e.g. 'D major' "
                   "[default: each piece's own]")
@click.option("--estimate-phase", is_flag=True,
              help="estimate where PATH's bars start (pickups) instead of reading them as "
                   "written; a reference's are always estimated")
@reports_errors
def stats(path, reference, as_json, meter, progression, key, estimate_phase):
    """Musical statistics of a MIDI file or a folder of them.

    Note density, pitch range, pitch-class and interval histograms, share of
    notes in the estimated key, excessive repeats and resolved leaps of the
    top line; the texture: notes sounding at once and note lengths; then where
    melody notes start in the bar (per metre), on-beat notes on chord tones,
    notes in key; then form: repeated bars, bars equal to the bar a part back, distinct
    and empty bars, self-similarity and endings on the tonic. `composer.music.stats`,
    `composer.music.texture`, `composer.music.structure` and `composer.music.repetition`
    document every definition.
    """
    settings = {"meter": parse_meter(meter) if meter else None, "chords": progression,
                "estimate": estimate_phase, "key": key}
    if progression is not None:
        parse_progression(progression)  # a bad progression stops before any work
    if key is not None:
        parse_key(key)  # likewise a bad key
    require_path(path, "file or folder")
    if reference is not None:
        require_path(reference, "file or folder")
    ours = _figures(_load(path), settings)
    report = {"path": str(path), "summary": ours["summary"], "structure": ours["structure"]}
    columns, forms = {str(path): ours["summary"]}, {str(path): ours["structure"]}
    bars = {str(path): f"{meter or 'own'}, {'estimated' if estimate_phase else 'written'}"}
    distance = onsets = None
    if reference is not None:
        theirs = _figures(_load(reference), {"estimate": True})
        distance = st.distances(ours["tally"], theirs["tally"]) | tx.texture_distances(
            ours["texture"], theirs["texture"])
        onsets = sx.onset_distances(ours["form"], theirs["form"])
        report["reference"] = {"path": str(reference), "summary": theirs["summary"],
                               "structure": theirs["structure"]}
        report["distance"] = {**distance, "onset_js": onsets}
        mine, other = _column_names(path, reference)
        columns = {mine: ours["summary"], other: theirs["summary"]}
        forms = {mine: ours["structure"], other: theirs["structure"]}
        bars = {mine: bars[str(path)], other: "own, estimated"}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(st.format_report(columns, distance))
    click.echo("\n" + tx.format_texture_report(columns, distance))
    click.echo("\n" + sx.format_structure(forms, bars, onsets))


def _figures(pieces: list, structure_settings: dict) -> dict:
    """The tallies of some pieces and their JSON-able summaries: melodic figures and texture
    ("summary"), metre and harmony ("structure")."""
    tally, texture = st.tally(pieces), tx.tally_texture(pieces)
    form = sx.structure(pieces, **structure_settings)
    return {"tally": tally, "texture": texture, "form": form,
            "summary": st.summary(tally) | tx.texture_summary(texture),
            "structure": sx.structure_summary(form)}


COMMANDS = [render, plot, stats]
