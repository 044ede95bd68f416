"""Tests for composer.music.stats: hand-built notes with hand-computed statistics."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.music.keys import Key, estimate_key, in_key_count, pitch_name
from composer.music.notes import Note, Piece
from composer.music.stats import (
    INTERVAL_NAMES,
    distances,
    format_report,
    interval_counts,
    intervals,
    jensen_shannon,
    leap_counts,
    pitch_class_counts,
    repeated_count,
    summary,
    tally,
    tally_piece,
    top_line,
)


def melody(pitches, length=1.0, start=0.0):
    """One note per pitch, each `length` beats, back to back."""
    return [Note(start + i * length, start + (i + 1) * length, p) for i, p in enumerate(pitches)]


C_MAJOR_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]  # C4 D4 E4 F4 G4 A4 B4 C5
A_MINOR_TUNE = [69, 72, 76, 69, 72, 76, 71, 74, 76, 68, 69, 69]  # A-minor arpeggios, G#, A A


# --- Key ---------------------------------------------------------------------------


def test_c_major_scale_is_in_c_major_entirely():
    notes = melody(C_MAJOR_SCALE)
    key = estimate_key(notes)
    assert (key.tonic, key.mode, key.name) == (0, "major", "C major")
    assert in_key_count(notes, key) == 8
    assert summary(tally_piece(Piece("scale", notes)))["in_key_share"] == 1.0


def test_a_minor_tune_is_in_a_minor_and_its_leading_tone_is_outside():
    notes = melody(A_MINOR_TUNE)
    key = estimate_key(notes)
    assert key.name == "A minor"
    assert in_key_count(notes, key) == 11  # G#4 (68) is not in the natural minor scale
    assert summary(tally_piece(Piece("tune", notes)))["in_key_share"] == pytest.approx(11 / 12)


def test_key_uses_durations_not_note_counts():
    # Four short F#s against long C, E, G: the long notes decide.
    notes = melody([60, 64, 67], length=4) + melody([66] * 4, length=0.25, start=12)
    assert estimate_key(notes).name == "C major"


def test_no_key_without_notes_or_with_a_flat_profile():
    assert estimate_key([]) is None
    assert estimate_key(melody(range(60, 72))) is None  # every pitch class equally long
    t = tally_piece(Piece("chromatic", melody(range(60, 72))))
    assert summary(t)["in_key_share"] is None and summary(t)["key"] is None


def test_key_names_and_scales():
    assert Key(10, "major", 0.0).name == "Bb major"
    assert Key(1, "minor", 0.0).name == "C# minor"
    assert Key(9, "minor", 0.0).pitch_classes == Key(0, "major", 0.0).pitch_classes
    assert Key(7, "major", 0.0).pitch_classes == frozenset({7, 9, 11, 0, 2, 4, 6})


# --- Top line and intervals -------------------------------------------------------------


def test_top_line_takes_the_highest_note_of_each_onset():
    chords = [
        Note(0, 2, 48), Note(0, 1, 64), Note(0, 1, 60),  # C3 + C4 + E4: E4 on top
        Note(1, 2, 67), Note(1, 2, 55),  # G4 over G3
        Note(2, 3, 52), Note(2.5, 3, 50),  # E3, then D3 under E3: dropped
        Note(3, 4, 72),  # C5 alone
    ]  # fmt: skip
    assert [n.pitch for n in top_line(chords)] == [64, 67, 52, 72]


def test_top_line_keeps_a_lower_note_once_the_higher_one_has_ended():
    notes = [Note(0, 1, 72), Note(0.5, 2, 60), Note(1, 2, 62)]
    assert [n.pitch for n in top_line(notes)] == [72, 62]  # 60 started under 72
    assert [n.pitch for n in top_line([Note(0, 1, 72), Note(1, 2, 60)])] == [72, 60]


def test_intervals_are_signed_and_the_histogram_folds_them():
    line = melody([60, 62, 59, 59, 71, 86, 60])
    steps = intervals(line)
    assert steps == [2, -3, 0, 12, 15, -26]
    counts = interval_counts(steps)
    assert len(counts) == len(INTERVAL_NAMES) == 14
    expected = np.zeros(14, dtype=int)
    expected[[2, 3, 0, 12]] = 1  # M2, m3, unison, octave
    expected[13] = 2  # two intervals beyond an octave
    np.testing.assert_array_equal(counts, expected)


# --- Repeats -------------------------------------------------------------------------


def test_a_note_repeated_five_times_is_excessive_four_times_is_not():
    six = [60] * 6  # played once, then repeated 5 times (more than 4)
    five = [62] * 5  # played once, then repeated 4 times
    assert repeated_count(six) == 6
    assert repeated_count(five) == 0
    assert repeated_count(five + six + [64, 65]) == 6
    assert repeated_count([]) == 0


def test_repeated_share_is_counted_on_the_top_line_across_rests():
    notes = [Note(2 * i, 2 * i + 1, 67) for i in range(6)]  # six G4s with rests between
    notes += melody([60, 62, 64, 65], start=12)
    notes += [Note(0, 1, 48)]  # an accompanying C3 under the first G4: not in the top line
    s = summary(tally_piece(Piece("runs", sorted(notes))))
    assert s["repeated_share"] == pytest.approx(6 / 10)


# --- Leaps ------------------------------------------------------------------------------


def test_a_leap_then_a_step_back_is_resolved():
    assert leap_counts(intervals(melody([60, 69, 67]))) == (1, 1, 1)  # up a M6, down a M2


@pytest.mark.parametrize(
    ("pitches", "expected"),
    [
        ([60, 69, 71], (1, 1, 0)),  # leap up, then further up: not resolved
        ([60, 69, 69], (1, 1, 0)),  # leap, then a repeated note
        ([60, 69, 60], (2, 1, 0)),  # leap back by a leap (9 > 4), itself not judged
        ([60, 69, 65], (1, 1, 1)),  # back down a major third: small, resolved
        ([60, 69, 64], (1, 1, 0)),  # back down a fourth: too big
        ([72, 60, 61], (1, 1, 1)),  # an octave down, a semitone up
        ([60, 67, 65], (0, 0, 0)),  # a perfect fifth is not a large leap
        ([60, 68], (1, 0, 0)),  # a minor sixth is; as the last interval it is not judged
    ],
)
def test_leap_rules(pitches, expected):
    assert leap_counts(intervals(melody(pitches))) == expected


def test_leap_shares():
    s = summary(tally_piece(Piece("leaps", melody([60, 69, 67, 76, 78, 77]))))
    # intervals +9 -2 +9 +2 -1: two leaps in five intervals; the first resolves
    assert s["leap_share"] == pytest.approx(2 / 5)
    assert s["resolved_share"] == pytest.approx(1 / 2)


# --- Density and range -------------------------------------------------------------------


def test_density_uses_the_time_signature():
    waltz = Piece("waltz", melody([60] * 3 + [64] * 3, length=2), time_signature=(3, 4))
    s = summary(tally_piece(waltz))  # 6 notes over 12 beats = 4 bars of 3/4
    assert (s["notes_per_bar"], s["notes_per_beat"]) == (1.5, 0.5)
    jig = Piece("jig", melody([60] * 6, length=0.5), time_signature=(6, 8))
    assert summary(tally_piece(jig))["notes_per_bar"] == 6.0  # one bar of 6/8 = 3 beats


def test_pooling_two_pieces():
    scale = Piece("scale", melody(C_MAJOR_SCALE))  # 8 notes, 8 beats, span 12
    tune = Piece("tune", melody(A_MINOR_TUNE), time_signature=(3, 4))  # 12 notes, 12 beats, 8
    s = summary(tally([scale, tune, Piece("empty")]))
    assert (s["pieces"], s["notes"]) == (3, 20)
    assert s["notes_per_beat"] == 1.0
    assert s["notes_per_bar"] == pytest.approx(20 / (2 + 4))
    assert (s["lowest_pitch"], s["highest_pitch"]) == (60, 76)
    assert s["mean_span"] == pytest.approx((12 + 8) / 2)  # over the pieces with notes
    assert s["in_key_share"] == pytest.approx(19 / 20)  # each piece against its own key
    assert s["key"] == "C major" and s["key_pieces"] == 1  # a tie: the first seen
    np.testing.assert_array_equal(
        tally([scale, tune]).pitch_classes,
        pitch_class_counts(scale.notes) + pitch_class_counts(tune.notes),
    )


def test_summary_of_nothing_is_all_none_and_json_able():
    s = summary(tally([]))
    assert s["pieces"] == 0 and s["notes"] == 0
    for name in ("notes_per_bar", "in_key_share", "repeated_share", "pitch_classes", "key"):
        assert s[name] is None
    json.dumps(s)
    json.dumps(summary(tally([Piece("scale", melody(C_MAJOR_SCALE))])))


def test_pitch_names():
    assert [pitch_name(p) for p in (21, 60, 61, 69, 127)] == ["A0", "C4", "C#4", "A4", "G9"]


# --- Distance ------------------------------------------------------------------------------


def test_jensen_shannon_by_hand():
    assert jensen_shannon([1, 2, 3], [2, 4, 6]) == 0.0  # same shape
    assert jensen_shannon([1, 0], [0, 5]) == pytest.approx(1.0)  # nothing in common
    # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4):
    # KL(p||m) = log2(4/3); KL(q||m) = 1/2 log2(2/3) + 1/2 log2(2); JS = their mean
    expected = (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5) / 2
    assert jensen_shannon([1, 0], [1, 1]) == pytest.approx(expected)  # 0.3113 bits
    assert jensen_shannon([0, 0], [1, 1]) is None


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=12, max_size=12),
    st.lists(st.integers(0, 20), min_size=12, max_size=12),
)
def test_jensen_shannon_is_symmetric_and_bounded(p, q):
    d = jensen_shannon(p, q)
    if sum(p) == 0 or sum(q) == 0:
        assert d is None
    else:
        assert 0 <= d <= 1 + 1e-12 and d == pytest.approx(jensen_shannon(q, p))


def test_distances_between_corpora():
    ours = tally([Piece("scale", melody(C_MAJOR_SCALE))])
    assert distances(ours, ours) == {"pitch_class_js": 0.0, "interval_js": 0.0}
    other = tally([Piece("sharps", melody([66, 66, 68, 78]))])  # F#4 F#4 G#4 F#5
    d = distances(ours, other)
    assert d["pitch_class_js"] == pytest.approx(1.0)  # F# never occurs in the scale
    assert 0 < d["interval_js"] < 1  # both have major seconds


# --- Report ------------------------------------------------------------------------------


def test_report_prints_columns_side_by_side():
    ours = summary(tally([Piece("scale", melody(C_MAJOR_SCALE))]))
    theirs = summary(tally([Piece("tune", melody(A_MINOR_TUNE))]))
    text = format_report({"samples": ours, "data": theirs}, {"pitch_class_js": 0.25,
                                                              "interval_js": None})  # fmt: skip
    lines = text.splitlines()
    assert lines[0].split() == ["samples", "data"]
    assert lines[1].split() == ["pieces", "1", "1"]
    row = next(line for line in lines if line.startswith("most common key"))
    assert row.endswith("C major (1/1)  A minor (1/1)")
    assert next(line for line in lines if line.startswith("notes in key")).split()[-2:] == [
        "100.0%",
        "91.7%",
    ]
    assert lines[-2].split() == ["pitch", "classes", "0.2500"]
    assert lines[-1].split() == ["intervals", "-"]


def test_report_of_an_empty_corpus_shows_dashes():
    lines = format_report({"nothing": summary(tally([]))}).splitlines()
    assert lines[1].split() == ["pieces", "0"]
    for label in ("notes per bar", "pitch range", "notes in key", "  C#", "  octave"):
        assert next(line for line in lines if line.startswith(label)).split()[-1] == "-"
