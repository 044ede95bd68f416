"""Read MIDI files into Pieces of Notes, and write Notes back out as MIDI files.

This is the only composer module that imports mido. It uses mido to write, but reads with
the small event reader below, because mido's reader is unsafe on hostile files: it takes
quadratic time on long variable-length numbers (a 200 KB run of 0xFF bytes takes 4 s, and
8 MB takes hours), it keeps about 100 bytes of message objects per byte of file (770 MB for
an 8 MB file), and it reads past a chunk's end into the next one. The reader below checks
every chunk and event against the bytes that are left and keeps only notes.

Reading rules (read_midi, parse_midi):
- Format 0 and 1 give one Piece named after the file. Format 2 gives one Piece per track that
  has notes, named "PATH#k" (k = track index from 0), each with its own tempo and metre.
- Times are in beats: ticks / ticks_per_beat. SMPTE files: seconds * qpm / 60 at the initial qpm.
- Drums (mido channel 9 = MIDI channel 10) are left out. A note_on with velocity 0 is a note_off.
- Each (track, channel, pitch) has at most one sounding note. A note_on of a sounding pitch ends
  that note there and starts a new one, and a second note_on at the same tick is ignored. A
  note_off ends the sounding note. The exception is a note_off at the tick where a note_on has
  just ended an earlier note: it belongs to that earlier note (some files write "on" before "off"
  for a repeated note), so it is skipped. A note_off with nothing sounding is ignored.
- A note never switched off ends at the end of its track: its end_of_track event, or else its
  last event. Events after end_of_track are ignored. Zero-length notes are dropped.
- Note.voice is the index of the note's (track, channel) pair, counted in order of each pair's
  first note (ties: lower track, then lower channel). Note.program is the latest
  program_change on the same track and channel before the note_on (0 if none).
- Piece.qpm and Piece.time_signature come from the earliest set_tempo and time_signature event
  (ties: lower track), or else 120 qpm and 4/4. A tempo of 0, a time signature with numerator 0
  and one with a denominator above 64 are ignored.
- Notes are sorted by (start, pitch, voice, end). A piece is cut at MAX_PIECE_BEATS: notes that
  start there or later are dropped, and notes that run past it end there.
- Chunks with an unknown four-letter name are skipped, as the standard asks. Bytes after the
  last track the header declares are ignored.

Anything else that does not fit raises MidiError(path, problem) with a one-line problem.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import secrets
import struct
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import mido

from composer.constants import (
    DEFAULT_QPM,
    MAX_FILE_BYTES,
    MAX_NOTES,
    MAX_PIECE_BEATS,
    TICKS_PER_BEAT,
)
from composer.errors import MidiError
from composer.notes import Note, Piece

DRUM_CHANNEL = 9  # mido channel (0-based) of General MIDI drums, "channel 10" to musicians
_DEFAULT_TEMPO = 500_000  # microseconds per quarter note when a file gives none (120 qpm)
_SMPTE_FPS = {24: 24.0, 25: 25.0, 29: 29.97, 30: 30.0}  # frame-rate byte -> frames per second
_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}  # status >> 4 -> count
_META = 0x100  # _track_events gives a meta event the status _META + its type byte
_END_OF_TRACK, _SET_TEMPO, _TIME_SIGNATURE = _META + 0x2F, _META + 0x51, _META + 0x58
_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)  # time-signature denominators read and written
_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]  # channels write_midi gives to programs


# --- Reading: the file and its chunks ------------------------------------------


class _Broken(Exception):
    """A track that does not parse; the message is the problem, without the track number."""


class _TooManyNotes(Exception):
    """More notes than MAX_NOTES were found."""


@dataclass(frozen=True)
class _Timing:
    """How ticks become beats: a metrical division, or SMPTE ticks per second."""

    per_beat: int = 0  # ticks per quarter note (metrical files), 0 for SMPTE
    per_second: float = 0.0  # ticks per second (SMPTE files)

    def ticks_per_beat(self, qpm: float) -> float:
        return self.per_beat if self.per_beat else self.per_second * 60.0 / qpm


def read_midi(path: str | os.PathLike) -> list[Piece]:
    """The pieces in the MIDI file at `path` (see the module docstring for the rules)."""
    return parse_midi(_read_file(path), str(path))


def parse_midi(data: bytes, name: str = "<bytes>") -> list[Piece]:
    """The pieces in the MIDI file whose bytes are `data`; `name` names it in pieces and errors."""
    if len(data) > MAX_FILE_BYTES:
        raise MidiError(name, _too_large(len(data)))
    fmt, timing, bodies = _split_file(bytes(data), name)
    tracks = _read_tracks(bodies, name)
    if fmt == 2:
        songs = [(f"{name}#{k}", [(k, track)]) for k, track in enumerate(tracks)]
    else:
        songs = [(name, list(enumerate(tracks)))]
    pieces = [_build_piece(song_name, timing, song) for song_name, song in songs]
    pieces = [piece for piece in pieces if piece.notes]
    if not pieces:
        raise MidiError(name, _why_no_notes(tracks))
    return pieces


def _read_file(path) -> bytes:
    """The bytes of the file at `path`, refusing files above MAX_FILE_BYTES before reading."""
    name = str(path)
    try:
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            raise MidiError(name, _too_large(size))
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # bounded even if the file grew meanwhile
    except OSError as exc:
        raise MidiError(name, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise MidiError(name, _too_large(len(data)))
    return data


def _too_large(size: int) -> str:
    return f"file too large ({size} bytes, limit {MAX_FILE_BYTES})"


def _split_file(data: bytes, name: str) -> tuple[int, _Timing, list[bytes]]:
    """Check the header chunk; return (format, timing, the body of each declared MTrk chunk)."""
    if not data:
        raise MidiError(name, "empty file")
    if not (data.startswith(b"MThd") or b"MThd".startswith(data)):
        raise MidiError(name, "not a MIDI file (it does not start with 'MThd')")
    if len(data) < 14:
        raise MidiError(name, "file ends inside the header (truncated?)")
    (length,) = struct.unpack_from(">I", data, 4)
    if length < 6:
        raise MidiError(name, f"header chunk is {length} bytes long, expected 6")
    if 8 + length > len(data):
        raise MidiError(name, f"header chunk claims {length} bytes but only "
                              f"{len(data) - 8} are left (truncated?)")
    fmt, count, division = struct.unpack_from(">HHH", data, 8)
    if fmt > 2:
        raise MidiError(name, f"unknown MIDI format {fmt} (expected 0, 1 or 2)")
    if count == 0:
        raise MidiError(name, "no tracks (the header declares 0)")
    timing = _timing(division, name)
    return fmt, timing, _track_bodies(data, 8 + length, count, name)


def _timing(division: int, name: str) -> _Timing:
    """The header's 16-bit time division as a _Timing."""
    if division & 0x8000:  # SMPTE: high byte = -frames per second, low byte = ticks per frame
        rate = 256 - (division >> 8)
        if rate not in _SMPTE_FPS:
            raise MidiError(name, f"unknown SMPTE frame rate {rate} (expected 24, 25, 29 or 30)")
        if division & 0xFF == 0:
            raise MidiError(name, "time division is 0 ticks per frame")
        return _Timing(per_second=_SMPTE_FPS[rate] * (division & 0xFF))
    if division == 0:
        raise MidiError(name, "time division is 0 ticks per beat")
    return _Timing(per_beat=division)


