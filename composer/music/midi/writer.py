"""Write Notes as a type-1 MIDI file, with mido (the only module that imports it).

Besides the notes: time signatures (with changes), key signatures, the parts of the tune
(markers "Part A", ..., read back as Piece.parts: composer.music.midi.marks), and chords. Chords are
written twice: as marker events with their symbols (track 0), and as a track of block chords
named "Chords" on a channel of its own, which a listener can mute and composer's reader
recognises (its notes are not read as melody). A block chord is the root (or the slash
bass) in octave 2 under the chord tones closed from the root in octave 3, CHORD_VELOCITY
loud, from the chord's beat to the next chord's or to the end of the notes; N.C. is silence.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence

import mido

from composer.constants import CHORD_PROGRAM, CHORD_VELOCITY, DEFAULT_QPM, TICKS_PER_BEAT
from composer.errors import MidiError
from composer.music.chords import parse_chord
from composer.music.midi.marks import PART_MARKER, WRITTEN_CHORD_TRACK, part_marker
from composer.music.midi.smf import DENOMINATORS, DRUM_CHANNEL
from composer.music.notes import ChordSymbol, KeySignature, Note, PartMark, TimeSignature

_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]  # channels write_midi gives to programs
# mido's names of key signatures, index = sharps + 7 (sharps -7..7)
_MAJOR_KEYS = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
_MINOR_KEYS = ("Abm", "Ebm", "Bbm", "Fm", "Cm", "Gm", "Dm", "Am", "Em", "Bm", "F#m", "C#m",
               "G#m", "D#m", "A#m")


def write_midi(
    path,
    notes: Iterable[Note],
    *,
    qpm: float = DEFAULT_QPM,
    time_signature: tuple[int, int] = (4, 4),
    program: int | None = None,
    velocity: int | None = None,
    by_voice: bool = False,
    time_signatures: Sequence[TimeSignature] = (),
    key_signatures: Sequence[KeySignature] = (),
    chords: Sequence[ChordSymbol] = (),
    parts: Sequence[PartMark] = (),
) -> None:
    """Write `notes` as a type-1 MIDI file at `path` (a path, or a binary file object).

    Track 0 holds the tempo and time signature; then one track per program, each on its own
    channel (0..15 without the drum channel 9, reused after 15 programs) with a program_change.
    With `by_voice`, one track per Note.voice instead (in voice order, named "voice 1", ...),
    with the program of the voice's first note (or `program`).
    Times are rounded to TICKS_PER_BEAT ticks per beat (at least 1 tick long). A pitch never
    overlaps itself in a track: a note is cut where the next one of its pitch starts, and of
    notes with the same start the longest is kept. At equal ticks note_offs come first.
    `program` and `velocity` replace the notes' own when given. `time_signatures` (changes;
    `time_signature` holds at beat 0 when none is there), `key_signatures` and `chords` (see
    the module docstring) are written when given. A path is written atomically
    (temporary file + os.replace). Bad arguments raise ValueError or TypeError; failing to write
    raises MidiError.
    """
    notes = list(notes)
    _check_arguments(notes, qpm, time_signature, program, velocity)
    marks = _checked_marks(time_signature, time_signatures, key_signatures, chords)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor_track(qpm, marks, _checked_parts(parts)))
    groups = _track_groups(notes, program, by_voice)
    for index, (name, prog, group) in enumerate(groups):
        track = _note_track(group, prog, _CHANNELS[index % len(_CHANNELS)], velocity)
        if name is not None:
            track.insert(0, mido.MetaMessage("track_name", name=name))
        midi.tracks.append(track)
    if chords:
        end = max((note.end for note in notes), default=0.0)
        channel = _CHANNELS[len(groups) % len(_CHANNELS)]
        midi.tracks.append(_chord_track(marks[2], end, channel))
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


def _checked_marks(time_signature, time_signatures, key_signatures, chords):
    """(time signatures, key signatures, (beat, chord) pairs) to write; ValueError or
    TypeError for anything that cannot be written."""
    meters = [TimeSignature(*row) for row in time_signatures]
    if not meters or meters[0].beat > 0:
        meters.insert(0, TimeSignature(0.0, *time_signature))
    for beat, numerator, denominator in meters:
        _check_beat("time signature", beat)
        _check_byte("time signature numerator", numerator, 1, 255)
        if denominator not in DENOMINATORS:
            raise ValueError(f"time signature denominator must be one of {DENOMINATORS}, "
                             f"got {denominator!r}")
    keys = [KeySignature(*row) for row in key_signatures]
    for beat, sharps, _ in keys:
        _check_beat("key signature", beat)
        _check_byte("key signature sharps", sharps, -7, 7)
    symbols = [ChordSymbol(*row) for row in chords]
    for beat, _ in symbols:
        _check_beat("chord", beat)
    return meters, keys, [(beat, parse_chord(symbol)) for beat, symbol in symbols]


def _checked_parts(parts) -> list[PartMark]:
    """The part marks to write; ValueError for a bad beat or letter."""
    checked = [PartMark(*row) for row in parts]
    for beat, letter in checked:
        _check_beat("part", beat)
        if not PART_MARKER.match(part_marker(letter)):
            raise ValueError(f"a part's letter must be one of A-Z, got {letter!r}")
    return checked


def _check_beat(what: str, beat) -> None:
    if not isinstance(beat, numbers.Real) or not (math.isfinite(beat) and beat >= 0):
        raise ValueError(f"a {what} needs a finite beat >= 0, got {beat!r}")


def _ticks(beat: float) -> int:
    return int(round(beat * TICKS_PER_BEAT))


def _timed_track(events: list[tuple[int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    """A track of (tick, message) events, stably sorted by tick, with delta times."""
    track, now = mido.MidiTrack(), 0
    for tick, message in sorted(events, key=lambda event: event[0]):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _conductor_track(qpm: float, marks, parts) -> mido.MidiTrack:
    """Track 0: the tempo, time signatures, key signatures, part and chord-symbol markers."""
    meters, keys, chords = marks
    events = [(0, mido.MetaMessage("set_tempo", tempo=int(round(60_000_000 / qpm))))]
    events += [(_ticks(beat), mido.MetaMessage("time_signature", numerator=int(numerator),
                                               denominator=int(denominator)))
               for beat, numerator, denominator in meters]
    events += [(_ticks(beat), mido.MetaMessage(
        "key_signature", key=(_MINOR_KEYS if minor else _MAJOR_KEYS)[int(sharps) + 7]))
        for beat, sharps, minor in keys]
    events += [(_ticks(beat), mido.MetaMessage("marker", text=part_marker(letter)))
               for beat, letter in parts]
    events += [(_ticks(beat), mido.MetaMessage("marker", text=chord.symbol))
               for beat, chord in chords]
    return _timed_track(events)


def _chord_track(chords, end: float, channel: int) -> mido.MidiTrack:
    """The "Chords" track: one block chord per chord symbol (module docstring)."""
    events = [(0, mido.MetaMessage("track_name", name=WRITTEN_CHORD_TRACK)),
              (0, mido.Message("program_change", channel=channel, program=CHORD_PROGRAM))]
    stops = [beat for beat, _ in chords[1:]] + [end]
    for (beat, chord), stop in zip(chords, stops, strict=True):
        if chord.root is None or stop <= beat:
            continue
        start, finish = _ticks(beat), max(_ticks(stop), _ticks(beat) + 1)
        for pitch in _voicing(chord):
            events.append((finish, mido.Message("note_off", channel=channel, note=pitch)))
            events.append((start, mido.Message("note_on", channel=channel, note=pitch,
                                                velocity=CHORD_VELOCITY)))
    events.sort(key=lambda event: (event[0], event[1].type == "note_on"))  # offs first
    return _timed_track(events)


def _voicing(chord) -> list[int]:
    """MIDI pitches of a block chord: the bass in octave 2, the tones closed above C3+root."""
    bass = 36 + (chord.root if chord.bass is None else chord.bass)
    return [bass, *sorted(48 + chord.root + (pc - chord.root) % 12 for pc in chord.tones)]


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
