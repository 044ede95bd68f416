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


def part_hints(path: str | os.PathLike) -> list[float]:
    """Beats where parts start, from a MIDI file's "Part A", "Part B" markers ([] for ABC
    files and files without them)."""
    if is_abc(path):
        return []
    from composer.music.midi.marks import part_markers
    from composer.music.midi.smf import read_bytes

    return [beat for beat, _ in part_markers(read_bytes(path), str(path))]
