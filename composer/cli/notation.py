"""The notation commands: `composer export` (ABC, MusicXML) and `composer score` (SVG).

Thin click commands over composer.music.abc.writer, composer.music.notation.musicxml and
composer.listen.engrave; composer.cli adds every command in COMMANDS to the group.
"""

from __future__ import annotations

from pathlib import Path

import click

from composer.cli.common import output_path, reports_errors, require_path

FILE = click.Path(path_type=Path, dir_okay=False)
FORMATS = {"abc": ".abc", "musicxml": ".musicxml"}  # --format -> file suffix


def notation_text(piece, fmt: str, title: str, meter=None, keys=None, number: int = 1) -> str:
    """The ABC or MusicXML text of a piece (its parts, if known, guide the repeats)."""
    if fmt == "abc":
        from composer.music.abc.writer import abc_text

        return abc_text(piece, title, meter, keys, number=number)
    from composer.music.notation.musicxml import musicxml_text

    return musicxml_text(piece, title, meter, keys)


def _pieces(path: Path):
    from composer.music.files import read_music

    require_path(path)
    return read_music(path)  # a MIDI file's part markers come as Piece.parts


@click.command()
@click.argument("music_file", type=FILE)
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), required=True,
              help="abc: ABC notation, for folk musicians and forums; musicxml: for "
                   "MuseScore and other notation programs")
@click.option("-o", "--output", type=FILE,
              help="file to write  [default: MUSIC_FILE with .abc or .musicxml]")
@click.option("--title", default=None, help="the tune's title [default: the file's name]")
@click.option("--overwrite", is_flag=True, help="replace the output file if it exists")
@reports_errors
def export(music_file, fmt, output, title, overwrite):
    """Write MUSIC_FILE (MIDI or ABC) as sheet music: ABC or MusicXML.

    The bars come from the file's time signatures and the bar lines composer finds in its
    notes (the pickup); parts that are played twice are written once between repeat signs,
    with first and second endings where they differ at the end. An ABC file's tunes all
    go into one ABC file (X:1, X:2, ...); MusicXML takes the first.
    """
    pieces = _pieces(music_file)
    target = output_path(music_file, output, FORMATS[fmt], overwrite)
    name = title or music_file.stem.replace("-", " ").replace("_", " ")
    if fmt == "abc":
        texts = [notation_text(p, fmt, name if len(pieces) == 1 else f"{name} {k}",
                               number=k) for k, p in enumerate(pieces, start=1)]
        text = "\n".join(texts)
    else:
        if len(pieces) > 1:
            click.echo(f"{music_file} holds {len(pieces)} pieces; writing the first")
        text = notation_text(pieces[0], fmt, name)
    target.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {target}")


@click.command()
@click.argument("music_file", type=FILE)
@click.option("-o", "--output", type=FILE,
              help="SVG file to write  [default: MUSIC_FILE with .svg]")
@click.option("--title", default=None, help="the title above the staves [default: the "
                                            "file's name]")
@click.option("--overwrite", is_flag=True, help="replace the output file if it exists")
@reports_errors
def score(music_file, output, title, overwrite):
    """Engrave MUSIC_FILE (MIDI or ABC) as staff notation, an SVG picture.

    Lays the music out as `composer export --format musicxml` does and engraves it with
    Verovio: pip install 'numpy-lstm-composer[score]'. Only SVG is written; a browser
    prints it to PDF.
    """
    from composer.listen.engrave import engrave_svg, require_verovio

    if output is not None and output.suffix.lower() != ".svg":
        raise click.BadParameter(f"{output}: composer score writes SVG; give a .svg name",
                                 param_hint="--output")
    require_verovio()
    pieces = _pieces(music_file)
    target = output_path(music_file, output, ".svg", overwrite)
    name = title or music_file.stem.replace("-", " ").replace("_", " ")
    target.write_text(engrave_svg(notation_text(pieces[0], "musicxml", name)),
                      encoding="utf-8")
    if len(pieces) > 1:
        click.echo(f"{music_file} holds {len(pieces)} pieces; engraved the first")
    click.echo(f"Wrote {target}")


COMMANDS = [export, score]