def _track_bodies(data: bytes, pos: int, count: int, name: str) -> list[bytes]:
    """The bodies of the first `count` MTrk chunks from byte `pos`, skipping unknown chunks."""
    bodies: list[bytes] = []
    while len(bodies) < count:
        where = f"after {len(bodies)} of {count} tracks"
        if pos + 8 > len(data):
            raise MidiError(name, f"file ends {where} (truncated?)")
        kind, length = struct.unpack_from(">4sI", data, pos)
        if not all(0x20 < byte < 0x7F for byte in kind):
            raise MidiError(name, f"bytes {kind.hex(' ')} at byte {pos} are not a chunk name "
                                  f"({where})")
        end = pos + 8 + length
        if end > len(data):
            raise MidiError(name, f"chunk '{kind.decode('ascii')}' at byte {pos} claims {length} "
                                  f"bytes but only {len(data) - pos - 8} are left (truncated?)")
        if kind == b"MTrk":
            bodies.append(data[pos + 8:end])
        pos = end
    return bodies


# --- Reading: the events of one track -------------------------------------------


def _varint(body: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the variable-length number at `pos`: at most 4 bytes."""
    value = 0
    for i in range(pos, pos + 4):
        if i >= len(body):
            raise _Broken("an event runs past the end of its chunk (truncated?)")
        value = (value << 7) | (body[i] & 0x7F)
        if body[i] < 0x80:
            return value, i + 1
    raise _Broken(f"a delta time or length at byte {pos} is longer than 4 bytes")


def _status(body: bytes, pos: int, running: int) -> tuple[int, int]:
    """(status byte, position of its data) at `pos`, applying running status."""
    if pos >= len(body):
        raise _Broken("an event runs past the end of its chunk (truncated?)")
    if body[pos] >= 0x80:
        return body[pos], pos + 1
    if not running:
        raise _Broken(f"data byte 0x{body[pos]:02X} at byte {pos} with no status before it")
    return running, pos


def _take(body: bytes, pos: int, count: int) -> bytes:
    """The `count` bytes at `pos`, or _Broken if the chunk ends first."""
    if pos + count > len(body):
        raise _Broken("an event runs past the end of its chunk (truncated?)")
    return body[pos:pos + count]


def _track_events(body: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Yield (tick, status, data) for each event in a track body (the bytes after its header).

    tick: absolute ticks from the track start. status: 0x80..0xEF for channel messages (data:
    their 1 or 2 data bytes), 0xF0/0xF7 for sysex, _META + type for meta events. Running status
    survives meta and sysex events, as mido and lenient players allow.
    """
    pos, tick, running = 0, 0, 0
    while pos < len(body):
        delta, pos = _varint(body, pos)
        tick += delta
        status, pos = _status(body, pos, running)
        if status < 0xF0:
            running = status
            data = _take(body, pos, _DATA_BYTES[status >> 4])
            if max(data) > 0x7F:
                raise _Broken(f"data byte above 127 at byte {pos} (a byte is missing?)")
        elif status in (0xF0, 0xF7, 0xFF):
            if status == 0xFF:
                status, pos = _META + _take(body, pos, 1)[0], pos + 1
            length, pos = _varint(body, pos)
            data = _take(body, pos, length)
        else:
            raise _Broken(f"status byte 0x{status:02X} at byte {pos - 1} does not belong in a file")
        pos += len(data)
        yield tick, status, data


# --- Reading: from events to notes ------------------------------------------------


@dataclass
class _Track:
    """What one track holds, in ticks."""

    notes: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    # ^ (start tick, end tick, pitch, velocity, program, channel)
    tempos: list[tuple[int, int]] = field(default_factory=list)  # (tick, microseconds per beat)
    signatures: list[tuple[int, tuple[int, int]]] = field(default_factory=list)  # (tick, (n, d))
    drum_notes: int = 0  # drum note_ons left out


class _Sounding:
    """The sounding notes of one track, one per (channel, pitch): applies the overlap rules."""

    def __init__(self, budget: int):
        self.budget = budget  # raise _TooManyNotes past this many finished notes
        self.open: dict[tuple[int, int], list] = {}  # (channel, pitch) -> [start, vel, prog, re]
        self.done: list[tuple[int, int, int, int, int, int]] = []  # as _Track.notes

    def note_on(self, tick: int, channel: int, pitch: int, velocity: int, program: int) -> None:
        old = self.open.get((channel, pitch))
        if old is not None and old[0] == tick:
            return  # a second note_on at the same tick: keep the first
        if old is not None:
            self._close((channel, pitch), tick)
        self.open[(channel, pitch)] = [tick, velocity, program, old is not None]

    def note_off(self, tick: int, channel: int, pitch: int) -> None:
        note = self.open.get((channel, pitch))
        if note is None:
            return  # nothing sounding: ignore
        if note[0] == tick and note[3]:
            note[3] = False  # this note_off belongs to the note that note_on has just ended
            return
        self._close((channel, pitch), tick)

    def close_all(self, tick: int) -> list[tuple[int, int, int, int, int, int]]:
        for key in sorted(self.open):
            self._close(key, tick)
        return self.done

    def _close(self, key: tuple[int, int], tick: int) -> None:
        start, velocity, program, _ = self.open.pop(key)
        if tick > start:  # zero-length notes are dropped
            self.done.append((start, tick, key[1], velocity, program, key[0]))
            if len(self.done) > self.budget:
                raise _TooManyNotes


def _read_tracks(bodies: list[bytes], name: str) -> list[_Track]:
    """Each track body read into a _Track; MidiError names the track that is broken."""
    tracks: list[_Track] = []
    total = 0  # notes so far, against MAX_NOTES
    for k, body in enumerate(bodies):
        try:
            tracks.append(_read_track(body, MAX_NOTES - total))
        except _Broken as exc:
            raise MidiError(name, f"track {k}: {exc}") from exc
        except _TooManyNotes as exc:
            raise MidiError(name, f"too many notes (more than {MAX_NOTES})") from exc
        total += len(tracks[-1].notes)
    return tracks


def _read_track(body: bytes, budget: int) -> _Track:
    """The notes, tempos and time signatures of one track body."""
    track, sounding, programs = _Track(), _Sounding(budget), {}  # programs: channel -> program
    tick = 0
    for tick, status, data in _track_events(body):
        if status == _END_OF_TRACK:
            break
        if status >= _META:
            _read_meta(track, tick, status, data)
        elif status < 0xF0:
            _read_channel(track, sounding, programs, tick, status, data)
    track.notes = sounding.close_all(tick)
    return track


def _read_channel(track, sounding, programs, tick, status, data) -> None:
    """Apply one channel message to the sounding notes and the programs."""
    kind, channel = status >> 4, status & 0x0F
    if kind == 0xC:
        programs[channel] = data[0]
    elif kind not in (0x8, 0x9):
        return
    elif channel == DRUM_CHANNEL:
        track.drum_notes += kind == 0x9 and data[1] > 0
    elif kind == 0x9 and data[1] > 0:
        sounding.note_on(tick, channel, data[0], data[1], programs.get(channel, 0))
    else:
        sounding.note_off(tick, channel, data[0])


def _read_meta(track: _Track, tick: int, status: int, data: bytes) -> None:
    """Keep set_tempo and time_signature events that make sense."""
    if status == _SET_TEMPO and len(data) == 3 and int.from_bytes(data, "big") > 0:
        track.tempos.append((tick, int.from_bytes(data, "big")))
    elif status == _TIME_SIGNATURE and len(data) >= 2 and data[0] > 0 and data[1] <= 6:
        track.signatures.append((tick, (data[0], 2 ** data[1])))  # data[1]: log2 denominator


def _build_piece(name: str, timing: _Timing, song: list[tuple[int, _Track]]) -> Piece:
    """One Piece from the (track index, _Track) pairs of one song."""
    tempos = [(tick, k, tempo) for k, track in song for tick, tempo in track.tempos]
    signatures = [(tick, k, sig) for k, track in song for tick, sig in track.signatures]
    qpm = 60_000_000 / min(tempos, default=(0, 0, _DEFAULT_TEMPO))[2]
    signature = min(signatures, default=(0, 0, (4, 4)))[2]
    notes = _notes_in_beats(song, timing.ticks_per_beat(qpm))
    return Piece(name, notes, qpm=qpm, time_signature=signature)


def _notes_in_beats(song: list[tuple[int, _Track]], ticks_per_beat: float) -> list[Note]:
    """The song's notes in beats, cut at MAX_PIECE_BEATS, with voices, sorted."""
    kept = []  # (start, end, pitch, velocity, program, (track, channel)); times in beats
    for k, track in song:
        for start, end, pitch, velocity, program, channel in track.notes:
            begin, finish = start / ticks_per_beat, min(end / ticks_per_beat, MAX_PIECE_BEATS)
            if begin < MAX_PIECE_BEATS:  # finish > begin: zero-length notes are gone
                kept.append((begin, finish, pitch, velocity, program, (k, channel)))
    firsts: dict[tuple[int, int], float] = {}  # (track, channel) -> start of its first note
    for note in kept:
        firsts[note[5]] = min(firsts.get(note[5], math.inf), note[0])
    voices = {key: v for v, key in enumerate(sorted(firsts, key=lambda key: (firsts[key], key)))}
    notes = [Note(s, e, p, vel, prog, voices[key]) for s, e, p, vel, prog, key in kept]
    notes.sort(key=lambda n: (n.start, n.pitch, n.voice, n.end, n.velocity, n.program))
    return notes


def _why_no_notes(tracks: list[_Track]) -> str:
    """The problem text for a file without usable notes."""
    if any(track.notes for track in tracks):
        return f"no notes before beat {MAX_PIECE_BEATS}"
    if any(track.drum_notes for track in tracks):
        return "only drums (channel 10), no other notes"
    return "no notes"


# --- Writing ---------------------------------------------------------------------


def write_midi(
    path,
    notes: Iterable[Note],
    *,
    qpm: float = DEFAULT_QPM,
    time_signature: tuple[int, int] = (4, 4),
    program: int | None = None,
    velocity: int | None = None,
) -> None:
    """Write `notes` as a type-1 MIDI file at `path` (a path, or a binary file object).

    Track 0 holds the tempo and time signature; then one track per program, each on its own
    channel (0..15 without the drum channel 9, reused after 15 programs) with a program_change.
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
    groups: dict[int, list[Note]] = defaultdict(list)  # program -> its notes
    for note in notes:
        groups[note.program if program is None else program].append(note)
    for index, prog in enumerate(sorted(groups)):
        channel = _CHANNELS[index % len(_CHANNELS)]
        midi.tracks.append(_note_track(groups[prog], prog, channel, velocity))
    if hasattr(path, "write"):
        _save_to_file(midi, path)
    else:
        _save_atomically(midi, os.fspath(path))


def _check_arguments(notes, qpm, time_signature, program, velocity) -> None:
    """Raise TypeError or ValueError for anything write_midi cannot write."""
    if not isinstance(qpm, numbers.Real) or isinstance(qpm, bool):
        raise TypeError(f"qpm must be a number, got {qpm!r}")
    if not (math.isfinite(qpm) and qpm > 0 and 1 <= round(60_000_000 / qpm) <= 0xFFFFFF):
        raise ValueError(f"qpm must be between 3.6 and 60000000, got {qpm}")
    numerator, denominator = time_signature
    _check_byte("time signature numerator", numerator, 1, 255)
    if denominator not in _DENOMINATORS:
        raise ValueError(f"time signature denominator must be one of {_DENOMINATORS}, "
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
