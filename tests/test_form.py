"""Form: parsing a form, planning its parts over a piece, and the form conditioning fields."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from composer.errors import MusicError
from composer.music.conditioning import (
    FAR,
    Context,
    features,
    fields,
    sequence_features,
)
from composer.music.encoding import make_encoding
from composer.music.feature_edits import hide_leaks
from composer.music.form import (
    FormPlan,
    Section,
    fitted_part_bars,
    parse_form,
    plan_form,
    sample_plan,
)
from composer.music.keys import Key
from composer.music.meter import MeterMap, single_meter
from composer.music.notes import TimeSignature


@pytest.mark.parametrize("text, form", [("AABB", "AABB"), ("aabb", "AABB"), ("A A B B", "AABB"),
                                        ("ABAB", "ABAB"), ("AABA", "AABA"), ("AB", "AB"),
                                        ("A-B-C-A", "ABCA")])
def test_forms_are_read(text, form):
    assert parse_form(text) == form


@pytest.mark.parametrize("text, problem", [
    ("XYZ", "X where A comes next"), ("ABD", "D where C comes next"), ("BA", "B where A"),
    ("A1", "letters"), ("", "letters"), ("A" * 65, "at most 64"),
])
def test_bad_forms_are_refused_by_name(text, problem):
    with pytest.raises(MusicError, match=problem) as caught:
        parse_form(text)
    assert repr(text) in str(caught.value)


def letters(plan: FormPlan) -> str:
    return "".join(s.letter for s in plan.sections)


def test_a_reel_is_two_parts_each_played_twice():
    plan = plan_form("AABB", 8, 32, np.random.default_rng(0))
    assert letters(plan) == "AABB" and plan.bars == 32 and plan.label == "AABB, 32 bars"
    first_a, second_a, first_b, second_b = plan.sections
    assert (first_a.source, first_a.endings, first_a.first_bar) == (None, 0, 0)
    assert second_a.source == 0 and second_a.first_bar == 8 and second_a.endings in (1, 2)
    assert second_a.replayed_bars == 8 - second_a.endings
    assert first_b.source is None and second_b.source == 2


def test_the_form_is_played_again_or_cut_to_the_length():
    assert letters(plan_form("AABB", 8, 48)) == "AABBAA"
    assert letters(plan_form("AABB", 8, 16)) == "AA"
    assert plan_form("AABB", 8, 48).sections[4].source == 0  # the tune played again
    lengthened = plan_form("AB", 4, 10.5)  # 11 bars: the 3 left over lengthen the last part
    assert [(s.bars, s.endings) for s in lengthened.sections] == [(4, 0), (7, 0)]
    replay = plan_form("AA", 4, 10, np.random.default_rng(1)).sections[1]
    assert replay.bars == 6 and replay.replayed_bars == 4 - (replay.endings - 2)


def test_endings_are_one_bar_or_two_as_in_the_corpus():
    rng = np.random.default_rng(5)
    endings = [plan_form("AABB", 8, 32, rng).sections[1].endings for _ in range(300)]
    assert set(endings) == {1, 2} and 0.2 < endings.count(2) / 300 < 0.45
    assert plan_form("AA", 2, 4).sections[1].endings == 1  # short parts: the last bar


def test_a_part_longer_than_the_piece_is_refused():
    with pytest.raises(MusicError, match="a part of 8 bars is longer than the piece .4 bars"):
        plan_form("AB", 8, 4)


def test_sample_plans_fit_the_form_to_the_length():
    assert letters(sample_plan(None, None, 32)) == "AABB"
    assert sample_plan(None, None, 16).part_bars == 4
    assert sample_plan(None, None, 7) is None and sample_plan("none", None, 32) is None
    assert sample_plan("ab", None, 12).part_bars == 6
    assert fitted_part_bars("AABA", 64) == 8 and fitted_part_bars("AABA", 3) == 1
    over_chords = sample_plan(None, None, 8, cycle=4)  # "Am F C G": a part is a turn of it
    assert letters(over_chords) == "AA" and over_chords.part_bars == 4
    assert sample_plan(None, None, 32, cycle=3).part_bars == 6
    assert sample_plan(None, None, 32, cycle=2.5).part_bars == 8  # no whole turn: as before
    assert sample_plan(None, 2, 8, cycle=4).part_bars == 2  # a part length given is kept


def test_plans_survive_json():
    plan = plan_form("AABA", 4, 17, np.random.default_rng(2))
    assert FormPlan.from_json(plan.to_json()) == plan


# --- The form fields -----------------------------------------------------------------------

JIG = Context(4, single_meter((6, 8)), ((0.0, Key(2, "major")),))  # 12 steps a bar


def test_bar_of_phrase_counts_each_part_so_that_its_last_bar_is_seven():
    bars = np.arange(16)
    steps = bars * 12
    names = [f.name for f in fields("metre")]
    plain = features(JIG, steps, "metre")[:, names.index("bar_of_phrase")]
    np.testing.assert_array_equal(plain, bars % 8)
    four = replace(JIG, form=plan_form("AABB", 4, 16))
    planned = features(four, steps, "metre")[:, names.index("bar_of_phrase")]
    np.testing.assert_array_equal(planned, [4, 5, 6, 7] * 4)


def test_part_and_bars_left_from_a_plan_or_from_eight_bar_parts():
    steps = np.array([0, 12 * 7, 12 * 8, 12 * 30, 12 * 31 + 5])
    plan = replace(JIG, form=plan_form("AABB", 8, 32))
    np.testing.assert_array_equal(features(plan, steps, "form"),
                                  [[1, 3], [1, 3], [2, 3], [4, 1], [4, 0]])
    pickup = Context(4, MeterMap((TimeSignature(0.0, 6, 8),), phase=0.5), JIG.keys,
                     end_step=12 * 20)  # bar b starts at step 2 + 12 b; the end in bar 19
    found = features(pickup, np.array([0, 2, 12 * 9, 12 * 18 + 2, 12 * 19 + 2]), "form")
    np.testing.assert_array_equal(found, [[0, FAR], [1, FAR], [2, FAR], [3, 1], [3, 0]])
    endless = replace(pickup, end_step=None)
    assert (features(endless, np.arange(50), "form")[:, 1] == FAR).all()


def test_sequences_count_bars_left_to_their_own_end_and_evaluation_hides_it():
    melody = make_encoding("melody")
    ids = np.full(12 * 5, 1)
    ids[::12] = 20  # a note a bar, held: five bars
    found = sequence_features(JIG, melody, ids, 0, "form")
    # row t: the step t + 1 (bar (t + 1) // 12), the last token's step 59 is in bar 4
    np.testing.assert_array_equal(found[[0, 24, 36, 46, 47, 58], 1], [3, 2, 1, 1, 0, 0])
    hidden = hide_leaks(found, "form")
    assert (hidden[:, 1] == FAR).all() and (hidden[:, 0] == found[:, 0]).all()


def test_sections_know_what_they_replay():
    section = Section("A", 8, 8, source=0, endings=2)
    assert (section.end_bar, section.replayed_bars) == (16, 6)
    assert Section("B", 16, 8).replayed_bars == 0
