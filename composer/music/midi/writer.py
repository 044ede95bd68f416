"""Write Notes as a type-1 MIDI file, with mido (the only module that imports it)."""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import secrets
from collections import defaultdict
from collections.abc import Iterable

import mido

from composer.constants import DEFAULT_QPM, TICKS_PER_BEAT
from composer.errors import MidiError
from composer.music.midi.smf import DENOMINATORS, DRUM_CHANNEL
from composer.music.notes import Note

_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]  # channels write_midi gives to programs


def write_midi(
    path,
    notes: Iterable[Note],
    *,
    qpm: float = DEFAULT_QPM,
    time_signature: tuple[int, int] = (4, 4),
    program: int | None = None,
    velocity: int | None = None,
    by_voice: bool = False,
) -> None:
    """Write `notes` as a type-1 MIDI file at `path` (a path, or a binary file object).

    Track 0 holds the tempo and time signature; then one track per program, each on its own
    channel (0..15 without the drum channel 9, reused after 15 programs) with a program_change.
    With `by_voice`, one track per Note.voice instead (in voice order, named "voice 1", ...),
    with the program of the voice's first note (or `program`).
    Times are rounded to TICKS_PER_BEAT ticks per beat (at least 1 tick long). A pitch never
    overlaps itself in a track: a note is cut where the next one of its pitch starts, and of
    notes with the same start the longest is kept. At equal ticks note_offs come first.
    `program` and `velocity` replace the notes' own when given. A path is written atomically
    (temporary file + os.replace). Bad arguments raise ValueError or TypeError; failing to write
    raises MidiError.
    """
    notes = list(notes)
    _check_arguments(notes, qpm, time_signature, program, velocity)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor_track(qpm, time_signature))
    for index, (name, prog, group) in enumerate(_track_groups(notes, program, by_voice)):
        track = _note_track(group, prog, _CHANNELS[index % len(_CHANNELS)], velocity)
        if name is not None:
            track.insert(0, mido.MetaMessage("track_name", name=name))
        midi.tracks.append(track)
    if hasattr(path, "write"):
        _save_to_file(midi, path)
    else:
        _save_atomically(midi, os.fspath(path))


def _track_groups(notes: list[Note], program: int | None, by_voice: bool):
    """(track name or None, program, notes) of each note track, in track order."""
    groups: dict[int, list[Note]] = defaultdict(list)  # program, or voice -> its notes
    for note in notes:
        groups[note.voice if by_voice else note.program if program is None else program].append(
            note)
    if not by_voice:
        return [(None, prog, groups[prog]) for prog in sorted(groups)]
    return [(f"voice {voice + 1}", groups[voice][0].program if program is None else program,
             groups[voice]) for voice in sorted(groups)]


def _check_arguments(notes, qpm, time_signature, program, velocity) -> None:
    """Raise TypeError or ValueError for anything write_midi cannot write."""
    if not isinstance(qpm, numbers.Real) or isinstance(qpm, bool):
        raise TypeError(f"qpm must be a number, got {qpm!r}")
    if not (math.isfinite(qpm) and qpm > 0 and 1 <= round(60_000_000 / qpm) <= 0xFFFFFF):
        raise ValueError(f"qpm must be between 3.6 and 60000000, got {qpm}")
    numerator, denominator = time_signature
    _check_byte("time signature numerator", numerator, 1, 255)
    if denominator not in DENOMINATORS:
        raise ValueError(f"time signature denominator must be one of {DENOMINATORS}, "
                         f"got {denominator!r}")
    for value, what, low in ((program, "program", 0), (velocity, "velocity", 1)):
        if value is not None:
            _check_byte(what, value, low, 127)
    for note in notes:
        _check_note(note, program is None, velocity is None)


def _check_note(note: Note, own_program: bool, own_velocity: bool) -> None:
    """Raise TypeError or ValueError unless `note` can be written."""
    if not isinstance(note, Note):
        raise TypeError(f"notes must be Note objects, got {note!r}")
    if not (math.isfinite(note.start) and math.isfinite(note.end) and 0 <= note.start < note.end):
        raise ValueError(f"a note needs 0 <= start < end, got {note}")
    _check_byte("pitch", note.pitch, 0, 127)
    if own_velocity:
        _check_byte("velocity", note.velocity, 1, 127)
    if own_program:
        _check_byte("program", note.program, 0, 127)


def _check_byte(what: str, value, low: int, high: int) -> None:
    """Raise unless `value` is an integer in low..high."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be in {low}..{high}, got {value}")


def _conductor_track(qpm: float, time_signature: tuple[int, int]) -> mido.MidiTrack:
    """Track 0: the tempo and the time signature."""
    numerator, denominator = time_signature
    return mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=int(round(60_000_000 / qpm)), time=0),
        mido.MetaMessage("time_signature", numerator=int(numerator),
                         denominator=int(denominator), time=0),
        mido.MetaMessage("end_of_track", time=0),
    ])


def _note_track(notes: list[Note], program: int, channel: int, velocity: int | None):
    """One program's notes as a mido track of paired note_on/note_off messages."""
    track = mido.MidiTrack([mido.Message("program_change", channel=channel,
                                         program=int(program), time=0)])
    events = []  # (tick, 0 = off / 1 = on, pitch, velocity): offs sort first at equal ticks
    for start, end, pitch, vel in _spans(notes, velocity):
        events += [(start, 1, pitch, vel), (end, 0, pitch, 0)]
    now = 0  # tick of the previous message
    for tick, on, pitch, vel in sorted(events):
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, channel=channel, note=pitch, velocity=vel, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _spans(notes: list[Note], velocity: int | None) -> list[tuple[int, int, int, int]]:
    """(start tick, end tick, pitch, velocity) per note, no pitch overlapping itself."""
    by_pitch: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # pitch -> (s, -e, v)
    for note in notes:
        start = int(round(note.start * TICKS_PER_BEAT))
        end = max(int(round(note.end * TICKS_PER_BEAT)), start + 1)
        vel = note.velocity if velocity is None else velocity
        by_pitch[int(note.pitch)].append((start, -end, int(vel)))
    spans = []
    for pitch, group in by_pitch.items():
        group.sort()  # by start, the longest first
        kept = [g for i, g in enumerate(group) if i == 0 or g[0] != group[i - 1][0]]
        for i, (start, neg_end, vel) in enumerate(kept):
            end = -neg_end if i + 1 == len(kept) else min(-neg_end, kept[i + 1][0])
            spans.append((start, end, pitch, vel))
    return spans


def _save_to_file(midi: mido.MidiFile, file) -> None:
    """Write `midi` to an open binary file object."""
    name = getattr(file, "name", "<file>")
    try:
        midi.save(file=file)
    except (OSError, ValueError) as exc:
        raise MidiError(name, f"cannot write: {exc}") from exc


def _save_atomically(midi: mido.MidiFile, path: str) -> None:
    """Write `midi` to a temporary file next to `path`, then rename it over `path`."""
    folder, base = os.path.split(os.path.abspath(path))
    temp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
    try:
        # os.open honours the umask (mkstemp would make the file private)
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as file:
            midi.save(file=file)
        os.replace(temp, path)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise MidiError(path, f"cannot write: {reason}") from exc
