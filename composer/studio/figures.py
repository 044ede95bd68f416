"""The statistics shown under a take, from composer.music.stats and composer.music.keys.

- notes in key: the share of notes whose pitch class is in the scale of the key asked
  for, or else of the key composer.music.keys estimates (Krumhansl-Kessler);
- chord tones: over the chords asked for (one a bar, repeated), the share of on-beat
  notes (starting on a felt beat of the metre: a quarter in 4/4, a dotted quarter in 6/8)
  that are tones of their bar's chord; bars marked N.C. are left out; None without chords;
- repeats: the share of top-line notes in excessive repeats (composer.music.stats: a
  pitch struck more than 4 times running);
- large leaps and notes per bar as in `composer stats`;
- form: the parts the take was drawn in, "AABB, 32 bars" (composer.music.form), or None.
"""

from __future__ import annotations

import math

from composer.music import stats
from composer.music.form import FormPlan
from composer.music.keys import pitch_name
from composer.music.notes import Note, Piece
from composer.studio.conditioning import Chord, Key, Metre

ON_BEAT_TOLERANCE = 1e-6  # beats: a start this close to a pulse counts as on it


def chord_tone_counts(notes: list[Note], metre: Metre, chords: tuple[Chord, ...]):
    """(on-beat notes under a chord, those that are chord tones)."""
    judged = tones = 0
    for note in notes:
        pulses = note.start / metre.pulse
        if abs(pulses - round(pulses)) > ON_BEAT_TOLERANCE:
            continue
        chord = chords[int(note.start // metre.bar_beats) % len(chords)]
        if chord.root is None:
            continue
        judged += 1
        tones += note.pitch % 12 in chord.pitch_classes
    return judged, tones


def take_figures(notes: list[Note], metre: Metre, end: float, key: Key | None = None,
                 chords: tuple[Chord, ...] = (), form: FormPlan | None = None) -> dict:
    """The figures of one take (JSON-able; None where a figure is undefined)."""
    piece = Piece("take", notes, time_signature=(metre.numerator, metre.denominator))
    summary = stats.summary(stats.tally_piece(piece))
    if key is not None:
        in_key = sum(n.pitch % 12 in key.pitch_classes for n in notes)
        key_name, in_key_share = key.name, in_key / len(notes) if notes else None
    else:
        key_name, in_key_share = summary["key"], summary["in_key_share"]
    judged, tones = chord_tone_counts(notes, metre, chords) if chords else (0, 0)
    return {
        "notes": len(notes),
        "bars": math.ceil(end / metre.bar_beats - 1e-9),
        "notes_per_bar": len(notes) / (end / metre.bar_beats) if end else None,
        "lowest": pitch_name(summary["lowest_pitch"]) if notes else None,
        "highest": pitch_name(summary["highest_pitch"]) if notes else None,
        "key": key_name,
        "key_source": "asked" if key is not None else "estimated",
        "in_key_share": in_key_share,
        "chord_tone_share": tones / judged if judged else None,
        "repeated_share": summary["repeated_share"],
        "leap_share": summary["leap_share"],
        "form": None if form is None else form.label,
    }
