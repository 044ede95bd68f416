"""What the musician asks for beyond the notes: metre, key, chords, scale lock.

The page's texts ("6/8", "D dorian", "Am F C G") are read by composer.music's own
parsers (meter.parse_meter, keys.parse_key, chords.parse_chord), so the studio and
`composer sample` accept and refuse the same values; their MusicError becomes a
ConditioningError with the same message. The results are composer.music's types
(Key, Chord) except the metre, a small Metre that also knows its felt pulse.
`supported_conditioning(trained)` says which controls a model was trained to hear
(its `condition` setting), and whether it can play a form (a melody model). The metre
is always usable: it sets the written time signature, the bar lines of the piano roll
and the length of a take in bars, whether or not the model hears it.
"""

from __future__ import annotations

from dataclasses import dataclass

from composer.errors import ComposerError, MusicError
from composer.music import chords as music_chords
from composer.music import form as music_form
from composer.music import keys as music_keys
from composer.music.chords import Chord
from composer.music.keys import Key
from composer.music.meter import bar_beats, beat_beats, parse_meter

MAX_CHORDS = 64  # chord symbols in one progression (it repeats to the take's length)

__all__ = ["Chord", "ConditioningError", "Key", "Metre", "parse_chord", "parse_chords",
           "parse_form", "parse_key", "parse_metre", "supported_conditioning"]


class ConditioningError(ComposerError):
    """A metre, key or chord text the studio cannot read; the message names it."""


@dataclass(frozen=True)
class Metre:
    numerator: int  # beats in a bar, as written
    denominator: int  # note value of one written beat: 4 = quarter, 8 = eighth

    @property
    def bar_beats(self) -> float:
        """Length of a bar in quarter notes (composer's beats): 6/8 -> 3.0."""
        return bar_beats((self.numerator, self.denominator))

    @property
    def pulse(self) -> float:
        """Length of a felt beat in quarter notes: dotted in compound metres (6/8 -> 1.5)."""
        return beat_beats((self.numerator, self.denominator))

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


def _read(parse, text):
    try:
        return parse(text)
    except MusicError as error:
        raise ConditioningError(str(error)) from None


def parse_metre(text: str) -> Metre:
    """ "6/8" -> Metre(6, 8); ConditioningError for anything else."""
    return Metre(*_read(parse_meter, text))


def parse_key(text: str) -> Key:
    """ "D major", "A dorian", "F# minor" -> Key; ConditioningError otherwise."""
    return _read(music_keys.parse_key, text)


def parse_form(text: str) -> str:
    """ "aabb" -> "AABB"; "none" -> "none" (no form); ConditioningError otherwise."""
    if text.strip().lower() == "none":
        return "none"
    return _read(music_form.parse_form, text)


def parse_chord(symbol: str) -> Chord:
    """ "Am7" -> its Chord; "N.C." -> no chord; ConditioningError otherwise."""
    return _read(music_chords.parse_chord, symbol)


def parse_chords(text: str) -> tuple[Chord, ...]:
    """ "Am F | C G" -> one chord a bar, in order ("|" is only for the eye)."""
    symbols = text.replace("|", " ").split()
    if len(symbols) > MAX_CHORDS:
        raise ConditioningError(f"chords: {len(symbols)} symbols; at most {MAX_CHORDS}")
    return tuple(parse_chord(symbol) for symbol in symbols)


def supported_conditioning(trained) -> dict[str, bool]:
    """Which controls `trained` (a TrainedModel) was trained to hear.

    Reads the `condition` setting of TrainConfig. Scale lock masks notes outside the
    requested key, so it is offered with the key.
    """
    heard = set(getattr(trained.config, "condition", None) or ())
    return {"metre": "metre" in heard, "key": "key" in heard,
            "chords": "chords" in heard, "scale_lock": "key" in heard,
            "form": getattr(trained.encoding, "name", "") == "melody"}
