"""Chord symbols and progressions (composer.music.chords)."""

import pytest

from composer.errors import MusicError
from composer.music.chords import (
    NO_CHORD,
    Chord,
    chord_from_pitches,
    parse_chord,
    parse_progression,
    read_symbol,
    transpose_symbol,
)

C, D, E, F, G, A, B = 0, 2, 4, 5, 7, 9, 11


@pytest.mark.parametrize(("symbol", "chord", "tones"), [
    ("C", Chord(C, "major"), {C, E, G}),
    ("Am", Chord(A, "minor"), {A, C, E}),
    ("F", Chord(F, "major"), {F, A, C}),
    ("G7", Chord(G, "dominant7"), {G, B, D, F}),
    ("Bbmaj7", Chord(10, "major7"), {10, D, F, A}),
    ("F#m7b5", Chord(6, "half-diminished"), {6, A, C, E}),
    ("Dsus4", Chord(D, "sus4"), {D, G, A}),
    ("Dsus2", Chord(D, "sus2"), {D, E, A}),
    ("Bdim", Chord(B, "diminished"), {B, D, F}),
    ("Caug", Chord(C, "augmented"), {C, E, 8}),
    ("Em7", Chord(E, "minor7"), {E, G, B, D}),
    ("C/E", Chord(C, "major", bass=E), {C, E, G}),
    ("C/Bb", Chord(C, "major", bass=10), {C, E, G, 10}),
    ("C/C", Chord(C, "major"), {C, E, G}),  # a bass on the root is no slash
    ("N.C.", NO_CHORD, set()),
])
def test_symbols_parse_to_root_quality_and_tones(symbol, chord, tones):
    parsed = parse_chord(symbol)
    assert parsed == chord
    assert parsed.pitch_classes == tones
    assert parse_chord(parsed.symbol) == parsed  # what composer writes it reads back


@pytest.mark.parametrize(("alias", "symbol"), [
    ("CM", "C"), ("Cmaj", "C"), ("C6", "C"), ("C-", "Cm"), ("Cmin", "Cm"), ("Co", "Cdim"),
    ("Cdim7", "Cdim"), ("C+", "Caug"), ("C9", "C7"), ("C13", "C7"), ("CM7", "Cmaj7"),
    ("CΔ", "Cmaj7"), ("Cmin7", "Cm7"), ("C-7", "Cm7"), ("Cø", "Cm7b5"), ("Csus", "Csus4"),
    ("C7sus4", "Csus4"), ("Db", "C#"), ("A#m", "Bbm"), ("Gbmaj7/Bb", "F#maj7/Bb"),
    ("NC", "N.C."), (" Am ", "Am"),
])
def test_aliases_and_extended_chords_fold_onto_the_set(alias, symbol):
    assert parse_chord(alias).symbol == symbol


@pytest.mark.parametrize(("symbol", "problem"), [
    ("H7", "bad chord symbol 'H7': it must start with a root A-G"),
    ("am", "bad chord symbol 'am': it must start with a root A-G"),
    ("", "bad chord symbol '': it must start with a root A-G"),
    ("Cxyz", "bad chord symbol 'Cxyz': unknown quality 'xyz'"),
    ("C/H", "bad chord symbol 'C/H': the bass after '/' must be A-G"),
])
def test_bad_symbols_raise_music_error_naming_them(symbol, problem):
    with pytest.raises(MusicError, match="^" + problem.replace("(", r"\(")) as info:
        parse_chord(symbol)
    assert isinstance(info.value, ValueError)  # callers may catch either


def test_a_symbol_must_be_a_string():
    with pytest.raises(TypeError, match="must be a string"):
        parse_chord(7)


def test_bad_chord_objects_are_refused():
    with pytest.raises(ValueError, match="pitch class 0..11"):
        Chord(12, "major")
    with pytest.raises(ValueError, match="unknown chord quality"):
        Chord(0, "power")
    with pytest.raises(ValueError, match="no chord"):
        Chord(None, "major")


def test_reading_text_from_files_is_lenient():
    assert read_symbol("Am7") == Chord(A, "minor7")
    assert read_symbol("Verse") is None
    assert read_symbol("C" * 40) is None  # too long to be a chord symbol


def test_transposing_symbols_and_chords():
    assert transpose_symbol("Am", 2) == "Bm"
    assert transpose_symbol("G7/B", 5) == "C7/E"
    assert transpose_symbol("N.C.", 5) == "N.C."
    assert transpose_symbol("Verse", 5) == "Verse"  # not a chord: unchanged
    assert Chord(B, "minor").transpose(1) == Chord(C, "minor")
    assert NO_CHORD.transpose(3) is NO_CHORD


@pytest.mark.parametrize(("pitches", "symbol"), [
    ([48, 52, 55], "C"),            # C E G
    ([52, 55, 60], "C/E"),          # first inversion: the bass is E
    ([45, 48, 52], "Am"),
    ([43, 47, 50, 53], "G7"),
    ([50, 54, 57, 60], "D7"),
    ([47, 50, 53, 57], "Bm7b5"),
    ([48, 55], "C"),                # an open fifth: C major wins the tie (QUALITIES order)
    ([48, 52, 55, 61], "C"),        # an extra tone: the best match
])
def test_blocks_of_pitches_are_named(pitches, symbol):
    assert chord_from_pitches(pitches).symbol == symbol


def test_a_single_pitch_class_is_no_block_chord():
    assert chord_from_pitches([60, 72]) is None


def test_progressions_are_one_chord_a_bar_unless_durations_are_given():
    assert parse_progression("Am F C G") == [
        (Chord(A, "minor"), 1.0), (Chord(F), 1.0), (Chord(C), 1.0), (Chord(G), 1.0)]
    assert parse_progression("Am:2 | F C:0.5 G:0.5 N.C.:1.5") == [
        (Chord(A, "minor"), 2.0), (Chord(F), 1.0), (Chord(C), 0.5), (Chord(G), 0.5),
        (NO_CHORD, 1.5)]


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty chord progression"),
    (" | ", "empty chord progression"),
    ("Am H7", "bad chord symbol 'H7'"),
    ("Am:0", "bad chord duration 'Am:0'"),
    ("Am:-1", "bad chord duration 'Am:-1'"),
    ("Am:x", "bad chord duration 'Am:x'"),
    ("Am:nan", "bad chord duration 'Am:nan'"),
    ("Am:65", "bad chord duration 'Am:65'"),
    ("C " * 257, "chord progression has 257 chords, more than 256"),
])
def test_bad_progressions_raise_music_error(text, problem):
    with pytest.raises(MusicError, match=problem):
        parse_progression(text)
