"""The `composer` command group: every command module adds its commands here."""

from __future__ import annotations

import click

from composer import __version__
from composer.cli import media, models, notation, sample, studio, train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="composer")
def main():
    """Learn to compose music with an LSTM written from scratch in NumPy.

    \b
    composer train data/          train a model on a folder of MIDI or ABC files
    composer sample --length 200  write new music from the newest model
    composer evaluate MODEL DATA  compare a model with an n-gram baseline
    composer export FILE --format abc   sheet music: ABC or MusicXML
    composer studio               compose, see and hear in a local web page
    """


for _command in (train.train, sample.sample, models.evaluate, models.info, *media.COMMANDS,
                 *notation.COMMANDS, studio.studio):
    main.add_command(_command)
