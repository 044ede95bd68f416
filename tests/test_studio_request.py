"""The studio's library side: reading metre, key and chords, checking requests, composing
takes and their figures. No web framework needed."""

import numpy as np
import pytest

from composer.music.notes import Note
from composer.studio.catalog import Catalog
from composer.studio.compose import Primer, check_supported, compose, cut
from composer.studio.conditioning import (
    Metre,
    parse_chords,
    parse_key,
    parse_metre,
    supported_conditioning,
)
from composer.studio.figures import chord_tone_counts, take_figures
from composer.studio.request import RequestError, parse_take_request


@pytest.mark.parametrize(("text", "bar", "pulse"), [
    ("4/4", 4.0, 1.0), ("3/4", 3.0, 1.0), ("6/8", 3.0, 1.5), ("2/2", 4.0, 2.0),
    ("9/8", 4.5, 1.5), (" 7 / 8 ", 3.5, 0.5), ("12/8", 6.0, 1.5), ("3/8", 1.5, 0.5),
])
def test_metres_give_bar_and_pulse_lengths(text, bar, pulse):
    metre = parse_metre(text)
    assert (metre.bar_beats, metre.pulse) == (bar, pulse)
    assert str(metre) == text.replace(" ", "")


@pytest.mark.parametrize(("text", "tonic", "scale"), [
    ("D major", 2, {2, 4, 6, 7, 9, 11, 1}),
    ("A dorian", 9, {9, 11, 0, 2, 4, 6, 7}),
    ("E minor", 4, {4, 6, 7, 9, 11, 0, 2}),
    ("Bb mixolydian", 10, {10, 0, 2, 3, 5, 7, 8}),
    ("f# Minor", 6, {6, 8, 9, 11, 1, 2, 4}),
])
def test_keys_and_their_scales(text, tonic, scale):
    key = parse_key(text)
    assert key.tonic == tonic and key.pitch_classes == frozenset(scale)


def test_chords_one_a_bar_with_qualities_and_no_chord():
    chords = parse_chords("Am F | C7 Gsus4 N.C. Bbmaj7 F#m7b5 Ebdim")
    assert [c.symbol for c in chords] == ["Am", "F", "C7", "Gsus4", "N.C.", "Bbmaj7", "F#m7b5",
                                          "Ebdim"]
    assert chords[0].pitch_classes == {9, 0, 4}
    assert chords[2].pitch_classes == {0, 4, 7, 10}
    assert chords[3].pitch_classes == {7, 0, 2}
    assert chords[4].root is None and chords[4].pitch_classes == frozenset()
    assert chords[5].pitch_classes == {10, 2, 5, 9}
    assert chords[6].pitch_classes == {6, 9, 0, 4}
    assert chords[7].pitch_classes == {3, 6, 9}


def body(**fields):
    return {"model": "melody", **fields}


