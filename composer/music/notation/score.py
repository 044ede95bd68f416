"""A piece laid out as written music: bars, notes with written values, ties, tuplets,
chords, keys, repeats. composer.music.abc.writer and composer.music.notation.musicxml write
it out.

How a Piece becomes a Score (layout):
1. Each voice (Note.voice) is one line, as the melody encoding hears it: its highest note
   at each moment, on a grid of GRID steps a quarter note (thirty-seconds and triplet
   sixteenths both fall on it; times are rounded to it).
2. Bars: from the metre map (given, or estimated from the notes by composer.music.meter:
   the pickup, and time signatures again where the bar lines shift); the last bar ends
   with the last note.
3. Triplets: where the notes of a beat (a quarter note, or a half note of quarter-note
   triplets) fall on thirds of it and not on sixteenths, they are written as a tuplet
   (3:2); any other time off the thirty-second grid is moved to the nearest one, in the
   whole line at once, so that the notes after it keep their places.
4. Written values: each note or rest is cut at the bar lines, at chord changes and at the
   beat where it would otherwise cross it from off the beat, then into plain or dotted
   values, tied.
5. Repeats: bars that repeat the bars before them are folded (composer.music.notation.form).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from composer.music.encoding import note_arrays
from composer.music.keys import Key, piece_keys
from composer.music.melody import MelodyEncoding
from composer.music.meter import MeterMap, beat_beats, meter_map
from composer.music.notation.form import fold, written_order
from composer.music.notation.spelling import Accidentals, Spelt, spell
from composer.music.notation.values import (
    cut_spans,
    snap,
    snapped,
    triplet_regions,
    written_values,
)
from composer.music.notes import Piece

GRID = 24  # written steps per quarter note: a 32nd is 3, a 16th 6, a triplet eighth 8


@dataclass
class Written:
    """One written note or rest."""

    pitch: int | None  # MIDI pitch; None for a rest
    value: int  # written length in steps (a tuplet's notes sound shorter)
    length: int  # sounding length in steps
    tie: bool = False  # tied to the next note
    spelt: Spelt | None = None
    accidental: int | None = None  # the alteration to show, if any
    tuplet: int = 0  # opens a triplet of this many written notes (0: none)
    in_tuplet: bool = False
    chord: str | None = None  # a chord symbol that starts here
    beat: bool = False  # starts a beat (beams break before it)
    tied_from: bool = False  # the note before is tied to this one


@dataclass
class Bar:
    start: int  # steps from the start of the piece
    length: int
    voices: list[list[Written]]
    meter: tuple[int, int] | None = None  # a time signature starts here
    key: Key | None = None  # a key signature starts here
    start_repeat: bool = False
    end_repeat: bool = False
    ending: int = 0  # opens the first (1) or second (2) ending
    ending_bars: int = 0  # the bars of that ending
    part: str = ""  # a rehearsal mark: "A", "B", ... where a part starts
    line_break: bool = False  # a new line of music follows


@dataclass
class Score:
    title: str
    qpm: float
    meter: tuple[int, int]
    key: Key
    unit: int  # the most common written value (steps): ABC's unit note length
    bars: list[Bar] = field(default_factory=list)

    @property
    def voices(self) -> int:
        return max((len(b.voices) for b in self.bars), default=1)


def layout(piece: Piece, title: str = "", meter: MeterMap | None = None,
           keys: list[tuple[float, Key]] | None = None, hints: list[float] = (),
           bars_a_line: int = 4) -> Score:
    """The Score of `piece` (see the module docstring); `hints` (beats where parts start)
    default to the piece's own parts (Piece.parts: a sample's part markers)."""
    hints = hints or [beat for beat, _ in piece.parts]
    meter = meter or meter_map(piece)
    keys = keys or piece_keys(piece)
    played = _played_bars(piece, meter, keys)
    bars = _written_bars(played, [round(beat * GRID) for beat in hints])
    _parts_and_lines(bars, bars_a_line)
    _mark_tied_from(bars)
    first = meter.changes[0]
    return Score(title, piece.qpm, (first.numerator, first.denominator), keys[0][1],
                 _unit(bars), bars)


def _played_bars(piece: Piece, meter: MeterMap, keys) -> list[Bar]:
    """The piece's bars as played, each with its written notes (steps 1-4 of the module
    docstring) and the signatures it starts."""
    lines = _voice_lines(piece)
    end = max((e for line in lines for _, e, _ in line), default=0)
    bounds = _bar_bounds(meter, end)
    lines = [_snap_line(line, meter, bounds) for line in lines]
    moved = max((e for line in lines for _, e, _ in line), default=0)
    if moved != end:  # the last note's end was moved onto the grid: so is the last bar line
        end, bounds = moved, _bar_bounds(meter, moved)
    chords = {round(c.beat * GRID): c.symbol for c in piece.chords if c.beat * GRID < end}
    played = [_bar(meter, keys, chords, lines, a, b, bounds[0]) for a, b in
              zip(bounds, bounds[1:], strict=False)]
    _mark_changes(played, meter, keys)
    return played


def _written_bars(played: list[Bar], hint_steps: list[int]) -> list[Bar]:
    """The bars as written: repeats folded (step 5), with their repeat signs and endings."""
    pickup = len(played) > 1 and played[0].length < played[1].length
    contents = [_content(bar, k) for k, bar in enumerate(played)]
    hint_bars = [k for k, bar in enumerate(played) if bar.start in hint_steps]
    bars = []
    for index, marks in written_order(fold(contents, hint_bars, pickup), len(played)):
        bar = _copy(played[index])
        bar.start_repeat = marks.get("start_repeat", False)
        bar.end_repeat = marks.get("end_repeat", False)
        bar.ending, bar.ending_bars = marks.get("ending", 0), marks.get("ending_bars", 0)
        bars.append(bar)
    return bars


def _voice_lines(piece: Piece) -> list[list[tuple[int, int, int]]]:
    """Per voice: (start, end, pitch) in steps of its highest line, sorted."""
    cols = note_arrays(piece.notes)
    voices = sorted(set(cols["voice"].tolist())) or [0]
    lines = []
    for voice in voices:
        line = "highest" if len(voices) == 1 else f"voice:{voice}"
        encoding = MelodyEncoding(GRID, 0, 127, line)
        ids = encoding.encode_columns(cols)
        first = encoding.first_step(cols) if ids.size else 0
        lines.append([(first + round(n.start * GRID), first + round(n.end * GRID), n.pitch)
                      for n in encoding.decode(ids)])
    return [line for line in lines if line] or [[]]


def _bar_bounds(meter: MeterMap, end: int) -> list[int]:
    """Steps of the bar lines from 0 to the end."""
    lines = {round(b * GRID) for b in meter.downbeats(end / GRID)} | {0, end}
    return sorted(step for step in lines if 0 <= step <= end)


def _origin(meter: MeterMap, start: int, stop: int, first_line: int) -> int:
    """Where the beats of the bar [start, stop) are counted from: its start, or for a pickup
    (a short first bar) the start of the full bar it ends."""
    here = meter.meter_at(start / GRID)
    full = round(here[0] * 4 / here[1] * GRID)
    return stop - full if start == first_line and stop - start < full else start


def _snap_line(line, meter: MeterMap, bounds: list[int]):
    """The line with its times off the thirty-second grid, outside triplets, moved onto it."""
    regions = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        regions += triplet_regions(_spans(line, a, b, {}), _origin(meter, a, b, bounds[0]), a, b)
    moved = [(snap(a, regions), snap(b, regions), pitch) for a, b, pitch in line]
    return [(a, b, pitch) for a, b, pitch in moved if b > a]


def _bar(meter, keys, chords, lines, start, stop, first_line) -> Bar:
    origin = _origin(meter, start, stop, first_line)
    beat = round(beat_beats(meter.meter_at(start / GRID)) * GRID)
    key = _key_at(keys, start)
    voices = []
    for line in lines:
        spans = _spans(line, start, stop, chords)
        voices.append(_written(spans, origin, beat, key, chords))
    return Bar(start, stop - start, voices)


def _key_at(keys, step: int) -> Key:
    found = keys[0][1]
    for beat, key in keys:
        if round(beat * GRID) <= step:
            found = key
    return found


def _spans(line, start: int, stop: int, chords) -> list[list]:
    """[start, end, pitch or None, tied] of the notes and rests of one voice in a bar,
    cut at the bar lines (a note going on past the bar line is tied) and at chord changes."""
    spans, now = [], start
    for a, b, pitch in line:
        if b <= start or a >= stop:
            continue
        if a > now:
            spans.append([now, a, None, False])
        spans.append([max(a, start), min(b, stop), pitch, b > stop])
        now = min(b, stop)
    if now < stop:
        spans.append([now, stop, None, False])
    return cut_spans(spans, [step for step in chords if start < step < stop])


def _written(spans: list[list], origin: int, beat: int, key: Key, chords) -> list[Written]:
    """The written notes and rests of one voice's spans in a bar."""
    start, stop = spans[0][0], spans[-1][1]
    regions = triplet_regions(spans, origin, start, stop)
    spans = snapped(cut_spans(spans, [edge for region in regions for edge in region]),
                    regions)
    accidentals, out = Accidentals(key), []
    for a, b, pitch, tied in spans:
        region = next((r for r in regions if r[0] <= a < r[1]), None)
        values = written_values(b - a, a - origin, beat, region is not None)
        spelt = spell(pitch, key) if pitch is not None else None
        now = a
        for k, value in enumerate(values):
            length = value * 2 // 3 if region else value
            out.append(Written(pitch, value, length, pitch is not None and
                               (k + 1 < len(values) or tied), spelt,
                               accidentals.shown(spelt) if spelt else None,
                               in_tuplet=region is not None,
                               chord=chords.get(now) if k == 0 else None,
                               beat=(now - origin) % beat == 0))
            now += length
    _open_tuplets(out, regions, start)
    return out


