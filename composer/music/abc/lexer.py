"""One line of ABC music as tokens: notes, rests, chords, bar lines, ties, tuplets, marks.

`tokens(line)` yields tuples, the kind first:

    ("note", accidental, letter, octave marks, length)   e.g. ("note", "^", "f", "'", "3/2")
    ("rest", "z" | "x", length)        ("measure-rest", "Z" | "X", bars)
    ("chord", [(accidental, letter, octave marks, length, tied), ...], length)
    ("bar", text)                      "|", "||", "|]", "[|", "|:", ":|", "::", ...
    ("ending", numbers)                "1", "2", "1,3", "1-2" (after a bar line or "[")
    ("field", letter, value)           an inline field: [K:D], [M:3/4], [L:1/16], ...
    ("symbol", text)                   the text of a "quoted" chord symbol or annotation
    ("tie",)   ("broken", ">" | "<", 1..3)   ("tuplet", p, q, r)   ("overlay",)

Decorations (!trill!, +fermata+, . ~ H-W u v), slurs, grace notes {...}, spaces (which
beam notes in print) and the other marks of layout are skipped. A quote, grace group,
chord or inline field left open at the end of the line raises TuneProblem; so does a
number longer than four digits. Lengths are returned as written; the parser reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from composer.music.abc.tables import TuneProblem

_LENGTH = r"(\d*/*\d*)"
NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)" + _LENGTH)
REST = re.compile(r"([zx])" + _LENGTH)
MEASURE_REST = re.compile(r"([ZX])(\d*)")
TUPLET = re.compile(r"\((\d+)(?::(\d*))?(?::(\d*))?")
BAR = re.compile(r"\.?(?:\[\||:*\|[|\]]*|::+\|?[|\]]*)(?::+)?")
ENDING = re.compile(r"\d+(?:[,-]\d+)*")
INLINE_FIELD = re.compile(r"\[([A-Za-z]):([^\]\[]*)\]")
BROKEN = re.compile(r"[<>]{1,3}")
_OLD_CHORD = re.compile(r"\+(?:(?:\^\^|\^|__|_|=)?[A-Ga-g][,']*\d*/*\d*-?){2,}\+")
_TRANSPARENT = set(" \t~HIJKLNOPQRSTUVW\r")  # spaces and decorations: skipped
_SKIPPED = set("`y$*\\).uvM")  # skipped, but they part a broken rhythm sign from its note
_TRANSPARENT_RUN = re.compile(r"[ \t~HIJKLNOPQRSTUVW\r]+")
_SKIPPED_RUN = re.compile(r"(?:[`y$*\\).uvM]|\((?!\d))+")  # slurs and the like, in a run
_DECORATION_ENDS = {"!": "!", "+": "+"}
_NUMBER = re.compile(r"\d{5,}")


def tokens(line: str) -> Iterator[tuple]:
    """The tokens of one music line (see the module docstring)."""
    if _NUMBER.search(_without_quotes(line)):
        raise TuneProblem(f"a number too large: {_NUMBER.search(_without_quotes(line)).group()}")
    last = ""  # the kind of the last token, but chord symbols (for broken rhythm)
    for token in _raw_tokens(line):
        kind = token[0]
        if kind == "broken?":  # read (as music21 reads it, and so data/) only between two
            if last in ("note", "rest", "chord") and token[3]:  # notes, rests or chords
                yield ("broken", token[1], token[2])
            last = kind
        elif kind == "mark":
            last = kind
        else:
            last = last if kind == "symbol" else kind
            yield token


def _raw_tokens(line: str) -> Iterator[tuple]:
    """The tokens, plus ("mark",) for what parts a broken rhythm sign from its notes and
    ("broken?", sign, count, whether a note follows) for the sign itself."""
    pos, end = 0, len(line)
    while pos < end:
        char = line[pos]
        if char in _TRANSPARENT:
            pos = _TRANSPARENT_RUN.match(line, pos).end()
        elif char == "+" and _OLD_CHORD.match(line, pos):  # +CEG+: ABC 1.6's chord [CEG]
            pos = yield from _chord(line, pos, "+")
        elif char in "!+":
            closing = line.find(char, pos + 1)  # !trill!, +trill+; a lone ! is a line break
            pos = pos + 1 if closing < 0 else closing + 1
        elif char in "<>":
            found = BROKEN.match(line, pos)
            yield ("broken?", char, len(found.group()), _starts_note(line, found.end()))
            pos = found.end()
        elif char in _SKIPPED or char == "(" and not line[pos + 1:pos + 2].isdigit():
            yield ("mark",)
            pos = _SKIPPED_RUN.match(line, pos).end()
        elif char in "ABCDEFGabcdefg^_=":
            pos = yield from _note(line, pos)
        elif char in "zx":
            found = REST.match(line, pos)
            yield ("rest", found.group(1), found.group(2))
            pos = found.end()
        elif char in "ZX":
            found = MEASURE_REST.match(line, pos)
            yield ("measure-rest", found.group(1), found.group(2))
            pos = found.end()
        elif char == "|" or char == ":" and line[pos + 1:pos + 2] in ("|", ":") or \
                char in ".[" and line[pos + 1:pos + 2] == "|":
            pos = yield from _bar(line, pos)
        elif char == "[":
            pos = yield from _bracket(line, pos)
        else:
            pos = yield from _mark(line, pos, char)


def _starts_note(line: str, pos: int) -> bool:
    """Whether a note, rest or chord starts at `pos`, after spaces, chord symbols and
    decorations (which music21 reads as part of the note)."""
    while pos < len(line):
        char = line[pos]
        if char in _TRANSPARENT:
            pos += 1
        elif char in '"!+':
            closing = line.find(char, pos + 1)
            if closing < 0:
                return False
            pos = closing + 1
        else:
            return char in "ABCDEFGabcdefg^_=zx" or char == "[" and \
                bool(NOTE.match(line, pos + 1))
    return False


def _without_quotes(line: str) -> str:
    return re.sub(r'"[^"]*"', "", line) if '"' in line else line


def _note(line: str, pos: int) -> Iterator[tuple]:
    found = NOTE.match(line, pos)
    if not found:  # an accidental with no note after it ("= e", "^3"): a slip, not read
        return pos + 1
    yield ("note", *found.groups())
    return found.end()


def _bar(line: str, pos: int) -> Iterator[tuple]:
    found = BAR.match(line, pos)
    if not found or found.end() == pos:
        return pos + 1  # a lone ":" or "."
    yield ("bar", found.group())
    ending = ENDING.match(line, found.end())
    if ending and found.group()[-1] != ":":
        yield ("ending", ending.group())
        return ending.end()
    return found.end()


def _bracket(line: str, pos: int) -> Iterator[tuple]:
    """What an opening "[" starts: an ending, an inline field or a chord."""
    ending = ENDING.match(line, pos + 1)
    if ending:
        yield ("ending", ending.group())
        return ending.end()
    if re.match(r"[A-Za-z]:", line[pos + 1:pos + 3]):
        found = INLINE_FIELD.match(line, pos)
        if not found:
            raise TuneProblem(f"an inline field {line[pos:pos + 3]} with no closing ]")
        yield ("field", found.group(1), found.group(2).strip())
        return found.end()
    return (yield from _chord(line, pos))


def _chord(line: str, pos: int, closing: str = "]") -> Iterator[tuple]:
    """A chord [CEG]: its notes (each with its length and tie), then its own length."""
    notes, i = [], pos + 1
    while True:
        if i >= len(line):
            raise TuneProblem(f"a chord {line[pos]} with no closing {closing} at column "
                              f"{pos + 1}")
        char = line[i]
        if char == closing:
            break
        found = NOTE.match(line, i)
        if found:
            tied = line[found.end():found.end() + 1] == "-"
            notes.append((*found.groups(), tied))
            i = found.end() + tied
        elif char in "[{":
            raise TuneProblem(f"a {char} inside a chord at column {i + 1}")
        elif char in _DECORATION_ENDS or char == '"':
            after = line.find(_DECORATION_ENDS.get(char, '"'), i + 1)
            i = i + 1 if after < 0 else after + 1
        else:
            i += 1  # decorations, ties and spaces inside a chord
    length = re.match(_LENGTH, line[i + 1:]).group(1)
    tied = line[i + 1 + len(length):i + 2 + len(length)] == "-"
    if notes:
        yield ("chord", [n[:4] + (n[4] or tied,) for n in notes], length)
    return i + 1 + len(length) + tied


def _mark(line: str, pos: int, char: str) -> Iterator[tuple]:
    """Quotes, decorations, grace notes, ties, broken rhythm, tuplets and the rest."""
    if char == '"':
        closing = line.find('"', pos + 1)
        if closing < 0:
            raise TuneProblem(f'a chord symbol or annotation " with no closing " at column '
                              f"{pos + 1}")
        yield ("symbol", line[pos + 1:closing])
        return closing + 1
    if char == "{":
        closing = line.find("}", pos + 1)
        if closing < 0:
            raise TuneProblem(f"grace notes {{ with no closing }} at column {pos + 1}")
        yield ("mark",)
        return closing + 1
    if char == "-":
        yield ("tie",)
    elif char == "(":
        found = TUPLET.match(line, pos)
        groups = [int(g) if g else None for g in found.groups()]
        yield ("tuplet", *groups)
        return found.end()
    elif char == "&":
        yield ("overlay",)
    return pos + 1
