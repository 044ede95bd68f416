"""Read MIDI files into Pieces of Notes.

The bytes are split into chunks and events by composer.music.midi.smf, which is safe on
hostile files; this module turns the events into notes.

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
- Piece.qpm comes from the earliest set_tempo event (ties: lower track), or else 120 qpm; a
  tempo of 0 is ignored. Piece.time_signatures, key_signatures and chords are read by
  composer.music.midi.marks, and so are Piece.parts (its docstring has the rules; the notes
  of a chord track are left out of Piece.notes); Piece.time_signature is the first time
  signature, or else 4/4.
- Notes are sorted by (start, pitch, voice, end). A piece is cut at MAX_PIECE_BEATS: notes that
  start there or later are dropped, and notes that run past it end there.
- Chunks with an unknown four-letter name are skipped, as the standard asks. Bytes after the
  last track the header declares are ignored.

Anything else that does not fit raises MidiError(path, problem) with a one-line problem.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from composer.constants import MAX_NOTES, MAX_PIECE_BEATS
from composer.errors import MidiError
from composer.music.midi.marks import Marks, new_room, read_meta, song_marks
from composer.music.midi.smf import (
    DRUM_CHANNEL,
    END_OF_TRACK,
    META,
    SET_TEMPO,
    BrokenTrack,
    Timing,
    read_bytes,
    split_file,
    track_events,
)
from composer.music.notes import Note, Piece

_DEFAULT_TEMPO = 500_000  # microseconds per quarter note when a file gives none (120 qpm)


class _TooManyNotes(Exception):
    """More notes than MAX_NOTES were found."""


def read_midi(path: str | os.PathLike) -> list[Piece]:
    """The pieces in the MIDI file at `path` (see the module docstring for the rules)."""
    return parse_midi(read_bytes(path), str(path))


def parse_midi(data: bytes, name: str = "<bytes>") -> list[Piece]:
    """The pieces in the MIDI file whose bytes are `data`; `name` names it in pieces and errors."""
    fmt, timing, bodies = split_file(bytes(data), name)
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


# --- Reading: from events to notes ------------------------------------------------


@dataclass
class _Track:
    """What one track holds, in ticks."""

    notes: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    # ^ (start tick, end tick, pitch, velocity, program, channel)
    tempos: list[tuple[int, int]] = field(default_factory=list)  # (tick, microseconds per beat)
    marks: Marks = field(default_factory=Marks)  # signatures, keys, chord symbols, name
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
    room = new_room()  # marks the file may still add, against MAX_MARKS
    for k, body in enumerate(bodies):
        try:
            tracks.append(_read_track(body, MAX_NOTES - total, room))
        except BrokenTrack as exc:
            raise MidiError(name, f"track {k}: {exc}") from exc
        except _TooManyNotes as exc:
            raise MidiError(name, f"too many notes (more than {MAX_NOTES})") from exc
        total += len(tracks[-1].notes)
    return tracks


def _read_track(body: bytes, budget: int, room: dict[str, int]) -> _Track:
    """The notes, tempos and marks of one track body."""
    track, sounding, programs = _Track(), _Sounding(budget), {}  # programs: channel -> program
    tick = 0
    for tick, status, data in track_events(body):
        if status == END_OF_TRACK:
            break
        if status >= META:
            _read_meta(track, room, tick, status, data)
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


def _read_meta(track: _Track, room: dict[str, int], tick: int, status: int, data: bytes) -> None:
    """Keep set_tempo events that make sense; hand the rest to marks.read_meta."""
    if status == SET_TEMPO and len(data) == 3 and int.from_bytes(data, "big") > 0:
        track.tempos.append((tick, int.from_bytes(data, "big")))
    else:
        read_meta(track.marks, room, tick, status, data)


def _build_piece(name: str, timing: Timing, song: list[tuple[int, _Track]]) -> Piece:
    """One Piece from the (track index, _Track) pairs of one song."""
    tempos = [(tick, k, tempo) for k, track in song for tick, tempo in track.tempos]
    qpm = 60_000_000 / min(tempos, default=(0, 0, _DEFAULT_TEMPO))[2]
    ticks_per_beat = timing.ticks_per_beat(qpm)
    signatures, keys, chords, parts = song_marks(
        [(k, track.marks, track.notes) for k, track in song], ticks_per_beat)
    first = (signatures[0].numerator, signatures[0].denominator) if signatures else (4, 4)
    melody = [(k, track) for k, track in song if not track.marks.is_chord_track]
    notes = _notes_in_beats(melody, ticks_per_beat)
    return Piece(name, notes, qpm=qpm, time_signature=first, time_signatures=signatures,
                 key_signatures=keys, chords=chords, parts=parts)


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
    melody = [track for track in tracks if not track.marks.is_chord_track]
    if any(track.notes for track in melody):
        return f"no notes before beat {MAX_PIECE_BEATS}"
    if any(track.notes for track in tracks):
        return "only a chord track, no other notes"
    if any(track.drum_notes for track in tracks):
        return "only drums (channel 10), no other notes"
    return "no notes"