def _open_tuplets(out: list[Written], regions, start: int) -> None:
    """Mark the first written note of each triplet region with its count of notes."""
    now, opened = start, {}
    for note in out:
        region = next((r for r in regions if r[0] <= now < r[1]), None)
        if region is not None:
            if region not in opened:
                opened[region] = note
                note.tuplet = 0
            opened[region].tuplet += 1
        now += note.length


def _mark_tied_from(bars: list[Bar]) -> None:
    """Mark each note that a tie from the note before it (in writing order) ends on."""
    for voice in range(max((len(b.voices) for b in bars), default=0)):
        before = None
        for bar in bars:
            for note in bar.voices[voice] if voice < len(bar.voices) else []:
                note.tied_from = before is not None and before.tie
                before = note


def _mark_changes(bars: list[Bar], meter: MeterMap, keys) -> None:
    """The time and key signatures each bar starts (the first bar: both). A bar cut short
    inside the tune (where the bar lines shift) gets a time signature of its own length
    (7/8 for three and a half quarters), and the next bar the metre again."""
    last_meter, last_key = None, None
    for k, bar in enumerate(bars):
        here = meter.meter_at(bar.start / GRID)
        full = round(here[0] * 4 / here[1] * GRID)
        if 0 < k < len(bars) - 1 and bar.length != full:
            here = _meter_of(bar.length)
        key = _key_at(keys, bar.start)
        bar.meter = here if here != last_meter else None
        bar.key = key if key != last_key else None
        last_meter, last_key = here, key


