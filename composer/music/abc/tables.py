"""What ABC's letters and fields mean: pitches, key signatures with modes, metres, bounds.

Shared by the ABC reader and writer, and by tools/build_corpus.py (MAJOR_BY_SHARPS).
"""

from __future__ import annotations

import re
from fractions import Fraction

from composer.music.keys import MODE_OFFSETS

# --- Hostile input bounds (besides composer.constants' MAX_FILE_BYTES, MAX_NOTES and
#     MAX_PIECE_BEATS, which hold for ABC files as for MIDI files) ------------------------
MAX_LINE_CHARS = 10_000  # a line longer than this stops its tune (real lines: < 500)
MAX_NUMBER = 4096  # a length, tuplet or bar count above this stops its tune
MAX_TUPLET = 64  # p, q and r of a tuplet (p:q:r) at most this
MAX_NESTING = 8  # tuplets inside tuplets at most this deep
MAX_CHORD_NOTES = 16  # notes in one [chord]
MAX_TUNES = 100_000  # X: tunes read from one file



class TuneProblem(Exception):
    """Why one tune cannot be read (the reader adds the file, the X: number and the line)."""


LETTER_STEPS = "CDEFGAB"  # the seven letters, in scale order
LETTER_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}  # semitones above C
MIDDLE_C = 60  # the MIDI pitch of ABC's "C" (c is 72)
ACCIDENTALS = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}  # ABC accidental -> semitones
ACCIDENTAL_TEXT = {2: "^^", 1: "^", 0: "=", -1: "_", -2: "__"}
SHARP_ORDER = "FCGDAEB"  # letters sharpened by a key signature of 1, 2, ... sharps
FLAT_ORDER = "BEADGCF"  # letters flattened by 1, 2, ... flats

# sharps in the key signature -> the major key's name (as mido spells key_signature)
MAJOR_BY_SHARPS = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F", 0: "C",
                   1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}
# ABC's mode names (the first three letters are enough, any case) -> composer's modes
ABC_MODES = {"": "major", "maj": "major", "ion": "major", "m": "minor", "min": "minor",
             "aeo": "minor", "dor": "dorian", "phr": "phrygian", "lyd": "lydian",
             "mix": "mixolydian", "loc": "locrian"}
MODE_SUFFIX = {"major": "", "minor": "m", "dorian": "dor", "phrygian": "phr", "lydian": "lyd",
               "mixolydian": "mix", "locrian": "loc"}  # what the writer puts after the tonic
_KEY = re.compile(r"^([A-Ga-g])([#b]?)\s*([A-Za-z]*)")
_EXTRA_ACCIDENTAL = re.compile(r"^(\^\^|\^|__|_|=)([A-Ga-g])$")


_MAJOR_SHARPS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}  # by letter
_MODE_STEPS = {"major": 0, "dorian": 1, "phrygian": 2, "lydian": 3, "mixolydian": 4,
               "minor": 5, "locrian": 6}  # letters from the relative major up to the tonic


def key_sharps(tonic: str, accidental: str, mode: str) -> int:
    """Sharps (negative: flats) of the signature of a tonic letter, #/b and composer mode,
    spelt as the letters say (Gb major: 6 flats, F# major: 6 sharps, C# major: 7 sharps)."""
    pitch = LETTER_PITCH[tonic.upper()] + {"": 0, "#": 1, "b": -1}[accidental]
    letter = LETTER_STEPS[(LETTER_STEPS.index(tonic.upper()) - _MODE_STEPS[mode]) % 7]
    alter = (pitch - MODE_OFFSETS[mode] - LETTER_PITCH[letter] + 6) % 12 - 6
    sharps = _MAJOR_SHARPS[letter] + 7 * alter
    if -7 <= sharps <= 7:
        return sharps
    return (7 * (pitch - MODE_OFFSETS[mode]) + 5) % 12 - 5  # G# major: as Ab major


def signature_accidentals(sharps: int) -> dict[str, int]:
    """{letter: semitones} that a key signature of `sharps` gives the seven letters."""
    chosen = SHARP_ORDER[:sharps] if sharps > 0 else FLAT_ORDER[:-sharps]
    return {letter: (1 if sharps > 0 else -1) if letter in chosen else 0
            for letter in LETTER_STEPS}


class AbcKey:
    """A K: field read: the signature (sharps, mode) and the accidental of every letter."""

    def __init__(self, sharps: int, mode: str, accidentals: dict[str, int], tonic: str = "C"):
        self.sharps, self.mode, self.accidentals, self.tonic = sharps, mode, accidentals, tonic


