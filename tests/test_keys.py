"""Keys with modes (composer.music.keys)."""

import pytest

from composer.errors import MusicError
from composer.music.keys import (
    MODE_NAMES,
    Key,
    estimate_key,
    key_from_signature,
    key_signature,
    parse_key,
    piece_keys,
)
from composer.music.notes import KeySignature, Note, Piece

C, D, E, F, G, A, B = 0, 2, 4, 5, 7, 9, 11


@pytest.mark.parametrize(("text", "key"), [
    ("D major", Key(D, "major")), ("A dorian", Key(A, "dorian")), ("E minor", Key(E, "minor")),
    ("Bb mixolydian", Key(10, "mixolydian")), ("F# minor", Key(6, "minor")),
    ("C ionian", Key(C, "major")), ("A aeolian", Key(A, "minor")),
    ("E Phrygian", Key(E, "phrygian")),
    ("g lydian", Key(G, "lydian")), ("B locrian", Key(B, "locrian")), ("Eb", Key(3, "major")),
    ("Am", Key(A, "minor")), ("Ador", Key(A, "dorian")), ("DMix", Key(D, "mixolydian")),
])
def test_key_names_parse(text, key):
    assert parse_key(text) == key


@pytest.mark.parametrize(("text", "problem"), [
    ("Q major", "bad key 'Q major': the tonic must be A-G, then # or b"),
    ("", "bad key '': the tonic must be A-G"),
    ("D blues", "bad key 'D blues': unknown mode 'blues' (known: major, dorian, phrygian"),
    ("D major minor", "bad key 'D major minor': the tonic must be A-G"),
])
def test_bad_key_names_raise_music_error(text, problem):
    with pytest.raises(MusicError, match="^" + problem.replace("(", r"\(")):
        parse_key(text)


def test_bad_keys_are_refused():
    with pytest.raises(TypeError, match="must be a string"):
        parse_key(2)
    with pytest.raises(ValueError, match="pitch class 0..11"):
        Key(12, "major")
    with pytest.raises(ValueError, match="unknown mode 'blues'"):
        Key(0, "blues")


@pytest.mark.parametrize(("key", "name", "sharps", "scale"), [
    (Key(D, "major"), "D major", 2, (2, 4, 6, 7, 9, 11, 1)),
    (Key(A, "dorian"), "A dorian", 1, (9, 11, 0, 2, 4, 6, 7)),
    (Key(E, "minor"), "E minor", 1, (4, 6, 7, 9, 11, 0, 2)),
    (Key(10, "mixolydian"), "Bb mixolydian", -3, (10, 0, 2, 3, 5, 7, 8)),
    (Key(6, "minor"), "F# minor", 3, (6, 8, 9, 11, 1, 2, 4)),
    (Key(1, "dorian"), "C# dorian", 5, (1, 3, 4, 6, 8, 10, 11)),
    (Key(3, "dorian"), "Eb dorian", -5, (3, 5, 6, 8, 10, 0, 1)),
    (Key(E, "phrygian"), "E phrygian", 0, (4, 5, 7, 9, 11, 0, 2)),
    (Key(F, "lydian"), "F lydian", 0, (5, 7, 9, 11, 0, 2, 4)),
    (Key(B, "locrian"), "B locrian", 0, (11, 0, 2, 4, 5, 7, 9)),
])
def test_names_signatures_and_scales_per_mode(key, name, sharps, scale):
    assert (key.name, key.sharps, key.scale) == (name, sharps, scale)
    assert parse_key(key.name) == key
    assert key_signature(key, 2.0) == KeySignature(2.0, sharps, key.mode == "minor")


def test_transposing_a_key_keeps_its_mode():
    assert Key(A, "dorian").transpose(2) == Key(B, "dorian")
    assert Key(B, "minor").transpose(3) == Key(D, "minor")
    assert Key(G, "major").transpose(-12) == Key(G, "major")


def line(pitches: list[int], last: float = 2.0) -> list[Note]:
    """Quarter notes, the last one `last` beats long."""
    lengths = [1.0] * (len(pitches) - 1) + [last]
    notes, beat = [], 0.0
    for pitch, length in zip(pitches, lengths, strict=True):
        notes.append(Note(beat, beat + length, pitch))
        beat += length
    return notes


# One sharp (the G major scale) for all four tunes: the melody chooses the tonic and mode.
G_MAJOR = line([67, 71, 74, 71, 72, 71, 69, 67, 66, 67, 71, 74, 72, 69, 66, 67])
E_MINOR = line([64, 67, 71, 67, 64, 66, 67, 64, 71, 69, 67, 66, 64, 71, 66, 64])
A_DORIAN = line([69, 72, 76, 72, 69, 71, 72, 74, 76, 74, 72, 71, 69, 78, 76, 69])
D_MIXOLYDIAN = line([62, 66, 69, 72, 74, 72, 69, 66, 62, 64, 66, 67, 69, 72, 66, 62])


@pytest.mark.parametrize(("notes", "key"), [
    (G_MAJOR, Key(G, "major")), (E_MINOR, Key(E, "minor")), (A_DORIAN, Key(A, "dorian")),
    (D_MIXOLYDIAN, Key(D, "mixolydian")),
])
def test_the_melody_chooses_the_mode_within_the_signature(notes, key):
    found = key_from_signature(1, notes)
    assert found == key and found.mode in MODE_NAMES
    assert -1 <= found.correlation <= 1


def test_each_key_signature_names_the_notes_under_it():
    moved = [Note(n.start + 40, n.end + 40, n.pitch) for n in E_MINOR]
    piece = Piece("x", G_MAJOR + moved, key_signatures=[KeySignature(0.5, 1, False),
                                                        KeySignature(40.0, 1, True)])
    assert piece_keys(piece) == [(0.0, Key(G, "major")), (40.0, Key(E, "minor"))]


def test_without_a_signature_the_key_is_estimated():
    assert piece_keys(Piece("x", G_MAJOR)) == [(0.0, estimate_key(G_MAJOR))]
    assert estimate_key(G_MAJOR) == Key(G, "major")
    assert piece_keys(Piece("empty")) == [(0.0, Key(C, "major"))]
