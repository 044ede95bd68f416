"""The marks of a MIDI file beside its notes: time signatures, key signatures, chord symbols.

composer.music.midi.reader hands every meta event of a track to `read_meta`, then
`song_marks` merges the tracks of one song into the lists of a Piece. The rules:

- time_signature (FF 58): numerator above 0 and denominator 2**dd with dd <= 6, else ignored.
- key_signature (FF 59, 2 bytes sf mi): sf a signed byte -7..7 (sharps, negative = flats),
  mi 0 (major) or 1 (minor), else ignored.
- parts: marker events "Part A", "Part B", ... (as composer writes a sample's form; one
  letter A-Z), each the start of a part (Piece.parts). They are not texts for the rule below.
- chord symbols: text (FF 01) and marker (FF 06) events whose text reads as a chord symbol
  (composer.music.chords.read_symbol). A track's events of one kind count only when at least
  CHORD_TEXT_SHARE of them read as chords, so lyrics and comments are not taken for chords
  (a lone section marker "A" still reads as A major: symbols cannot tell).
- a **chord track** is a track named as in CHORD_TRACK_NAMES (any case), as composer writes
  one. Its notes are not the piece's notes (the reader leaves them out). When the song has
  no chord symbols, each block of its notes that start together is named by
  chords.chord_from_pitches, from its start until the next block (N.C. where it ends
  before the next one starts, or is a single pitch class).
- Merging a song's tracks: by time (ties: lower track, then file order); of several entries
  at one time the first is kept; an entry equal to the one before it is dropped (no change);
  entries at or after MAX_PIECE_BEATS are dropped. At most MAX_MARKS entries of each kind are
  read per file (time signatures, key signatures, chord texts); later ones are ignored, so
  the lists stay small on hostile files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from composer.constants import MAX_MARKS, MAX_PIECE_BEATS
from composer.music.chords import chord_from_pitches, read_symbol
from composer.music.midi.smf import KEY_SIGNATURE, MARKER, TEXT, TIME_SIGNATURE, TRACK_NAME
from composer.music.notes import ChordSymbol, KeySignature, PartMark, TimeSignature

CHORD_TRACK_NAMES = ("chords", "chord", "chord track", "chord symbols")  # compared in lower case
WRITTEN_CHORD_TRACK = "Chords"  # the name of the chord track composer writes
CHORD_TEXT_SHARE = 0.75  # share of a track's texts (or markers) that must read as chords
PART_MARKER = re.compile(r"^Part ([A-Z])$")  # a part's marker, as part_marker writes it


def part_marker(letter: str) -> str:
    """The marker text of the part `letter`: "Part A"."""
    return f"Part {letter}"


@dataclass
class Marks:
    """The marks of one track, in ticks."""

    name: str = ""  # the first track_name
    signatures: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, num, den)
    keys: list[tuple[int, int, bool]] = field(default_factory=list)  # (tick, sharps, minor)
    texts: dict[int, list[tuple[int, str | None]]] = field(default_factory=dict)
    # ^ TEXT or MARKER -> (tick, chord symbol, or None for a text that is not one)
    parts: list[tuple[int, str]] = field(default_factory=list)  # (tick, letter)

    @property
    def is_chord_track(self) -> bool:
        return self.name.strip().lower() in CHORD_TRACK_NAMES

    def chord_texts(self) -> list[tuple[int, str]]:
        """(tick, symbol) of the kinds of text whose share of chord symbols is high enough."""
        found = []
        for entries in self.texts.values():
            symbols = [(tick, text) for tick, text in entries if text is not None]
            if len(symbols) >= CHORD_TEXT_SHARE * len(entries):
                found += symbols
        return found


def new_room() -> dict[str, int]:
    """Entries each kind may still add in one file (shared by its tracks)."""
    return {"signatures": MAX_MARKS, "keys": MAX_MARKS, "texts": MAX_MARKS}


def read_meta(marks: Marks, room: dict[str, int], tick: int, status: int, data: bytes) -> None:
    """Keep one meta event if it is a mark that makes sense and the file has room for it."""
    if status == TRACK_NAME and not marks.name:
        marks.name = data.decode("latin-1")
    elif status == TIME_SIGNATURE and len(data) >= 2 and data[0] > 0 and data[1] <= 6:
        _add(marks.signatures, room, "signatures", (tick, data[0], 2 ** data[1]))
    elif status == KEY_SIGNATURE and len(data) == 2 and data[1] in (0, 1):
        sharps = data[0] - 256 if data[0] > 127 else data[0]  # a signed byte
        if -7 <= sharps <= 7:
            _add(marks.keys, room, "keys", (tick, sharps, bool(data[1])))
    elif status in (TEXT, MARKER) and room["texts"] > 0:  # no room: not worth reading
        text = data.decode("latin-1")
        part = PART_MARKER.match(text) if status == MARKER else None
        if part:
            _add(marks.parts, room, "texts", (tick, part.group(1)))
            return
        chord = read_symbol(text)
        entry = (tick, None if chord is None else chord.symbol)
        _add(marks.texts.setdefault(status, []), room, "texts", entry)


def _add(entries: list, room: dict[str, int], kind: str, entry) -> None:
    if room[kind] > 0:
        room[kind] -= 1
        entries.append(entry)


def song_marks(song: list[tuple[int, Marks, list]], ticks_per_beat: float):
    """(time signatures, key signatures, chord symbols, parts) of one song, in beats.

    song: (track index, its Marks, its notes as (start tick, end tick, pitch, ...)) per track.
    """
    signatures = _merge([(k, m.signatures) for k, m, _ in song], ticks_per_beat)
    keys = _merge([(k, m.keys) for k, m, _ in song], ticks_per_beat)
    chords = _merge([(k, m.chord_texts()) for k, m, _ in song], ticks_per_beat)
    if not chords:
        blocks = [(k, _block_chords(notes)) for k, m, notes in song if m.is_chord_track]
        chords = _merge(blocks, ticks_per_beat)
    parts = _merge([(k, m.parts) for k, m, _ in song], ticks_per_beat, repeats=True)
    return ([TimeSignature(*row) for row in signatures], [KeySignature(*row) for row in keys],
            [ChordSymbol(*row) for row in chords], [PartMark(*row) for row in parts])


def _merge(per_track: list[tuple[int, list[tuple]]], ticks_per_beat: float,
           repeats: bool = False) -> list[tuple]:
    """Entries (tick, values...) of all tracks as (beat, values...), merged by the rules
    (with `repeats`, an entry equal to the one before it is kept: a part played again)."""
    ordered = sorted(
        (entry[0], k, i, entry[1:]) for k, entries in per_track for i, entry in enumerate(entries)
    )
    merged: list[tuple] = []
    last_tick = None
    for tick, _, _, values in ordered:
        beat = tick / ticks_per_beat
        if tick == last_tick or beat >= MAX_PIECE_BEATS:
            continue
        last_tick = tick
        if repeats or not merged or merged[-1][1:] != values:
            merged.append((beat, *values))
    return merged


def _block_chords(notes: list[tuple]) -> list[tuple[int, str]]:
    """(tick, symbol) of each block of notes that start on the same tick (a chord track).

    A block lasts until the next one starts; where its notes all end before that, N.C.
    """
    blocks: dict[int, list] = {}  # start tick -> [latest end, pitches]
    for start, end, pitch, *_ in notes:
        block = blocks.setdefault(start, [end, []])
        block[0] = max(block[0], end)
        block[1].append(pitch)
    found: list[tuple[int, str]] = []
    ticks = sorted(blocks)
    for tick, after in zip(ticks, ticks[1:] + [None], strict=True):
        end, pitches = blocks[tick]
        chord = chord_from_pitches(pitches)
        found.append((tick, "N.C." if chord is None else chord.symbol))
        if after is None or end < after:
            found.append((end, "N.C."))
    return found[:MAX_MARKS]