def parse_key_field(text: str) -> AbcKey:
    """The AbcKey of a K: field's text ("D", "Ador", "F#m", "Bb mix", "D ^g", "none", "HP").

    Clefs and other words after the key (clef=bass, transpose=...) are ignored; explicit
    accidentals (^f _b =c, or after "exp") change those letters only."""
    words = text.split("%")[0].split()
    if not words or words[0].lower() == "none" or "=" in words[0]:
        return AbcKey(0, "major", signature_accidentals(0))
    if words[0] in ("HP", "Hp"):  # Highland pipes: no signature shown; Hp plays F# and C#
        sharps = 0 if words[0] == "HP" else 2
        return AbcKey(sharps, "mixolydian", signature_accidentals(sharps), "A")
    if words[0].lower() == "exp":
        return _with_extras(AbcKey(0, "major", {letter: 0 for letter in LETTER_STEPS}), words[1:])
    match = _KEY.match(" ".join(words))
    if not match:
        raise TuneProblem(f"bad key {text.strip()!r} in K:")
    tonic, accidental, mode_word = match.groups()
    rest = " ".join(words)[match.end():].split()
    mode = ABC_MODES.get(mode_word[:3].lower() if mode_word.lower() != "m" else "m")
    if mode is None:
        rest.insert(0, mode_word)  # a word such as "clef=bass" or "exp": not a mode
        mode = "major"
    sharps = key_sharps(tonic, accidental, mode)
    if rest and rest[0].lower() == "exp":
        key = AbcKey(sharps, mode, {letter: 0 for letter in LETTER_STEPS}, tonic.upper())
        return _with_extras(key, rest[1:])
    return _with_extras(AbcKey(sharps, mode, signature_accidentals(sharps), tonic.upper()), rest)


def _with_extras(key: AbcKey, words: list[str]) -> AbcKey:
    """The key with the explicit accidentals among `words` (^f, _b, =c) applied."""
    for word in words:
        found = _EXTRA_ACCIDENTAL.match(word)
        if found:
            key.accidentals[found.group(2).upper()] = ACCIDENTALS[found.group(1)]
    return key


def parse_meter_field(text: str) -> tuple[int, int] | None:
    """(numerator, denominator) of an M: field ("6/8", "C", "C|", "2+3/8"); None for
    "none" or no metre; AbcError.bare for anything else."""
    value = text.split("%")[0].strip()
    if value in ("", "none", "None", "NONE"):
        return None
    if value == "C":
        return (4, 4)
    if value == "C|":
        return (2, 2)
    found = re.search(r"\(?([\d+ ]+)\)?\s*/\s*(\d{1,3})", value)  # FREI4/4: 4/4
    if not found:
        raise TuneProblem(f"bad metre {value!r} in M:")
    numerator = sum(int(part) for part in found.group(1).replace(" ", "+").split("+") if part)
    denominator = int(found.group(2))
    if not 1 <= numerator <= 64 or denominator not in (1, 2, 4, 8, 16, 32, 64):
        raise TuneProblem(f"bad metre {value!r} in M:")
    return numerator, denominator


def parse_unit_field(text: str) -> Fraction:
    """The unit note length of an L: field ("1/8", "1/16", "1"), in whole notes."""
    value = text.split("%")[0].strip()
    found = re.match(r"^(\d{1,3})(?:\s*/\s*(\d{1,4}))?$", value)
    if not found or int(found.group(1)) == 0 or (found.group(2) and int(found.group(2)) == 0):
        raise TuneProblem(f"bad unit note length {value!r} in L:")
    return Fraction(int(found.group(1)), int(found.group(2) or 1))


def default_unit(meter: tuple[int, int] | None) -> Fraction:
    """ABC's unit note length without an L: field: 1/16 below 3/4, else 1/8."""
    if meter is not None and Fraction(*meter) < Fraction(3, 4):
        return Fraction(1, 16)
    return Fraction(1, 8)


def parse_tempo_field(text: str, unit: Fraction) -> float | None:
    """Quarter notes per minute of a Q: field ("1/4=120", "3/8=80", "\"Allegro\" 1/4=120",
    or the old "120", which counts unit notes); None if it names no speed."""
    value = re.sub(r'"[^"]*"', " ", text.split("%")[0]).strip()
    found = re.search(r"((?:\d{1,2}/\d{1,3}\s*)+)=\s*(\d{1,4}(?:\.\d+)?)", value)
    if found:
        beat = sum(Fraction(part) for part in found.group(1).split())
        qpm = float(found.group(2)) * float(beat) * 4
    else:
        bare = re.fullmatch(r"(?:[Cc]\d*\s*=\s*)?(\d{1,4})", value)
        if not bare:
            return None
        qpm = float(bare.group(1)) * float(unit) * 4
    return qpm if 10 <= qpm <= 1000 else None
