"""The `composer` command line: parse options, call library code, print.

Library code raises ComposerError; every command turns it into one line
`Error: ...` and exit status 1, never a traceback.
"""

from __future__ import annotations

import functools

import click

from composer import __version__
from composer.errors import ComposerError


def reports_errors(command):
    """Turn a ComposerError raised inside `command` into a click error (exit 1)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ComposerError as error:
            raise click.ClickException(str(error)) from error

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="composer")
def main():
    """Learn to compose music with an LSTM written from scratch in NumPy.

    \b
    composer train data/          train a model on a folder of MIDI files
    composer sample --length 200  write new music from a trained model
    """


def _register_listening_commands():
    # render, plot and stats live in their own module (audio and pictures).
    try:
        from composer import cli_media
    except ImportError:  # not written yet
        return
    for command in cli_media.COMMANDS:
        main.add_command(command)


_register_listening_commands()
