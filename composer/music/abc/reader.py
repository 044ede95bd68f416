"""Read ABC files into Pieces: one per X: tune, notes in beats, repeats played out.

read_abc / parse_abc are strict: the first tune that cannot be read raises AbcError naming
the file, its X: number, the line and the problem. read_abc_book / parse_abc_book are
lenient: they return the tunes that can be read and one problem line for each that cannot
(composer.data reads corpora this way, and reports each as "skipped PATH: X:12, line 40:
...").

What a Piece gets from a tune (composer.music.abc.body has the reading rules):
- notes: every note of every voice (V:), in beats (quarter notes), with repeats and endings
  played out in abc2midi's order (composer.music.abc.repeats), tied notes of one pitch joined,
  velocity 80, program 0, voice = the V: voice in order of appearance; cut at
  MAX_PIECE_BEATS like a MIDI piece;
- time_signatures from M: (and inline [M:] changes), key_signatures from K: (sharps, and
  minor for the minor modes; the mode itself, K:Dmix, is chosen from the notes later by
  composer.music.keys as for a MIDI file), chords from "quoted" chord symbols that
  composer.music.chords can read (annotations such as "^fine" and fingerings are not read),
  qpm from Q: (else 120);
- name: "PATH#X:N" (N = the X: number, with ".2", ".3" ... for a number used again).

Not followed: a P: play order in the header (the parts are played as written), D.C., D.S.
and Fine; grace notes, decorations, slurs and lyrics are not read.

Bounds on hostile files: MAX_FILE_BYTES per file, MAX_LINE_CHARS per line, MAX_NOTES notes
and rests per file (written and played), MAX_MARKS marks per tune, numbers of at most four
digits, tuplets and nesting bounded (composer.music.abc.tables), repeats at most
MAX_REPEAT_FACTOR times the written bars.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction

from composer.constants import MAX_FILE_BYTES, MAX_NOTES, MAX_PIECE_BEATS
from composer.errors import AbcError
from composer.music.abc.body import Bar, Voice, header_settings, read_body
from composer.music.abc.repeats import play_order
from composer.music.abc.tables import MAX_LINE_CHARS, TuneProblem, parse_tempo_field
from composer.music.abc.tunes import TuneText, decode, split_tunes
from composer.music.chords import read_symbol
from composer.music.notes import ChordSymbol, KeySignature, Note, Piece, TimeSignature

VELOCITY = 80  # ABC says nothing of loudness; the velocity of every note read


@dataclass
class AbcBook:
    """The tunes of one ABC file that could be read, and why the others could not."""

    pieces: list[Piece] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "X:12, line 40: ..." per tune


def read_abc(path: str | os.PathLike, *, accidental_carry: bool = True) -> list[Piece]:
    """Every tune of the ABC file at `path`; AbcError at the first that cannot be read."""
    return _strict(read_abc_book(path, accidental_carry=accidental_carry), str(path))


def parse_abc(data: bytes | str, name: str = "<abc>", *,
              accidental_carry: bool = True) -> list[Piece]:
    """Every tune of the ABC text `data`; AbcError at the first that cannot be read."""
    return _strict(parse_abc_book(data, name, accidental_carry=accidental_carry), name)


def _strict(book: AbcBook, name: str) -> list[Piece]:
    if book.problems:
        raise AbcError(name, book.problems[0])
    return book.pieces


def read_abc_book(path: str | os.PathLike, *, accidental_carry: bool = True) -> AbcBook:
    """The tunes of the ABC file at `path` that can be read, and the problems of the rest;
    AbcError when the file itself cannot be read or holds no tune. accidental_carry: see
    composer.music.abc.body."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise AbcError(path, f"cannot read: {error.strerror or error}") from error
    return parse_abc_book(data, str(path), accidental_carry=accidental_carry)


def parse_abc_book(data: bytes | str, name: str = "<abc>", *,
                   accidental_carry: bool = True) -> AbcBook:
    """As read_abc_book, for the bytes (or text) of a file; `name` names it in errors."""
    if len(data) > MAX_FILE_BYTES:
        raise AbcError(name, f"file too large (more than {MAX_FILE_BYTES:,} bytes)")
    text = decode(data) if isinstance(data, bytes) else data
    file_header, tunes = split_tunes(text)
    if not tunes:
        raise AbcError(name, "no tunes (no X: line)")
    book, budget, names = AbcBook(), [MAX_NOTES], set()
    for tune in tunes:
        label = f"X:{tune.number or '?'}"
        try:
            piece = _read_tune(tune, file_header, budget, _unique(name, tune.number, names),
                               accidental_carry)
        except TuneProblem as problem:
            book.problems.append(f"{label}, {problem}" if str(problem).startswith("line")
                                 else f"{label}: {problem}")
            if budget[0] < 0:
                break  # the file's note budget is spent: stop reading it
            continue
        book.pieces.append(piece)
    return book


def _unique(name: str, number: str, taken: set[str]) -> str:
    base = f"{name}#X:{number or '?'}"
    chosen, k = base, 1
    while chosen in taken:
        k += 1
        chosen = f"{base}.{k}"
    taken.add(chosen)
    return chosen


