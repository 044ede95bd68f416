"""Write a piece as ABC notation a musician can read (and composer's reader reads back).

`abc_text(piece)` lays the piece out (composer.music.notation.score: bars, written values,
triplets, ties, repeats folded from the notes) and writes:

* the header: X:, T:, M:, L: (1/8, or 1/16 for tunes mostly in sixteenths), Q: (1/4=qpm)
  and K: with the mode (K:Dmix, K:Em, K:Ador);
* bars, four a line and a new line where a part starts; beams grouped by beat (a space
  before each beat: 6/8 as 3+3, 2/2 in fours); `|:` and `:|` around a repeated part, `|1`
  and `:|2` for its endings; `|]` at the end;
* chord symbols in quotes where the piece has chords; accidentals where the key does not
  give them (and again where the bar had another one); triplets as (3; a dotted eighth and
  a sixteenth as A>B;
* one V: voice per voice of the piece (each its highest line).
"""

from __future__ import annotations

from fractions import Fraction

from composer.music.abc.tables import ACCIDENTAL_TEXT, MODE_SUFFIX
from composer.music.keys import Key
from composer.music.meter import MeterMap
from composer.music.notation.score import GRID, Bar, Score, Written, layout
from composer.music.notes import Piece


def abc_text(piece: Piece, title: str = "", meter: MeterMap | None = None,
             keys=None, hints=(), number: int = 1) -> str:
    """The ABC text of `piece` (see the module docstring)."""
    return score_text(layout(piece, title, meter, keys, hints), number)


def write_abc(path, piece: Piece, **options) -> None:
    """Write abc_text(piece, ...) to `path` (UTF-8)."""
    with open(path, "w", encoding="utf-8") as file:
        file.write(abc_text(piece, **options))


def score_text(score: Score, number: int = 1) -> str:
    unit = Fraction(score.unit, GRID * 4)  # in whole notes: 1/8 or 1/16
    header = [f"X:{number}", f"T:{score.title or 'Untitled'}",
              f"M:{score.meter[0]}/{score.meter[1]}", f"L:{unit.numerator}/{unit.denominator}",
              f"Q:1/4={round(score.qpm)}", f"K:{key_field(score.key)}"]
    lines = list(header)
    for voice in range(score.voices):
        if score.voices > 1:
            lines.append(f"V:{voice + 1}")
        lines += _body(score, voice)
    return "\n".join(lines) + "\n"


def key_field(key: Key) -> str:
    """The K: field of a key: "D", "Em", "Ador", "Bbmix"."""
    tonic = key.name.split()[0]
    return tonic + MODE_SUFFIX[key.mode]


def _body(score: Score, voice: int) -> list[str]:
    """The music lines of one voice: bars with their bar lines, broken into lines."""
    bars, lines, current, fresh = score.bars, [], "", True
    for k, bar in enumerate(bars):
        current += _bar_line(bars[k - 1] if k else None, bar, fresh)
        fresh = False
        current += _marks(bar, k) + _music(bar, voice, score.unit)
        if k + 1 == len(bars):
            lines.append(current + (" :|" if bar.end_repeat else " |]"))
        elif bar.line_break:
            end, start = _split_bar_line(bar, bars[k + 1])
            lines.append(current + end)
            current, fresh = start, True
    return [line.strip() for line in lines]


def _bar_line(previous: Bar | None, bar: Bar, line_start: bool) -> str:
    """The bar line before `bar` (at the start of a line: only what opens there)."""
    end = previous is not None and previous.end_repeat
    if line_start:
        return "|: " if bar.start_repeat and previous is None else ""
    if bar.ending:
        return (" :|" if end else " |") + f"{bar.ending} "
    if bar.start_repeat:
        return " :|: " if end else " |: "
    if end:
        return " :| "
    return " || " if bar.part else " | "


def _split_bar_line(previous: Bar, bar: Bar) -> tuple[str, str]:
    """The bar line between two lines of music: what ends the first line and what starts
    the second ("|:", or "[2" for an ending)."""
    if bar.start_repeat:
        return (" :|" if previous.end_repeat else " |"), "|: "
    if bar.ending:
        return (" :|" if previous.end_repeat else " |"), f"[{bar.ending} "
    return _bar_line(previous, bar, False).rstrip(), ""


def _marks(bar: Bar, index: int) -> str:
    """Inline time and key signatures where they change."""
    text = ""
    if bar.meter and index:
        text += f"[M:{bar.meter[0]}/{bar.meter[1]}] "
    if bar.key and index:
        text += f"[K:{key_field(bar.key)}] "
    return text


def _music(bar: Bar, voice: int, unit: int) -> str:
    notes = bar.voices[voice] if voice < len(bar.voices) else []
    parts, k = [], 0
    while k < len(notes):
        note = notes[k]
        pair = notes[k + 1] if k + 1 < len(notes) else None
        broken = _broken(note, pair, unit)
        if broken:
            parts.append((note.beat and k > 0, _note(note, unit, unit) + broken +
                          _note(pair, unit, unit)))
            k += 2
            continue
        parts.append((note.beat and k > 0, _note(note, unit, note.value)))
        k += 1
    return "".join((" " if space else "") + text for space, text in parts)


def _broken(note: Written, pair: Written | None, unit: int) -> str:
    """">" or "<" for a dotted eighth and a sixteenth (or the other way) in one beat."""
    if pair is None or unit != 12 or note.tie or note.in_tuplet or pair.in_tuplet or \
            note.pitch is None or pair.pitch is None or pair.beat:
        return ""
    return {(18, 6): ">", (6, 18): "<"}.get((note.value, pair.value), "")


def _note(note: Written, unit: int, value: int) -> str:
    text = ""
    if note.tuplet:
        text += "(3" if note.tuplet == 3 else f"(3:2:{note.tuplet}"
    if note.chord:
        text += f'"{note.chord}"'
    if note.pitch is None:
        text += "z"
    else:
        if note.accidental is not None:
            text += ACCIDENTAL_TEXT[note.accidental]
        text += _letter(note.spelt)
    text += _length(Fraction(value, unit))
    return text + ("-" if note.tie else "")


def _letter(spelt) -> str:
    """ABC's letter and octave marks: C is middle C (octave 4), c the octave above."""
    if spelt.octave >= 5:
        return spelt.letter.lower() + "'" * (spelt.octave - 5)
    return spelt.letter + "," * (4 - spelt.octave)


def _length(ratio: Fraction) -> str:
    if ratio == 1:
        return ""
    if ratio.denominator == 1:
        return str(ratio.numerator)
    if ratio.numerator == 1:
        return "/" if ratio.denominator == 2 else f"/{ratio.denominator}"
    return f"{ratio.numerator}/{ratio.denominator}"
