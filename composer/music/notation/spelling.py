"""Pitches spelt in a key, and which accidentals a bar must show.

A pitch is spelt as a letter, an alteration (-2..2 semitones) and an octave (4 = the octave
from middle C up, scientific pitch). Notes of the key's scale take the letter its signature
gives them; other notes take the natural letter of that pitch if there is one (F natural
in D major), else the sharp of the letter below in keys with sharps (and C major), the flat
of the letter above in keys with flats.

Accidentals (Accidentals.shown): a bar shows a note's accidental where the key signature
does not give it, and where an earlier note of that letter in the bar had another one. So
the text reads the same whether the reader carries an accidental to the bar line (ABC 2.1,
MusicXML) or not (some ABC readers), and in any octave.
"""

from __future__ import annotations

from typing import NamedTuple

from composer.music.abc.tables import LETTER_PITCH, LETTER_STEPS, signature_accidentals
from composer.music.keys import Key


class Spelt(NamedTuple):
    letter: str  # "C".."B"
    alter: int  # semitones: -1 flat, 0 natural, 1 sharp (2, -2 double)
    octave: int  # scientific octave: middle C is C4


def spell(pitch: int, key: Key) -> Spelt:
    """The letter, alteration and octave of a MIDI pitch in `key`."""
    signature = signature_accidentals(key.sharps)
    pc = pitch % 12
    letter = next((step for step in LETTER_STEPS
                   if (LETTER_PITCH[step] + signature[step]) % 12 == pc), None)
    if letter is not None:
        alter = signature[letter]
    else:
        letter = next((step for step in LETTER_STEPS if LETTER_PITCH[step] == pc), None)
        alter = 0
        if letter is None:
            alter = 1 if key.sharps >= 0 else -1
            letter = next(step for step in LETTER_STEPS
                          if (LETTER_PITCH[step] + alter) % 12 == pc)
    octave = (pitch - alter - LETTER_PITCH[letter]) // 12 - 1
    return Spelt(letter, alter, octave)


class Accidentals:
    """What one bar has shown so far, to tell which accidentals a note must show."""

    def __init__(self, key: Key):
        self.signature = signature_accidentals(key.sharps)
        self.seen: dict[tuple[str, int], int] = {}  # (letter, octave) -> alteration shown

    def shown(self, spelt: Spelt) -> int | None:
        """The alteration to show before the note (None: none)."""
        others = {alter for (letter, _), alter in self.seen.items() if letter == spelt.letter}
        if spelt.alter == self.signature[spelt.letter] and others <= {spelt.alter}:
            return None
        self.seen[(spelt.letter, spelt.octave)] = spelt.alter
        return spelt.alter
