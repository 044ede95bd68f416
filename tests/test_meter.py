"""Metre (composer.music.meter) and bar phase (composer.music.phase)."""

import json

import numpy as np
import pytest

from composer.errors import MusicError
from composer.music import phase as phase_module
from composer.music.meter import (
    MeterMap,
    bar_steps,
    beat_steps,
    meter_id,
    meter_map,
    parse_meter,
    single_meter,
    time_signatures,
)
from composer.music.notes import Note, Piece, TimeSignature
from composer.music.phase import (
    estimate_bar_lines,
    estimate_phase,
    fit_profiles,
    metrical_weights,
    onset_classes,
)
from composer.music.phase_profiles import PROFILES


@pytest.mark.parametrize(("text", "meter"), [("6/8", (6, 8)), (" 3 / 4 ", (3, 4)),
                                             ("12/8", (12, 8)), ("7/16", (7, 16))])
def test_meters_parse(text, meter):
    assert parse_meter(text) == meter


@pytest.mark.parametrize(("text", "problem"), [
    ("7/0", "bad metre '7/0': the denominator must be one of 1, 2, 4, 8, 16, 32, 64"),
    ("6/7", "the denominator must be one of"),
    ("0/4", "bad metre '0/4': the numerator must be 1..64"),
    ("65/4", "the numerator must be 1..64"),
    ("jig", "bad metre 'jig': write it as NUMERATOR/DENOMINATOR, e.g. 6/8"),
    ("6/8/2", "write it as NUMERATOR/DENOMINATOR"),
])
def test_bad_meters_raise_music_error(text, problem):
    with pytest.raises(MusicError, match=problem):
        parse_meter(text)


@pytest.mark.parametrize(("meter", "spq", "bar", "beat"), [
    ((4, 4), 4, 16, 4), ((3, 4), 4, 12, 4), ((2, 2), 4, 16, 8), ((6, 8), 4, 12, 6),
    ((9, 8), 4, 18, 6), ((12, 8), 12, 72, 18), ((3, 8), 4, 6, 2), ((7, 16), 4, 7, 1),
    ((3, 32), 4, 2, 1),  # 1.5 steps rounds to 2; the beat to at least 1
])
def test_bar_and_beat_lengths_in_steps(meter, spq, bar, beat):
    assert (bar_steps(meter, spq), beat_steps(meter, spq)) == (bar, beat)


def test_meter_ids_are_fixed_with_one_id_for_the_rest():
    assert meter_id((4, 4)) == 0 and meter_id((6, 8)) == 4
    assert meter_id((5, 4)) == meter_id((7, 8)) == 8


JIG_THEN_REEL = MeterMap((TimeSignature(0.0, 6, 8), TimeSignature(7.0, 2, 4)), phase=1.0)


def test_positions_follow_the_phase_and_restart_at_a_change():
    steps = np.array([0, 3, 4, 15, 16, 27, 28, 31, 36, -1])
    position, bar, beat, segment = JIG_THEN_REEL.positions(steps, 4)
    # 6/8 bars of 12 steps from step 4 (phase 1 beat); 2/4 bars of 8 steps from step 28
    assert position.tolist() == [8, 11, 0, 11, 0, 11, 0, 3, 0, 7]
    assert bar.tolist() == [12] * 6 + [8, 8, 8, 12]
    assert beat.tolist() == [6] * 6 + [4, 4, 4, 6]
    assert segment.tolist() == [0] * 6 + [1, 1, 1, 0]


def test_downbeats_are_the_bar_lines():
    assert JIG_THEN_REEL.downbeats(10.0).tolist() == [1.0, 4.0, 7.0, 9.0]
    assert single_meter((3, 4)).downbeats(6.0).tolist() == [0.0, 3.0, 6.0]


def test_meter_maps_round_trip_through_json():
    data = json.loads(json.dumps(JIG_THEN_REEL.to_json()))
    assert MeterMap.from_json(data) == JIG_THEN_REEL


@pytest.mark.parametrize(("changes", "phase", "problem"), [
    ((), 0.0, "time signature at beat 0"),
    ((TimeSignature(1.0, 4, 4),), 0.0, "time signature at beat 0"),
    ((TimeSignature(0.0, 6, 8),), 3.0, "phase must be in 0..3 beats"),
    ((TimeSignature(0.0, 6, 8),), -0.5, "phase must be in"),
])
def test_bad_meter_maps_are_refused(changes, phase, problem):
    with pytest.raises(ValueError, match=problem):
        MeterMap(changes, phase)


def test_a_late_first_time_signature_counts_from_the_start():
    piece = Piece("x", time_signatures=[TimeSignature(0.25, 3, 4), TimeSignature(6.0, 2, 4)])
    assert time_signatures(piece) == (TimeSignature(0.0, 3, 4), TimeSignature(6.0, 2, 4))
    assert time_signatures(Piece("y", time_signature=(6, 8))) == (TimeSignature(0.0, 6, 8),)


# --- Bar phase -------------------------------------------------------------------------


def tune(pickup: list[float], bar: list[float], bars: int, last: float, pitch=67) -> list[Note]:
    """Notes of the given lengths (beats): the pickup, `bars` copies of a bar, a last note."""
    lengths = pickup + bar * bars + [last]
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]]).tolist()
    pairs = enumerate(zip(starts, lengths, strict=True))
    return [Note(s, s + n, pitch + k % 5) for k, (s, n) in pairs]


