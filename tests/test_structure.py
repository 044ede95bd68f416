"""Metre and harmony statistics (composer.music.structure)."""

import json

import numpy as np
import pytest

from composer.errors import MusicError
from composer.music.notes import ChordSymbol, KeySignature, Note, Piece
from composer.music.structure import (
    Structure,
    format_structure,
    onset_distances,
    structure,
    structure_piece,
    structure_summary,
)


def line(pitches, lengths, start=0.0):
    notes, beat = [], start
    for pitch, length in zip(pitches, lengths, strict=True):
        notes.append(Note(beat, beat + length, pitch))
        beat += length
    return notes


# Two bars of 6/8 (quarter, eighth, quarter, eighth): onsets at sixteenths 0, 4, 6, 10.
JIG = line([60, 64, 67, 64, 60, 64, 67, 64], [1.0, 0.5] * 4)


def test_onsets_are_counted_per_sixteenth_of_the_bar():
    counts = structure_piece(Piece("jig", JIG, time_signature=(6, 8))).onsets
    assert list(counts) == ["6/8"]
    assert counts["6/8"].tolist() == [2, 0, 0, 0, 2, 0, 2, 0, 0, 0, 2, 0]
    as_waltz = structure_piece(Piece("jig", JIG, time_signature=(6, 8)), meter=(3, 4)).onsets
    assert as_waltz["3/4"].tolist() == [2, 0, 0, 0, 2, 0, 2, 0, 0, 0, 2, 0]


def test_estimated_bars_move_the_onsets_past_the_pickup():
    pickup = [Note(0.0, 0.5, 55)] + [Note(n.start + 0.5, n.end + 0.5, n.pitch) for n in JIG]
    piece = Piece("jig", pickup + [Note(6.5, 8.0, 60)], time_signature=(6, 8))
    written = structure_piece(piece).onsets["6/8"]
    estimated = structure_piece(piece, estimate=True).onsets["6/8"]
    assert written.tolist() == [3, 0, 3, 0, 0, 0, 2, 0, 2, 0, 0, 0]  # shifted by the pickup
    assert estimated.tolist() == [3, 0, 0, 0, 2, 0, 2, 0, 0, 0, 3, 0]  # as JIG, plus the pickup


def test_on_beat_notes_are_judged_against_the_chords():
    notes = line([60, 62, 64, 65, 67, 65, 64, 62], [0.5] * 8)  # 4/4: C D E F | G F E D
    piece = Piece("run", notes)  # beats: C E | G E ... one bar: notes on beats C, E, G, E
    assert structure_piece(piece, chords="C").chord_tones == 4
    over_f = structure_piece(piece, chords="F")
    assert (over_f.on_beat, over_f.chord_tones) == (4, 1)  # only C is in F A C
    assert over_f.chord_sources == {"given": 1}
    silent = structure_piece(piece, chords="N.C.")
    assert silent.on_beat == 0  # notes under no chord are not judged
    with pytest.raises(MusicError, match="bad chord symbol 'H7'"):
        structure_piece(piece, chords="H7")


def test_chords_come_from_the_file_before_inference():
    notes = line([60, 64, 67, 72], [1.0] * 4)
    with_symbols = Piece("x", notes, chords=[ChordSymbol(0.0, "Am")])
    found = structure_piece(with_symbols)
    assert found.chord_sources == {"file": 1} and (found.on_beat, found.chord_tones) == (4, 3)
    inferred = structure_piece(Piece("x", notes))
    assert inferred.chord_sources == {"inferred": 1} and inferred.chord_tones == 4  # C major


def test_notes_in_key_use_the_signature():
    notes = line([62, 66, 69, 65], [1.0] * 4)  # D F# A and an F natural
    assert structure_piece(Piece("x", notes, key_signatures=[KeySignature(0, 2, False)])) \
        .in_key == 3


def test_repeated_bars_are_counted_once_each():
    bar = [60, 62, 64, 65]
    notes = line(bar + [67] * 4 + bar + bar[:3] + [67], [1.0] * 16)
    found = structure_piece(Piece("x", notes))
    counts = found.repetition
    assert (counts.bars, counts.repeated) == (4, 1)  # bar 3 repeats bar 1; bar 4 differs
    assert (counts.distinct, counts.part_back_judged, counts.empty) == (3, 0, 0)


def test_pooling_summary_and_distances():
    one = structure([Piece("a", JIG, time_signature=(6, 8))])
    two = one + one
    assert two.pieces == 2 and two.onsets["6/8"].sum() == 16
    summary = structure_summary(two)
    json.dumps(summary)
    assert summary["onsets"]["6/8"]["notes"] == 16
    assert summary["onsets"]["6/8"]["shares"][0] == 0.25
    assert onset_distances(one, two) == {"6/8": 0.0}
    waltz = structure([Piece("b", JIG)], meter=(3, 4))
    assert onset_distances(one, waltz) == {}  # no metre in common
    other = Structure(onsets={"6/8": np.array([0, 1] * 6)})
    assert onset_distances(one, other)["6/8"] == pytest.approx(1.0)  # disjoint: 1 bit
    assert structure_summary(Structure())["chord_tone_share"] is None


def test_the_report_lists_every_figure():
    one = structure_summary(structure([Piece("a", JIG, time_signature=(6, 8))]))
    text = format_structure({"a": one, "b": one}, {"a": "written", "b": "estimated"},
                            {"6/8": 0.0})
    rows = text.splitlines()
    assert rows[1].split() == ["bars", "written", "estimated"]  # as the caller labels them
    assert rows[2].startswith("on-beat notes on chord tones")
    assert rows[-1].split() == ["6/8", "0.0000"]
