"""A tune's body as bars: each voice's notes, rests and marks between its bar lines.

`read_body(header, lines, budget)` runs the lexer over the body lines and keeps, per voice
(V:), a list of Bars. A Bar holds Events (a note, chord or rest with its length in whole
notes, exact), the marks that fall before an event (chord symbols, key and metre changes),
and its bar lines: whether a repeat starts before it or ends after it, whether a section
bar line follows it, and the ending it opens. Reading rules (ABC 2.1):

* a note's length is its written length times the unit note length (L:); broken rhythm
  (`>`, `>>`, `<`) moves time from one note to the next; a tuplet (p:q:r) plays the next r
  notes in q/p of their time (q by ABC's defaults); chords [CEG] last as their first note;
* an accidental holds for notes of the same letter and octave until the bar line (with
  accidental_carry=False, for its own note only, as some older transcriptions mean and
  music21 10.5.1 reads); others take the key signature (K:, or an inline [K:]);
* `Z` and `X` rest whole bars; grace notes, decorations and slurs are not read; notes after
  `&` (an overlay) up to the bar line are not read;
* a bar line with no note or rest since the last one adds its marks to that one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from composer.constants import MAX_MARKS, MAX_PIECE_BEATS
from composer.music.abc.lexer import tokens
from composer.music.abc.tables import (
    ACCIDENTALS,
    LETTER_PITCH,
    MAX_CHORD_NOTES,
    MAX_NESTING,
    MAX_NUMBER,
    MAX_TUPLET,
    MIDDLE_C,
    AbcKey,
    TuneProblem,
    default_unit,
    parse_key_field,
    parse_meter_field,
    parse_unit_field,
)

_LONGEST = Fraction(MAX_PIECE_BEATS, 4)  # whole notes: no single note may be longer


@dataclass
class Event:
    """A note, chord or rest: its length (whole notes) and pitches (none for a rest)."""

    length: Fraction
    pitches: tuple[int, ...] = ()
    tied: tuple[bool, ...] = ()  # per pitch: tied to the next note of that pitch


@dataclass
class Bar:
    events: list[Event] = field(default_factory=list)
    marks: list[tuple[int, str, object]] = field(default_factory=list)  # (event index, kind,
    #   value): "chord" symbol text, "key" AbcKey, "meter" (n, d) or None
    start_repeat: bool = False  # a repeat starts before this bar
    end_repeat: bool = False  # a repeat ends after it
    section_end: bool = False  # a section bar line (||, |], [|) follows it
    ending: frozenset[int] = frozenset()  # the passes of the ending this bar opens


@dataclass
class Settings:
    """What the header says, the starting point of every voice."""

    unit: Fraction
    meter: tuple[int, int] | None
    key: AbcKey
    carry: bool = True  # an accidental holds to the bar line (ABC 2.1), else for its note


class Voice:
    """One voice's bars and what holds at the current point of its reading."""

    def __init__(self, settings: Settings, budget: list[int]):
        self.bars: list[Bar] = [Bar()]
        self.unit, self.meter, self.key = settings.unit, settings.meter, settings.key
        self.carry = settings.carry
        self.budget = budget  # [events the whole file may still add], shared
        self.accidentals: dict[tuple[str, int], int] = {}  # (letter, octave) -> semitones
        self.tuplets: list[list] = []  # [notes left, factor] from the outermost
        self.next_factor = Fraction(1)  # broken rhythm's share for the next note
        self.last: Event | None = None
        self.overlay = False  # inside an & overlay: notes not read
        self.marks = 0

    @property
    def bar(self) -> Bar:
        return self.bars[-1]

    def add_mark(self, kind: str, value) -> None:
        self.marks += 1
        if self.marks <= MAX_MARKS:
            self.bar.marks.append((len(self.bar.events), kind, value))

    def add_event(self, event: Event) -> None:
        if self.overlay:
            return
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise TuneProblem("too many notes")
        event.length *= self.next_factor
        self.next_factor = Fraction(1)
        for entry in self.tuplets:
            event.length *= entry[1]
            entry[0] -= 1
        self.tuplets = [entry for entry in self.tuplets if entry[0] > 0]
        self.bar.events.append(event)
        self.last = event

    def bar_line(self, text: str) -> None:
        core = text.lstrip(".")
        end_repeat, start_repeat = core.startswith(":"), core.endswith(":")
        section = "||" in core or "[|" in core or "|]" in core
        if self.bar.events:
            self.bar.end_repeat, self.bar.section_end = end_repeat, section
            self.bars.append(Bar())
        elif len(self.bars) > 1:  # no note since the last bar line: add to that one
            self.bars[-2].end_repeat |= end_repeat
            self.bars[-2].section_end |= section
        self.bar.start_repeat |= start_repeat
        self.accidentals.clear()
        self.overlay = False

    def ending(self, text: str) -> None:
        numbers = set()
        for part in text.split(","):
            low, _, high = part.partition("-")
            numbers.update(range(int(low), int(high or low) + 1))
        self.bar.ending = frozenset(n for n in numbers if 0 < n <= MAX_TUPLET)


