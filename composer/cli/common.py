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


def require_path(path: Path, what: str = "file") -> None:
    """A one-line error (exit 1) when `path` does not exist."""
    if not path.exists():
        raise click.ClickException(f"{path}: no such {what}")


def output_path(source: Path, output: Path | None, suffix: str, overwrite: bool) -> Path:
    """Where to write: `output`, refused if it exists; else SOURCE.suffix or a free name."""
    if output is not None and output.resolve() == source.resolve():
        raise click.ClickException(f"{output} is the input file; choose another name with -o")
    if output is not None:
        if output.exists() and not overwrite:
            raise click.ClickException(
                f"{output} already exists; choose another name with -o, or pass --overwrite"
            )
        return output
    from composer.listen.render import free_path

    wanted = source.with_suffix(suffix)
    chosen = wanted if overwrite else free_path(wanted)
    if chosen != wanted:
        click.echo(f"{wanted} already exists; writing {chosen} instead")
    return chosen