def _read_tune(tune: TuneText, file_header, budget: list[int], name: str,
               carry: bool) -> Piece:
    if tune.too_long:
        raise TuneProblem(f"line {tune.too_long}: longer than the "
                          f"{MAX_LINE_CHARS:,} characters a line may have")
    fields = file_header + tune.header
    if not any(letter == "K" for _, letter, _ in tune.header):
        raise TuneProblem("no K: field (a tune's header ends with its key)")
    try:
        settings = header_settings(fields, carry)
    except TuneProblem as problem:
        raise TuneProblem(f"in the header: {problem}") from None
    voices = read_body(settings, tune.body, budget)
    if not voices:
        raise TuneProblem("no notes")
    tempo = [value for _, letter, value in fields if letter == "Q"]
    qpm = parse_tempo_field(tempo[-1], settings.unit) if tempo else None
    return _piece(name, list(voices.values()), settings, qpm or 120.0, budget)


def _piece(name, voices: list[Voice], settings, qpm: float, budget) -> Piece:
    """The Piece of a tune's voices, each played out in its own order."""
    notes: list[Note] = []
    marks: list[tuple[Fraction, int, str, object]] = []
    for index, voice in enumerate(voices):
        played = _played_bars(voice.bars)
        notes += _voice_notes(played, index, budget)
        if index == 0:
            marks = _marks(played)
    notes.sort(key=lambda n: (n.start, n.pitch, n.voice, n.end))
    meter = settings.meter
    signatures = [TimeSignature(0.0, *meter)] if meter else []
    keys = [KeySignature(0.0, settings.key.sharps, settings.key.mode == "minor")]
    chords: list[ChordSymbol] = []
    for start, kind, value in marks:
        beat = float(start * 4)
        if kind == "meter" and value is not None:
            _add_change(signatures, TimeSignature(beat, *value))
        elif kind == "key":
            _add_change(keys, KeySignature(beat, value.sharps, value.mode == "minor"))
        elif kind == "chord":
            chord = read_symbol(value)
            if chord is not None:
                _add_change(chords, ChordSymbol(beat, chord.symbol))
    first = (signatures[0].numerator, signatures[0].denominator) if signatures else (4, 4)
    return Piece(name, notes, qpm=qpm, time_signature=first, time_signatures=signatures,
                 key_signatures=keys, chords=chords)


def _add_change(entries: list, entry) -> None:
    """Append a mark unless it repeats the one before; one mark per beat (the last)."""
    if entries and entries[-1][1:] == entry[1:]:
        return
    if entries and entries[-1][0] == entry[0]:
        entries[-1] = entry
        if len(entries) > 1 and entries[-2][1:] == entry[1:]:
            entries.pop()
        return
    entries.append(entry)


def _played_bars(bars: list[Bar]) -> list[tuple[Fraction, Bar]]:
    """(start in whole notes, bar) in playing order, up to MAX_PIECE_BEATS."""
    bars = [bar for bar in bars if bar.events]
    order = play_order([b.start_repeat for b in bars], [b.end_repeat for b in bars],
                       [b.section_end for b in bars], _endings(bars))
    played, start, stop = [], Fraction(0), Fraction(MAX_PIECE_BEATS, 4)
    for index in order if order is not None else range(len(bars)):
        if start >= stop:
            break
        played.append((start, bars[index]))
        start += sum(event.length for event in bars[index].events)
    return played


def _endings(bars: list[Bar]) -> dict[int, set[int]]:
    """{bar index: passes} of every bar inside an ending. As music21 reads ABC: a first
    ending lasts until the bar a repeat ends after; an ending of 2 (or more) one bar."""
    endings: dict[int, set[int]] = {}
    open_numbers: set[int] | None = None
    for i, bar in enumerate(bars):
        if bar.ending:
            open_numbers = set(bar.ending)
        elif open_numbers is not None and (bar.start_repeat or min(open_numbers) >= 2):
            open_numbers = None
        if open_numbers is not None:
            endings[i] = set(open_numbers)
            if bar.end_repeat or bar.section_end or min(open_numbers) >= 2:
                open_numbers = None
    return endings


def _voice_notes(played, voice: int, budget: list[int]) -> list[Note]:
    """The notes of one voice's played bars, ties of one pitch joined, in beats."""
    found: list[list] = []  # [start, end, pitch, tied] in whole notes
    open_ties: dict[int, list] = {}  # pitch -> its tied note, waiting for the next
    for start, bar in played:
        time = start
        for event in bar.events:
            for pitch, tied in zip(event.pitches, event.tied, strict=True):
                waiting = open_ties.pop(pitch, None)
                if waiting is not None and waiting[1] == time:
                    waiting[1], waiting[3] = time + event.length, tied
                    note = waiting
                else:
                    note = [time, time + event.length, pitch, tied]
                    found.append(note)
                if note[3]:
                    open_ties[pitch] = note
            time += event.length
    budget[0] -= len(found)
    if budget[0] < 0:
        raise TuneProblem(f"too many notes with its repeats played (the file may have "
                          f"{MAX_NOTES:,})")
    stop = MAX_PIECE_BEATS
    return [Note(float(a * 4), min(float(b * 4), stop), pitch, VELOCITY, 0, voice)
            for a, b, pitch, _ in found if a * 4 < stop]


def _marks(played) -> list[tuple[Fraction, str, object]]:
    """(start in whole notes, kind, value) of the first voice's marks, in playing order."""
    found = []
    for start, bar in played:
        offsets = [start]
        for event in bar.events:
            offsets.append(offsets[-1] + event.length)
        found += [(offsets[index], kind, value) for index, kind, value in bar.marks]
    return found
