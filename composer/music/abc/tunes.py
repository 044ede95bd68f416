"""An ABC file as tunes: the file header, then each `X:` tune's header fields and body lines.

Rules (ABC 2.1, section 2): a tune starts at an `X:` line and ends at the first blank line
(or the next `X:` line, or the end of the file). Lines before the first tune, up to a
blank line, are the file header: its fields (L:, M:, R:, ...) are the defaults of every
tune. Text between tunes is free text and is not read. A tune's header runs from `X:` to
its first `K:` field; the lines after it are its body. `%` starts a comment (outside
quotes), `%%` lines are formatting directives, and both are dropped here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from composer.music.abc.tables import MAX_LINE_CHARS, MAX_TUNES

FIELD = re.compile(r"^([A-Za-z+]):(?![|:])")  # "K:G" is a field; "E:|" is music
_X = re.compile(r"^X:\s*(\d*)")


@dataclass
class TuneText:
    """One tune's lines, as numbered in the file (1 = the first line)."""

    number: str  # the X: field's value as written ("12"; "" if it gives none)
    line: int  # the line of its X: field
    header: list[tuple[int, str, str]] = field(default_factory=list)  # (line, letter, value)
    body: list[tuple[int, str]] = field(default_factory=list)  # (line, text) after K:
    too_long: int = 0  # the first line longer than MAX_LINE_CHARS (0: none)


def decode(data: bytes) -> str:
    """ABC text: UTF-8, else Latin-1 (older files), with a byte-order mark dropped."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.lstrip("\ufeff")


def split_tunes(text: str) -> tuple[list[tuple[int, str, str]], list[TuneText]]:
    """(the file header's fields, the tunes): see the module docstring.

    At most MAX_TUNES tunes are kept (the rest of a larger file is not read)."""
    header: list[tuple[int, str, str]] = []
    tunes: list[TuneText] = []
    tune: TuneText | None = None
    in_file_header, in_tune_header = True, False
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE_CHARS:
            if tune is not None and not tune.too_long:
                tune.too_long = number
            continue
        found = _X.match(line)
        if found:
            if len(tunes) >= MAX_TUNES:
                break
            tune = TuneText(found.group(1), number)
            tunes.append(tune)
            in_file_header, in_tune_header = False, True
            continue
        if not line.strip():  # a blank line ends the file header or the tune
            in_file_header, tune = False, None
            continue
        if tune is None:
            if in_file_header:
                _add_field(header, number, line)
            continue
        if in_tune_header:
            in_tune_header = _header_line(tune, number, line)
        else:
            _body_line(tune, number, line)
    return header, tunes


def _add_field(fields: list[tuple[int, str, str]], number: int, line: str) -> None:
    found = FIELD.match(line)
    if found:
        fields.append((number, found.group(1), strip_comment(line[2:]).strip()))


def _header_line(tune: TuneText, number: int, line: str) -> bool:
    """Read one header line into `tune`; False once the K: field has ended the header."""
    found = FIELD.match(line)
    if found:
        tune.header.append((number, found.group(1), strip_comment(line[2:]).strip()))
        return found.group(1) != "K"
    if line.startswith("%"):
        return True
    tune.body.append((number, line))  # music before any K: (a broken header): read it
    return True


def _body_line(tune: TuneText, number: int, line: str) -> None:
    if line.startswith("%"):
        return
    tune.body.append((number, strip_comment(line)))


def strip_comment(line: str) -> str:
    """The line without its % comment (a % inside quotes or after a backslash stays)."""
    if "%" not in line:
        return line
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "%" and not quoted and (i == 0 or line[i - 1] != "\\"):
            return line[:i]
    return line
