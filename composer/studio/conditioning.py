"""What the musician asks for beyond the notes: metre, key, chords, scale lock.

THE CONDITIONING SEAM (issue 9). Everything the studio knows about conditioning is in
this module and in `composer.studio.compose.draw_tokens`:

- `parse_metre`, `parse_key` and `parse_chords` read the page's text ("6/8", "D dorian",
  "Am F C G") into the small value types below, or raise ConditioningError naming the
  value and the problem. They are local stand-ins: when composer.music grows its own
  parsers (issue 9, the `music` stream), replace their bodies with calls to those and
  keep the error type, so the HTTP API and its tests stay as they are.
- `supported_conditioning(trained)` says which of these a model was trained to hear. A
  model records that in its settings (the `condition` field issue 9 adds to TrainConfig,
  e.g. ("metre", "key", "chords")); today's models have none, so the page shows those
  controls disabled, and the API refuses key, chords and scale lock for such a model.
- The metre is always usable: it sets the written time signature, the bar lines of the
  piano roll and the length of a take in bars, whether or not the model hears it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from composer.errors import ComposerError

NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTALS = {"": 0, "#": 1, "b": -1}
SHARP_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Scales as semitones above the tonic; "major" and "minor" are ionian and aeolian.
MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
    "ionian": (0, 2, 4, 5, 7, 9, 11), "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10), "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10), "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
}  # fmt: skip
# Chord qualities as semitones above the root; the key is what follows the root.
QUALITIES = {
    "": (0, 4, 7), "m": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "6": (0, 4, 7, 9), "m6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "m7": (0, 3, 7, 10),
    "dim7": (0, 3, 6, 9), "m7b5": (0, 3, 6, 10),
}  # fmt: skip
NO_CHORD = ("N.C.", "NC")  # spellings of "no chord" for a bar
METRE_DENOMINATORS = (1, 2, 4, 8, 16, 32)
MAX_METRE_NUMERATOR = 32
MAX_CHORDS = 64  # chord symbols in one progression (it repeats to the take's length)
_ROOT = re.compile(r"([A-G])([#b]?)(.*)")


class ConditioningError(ComposerError):
    """A metre, key or chord text the studio cannot read; the message names it."""


@dataclass(frozen=True)
class Metre:
    numerator: int  # beats in a bar, as written
    denominator: int  # note value of one written beat: 4 = quarter, 8 = eighth

    @property
    def bar_beats(self) -> float:
        """Length of a bar in quarter notes (composer's beats): 6/8 -> 3.0."""
        return self.numerator * 4 / self.denominator

    @property
    def pulse(self) -> float:
        """Length of a felt beat in quarter notes: dotted in compound metres (6/8 -> 1.5)."""
        compound = self.denominator >= 8 and self.numerator % 3 == 0 and self.numerator > 3
        return (3 if compound else 1) * 4 / self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True)
class KeyChoice:
    tonic: int  # pitch class 0..11, 0 = C
    mode: str  # a name in MODES

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + step) % 12 for step in MODES[self.mode])

    def __str__(self) -> str:
        return f"{SHARP_NAMES[self.tonic]} {self.mode}"


@dataclass(frozen=True)
class Chord:
    symbol: str  # as the musician wrote it, e.g. "Am7"
    root: int | None  # pitch class 0..11; None for "no chord"
    quality: str = ""  # a key of QUALITIES

    @property
    def pitch_classes(self) -> frozenset[int]:
        if self.root is None:
            return frozenset()
        return frozenset((self.root + step) % 12 for step in QUALITIES[self.quality])


def parse_metre(text: str) -> Metre:
    """ "6/8" -> Metre(6, 8); ConditioningError for anything else."""
    match = re.fullmatch(r"\s*(\d{1,3})\s*/\s*(\d{1,3})\s*", text)
    if not match:
        raise ConditioningError(f'metre "{text}": write it as beats/note value, e.g. 6/8')
    numerator, denominator = int(match[1]), int(match[2])
    if not 1 <= numerator <= MAX_METRE_NUMERATOR:
        raise ConditioningError(
            f'metre "{text}": the number of beats must be 1..{MAX_METRE_NUMERATOR}')
    if denominator not in METRE_DENOMINATORS:
        allowed = ", ".join(map(str, METRE_DENOMINATORS))
        raise ConditioningError(f'metre "{text}": the note value must be one of {allowed}')
    return Metre(numerator, denominator)


def _pitch_class(letter: str, accidental: str) -> int:
    return (NOTE_NAMES[letter] + ACCIDENTALS[accidental]) % 12


def parse_key(text: str) -> KeyChoice:
    """ "D major", "A dorian", "F# minor" -> KeyChoice; ConditioningError otherwise."""
    words = text.split()
    if len(words) != 2:
        raise ConditioningError(f'key "{text}": write a tonic and a mode, e.g. "D major"')
    tonic, mode = words[0], words[1].lower()
    match = re.fullmatch(r"([A-Ga-g])([#b]?)", tonic)
    if not match:
        raise ConditioningError(
            f'key "{text}": "{tonic}" is not a note name (A to G, then # or b)')
    if mode not in MODES:
        raise ConditioningError(
            f'key "{text}": "{words[1]}" is not a mode; choose one of {", ".join(MODES)}')
    return KeyChoice(_pitch_class(match[1].upper(), match[2]), mode)


def parse_chord(symbol: str) -> Chord:
    """ "Am7" -> Chord("Am7", 9, "m7"); "N.C." -> no chord."""
    if symbol in NO_CHORD:
        return Chord(symbol, None)
    match = _ROOT.fullmatch(symbol)
    quality = match[3] if match else None
    quality = {"min": "m", "-": "m", "M7": "maj7", "+": "aug"}.get(quality, quality)
    if match is None or quality not in QUALITIES:
        kinds = ", ".join(q or "(major)" for q in QUALITIES)
        raise ConditioningError(
            f'chords: "{symbol}" is not a chord symbol (a root A to G, then # or b, '
            f'then one of {kinds}; N.C. for no chord)')
    return Chord(symbol, _pitch_class(match[1], match[2]), quality)


def parse_chords(text: str) -> tuple[Chord, ...]:
    """ "Am F | C G" -> one chord a bar, in order ("|" is only for the eye)."""
    symbols = text.replace("|", " ").split()
    if len(symbols) > MAX_CHORDS:
        raise ConditioningError(f"chords: {len(symbols)} symbols; at most {MAX_CHORDS}")
    return tuple(parse_chord(symbol) for symbol in symbols)


def supported_conditioning(trained) -> dict[str, bool]:
    """Which controls `trained` (a TrainedModel) was trained to hear.

    Reads the `condition` setting issue 9 adds to TrainConfig (absent today: nothing is
    heard). Scale lock masks notes outside the requested key, so it needs the key.
    """
    heard = set(getattr(trained.config, "condition", None) or ())
    return {"metre": "metre" in heard, "key": "key" in heard,
            "chords": "chords" in heard, "scale_lock": "key" in heard}
