"""Music files by their name: MIDI (.mid, .midi) or ABC (.abc)."""

from __future__ import annotations

import os
from pathlib import Path

from composer.music.notes import Piece

ABC_SUFFIXES = (".abc",)  # compared in lower case; anything else is read as MIDI


def is_abc(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in ABC_SUFFIXES


def read_music(path: str | os.PathLike) -> list[Piece]:
    """The pieces of a MIDI file, or the tunes of an ABC file (strict: AbcError or
    MidiError names the file and the problem)."""
    if is_abc(path):
        from composer.music.abc import read_abc

        return read_abc(path)
    from composer.music.midi import read_midi

    return read_midi(path)