@pytest.mark.parametrize(("fields", "field", "message"), [
    # the texts are read by composer.music's parsers, as `composer sample` reads them
    ({"metre": "7/0"}, "metre",
     "bad metre '7/0': the denominator must be one of 1, 2, 4, 8, 16, 32, 64"),
    ({"metre": "0/4"}, "metre", "bad metre '0/4': the numerator must be 1..64"),
    ({"metre": "six-eight"}, "metre",
     "bad metre 'six-eight': write it as NUMERATOR/DENOMINATOR, e.g. 6/8"),
    ({"key": "Q major"}, "key", "bad key 'Q major': the tonic must be A-G, then # or b (e.g. "
                                "'D major', 'A dorian', 'E minor', 'Bb mixolydian', 'F# minor')"),
    ({"key": "D happy"}, "key", "bad key 'D happy': unknown mode 'happy' (known: major, dorian, "
                                "phrygian, lydian, mixolydian, minor, locrian; e.g. 'D major', "
                                "'A dorian', 'E minor', 'Bb mixolydian', 'F# minor')"),
    ({"chords": "Am H7"}, "chords", "bad chord symbol 'H7': it must start with a root A-G, then "
                                    "# or b (e.g. Am, F, G7, Bbmaj7, F#m7b5, Dsus4, C/E, N.C.)"),
    ({"metre": 68}, "metre", "metre must be text, not 68"),
    ({"bars": 0}, "bars", "bars must be in 1..64, not 0"),
    ({"bars": 65}, "bars", "bars must be in 1..64, not 65"),
    ({"bars": 2.5}, "bars", "bars must be an integer, not 2.5"),
    ({"bars": 4, "length": 10}, "length", "give bars or length, not both"),
    ({"length": 0}, "length", "length must be in 1..8192, not 0"),
    ({"temperature": -0.1}, "temperature", "temperature must be in 0..5, not -0.1"),
    ({"temperature": "hot"}, "temperature", "temperature must be a number, not 'hot'"),
    ({"top_p": 0}, "top_p", "top_p must be above 0 and at most 1, not 0"),
    ({"seed": -1}, "seed", "seed must be in 0..4294967295, not -1"),
    ({"seed": True}, "seed", "seed must be an integer, not True"),
    ({"qpm": 5}, "qpm", "qpm must be in 20..400, not 5"),
    ({"program": 128}, "program", "program must be in 0..127, not 128"),
    ({"scale_lock": "yes"}, "scale_lock", "scale_lock must be true or false, not 'yes'"),
    ({"scale_lock": True}, "scale_lock", "scale_lock needs a key"),
    ({"model": "../models/x"}, "model",
     "model '../models/x' is not an id: use a name from the list the studio gives, never a path"),
    ({"model": "/etc/passwd"}, "model", "model '/etc/passwd' is not an id: use a name from the "
                                        "list the studio gives, never a path"),
    ({"model": "a..b"}, "model",
     "model 'a..b' is not an id: use a name from the list the studio gives, never a path"),
    ({"primer": "../t1"}, "primer",
     "primer '../t1' is not an id: use a name from the list the studio gives, never a path"),
    ({"form": "XYZ"}, "form", "bad form 'XYZ': name the parts in the order they first appear, "
                              "A, then B, ... (X where A comes next), e.g. AABB, ABAB, AABA"),
    ({"form": 4}, "form", "form must be text, not 4"),
    ({"part_bars": 0}, "part_bars", "part_bars must be in 1..64, not 0"),
    ({"part_bars": 8, "bars": 4}, "part_bars",
     "a part of 8 bars is longer than the take (4 bars)"),
    ({"part_bars": 2, "form": "none"}, "part_bars",
     "part_bars needs a form; leave it empty with form none"),
    ({"colour": "red"}, "colour", "unknown field 'colour'; the fields are model, bars, length, "
                                  "metre, key, chords, scale_lock, form, part_bars, "
                                  "temperature, top_p, seed, qpm, program, primer"),
])
def test_each_bad_field_is_named_with_its_problem(fields, field, message):
    with pytest.raises(RequestError) as caught:
        parse_take_request(body(**fields))
    assert (caught.value.field, str(caught.value), caught.value.status) == (field, message, 400)


def test_a_request_needs_an_object_and_a_model():
    with pytest.raises(RequestError, match="must be a JSON object"):
        parse_take_request([1, 2])
    with pytest.raises(RequestError, match="model is missing"):
        parse_take_request({})


def test_a_good_request_and_its_defaults():
    request = parse_take_request(body(metre="6/8", key="", chords=None, seed=3, top_p=0.9))
    assert (request.bars, request.length, request.metre, request.key) == (16, None,
                                                                          Metre(6, 8), None)
    assert request.settings()["metre"] == "6/8" and request.settings()["seed"] == 3
    assert parse_take_request(body(length=100)).bars is None


# --- composing ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(studio_models):
    catalog = Catalog(studio_models, shipped=None)
    return {name: catalog.load(name) for name in ("melody", "performance")}


def test_a_melody_take_lasts_exactly_the_bars_asked(models):
    request = parse_take_request(body(bars=3, metre="6/8", seed=1))
    music = compose(models["melody"], request, None, np.random.default_rng(1))
    assert music.end == 9.0 and music.metre == Metre(6, 8) and music.primer_end == 0
    assert music.tokens == 9 * 4  # 36 sixteenth steps, the start token the first of them
    assert music.notes and all(0 <= n.start < n.end <= 9.0 for n in music.notes)


def test_a_performance_take_is_drawn_until_it_fills_the_bars(models):
    request = parse_take_request({"model": "performance", "bars": 2, "seed": 4})
    music = compose(models["performance"], request, None, np.random.default_rng(4))
    assert music.end == 8.0
    assert all(n.end <= 8.0 for n in music.notes)


def test_a_continuation_starts_with_its_primer_and_ends_on_a_bar_line(models):
    primer = Primer("Take 1", [Note(0, 1, 62), Note(1, 2.5, 64), Note(2.5, 3, 66)],
                    Metre(3, 4), 90.0)
    request = parse_take_request(body(bars=2, seed=2))
    music = compose(models["melody"], request, primer, np.random.default_rng(2))
    assert music.notes[:2] == [Note(0, 1, 62), Note(1, 2.5, 64)]  # as the model heard them
    assert (music.primer_end, music.end, music.metre, music.qpm) == (3.0, 9.0, Metre(3, 4), 90.0)


def test_a_take_is_drawn_in_the_form_asked_for(models):
    request = parse_take_request(body(bars=8, metre="2/4", form="abab", part_bars=2, seed=3))
    music = compose(models["melody"], request, None, np.random.default_rng(3))
    assert music.form.label == "ABAB, 8 bars"
    assert [(mark.beat, mark.letter) for mark in music.parts] == [(0.0, "A"), (4.0, "B"),
                                                                  (8.0, "A"), (12.0, "B")]
    default = compose(models["melody"], parse_take_request(body(bars=16)), None,
                      np.random.default_rng(3))
    assert default.form.label == "AABB, 16 bars"  # what composer sample plays
    assert compose(models["melody"], parse_take_request(body(bars=16, form="none")), None,
                   np.random.default_rng(3)).form is None