JIG = tune([0.5], [1.0, 0.5, 1.0, 0.5], 15, 1.5)  # an eighth pickup, quarter-eighth bars
REEL = tune([0.5, 0.5], [1.0] + [0.5] * 6, 15, 3.0)  # a quarter pickup in 2/2


@pytest.mark.parametrize(("notes", "meter", "phase"), [
    (JIG, (6, 8), 0.5), (REEL, (2, 2), 1.0), (tune([], [1.0, 0.5] * 2, 15, 1.5), (6, 8), 0.0),
])
def test_the_pickup_is_found(notes, meter, phase):
    assert estimate_phase(notes, [TimeSignature(0.0, *meter)]) == phase
    assert meter_map(Piece("t", notes, time_signature=meter)).phase == phase


def shifting_reel() -> list[Note]:
    """A 4/4 tune whose bar lines shift: a quarter pickup and 8 bars of half-quarter-quarter
    from beat 1, then a second part with a half-bar pickup at 33, its bars from beat 35."""
    def part(start: float) -> list[Note]:  # 8 bars of half, quarter, quarter
        lengths = [2.0, 1.0, 1.0] * 8
        starts = (start + np.concatenate([[0.0], np.cumsum(lengths)[:-1]])).tolist()
        return [Note(s, s + n, 67 + k % 5) for k, (s, n) in enumerate(zip(starts, lengths,
                                                                          strict=True))]
    return [Note(0.0, 1.0, 67), *part(1.0), Note(33.0, 34.0, 69), Note(34.0, 35.0, 71),
            *part(35.0), Note(67.0, 71.0, 67)]


def test_bar_lines_that_shift_mid_tune_are_followed():
    """The second part's bar lines come two beats later in the bar: the time signature is
    written again where they start (the bar before is cut short), and one phase would
    have put the second part's bar lines on its third beats."""
    notes, changes = shifting_reel(), [TimeSignature(0.0, 4, 4)]
    meter = estimate_bar_lines(notes, changes)
    assert meter.phase == 1.0 and meter.changes == (changes[0], TimeSignature(35.0, 4, 4))
    lines = meter.downbeats(70.0).tolist()
    assert lines[:9] == [1.0 + 4 * k for k in range(9)] and lines[9:] == [35.0 + 4 * k
                                                                          for k in range(9)]
    assert meter_map(Piece("t", notes, time_signature=(4, 4))) == meter
    one = estimate_bar_lines(notes, changes, switch_cost=1e9)  # too dear to switch
    assert len(one.changes) == 1 and one.phase == estimate_phase(notes, changes)


@pytest.mark.parametrize("notes, meter", [(JIG, (6, 8)), (REEL, (2, 2))])
def test_regular_tunes_keep_one_phase(notes, meter):
    assert meter_map(Piece("t", notes, time_signature=meter)).changes == (
        TimeSignature(0.0, *meter),)


def test_the_hand_made_weights_serve_metres_without_a_table():
    five = tune([1.0], [2.0, 1.0, 1.0, 1.0], 8, 2.0)  # 5/4: half notes on the downbeats
    assert "5/4" not in PROFILES
    assert estimate_phase(five, [TimeSignature(0.0, 5, 4)]) == 1.0
    assert metrical_weights((6, 8)).tolist() == [4, 1, 2, 1, 2, 1, 3, 1, 2, 1, 2, 1]


def test_only_the_first_metre_is_looked_at():
    piece_notes = JIG + [Note(60.0 + k / 4, 60.25 + k / 4, 60) for k in range(64)]
    changes = [TimeSignature(0.0, 6, 8), TimeSignature(60.0, 2, 4)]
    assert estimate_phase(piece_notes, changes) == 0.5


def test_no_notes_give_phase_0():
    assert estimate_phase([], [TimeSignature(0.0, 6, 8)]) == 0.0
    assert estimate_phase(JIG, [TimeSignature(0.0, 3, 32)]) == 0.0  # no sixteenth grid


def test_onsets_are_distinct_sixteenths_with_their_intervals(monkeypatch):
    notes = [Note(0.0, 0.5, 60), Note(0.0, 1.0, 64), Note(0.5, 0.75, 62), Note(1.0, 4.0, 60)]
    onsets, classes, end = onset_classes(notes)
    assert onsets.tolist() == [0, 2, 4] and end == 16
    assert classes.tolist() == [2, 2, 7]  # IOIs 2, 2 and 12 (the last note's length)
    monkeypatch.setattr(phase_module, "MAX_ONSETS", 2)
    assert onset_classes(notes)[0].tolist() == [0, 2]


def test_fitted_tables_find_the_phases_they_were_fitted_on():
    examples = [(JIG, (6, 8), 0.5), (REEL, (2, 2), 1.0)]
    tables = json.loads(json.dumps(fit_profiles(examples)))  # JSON-able
    assert sorted(tables) == ["2/2", "6/8"] and tables["6/8"]["tunes"] == 1
    assert len(tables["6/8"]["onsets"]) == 12 and len(tables["2/2"]["pickup"]) == 16
    assert estimate_phase(JIG, [TimeSignature(0.0, 6, 8)], tables) == 0.5
    assert fit_profiles(examples, min_tunes=2) == {}