def read_body(settings: Settings, lines: list[tuple[int, str]], budget: list[int]):
    """{voice id: Voice} of the body lines; TuneProblem names the line of a problem."""
    voices = {"": Voice(settings, budget)}
    current = ""
    for number, line in lines:
        try:
            current = _read_line(line, voices, current, settings)
        except TuneProblem as problem:
            raise TuneProblem(f"line {number}: {problem}") from None
    return {name: voice for name, voice in voices.items() if any(b.events for b in voice.bars)}


def _read_line(line: str, voices: dict[str, Voice], current: str, settings) -> str:
    """Read one body line (a field line or music); the voice now current."""
    if len(line) > 1 and line[1] == ":" and line[0].isalpha() and line[2:3] not in ("|", ":"):
        return _field(voices, current, line[0], line[2:].strip(), settings)
    voice = voices[current]
    for token in tokens(line):
        kind = token[0]
        if kind == "field":
            current = _field(voices, current, token[1], token[2], settings)
            voice = voices[current]
        else:
            _MUSIC[kind](voice, token)
    return current


def _field(voices: dict[str, Voice], current: str, letter: str, value: str, settings) -> str:
    """Apply a field in the body (K:, M:, L:, V:; others are not read); the current voice."""
    voice = voices[current]
    if letter == "K":
        voice.key = parse_key_field(value)
        voice.add_mark("key", voice.key)
    elif letter == "M":
        voice.meter = parse_meter_field(value)
        voice.add_mark("meter", voice.meter)
    elif letter == "L":
        voice.unit = parse_unit_field(value)
    elif letter == "V":
        name = value.split()[0] if value.split() else ""
        if name not in voices:
            if len(voices) == 1 and not any(b.events for b in voice.bars):
                voices[name] = voices.pop(current)  # nothing read before the first V:
            else:
                voices[name] = Voice(settings, voice.budget)
        return name
    return current


def _length(text: str, unit: Fraction) -> Fraction:
    """A written length ("", "3", "/", "//", "3/2", "/4") times the unit note length."""
    numerator, slashes, denominator = text.partition("/")
    top = int(numerator) if numerator else 1
    if not slashes:
        bottom = 1
    elif denominator.strip("/"):
        digits = denominator.lstrip("/")
        bottom = int(digits) * 2 ** (len(denominator) - len(digits))
    else:
        bottom = 2 ** (1 + len(denominator))
    if bottom == 0 or top == 0:
        raise TuneProblem(f"a length of zero: {text!r}")
    if top > MAX_NUMBER or bottom > MAX_NUMBER * 4:
        raise TuneProblem(f"a length out of range: {text!r}")
    length = unit * Fraction(top, bottom)
    if length > _LONGEST:
        raise TuneProblem(f"a note longer than {MAX_PIECE_BEATS} beats: {text!r}")
    return length