def _meter_of(length: int) -> tuple[int, int]:
    """A time signature lasting `length` steps: eighths, else sixteenths or 32nds."""
    for denominator in (4, 8, 16, 32):
        numerator = length * denominator / (4 * GRID)
        if numerator == int(numerator):
            return int(numerator), denominator
    return max(1, round(length * 32 / (4 * GRID))), 32


def _content(bar: Bar, index: int):
    """What makes two bars the same, for folding repeats (the signatures that open the
    tune are not changes)."""
    notes = tuple(tuple((w.pitch, w.value, w.length, w.tie, w.chord, w.tuplet) for w in voice)
                  for voice in bar.voices)
    return bar.length, notes, bar.meter if index else None, bar.key if index else None


def _copy(bar: Bar) -> Bar:
    return Bar(bar.start, bar.length, bar.voices, bar.meter, bar.key)


def _parts_and_lines(bars: list[Bar], bars_a_line: int) -> None:
    """Rehearsal marks A, B, ... where a repeated part starts (or the music after one),
    and line breaks: before each part, else every `bars_a_line` bars (a pickup apart)."""
    letter, count, part_ends = 0, 0, -1  # part_ends: the bar the current part ends with
    for k, bar in enumerate(bars):
        if bar.start_repeat or k == part_ends + 1 and k > 0:
            bar.part = chr(ord("A") + letter % 26)
            letter += 1
            pickup_before = k == 1 and bars[0].length < bar.length
            if k and not bars[k - 1].line_break and not pickup_before:
                bars[k - 1].line_break = True
            count = 0
        if bar.end_repeat and bar.ending != 1 and not (bar.ending == 0 and _in_ending(bars, k)):
            part_ends = k
        if bar.ending == 2:
            part_ends = k + bar.ending_bars - 1
        count += not (k == 0 and len(bars) > 1 and bar.length < bars[1].length)
        if count == bars_a_line:
            bar.line_break, count = True, 0


def _in_ending(bars: list[Bar], k: int) -> bool:
    """Whether bar k lies inside a first ending (which a :| closes, not a part)."""
    for j in range(k, -1, -1):
        if bars[j].ending:
            return bars[j].ending == 1 and j + bars[j].ending_bars > k
        if bars[j].start_repeat:
            return False
    return False


def _unit(bars: list[Bar]) -> int:
    """The written value most notes have: a sixteenth (6) when they are the most, else an
    eighth (12)."""
    counts: dict[int, int] = {}
    for bar in bars:
        for voice in bar.voices:
            for note in voice:
                counts[note.value] = counts.get(note.value, 0) + 1
    return 6 if counts and max(counts, key=counts.get) == 6 else 12
