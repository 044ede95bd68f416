"""Conditioning features (composer.music.conditioning) and the encodings' grid steps."""

import json

import numpy as np
import pytest

from composer.errors import MusicError
from composer.music.chords import Chord
from composer.music.conditioning import (
    FIELDS,
    Context,
    check_parts,
    features,
    fields,
    piece_context,
    sequence_features,
    user_context,
)
from composer.music.encoding import make_encoding, note_arrays
from composer.music.feature_edits import transpose_features
from composer.music.keys import Key
from composer.music.meter import MeterMap, single_meter
from composer.music.notes import ChordSymbol, Note, Piece, TimeSignature

C, D, E, F, G, A, B = 0, 2, 4, 5, 7, 9, 11
PARTS = ("metre", "key", "chords")  # the parts a context gives alone (history: lookback)


def test_fields_and_their_sizes_are_fixed():
    assert [(f.name, f.size) for f in FIELDS] == [
        ("bar_position", 64), ("beat", 16), ("beat_position", 48), ("meter", 9),
        ("bar_of_phrase", 8), ("key_tonic", 12), ("key_mode", 7), ("chord_root", 13),
        ("chord_quality", 11), *((f"chord_tone_{pc}", 2) for pc in range(12)),
        ("back_bar", 51), ("back_2bars", 51), ("back_part", 51), ("run_part", 8),
        ("part", 8), ("bars_left", 4)]
    assert [f.name for f in fields("chords,key")][:4] == ["key_tonic", "key_mode",
                                                          "chord_root", "chord_quality"]
    assert check_parts(["key", "metre"]) == ("metre", "key")
    assert fields([]) == ()


def test_unknown_parts_are_refused():
    with pytest.raises(MusicError, match="unknown conditioning part 'tempo'; choose from "
                                         "metre, key, chords"):
        check_parts("metre,tempo")


# A waltz with a one-beat pickup, in G major then E minor from beat 13, over G D Em.
WALTZ = Context(
    steps_per_quarter=4,
    meter=MeterMap((TimeSignature(0.0, 3, 4),), phase=1.0),
    keys=((0.0, Key(G, "major")), (13.0, Key(E, "minor"))),
    chords=((1.0, Chord(G)), (4.0, Chord(D, "dominant7")), (13.0, Chord(E, "minor"))),
    chord_source="given",
)


def test_features_by_hand():
    steps = np.array([0, 3, 4, 9, 16, 51, 52])
    expected = np.array([
        # bar_pos beat beat_pos meter phrase tonic mode root quality
        [8, 2, 0, 1, 7, G, 0, 12, 10],   # step 0: the pickup (bar -1), before any chord
        [11, 2, 3, 1, 7, G, 0, 12, 10],
        [0, 0, 0, 1, 0, G, 0, G, 0],     # step 4 = beat 1: bar 0, G
        [5, 1, 1, 1, 0, G, 0, G, 0],
        [0, 0, 0, 1, 1, G, 0, D, 4],     # beat 4: bar 1, D7 (quality 4 = dominant7)
        [11, 2, 3, 1, 3, G, 0, D, 4],
        [0, 0, 0, 1, 4, E, 5, E, 1],     # beat 13: E minor (mode 5), Em (quality 1)
    ], dtype=np.uint8)
    found = features(WALTZ, steps, PARTS)
    assert found.dtype == np.uint8 and found.shape == (7, 9 + 12)
    np.testing.assert_array_equal(found[:, :9], expected)
    tones = np.zeros((7, 12), dtype=np.uint8)  # the chord-tone flags, pitch classes C..B
    tones[2:4, [7, 11, 2]] = 1  # G: G B D
    tones[4:6, [2, 6, 9, 0]] = 1  # D7: D F# A C
    tones[6, [4, 7, 11]] = 1  # Em: E G B
    np.testing.assert_array_equal(found[:, 9:], tones)
    np.testing.assert_array_equal(features(WALTZ, steps, "key"), expected[:, 5:7])
    assert features(WALTZ, steps, []).shape == (7, 0)