def test_a_form_is_refused_where_it_cannot_be_played(models):
    primer = Primer("Take 1", [Note(0, 1, 62)], Metre(4, 4), 120.0)
    with pytest.raises(RequestError, match="cannot continue a primer") as caught:
        compose(models["melody"], parse_take_request(body(bars=4, form="AB")), primer,
                np.random.default_rng(0))
    assert caught.value.field == "form"
    with pytest.raises(RequestError, match="cannot play a form") as caught:
        check_supported(models["performance"], "performance",
                        parse_take_request({"model": "performance", "form": "AABB"}))
    assert caught.value.field == "form"


def test_the_same_seed_gives_the_same_take(models):
    request = parse_take_request(body(bars=2))
    takes = [compose(models["melody"], request, None, np.random.default_rng(seed)).notes
             for seed in (5, 5, 6)]
    assert takes[0] == takes[1] and takes[0] != takes[2]


def test_cut_drops_late_notes_and_shortens_long_ones():
    notes = [Note(0, 1, 60), Note(3.5, 5, 62), Note(4, 6, 64)]
    assert cut(notes, 4.0) == [Note(0, 1, 60), Note(3.5, 4.0, 62)]


def test_the_controls_a_model_hears_follow_its_training_settings(models):
    assert supported_conditioning(models["melody"]) == {
        "metre": True, "key": True, "chords": True, "scale_lock": True, "form": True}
    assert supported_conditioning(models["performance"]) == {
        "metre": False, "key": False, "chords": False, "scale_lock": False, "form": False}


# --- figures -------------------------------------------------------------------------


def test_chord_tones_count_on_beat_notes_against_the_bars_chord():
    # 2/4, chords "C G": bar 1 (beats 0-2) C, bar 2 (2-4) G, bar 3 C again, then N.C.
    notes = [Note(0, 1, 60),  # on beat, C in C: tone
             Note(0.5, 1, 62),  # off the beat: not judged
             Note(1, 2, 62),  # on beat, D in C: not a tone
             Note(2, 3, 74),  # on beat, D in G: tone
             Note(4, 5, 64),  # bar 3: C again, E: tone
             Note(6, 7, 61)]  # bar 4: N.C., not judged
    assert chord_tone_counts(notes, Metre(2, 4), parse_chords("C G C N.C.")) == (4, 3)


def test_compound_metres_judge_notes_on_the_dotted_beat():
    notes = [Note(0, 0.5, 69), Note(0.5, 1, 71), Note(1.5, 2, 72)]  # 6/8: pulses at 0 and 1.5
    assert chord_tone_counts(notes, Metre(6, 8), parse_chords("Am")) == (2, 2)


def test_figures_use_the_key_asked_for_else_the_estimate():
    notes = [Note(i, i + 1, p) for i, p in enumerate([62, 64, 66, 67, 69, 71, 73, 74, 65])]
    asked = take_figures(notes, Metre(4, 4), 12.0, parse_key("D major"))
    assert (asked["key"], asked["key_source"], asked["in_key_share"]) == ("D major", "asked",
                                                                          8 / 9)
    assert asked["bars"] == 3 and asked["notes_per_bar"] == 3.0
    assert asked["chord_tone_share"] is None and asked["lowest"] == "D4"
    estimated = take_figures(notes, Metre(4, 4), 12.0)
    assert estimated["key_source"] == "estimated" and estimated["key"] is not None


def test_a_take_by_length_is_whole_bars_and_capped(models):
    request = parse_take_request(body(length=30, metre="3/4", seed=1))
    music = compose(models["melody"], request, None, np.random.default_rng(1))
    assert music.tokens == 31 and music.end % 3 == 0 and music.end >= 3
    long = parse_take_request(body(length=8192, seed=1))
    music = compose(models["melody"], long, None, np.random.default_rng(1))
    assert music.end == 512 and all(n.end <= 512 for n in music.notes)


def test_tokens_per_beat_from_the_training_pieces(models):
    from composer.generation.lengths import tokens_per_beat

    assert tokens_per_beat(models["melody"]) == 4.0  # one token per sixteenth step
    assert tokens_per_beat(models["performance"]) > 1.0  # events: shifts, ons and offs


def test_the_shipped_model_is_found_through_trained(monkeypatch, studio_models):
    from composer.studio import catalog

    monkeypatch.setattr(catalog.trained, "shipped_model_path", lambda: None, raising=False)
    assert catalog.shipped_model_file() is None
    monkeypatch.setattr(catalog.trained, "shipped_model_path",
                        lambda: studio_models / "melody", raising=False)
    assert catalog.shipped_model_file() == studio_models / "melody" / "model.npz"
