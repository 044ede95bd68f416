"""Chords in time (composer.music.harmony): progressions over a metre, inference from notes."""

import numpy as np
import pytest

from composer.music.chords import NO_CHORD, Chord, parse_chord, parse_progression
from composer.music.harmony import (
    best_chord,
    chord_at,
    infer_chords,
    progression_key,
    progression_spans,
    symbol_spans,
    window_weights,
    windows,
)
from composer.music.keys import Key
from composer.music.meter import MeterMap, single_meter
from composer.music.notes import ChordSymbol, Note, TimeSignature

C, D, E, F, G, A, B = 0, 2, 4, 5, 7, 9, 11
FOUR = single_meter((4, 4))


def spans_text(spans):
    return " ".join(f"{beat:g}:{chord.symbol}" for beat, chord in spans)


@pytest.mark.parametrize(("progression", "meter_map", "end", "expected"), [
    ("Am F C G", FOUR, 20.0, "0:Am 4:F 8:C 12:G 16:Am"),
    ("Am:2 F C:0.5 G:0.5", FOUR, 20.0, "0:Am 8:F 12:C 14:G 16:Am"),
    ("Am F", single_meter((4, 4), 1.0), 10.0, "0:F 1:Am 5:F 9:Am"),  # a pickup: the last chord
    ("C G", MeterMap((TimeSignature(0, 6, 8), TimeSignature(6, 2, 4))), 11.0,
     "0:C 3:G 6:C 8:G 10:C"),  # bars of 3 beats, then of 2
])
def test_progressions_repeat_bar_by_bar(progression, meter_map, end, expected):
    assert spans_text(progression_spans(parse_progression(progression), meter_map, end)) \
        == expected


def test_the_chord_at_any_beat():
    spans = progression_spans(parse_progression("Am F"), FOUR, 8.0)
    assert chord_at(spans, [0.0, 3.99, 4.0, 9.0]) == [Chord(A, "minor")] * 2 + [Chord(F)] * 2
    assert chord_at([(2.0, Chord(C))], [1.0]) == [NO_CHORD]


def test_symbol_spans_read_a_pieces_chords():
    chords = [ChordSymbol(0.0, "D"), ChordSymbol(3.0, "A7"), ChordSymbol(6.0, "Verse")]
    assert symbol_spans(chords) == [(0.0, Chord(D)), (3.0, Chord(A, "dominant7"))]


def test_windows_are_bars_or_halves_with_the_pickup_apart():
    assert windows(FOUR, 8.0).tolist() == [[0, 4], [4, 8]]
    assert windows(FOUR, 8.0, "half").tolist() == [[0, 2], [2, 4], [4, 6], [6, 8]]
    assert windows(single_meter((3, 4)), 6.0, "half").tolist() == [[0, 3], [3, 6]]  # odd beats
    assert windows(single_meter((6, 8), 0.5), 4.0, "half").tolist() == \
        [[0, 0.5], [0.5, 2.0], [2.0, 3.5], [3.5, 4.0]]
    with pytest.raises(ValueError, match="per must be 'bar' or 'half'"):
        windows(FOUR, 8.0, "beat")


def test_weights_count_accented_beats_per_pitch_class():
    notes = [
        Note(-1.0, 0.5, 64),   # E held over into the window: 0.5 beats, accent 1
        Note(0.0, 1.0, 60),    # C on the window's first beat: 1 beat, accent 2
        Note(1.0, 2.0, 67),    # G on a beat: 1.5
        Note(2.5, 3.0, 72),    # C off the beat: 0.5
        Note(3.0, 5.0, 62),    # D on beat 4, running into the next window: 1 beat here
    ]
    weights = window_weights(notes, np.array([[0.0, 4.0], [4.0, 8.0]]), FOUR)
    assert weights[0].tolist() == pytest.approx(
        [2.5, 0, 1.5, 0, 0.5, 0, 0, 1.5, 0, 0, 0, 0])
    assert weights[1].tolist() == pytest.approx([0, 0, 1.0] + [0] * 9)  # held over: accent 1


def weights_of(**pitch_classes):
    weights = np.zeros(12)
    for name, value in pitch_classes.items():
        weights["C.D.EF.G.A.B".index(name)] = value
    return weights


@pytest.mark.parametrize(("weights", "key", "symbol"), [
    (weights_of(C=2, E=1, G=1), None, "C"),
    (weights_of(A=2, C=1, E=1), None, "Am"),
    (weights_of(G=2, B=1, D=1, F=2), None, "G7"),     # a strong 7th makes the 7th chord
    (weights_of(G=2, B=1, D=1, F=0.2), None, "G"),    # a passing 7th does not
    (weights_of(C=2, D=0.5, E=1, G=1), None, "C"),    # a passing D is outvoted
])
def test_the_template_that_fits_best_wins(weights, key, symbol):
    assert best_chord(weights, key).symbol == symbol


def test_the_key_decides_between_close_templates():
    weights = np.zeros(12)
    weights[[6, 9]] = 1.0  # F# and A alone
    assert best_chord(weights).symbol == "F#m"  # the root bonus: F# sounds
    assert best_chord(weights, Key(G, "major")).symbol == "D"  # F#m is not in G major
    tie = weights_of(E=1, B=1)  # E major or E minor
    assert best_chord(tie).symbol == "E"  # the order of INFERRED_QUALITIES
    assert best_chord(tie, previous=Chord(E, "minor")).symbol == "Em"  # the previous chord


def line(pitches, start=0.0, length=1.0):
    return [Note(start + k * length, start + (k + 1) * length, p) for k, p in enumerate(pitches)]


def test_chords_are_inferred_bar_by_bar():
    notes = line([60, 64, 67, 64, 67, 71, 74, 71, 69, 72, 76, 72])  # C E G E | G B D B | A C E C
    assert spans_text(infer_chords(notes, FOUR, Key(C, "major"))) == "0:C 4:G 8:Am"


def test_half_bars_and_merged_repeats():
    notes = line([60, 64, 67, 71, 60, 64, 60, 67])  # C E | G B | C E | C G
    assert spans_text(infer_chords(notes, FOUR, per="half")) == "0:C 2:G 4:C"


def test_a_silent_window_keeps_the_chord_and_a_pickup_has_its_own():
    notes = line([67], 0.0) + line([60, 64, 67, 64], 1.0) + line([67, 71, 74, 71], 9.0)
    spans = infer_chords(notes, single_meter((4, 4), 1.0))  # bars from beat 1; 5..9 silent
    assert spans_text(spans) == "0:G 1:C 9:G"
    assert infer_chords([], FOUR) == []


def test_inferred_chords_are_chords_composer_can_write():
    notes = line([62, 66, 69, 74, 61, 64, 67, 69])
    for _, chord in infer_chords(notes, FOUR):
        assert parse_chord(chord.symbol) == chord


@pytest.mark.parametrize(("progression", "key"), [
    ("Am F C G", "C major"), ("Dm G7 C", "C major"), ("G7 C", "C major"),
    ("Am Dm E Am", "A minor"), ("Em Am B7 Em", "E minor"), ("D G A D", "D major"),
    ("Bm G D A", "D major"), ("A D:2 E7", "A major"),
])
def test_a_progression_implies_its_key(progression, key):
    assert progression_key(parse_progression(progression)).name == key


def test_no_chord_implies_no_key():
    assert progression_key(parse_progression("N.C.")) is None
