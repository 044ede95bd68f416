"""The bytes of a Standard MIDI File as chunks and events, read defensively.

composer does not use mido's reader on files from outside, because it is unsafe on
hostile files: it takes quadratic time on long variable-length numbers (a 200 KB run of
0xFF bytes takes 4 s, and 8 MB takes hours), it keeps about 100 bytes of message objects
per byte of file (770 MB for an 8 MB file), and it reads past a chunk's end into the next
one. The functions below check every chunk and event against the bytes that are left,
cap variable-length numbers at 4 bytes and refuse files above MAX_FILE_BYTES before
reading them. composer.music.midi.reader turns the events into notes.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from composer.constants import MAX_FILE_BYTES
from composer.errors import MidiError

DRUM_CHANNEL = 9  # mido channel (0-based) of General MIDI drums, "channel 10" to musicians
SMPTE_FPS = {24: 24.0, 25: 25.0, 29: 29.97, 30: 30.0}  # frame-rate byte -> frames per second
DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}  # status >> 4 -> count
META = 0x100  # track_events gives a meta event the status META + its type byte
END_OF_TRACK, SET_TEMPO, TIME_SIGNATURE = META + 0x2F, META + 0x51, META + 0x58
TEXT, TRACK_NAME, MARKER, KEY_SIGNATURE = META + 0x01, META + 0x03, META + 0x06, META + 0x59
DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)  # time-signature denominators read and written


class BrokenTrack(Exception):
    """A track that does not parse; the message is the problem, without the track number."""


@dataclass(frozen=True)
class Timing:
    """How ticks become beats: a metrical division, or SMPTE ticks per second."""

    per_beat: int = 0  # ticks per quarter note (metrical files), 0 for SMPTE
    per_second: float = 0.0  # ticks per second (SMPTE files)

    def ticks_per_beat(self, qpm: float) -> float:
        return self.per_beat if self.per_beat else self.per_second * 60.0 / qpm


def read_bytes(path) -> bytes:
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


def split_file(data: bytes, name: str) -> tuple[int, Timing, list[bytes]]:
    """Check the header chunk; return (format, timing, the body of each declared MTrk chunk)."""
    if len(data) > MAX_FILE_BYTES:
        raise MidiError(name, _too_large(len(data)))
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


def _timing(division: int, name: str) -> Timing:
    """The header's 16-bit time division as a Timing."""
    if division & 0x8000:  # SMPTE: high byte = -frames per second, low byte = ticks per frame
        rate = 256 - (division >> 8)
        if rate not in SMPTE_FPS:
            raise MidiError(name, f"unknown SMPTE frame rate {rate} (expected 24, 25, 29 or 30)")
        if division & 0xFF == 0:
            raise MidiError(name, "time division is 0 ticks per frame")
        return Timing(per_second=SMPTE_FPS[rate] * (division & 0xFF))
    if division == 0:
        raise MidiError(name, "time division is 0 ticks per beat")
    return Timing(per_beat=division)


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
            raise BrokenTrack("an event runs past the end of its chunk (truncated?)")
        value = (value << 7) | (body[i] & 0x7F)
        if body[i] < 0x80:
            return value, i + 1
    raise BrokenTrack(f"a delta time or length at byte {pos} is longer than 4 bytes")


def _status(body: bytes, pos: int, running: int) -> tuple[int, int]:
    """(status byte, position of its data) at `pos`, applying running status."""
    if pos >= len(body):
        raise BrokenTrack("an event runs past the end of its chunk (truncated?)")
    if body[pos] >= 0x80:
        return body[pos], pos + 1
    if not running:
        raise BrokenTrack(f"data byte 0x{body[pos]:02X} at byte {pos} with no status before it")
    return running, pos


def _take(body: bytes, pos: int, count: int) -> bytes:
    """The `count` bytes at `pos`, or BrokenTrack if the chunk ends first."""
    if pos + count > len(body):
        raise BrokenTrack("an event runs past the end of its chunk (truncated?)")
    return body[pos:pos + count]


def track_events(body: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Yield (tick, status, data) for each event in a track body (the bytes after its header).

    tick: absolute ticks from the track start. status: 0x80..0xEF for channel messages (data:
    their 1 or 2 data bytes), 0xF0/0xF7 for sysex, META + type for meta events. Running status
    survives meta and sysex events, as mido and lenient players allow.
    """
    pos, tick, running = 0, 0, 0
    while pos < len(body):
        delta, pos = _varint(body, pos)
        tick += delta
        status, pos = _status(body, pos, running)
        if status < 0xF0:
            running = status
            data = _take(body, pos, DATA_BYTES[status >> 4])
            if max(data) > 0x7F:
                raise BrokenTrack(f"data byte above 127 at byte {pos} (a byte is missing?)")
        elif status in (0xF0, 0xF7, 0xFF):
            if status == 0xFF:
                status, pos = META + _take(body, pos, 1)[0], pos + 1
            length, pos = _varint(body, pos)
            data = _take(body, pos, length)
        else:
            raise BrokenTrack(f"status byte 0x{status:02X} at byte {pos - 1} "
                              "does not belong in a file")
        pos += len(data)
        yield tick, status, data