def test_long_bars_and_beats_are_clipped_to_the_table_sizes():
    context = user_context(meter="12/8", steps_per_quarter=12)  # 72 steps a bar, beats of 18
    row = features(context, np.array([71]), "metre")[0]
    assert row.tolist() == [63, 3, 17, 6, 0]


def test_transposing_features_moves_key_and_chord_roots_only():
    steps = np.arange(0, 60, 3)
    original = features(WALTZ, steps, PARTS)
    moved = transpose_features(original, PARTS, 5)
    shifted = Context(4, WALTZ.meter, tuple((b, k.transpose(5)) for b, k in WALTZ.keys),
                      tuple((b, c.transpose(5)) for b, c in WALTZ.chords), "given")
    np.testing.assert_array_equal(moved, features(shifted, steps, PARTS))
    root = 7  # the chord_root column
    assert (moved[:, root][original[:, root] == 12] == 12).all()  # no chord stays no chord
    tones = original[:, 9:]  # chord-tone flags rotate with the root: C (0) moves to F (5)
    np.testing.assert_array_equal(moved[:, 9:], np.roll(tones, 5, axis=1))
    np.testing.assert_array_equal(transpose_features(moved, PARTS, -5), original)
    np.testing.assert_array_equal(transpose_features(original[:, :5], "metre", 3),
                                  original[:, :5])
    with pytest.raises(ValueError, match="need 21 columns, got shape"):
        transpose_features(original[:, :5], PARTS, 1)


def test_contexts_round_trip_through_json():
    data = json.loads(json.dumps(WALTZ.to_json()))
    assert data["keys"] == [[0.0, "G major"], [13.0, "E minor"]]
    assert Context.from_json(data) == WALTZ


@pytest.mark.parametrize(("changes", "problem"), [
    ({"keys": ()}, "needs a key from beat 0"),
    ({"chord_source": "guessed"}, "chord_source must be one of"),
    ({"steps_per_quarter": 0}, "steps_per_quarter must be 1..48"),
])
def test_bad_contexts_are_refused(changes, problem):
    settings = {"steps_per_quarter": 4, "meter": single_meter((4, 4)),
                "keys": ((0.0, Key(C, "major")),), **changes}
    with pytest.raises(ValueError, match=problem):
        Context(**settings)


def test_user_settings_make_a_context():
    context = user_context(meter="6/8", key="D major", chords="Am F C G", steps_per_quarter=4)
    assert context.meter == single_meter((6, 8)) and context.keys == ((0.0, Key(D, "major")),)
    assert context.chord_source == "given"
    rows = features(context, np.array([0, 11, 12, 36, 48]), PARTS)
    assert rows[:, [0, 3, 4]].tolist() == [[0, 4, 0], [11, 4, 0], [0, 4, 1], [0, 4, 3],
                                           [0, 4, 4]]
    assert rows[:, 7].tolist() == [A, A, F, G, A]  # one chord a bar, repeated
    plain = user_context()
    assert (plain.meter.first, plain.keys[0][1], plain.chords) == ((4, 4), Key(C, "major"), ())


@pytest.mark.parametrize(("settings", "problem"), [
    ({"meter": "7/0"}, "bad metre '7/0'"),
    ({"key": "Q major"}, "bad key 'Q major'"),
    ({"chords": "Am H7"}, "bad chord symbol 'H7'"),
])
def test_bad_user_settings_raise_music_error(settings, problem):
    with pytest.raises(MusicError, match=problem):
        user_context(**settings)


def jig() -> list[Note]:
    """A D major jig: an eighth pickup, then eighth notes, the last bar a dotted quarter."""
    pitches = [57] + [62, 66, 69, 74, 69, 66, 67, 71, 74, 76, 74, 71] * 4 + [62]
    notes = [Note(0.5 * k, 0.5 * (k + 1), p) for k, p in enumerate(pitches[:-1])]
    end = notes[-1].end
    return notes + [Note(end, end + 1.5, pitches[-1])]