def _pitch(voice: Voice, accidental: str | None, letter: str, octaves: str) -> int:
    """The MIDI pitch of a note, with the bar's accidentals (and setting one)."""
    octave = (1 if letter.islower() else 0) + octaves.count("'") - octaves.count(",")
    step = letter.upper()
    if accidental and not voice.carry:
        alter = ACCIDENTALS[accidental]
    else:
        if accidental:
            voice.accidentals[(step, octave)] = ACCIDENTALS[accidental]
        alter = voice.accidentals.get((step, octave), voice.key.accidentals[step])
    pitch = MIDDLE_C + 12 * octave + LETTER_PITCH[step] + alter
    if not 0 <= pitch <= 127:
        raise TuneProblem(f"a note outside the MIDI range: {accidental or ''}{letter}{octaves}")
    return pitch


def _note(voice: Voice, token) -> None:
    _, accidental, letter, octaves, length = token
    pitch = _pitch(voice, accidental, letter, octaves)
    voice.add_event(Event(_length(length, voice.unit), (pitch,), (False,)))


def _rest(voice: Voice, token) -> None:
    voice.add_event(Event(_length(token[2], voice.unit)))


def _measure_rest(voice: Voice, token) -> None:
    bars = int(token[2]) if token[2] else 1
    if not 1 <= bars <= MAX_NUMBER:
        raise TuneProblem(f"a rest of {bars} bars")
    numerator, denominator = voice.meter or (4, 4)
    voice.add_event(Event(Fraction(bars * numerator, denominator)))


def _chord(voice: Voice, token) -> None:
    _, notes, length = token
    if len(notes) > MAX_CHORD_NOTES:
        raise TuneProblem(f"a chord of {len(notes)} notes (at most {MAX_CHORD_NOTES})")
    pitches = tuple(_pitch(voice, *note[:3]) for note in notes)
    first = _length(notes[0][3], voice.unit) * _length(length, Fraction(1))
    if first > _LONGEST:
        raise TuneProblem(f"a chord longer than {MAX_PIECE_BEATS} beats")
    voice.add_event(Event(first, pitches, tuple(note[4] for note in notes)))


def _tie(voice: Voice, token) -> None:
    if voice.last is not None and voice.last.pitches:
        voice.last.tied = (True,) * len(voice.last.pitches)


def _broken(voice: Voice, token) -> None:
    _, direction, count = token
    short = Fraction(1, 2 ** count)
    if voice.last is None:
        return
    first, second = (2 - short, short) if direction == ">" else (short, 2 - short)
    voice.last.length *= first
    voice.next_factor = second


def _tuplet(voice: Voice, token) -> None:
    _, p, q, r = token
    compound = voice.meter is not None and voice.meter[0] % 3 == 0 and voice.meter[0] > 3
    if q is None:
        q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)
    r = p if r is None else r
    if not (1 <= p <= MAX_TUPLET and 1 <= q <= MAX_TUPLET and 1 <= r <= MAX_TUPLET):
        raise TuneProblem(f"a tuplet ({p}:{q}:{r} out of range (each at most {MAX_TUPLET})")
    if len(voice.tuplets) >= MAX_NESTING:
        raise TuneProblem(f"tuplets nested more than {MAX_NESTING} deep")
    voice.tuplets.append([r, Fraction(q, p)])


def _symbol(voice: Voice, token) -> None:
    text = token[1].strip()
    if text and text[0] not in "^_<>@":  # those place annotations, not chords
        voice.add_mark("chord", text)


def _overlay(voice: Voice, token) -> None:
    voice.overlay = True


_MUSIC = {
    "note": _note, "rest": _rest, "measure-rest": _measure_rest, "chord": _chord,
    "bar": lambda voice, token: voice.bar_line(token[1]),
    "ending": lambda voice, token: voice.ending(token[1]),
    "symbol": _symbol, "tie": _tie, "broken": _broken, "tuplet": _tuplet,
    "overlay": _overlay,
}


def header_settings(fields: list[tuple[int, str, str]], carry: bool = True) -> Settings:
    """The unit note length, metre and key that the header fields set."""
    values = {letter: value for _, letter, value in fields}  # the last of each wins
    meter = parse_meter_field(values["M"]) if "M" in values else None
    unit = parse_unit_field(values["L"]) if "L" in values else None
    key = parse_key_field(values.get("K", "C"))
    return Settings(unit or default_unit(meter), meter, key, carry)
