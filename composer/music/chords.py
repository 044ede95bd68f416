"""Chord symbols: reading and writing them, transposing them, naming a block of pitches.

A **Chord** is a root pitch class and a quality from a small fixed set, or no chord
("N.C."), with an optional slash bass ("C/E"). The qualities and their tones above the root:

    major (C)               0 4 7         dominant 7th (C7)         0 4 7 10
    minor (Cm)              0 3 7         major 7th (Cmaj7)         0 4 7 11
    diminished (Cdim)       0 3 6         minor 7th (Cm7)           0 3 7 10
    augmented (Caug)        0 4 8         half-diminished (Cm7b5)   0 3 6 10
    suspended 4th (Csus4)   0 5 7         suspended 2nd (Csus2)     0 2 7

**Symbols** (parse_chord): ROOT [QUALITY] [/BASS]. ROOT and BASS are a capital letter A-G,
then at most one "#" or "b". QUALITY is one of the suffixes above or an alias: "", "maj",
"M" (major); "m", "min", "-" (minor); "dim", "o", "°" (diminished); "aug", "+"; "7", "dom7";
"maj7", "M7", "Δ", "Δ7"; "m7", "min7", "-7"; "m7b5", "ø", "ø7"; "sus", "sus4"; "sus2".
Extended chords fold onto the closest quality of the set: 6 and add9 -> major, m6 and madd9
-> minor, dim7 -> diminished, 9, 11 and 13 -> dominant 7th, maj9 -> major 7th, m9 and m11 ->
minor 7th, 7sus4 -> sus4. "N.C.", "NC" and "N.C" are no chord. Anything else raises
MusicError naming the symbol. Symbols are written (Chord.symbol) with the roots of
ROOT_NAMES and the first suffix above.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from composer.errors import MusicError

QUALITIES = {  # quality -> (its tones in semitones above the root, suffix written)
    "major": ((0, 4, 7), ""),
    "minor": ((0, 3, 7), "m"),
    "diminished": ((0, 3, 6), "dim"),
    "augmented": ((0, 4, 8), "aug"),
    "dominant7": ((0, 4, 7, 10), "7"),
    "major7": ((0, 4, 7, 11), "maj7"),
    "minor7": ((0, 3, 7, 10), "m7"),
    "half-diminished": ((0, 3, 6, 10), "m7b5"),
    "sus4": ((0, 5, 7), "sus4"),
    "sus2": ((0, 2, 7), "sus2"),
}
QUALITY_NAMES = tuple(QUALITIES)  # fixed order: the quality ids of the conditioning features
ROOT_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")  # written roots
_ALIASES = {  # suffix as written -> quality (case matters: "M7" is major 7th, "m7" minor 7th)
    **{suffix: quality for quality, (_, suffix) in QUALITIES.items()},
    "maj": "major", "M": "major", "6": "major", "add9": "major",
    "min": "minor", "-": "minor", "mi": "minor", "m6": "minor", "madd9": "minor",
    "o": "diminished", "°": "diminished", "dim7": "diminished", "o7": "diminished",
    "°7": "diminished", "+": "augmented", "dom7": "dominant7", "9": "dominant7",
    "11": "dominant7", "13": "dominant7", "M7": "major7", "Δ": "major7", "Δ7": "major7",
    "maj9": "major7", "min7": "minor7", "-7": "minor7", "mi7": "minor7", "m9": "minor7",
    "m11": "minor7", "ø": "half-diminished", "ø7": "half-diminished",
    "min7b5": "half-diminished", "-7b5": "half-diminished", "sus": "sus4", "7sus4": "sus4",
}  # fmt: skip
_NO_CHORD = ("N.C.", "NC", "N.C")
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "b": -1, "♯": 1, "♭": -1}
_SYMBOL = re.compile(r"^([A-Z])([#b♯♭]?)(.*?)(?:/([A-Z])([#b♯♭]?))?$")
MAX_SYMBOL_CHARS = 16  # longer texts in a MIDI file are never read as chord symbols
EXAMPLES = "e.g. Am, F, G7, Bbmaj7, F#m7b5, Dsus4, C/E, N.C."


@dataclass(frozen=True)
class Chord:
    """A chord: root pitch class and quality, or no chord (root None)."""

    root: int | None  # pitch class 0..11 (0 = C); None = no chord
    quality: str | None = "major"  # a key of QUALITIES; None for no chord
    bass: int | None = None  # pitch class of a slash bass ("C/E": 4), None if the root

    def __post_init__(self):
        if self.root is None:
            if self.quality is not None or self.bass is not None:
                raise ValueError("no chord (root None) has no quality and no bass")
            return
        for what, value in (("root", self.root), ("bass", self.bass)):
            if value is not None and (not isinstance(value, int) or not 0 <= value <= 11):
                raise ValueError(f"chord {what} must be a pitch class 0..11, got {value!r}")
        if self.quality not in QUALITIES:
            raise ValueError(f"unknown chord quality {self.quality!r}; known: {QUALITY_NAMES}")

    @property
    def is_no_chord(self) -> bool:
        return self.root is None

    @property
    def symbol(self) -> str:
        """The symbol composer writes: "Am", "Bbmaj7", "C/E", "N.C."."""
        if self.root is None:
            return "N.C."
        text = ROOT_NAMES[self.root] + QUALITIES[self.quality][1]
        return text if self.bass is None else f"{text}/{ROOT_NAMES[self.bass]}"

    @functools.cached_property  # asked for at every bar of every piece in training
    def tones(self) -> frozenset[int]:
        """The pitch classes of its quality on its root; empty for no chord."""
        if self.root is None:
            return frozenset()
        return frozenset((self.root + step) % 12 for step in QUALITIES[self.quality][0])

    @property
    def pitch_classes(self) -> frozenset[int]:
        """The chord tones and the slash bass; empty for no chord."""
        return self.tones if self.bass is None else self.tones | {self.bass}

    def transpose(self, semitones: int) -> Chord:
        """The chord moved by `semitones` (no chord stays no chord)."""
        if self.root is None:
            return self
        bass = None if self.bass is None else (self.bass + semitones) % 12
        return Chord((self.root + semitones) % 12, self.quality, bass)


NO_CHORD = Chord(None, None)


def _pitch_class(letter: str, accidental: str) -> int | None:
    if letter not in _LETTERS:
        return None
    return (_LETTERS[letter] + _ACCIDENTALS[accidental]) % 12


def parse_chord(text: str) -> Chord:
    """The Chord of a symbol such as "Am", "G7", "F#m7b5", "C/E", "N.C."; MusicError if bad."""
    if not isinstance(text, str):
        raise TypeError(f"a chord symbol must be a string, got {text!r}")
    symbol = text.strip()
    if symbol in _NO_CHORD:
        return NO_CHORD
    match = _SYMBOL.match(symbol)
    root = _pitch_class(*match.group(1, 2)) if match else None
    if root is None:
        raise MusicError(f"bad chord symbol {text!r}: it must start with a root A-G, "
                         f"then # or b ({EXAMPLES})")
    suffix, bass_letter, bass_accidental = match.group(3, 4, 5)
    if suffix not in _ALIASES:
        known = ", ".join(repr(s) for _, s in QUALITIES.values())
        raise MusicError(f"bad chord symbol {text!r}: unknown quality {suffix!r} "
                         f"(known: {known}; {EXAMPLES})")
    bass = None
    if bass_letter is not None:
        bass = _pitch_class(bass_letter, bass_accidental)
        if bass is None:
            raise MusicError(f"bad chord symbol {text!r}: the bass after '/' must be A-G")
    return Chord(root, _ALIASES[suffix], None if bass == root else bass)


def read_symbol(text: str) -> Chord | None:
    """The Chord of `text` if it is a chord symbol, else None (for text found in files)."""
    if len(text) > MAX_SYMBOL_CHARS:
        return None
    try:
        return parse_chord(text)
    except MusicError:
        return None


def transpose_symbol(symbol: str, semitones: int) -> str:
    """A chord symbol moved by `semitones`, respelt by Chord.symbol; unreadable text unchanged."""
    chord = read_symbol(symbol)
    return symbol if chord is None else chord.transpose(semitones).symbol


def chord_from_pitches(pitches: Iterable[int]) -> Chord | None:
    """The chord a block of MIDI pitches spells, or None for fewer than 2 pitch classes.

    The (root, quality) whose tones match the pitch classes best wins: most tones in common,
    then fewest tones missing or extra, then the root in the bass, then QUALITIES order.
    A lowest note other than the root becomes a slash bass.
    """
    pitches = list(pitches)
    classes = {p % 12 for p in pitches}
    if len(classes) < 2:
        return None
    bass = min(pitches) % 12
    best, best_key = None, None
    for root in range(12):
        for rank, (quality, (steps, _)) in enumerate(QUALITIES.items()):
            tones = {(root + s) % 12 for s in steps}
            common = len(tones & classes)
            key = (common, -len(tones ^ classes), root == bass, -rank)
            if best_key is None or key > best_key:
                best, best_key = Chord(root, quality), key
    return Chord(best.root, best.quality, None if bass == best.root else bass)


# --- Progressions ------------------------------------------------------------------

MAX_PROGRESSION_CHORDS = 256  # chords in one progression string
MAX_CHORD_BARS = 64.0  # longest duration of one chord, in bars


def parse_progression(text: str) -> list[tuple[Chord, float]]:
    """(chord, bars) per chord of a progression such as "Am F C G" or "Am:2 F C:0.5 G:0.5".

    Chords are separated by spaces (bar lines "|" are allowed and ignored). Each lasts one
    bar, or the number of bars after a colon (a positive number up to MAX_CHORD_BARS, such
    as 2, 0.5 or 1.5). MusicError names the first bad chord or duration.
    """
    if not isinstance(text, str):
        raise TypeError(f"a chord progression must be a string, got {text!r}")
    tokens = text.replace("|", " ").split()
    if not tokens:
        raise MusicError(f"empty chord progression {text!r}; write chords such as 'Am F C G'")
    if len(tokens) > MAX_PROGRESSION_CHORDS:
        raise MusicError(f"chord progression has {len(tokens)} chords, more than "
                         f"{MAX_PROGRESSION_CHORDS}")
    return [_progression_item(token) for token in tokens]


def _progression_item(token: str) -> tuple[Chord, float]:
    symbol, colon, duration = token.rpartition(":") if ":" in token else (token, "", "")
    if not colon:
        return parse_chord(symbol), 1.0
    try:
        bars = float(duration)
    except ValueError:
        bars = math.nan
    if not (0 < bars <= MAX_CHORD_BARS):  # also rejects nan
        raise MusicError(f"bad chord duration {token!r}: after ':' give the bars it lasts, "
                         f"a number above 0 and up to {MAX_CHORD_BARS:g} (e.g. Am:2, G:0.5)")
    return parse_chord(symbol), bars
