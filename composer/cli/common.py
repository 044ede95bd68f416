"""Helpers shared by the click commands."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from composer.errors import ComposerError

EXISTING_DIR = click.Path(path_type=Path, file_okay=False)  # a folder argument
MIDI_FILE = click.Path(path_type=Path, dir_okay=False)  # a file argument


def reports_errors(command):
    """Turn a ComposerError (or a ValueError from checking a setting) raised inside
    `command` into one line `Error: ...` with exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (ComposerError, ValueError) as error:
            raise click.ClickException(str(error)) from error

    return wrapper


def warn(message: str) -> None:
    """A warning line on stderr (skipped files and the like)."""
    click.echo(message, err=True)
