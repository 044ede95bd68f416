"""Polyphony statistics on hand-made pieces, computed by hand."""

import numpy as np
import pytest

from composer.music.notes import Note, Piece
from composer.music.texture import (
    LENGTH_NAMES,
    SOUNDING_NAMES,
    format_texture_report,
    length_counts,
    note_lengths,
    sounding_time,
    tally_texture,
    texture_distances,
    texture_summary,
)

# beats 0-1: one note, 1-2: two, 2-3: one, 3-4: none, 4-5: one
SMALL = [Note(0, 2, 60), Note(1, 3, 64), Note(4, 5, 67)]


def test_sounding_time_by_hand():
    assert sounding_time(SMALL).tolist() == [1.0, 3.0, 1.0]
    assert sounding_time([]).size == 0
    # a note ending where another starts: never two at once
    assert sounding_time([Note(0, 1, 60), Note(1, 2, 62)]).tolist() == [0.0, 2.0]


def test_length_bins_by_hand():
    lengths = note_lengths([Note(0, 0.25, 60), Note(0, 0.3, 60), Note(0, 8, 60),
                            Note(0, 9, 60), Note(0, 20, 60)])
    counts = dict(zip(LENGTH_NAMES, length_counts(lengths).tolist(), strict=True))
    assert counts["<= 0.25"] == 1 and counts["<= 0.5"] == 1
    assert counts["<= 8"] == 1 and counts["<= 16"] == 1 and counts["> 16"] == 1
    assert sum(counts.values()) == 5


def test_summary_of_two_pieces_by_hand():
    long = Piece("long", [Note(0, 10, 48), Note(0, 1, 72), Note(1, 2, 74)])  # 10 beats
    summary = texture_summary(tally_texture([Piece("small", SMALL), long]))
    # time: 0 notes 1 beat, 1 note 3 + 8 = 11 beats, 2 notes 1 + 2 = 3 beats; 15 in all
    assert summary["sounding"]["0"] == pytest.approx(1 / 15)
    assert summary["sounding"]["1"] == pytest.approx(11 / 15)
    assert summary["sounding"]["2"] == pytest.approx(3 / 15)
    assert summary["mean_sounding"] == pytest.approx((11 + 2 * 3) / 15)
    assert summary["long_note_share"] == pytest.approx(1 / 6)
    assert summary["longest_note"] == 10
    assert summary["note_lengths"]["<= 1"] == pytest.approx(3 / 6)


def test_many_voices_fold_into_the_last_bin():
    chord = Piece("cluster", [Note(0, 1, 60 + k) for k in range(10)])
    summary = texture_summary(tally_texture([chord]))
    assert summary["sounding"][SOUNDING_NAMES[-1]] == 1.0
    assert summary["mean_sounding"] == 10


def test_distances_and_empty_input():
    ours, same = tally_texture([Piece("a", SMALL)]), tally_texture([Piece("b", SMALL)])
    assert texture_distances(ours, same) == {"sounding_js": 0.0, "note_length_js": 0.0}
    other = tally_texture([Piece("c", [Note(0, 20, 60)])])  # nothing in common
    assert texture_distances(ours, other)["note_length_js"] == pytest.approx(1.0)
    empty = texture_summary(tally_texture([]))
    assert empty["mean_sounding"] is None and empty["sounding"] is None
    assert texture_distances(tally_texture([]), ours)["sounding_js"] is None


def test_report_table():
    ours = texture_summary(tally_texture([Piece("a", SMALL)]))
    lines = format_texture_report({"samples": ours, "data": ours},
                                  {"sounding_js": 0.0, "note_length_js": 0.125}).splitlines()
    assert lines[0].split() == ["texture", "samples", "data"]
    mean = next(line for line in lines if line.startswith("notes sounding at once (time"))
    assert mean.split()[-2:] == ["1.00", "1.00"]
    assert lines[-1].split() == ["note", "lengths", "0.1250"]
    assert np.isfinite(ours["mean_sounding"])