def test_a_pieces_context_uses_its_own_chords_or_infers_them():
    notes = jig()
    plain = piece_context(Piece("jig", notes, time_signature=(6, 8)), 4)
    assert plain.meter.phase == 0.5 and plain.keys[0][1].mode == "major"
    assert plain.chord_source == "inferred" and plain.chords
    given = Piece("jig", notes, time_signature=(6, 8), chords=[ChordSymbol(0.5, "D")])
    assert piece_context(given, 4).chords == ((0.5, Chord(D)),)
    assert piece_context(given, 4).chord_source == "file"
    bare = piece_context(Piece("jig", notes, time_signature=(6, 8)), 4, infer=False)
    assert (bare.chords, bare.chord_source) == ((), "none")
    assert set(features(bare, np.arange(40), "chords")[:, 0].tolist()) == {12}


@pytest.mark.parametrize("name", ["melody", "performance"])
def test_each_input_gets_the_features_of_the_step_it_predicts(name):
    encoding = make_encoding(name)
    notes = [Note(1.0, 1.5, 60), Note(1.5, 2.5, 64), Note(3.0, 3.25, 67), Note(3.0, 4.0, 60)]
    cols = note_arrays(notes)
    ids = encoding.encode_columns(cols)
    context = user_context(meter="3/4", chords="C G")
    first = encoding.first_step(cols)
    assert first == 4  # beat 1: the leading silence is trimmed
    found = sequence_features(context, encoding, ids, first, PARTS)
    steps = encoding.token_steps(ids)
    assert found.shape == (ids.size, 21)
    for t in range(ids.size - 1):  # input t carries the step of token t + 1
        np.testing.assert_array_equal(found[t], features(context, [first + steps[t + 1]],
                                                          PARTS)[0])


def test_melody_tokens_act_on_their_own_steps():
    encoding = make_encoding("melody")
    ids = encoding.encode(Piece("x", [Note(0.5, 1.0, 60), Note(1.5, 2.0, 62)]))
    assert encoding.token_steps(ids).tolist() == [0, 1, 2, 3, 4, 5]
    assert encoding.next_steps(ids).tolist() == [1, 2, 3, 4, 5, 6]
    assert encoding.first_step(note_arrays([Note(0.5, 1.0, 60)])) == 2
    assert encoding.first_step(note_arrays([])) == 0


def test_performance_tokens_act_after_the_time_shifted_before_them():
    encoding = make_encoding("performance")
    names = ["VELOCITY(5)", "NOTE_ON(60)", "TIME_SHIFT(2)", "NOTE_OFF(60)", "TIME_SHIFT(16)",
             "TIME_SHIFT(3)", "NOTE_ON(62)"]
    ids = [encoding.token_id(n) for n in names]
    assert encoding.token_steps(ids).tolist() == [0, 0, 0, 2, 2, 18, 21]
    assert encoding.next_steps(ids).tolist() == [0, 0, 2, 2, 18, 21, 21]
    voiced = make_encoding("melody", line="voice:1")
    cols = note_arrays([Note(0.0, 1.0, 60, voice=0), Note(2.0, 3.0, 64, voice=1)])
    assert (voiced.first_step(cols), encoding.first_step(cols)) == (8, 0)


def test_comparable_features_are_the_features_with_chords_and_the_end_hidden(tiny_corpus):
    """Validation's features skip chord inference and give what hiding them gives."""
    from composer.data.contexts import ConditionFeatures
    from composer.data.dataset import load_dataset
    from composer.music.encoding import make_encoding
    from composer.music.feature_edits import hide_leaks

    encoding = make_encoding("melody")
    dataset = load_dataset(tiny_corpus, encoding, val_fraction=0.2)
    parts = ("metre", "key", "chords", "history", "form")
    features = ConditionFeatures(dataset.store, encoding, parts)
    for row in range(len(dataset.store)):
        expected = hide_leaks(features.piece_features(row), parts)
        assert np.array_equal(features.comparable_features(row), expected)
