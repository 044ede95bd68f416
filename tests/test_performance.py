"""The performance encoding: vocabulary, hand-written event rows, ill-formed input, round trips."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.errors import DataError
from composer.music.encoding import encoding_from_config, make_encoding
from composer.music.notes import Note, Piece
from composer.music.performance import PerformanceEncoding

ENC = PerformanceEncoding()


def names(*notes, enc=ENC):
    return enc.tokens(enc.encode(Piece("t", [Note(*n) for n in notes])))


def decode_names(row, enc=ENC):
    return [(n.start, n.end, n.pitch, n.velocity) for n in enc.decode(
        [enc.token_id(t) for t in row])]


# --- vocabulary ------------------------------------------------------------------


def test_vocabulary_ids_are_fixed():
    assert ENC.vocab_size == 200
    assert ENC.token_id("NOTE_ON(21)") == 0 and ENC.token_id("NOTE_ON(108)") == 87
    assert ENC.token_id("NOTE_OFF(21)") == 88 and ENC.token_id("NOTE_OFF(108)") == 175
    assert ENC.token_id("TIME_SHIFT(1)") == 176 and ENC.token_id("TIME_SHIFT(16)") == 191
    assert ENC.token_id("VELOCITY(1)") == 192 and ENC.vocab[-1] == "VELOCITY(8)"


def test_vocabulary_follows_the_settings():
    enc = PerformanceEncoding(min_pitch=60, max_pitch=71, max_shift=2, velocity_bins=1)
    assert enc.vocab == ([f"NOTE_ON({p})" for p in range(60, 72)]
                         + [f"NOTE_OFF({p})" for p in range(60, 72)]
                         + ["TIME_SHIFT(1)", "TIME_SHIFT(2)", "VELOCITY(1)"])


def test_event_mask_marks_note_ons_only():
    mask = ENC.event_mask()
    assert mask.shape == (200,) and mask.dtype == bool
    assert mask[:88].all() and not mask[88:].any()


@pytest.mark.parametrize("velocity, expected", [(1, 1), (16, 1), (17, 2), (64, 4), (127, 8),
                                                (0, 1), (200, 8)])
def test_velocity_bins(velocity, expected):
    assert ENC.velocity_bin(velocity) == expected


def test_decoded_velocity_is_the_bin_mean_and_keeps_its_bin():
    # bin 1 holds velocities 1..16 (mean 8.5 -> 9); bin 8 holds 112..127 (mean 119.5 -> 120)
    assert ENC.bin_velocity(1) == 9 and ENC.bin_velocity(8) == 120
    bins = ENC.velocity_bin(ENC.bin_velocity(np.arange(1, 9)))
    assert bins.tolist() == list(range(1, 9))


# --- hand-written event rows -------------------------------------------------------


def test_chord_then_a_note():
    # C major triad for a quarter (4 steps), then G4 for an eighth, all velocity 80 (bin 5).
    assert names((0, 1, 60, 80), (0, 1, 64, 80), (0, 1, 67, 80), (1, 1.5, 67, 80)) == [
        "VELOCITY(5)", "NOTE_ON(60)", "NOTE_ON(64)", "NOTE_ON(67)",
        "TIME_SHIFT(4)",
        "NOTE_OFF(60)", "NOTE_OFF(64)", "NOTE_OFF(67)", "NOTE_ON(67)",
        "TIME_SHIFT(2)",
        "NOTE_OFF(67)",
    ]


def test_long_gaps_are_several_time_shifts():
    # a whole note (16 steps), a rest of 5 quarter notes (20 steps), a quarter note
    assert names((0, 4, 60, 80), (9, 10, 62, 80)) == [
        "VELOCITY(5)", "NOTE_ON(60)", "TIME_SHIFT(16)", "NOTE_OFF(60)",
        "TIME_SHIFT(16)", "TIME_SHIFT(4)", "NOTE_ON(62)",
        "TIME_SHIFT(4)", "NOTE_OFF(62)",
    ]


def test_velocity_token_only_when_the_bin_changes():
    assert names((0, 0.25, 60, 100), (0, 0.25, 64, 30), (0, 0.25, 67, 30),
                 (0.25, 0.5, 60, 31), (0.5, 0.75, 60, 100)) == [
        "VELOCITY(7)", "NOTE_ON(60)", "VELOCITY(2)", "NOTE_ON(64)", "NOTE_ON(67)",
        "TIME_SHIFT(1)",
        "NOTE_OFF(60)", "NOTE_OFF(64)", "NOTE_OFF(67)", "NOTE_ON(60)",
        "TIME_SHIFT(1)",
        "NOTE_OFF(60)", "VELOCITY(7)", "NOTE_ON(60)",
        "TIME_SHIFT(1)",
        "NOTE_OFF(60)",
    ]


def test_leading_silence_is_trimmed_and_pitches_fold():
    assert names((2, 2.25, 12, 1), (2, 2.25, 120, 1)) == [
        "VELOCITY(1)", "NOTE_ON(24)", "NOTE_ON(108)", "TIME_SHIFT(1)",
        "NOTE_OFF(24)", "NOTE_OFF(108)",
    ]


def test_same_pitch_overlap_strikes_again_and_lasts_to_the_latest_end():
    # two voices on C4: a half note, and a sixteenth note starting half a beat in
    assert names((0, 2, 60, 80), (0.5, 0.75, 60, 80)) == [
        "VELOCITY(5)", "NOTE_ON(60)", "TIME_SHIFT(2)", "NOTE_OFF(60)", "NOTE_ON(60)",
        "TIME_SHIFT(6)", "NOTE_OFF(60)",
    ]


def test_same_pitch_on_one_step_merges_latest_end_loudest_velocity():
    assert names((0, 0.25, 60, 20), (0.01, 0.5, 60, 120)) == [
        "VELOCITY(8)", "NOTE_ON(60)", "TIME_SHIFT(2)", "NOTE_OFF(60)",
    ]


def test_empty_piece_gives_no_tokens():
    ids = ENC.encode(Piece("empty"))
    assert ids.shape == (0,) and ids.dtype == np.int32


# --- decode, including ill-formed sequences -------------------------------------------


def test_decode_hand_written_row():
    row = ["VELOCITY(8)", "NOTE_ON(60)", "NOTE_ON(64)", "TIME_SHIFT(2)", "NOTE_OFF(64)",
           "VELOCITY(1)", "NOTE_ON(67)", "TIME_SHIFT(4)", "NOTE_OFF(60)", "NOTE_OFF(67)"]
    assert decode_names(row) == [(0, 1.5, 60, 120), (0, 0.5, 64, 120), (0.5, 1.5, 67, 9)]


def test_decode_without_velocity_uses_the_default():
    assert decode_names(["NOTE_ON(60)", "TIME_SHIFT(1)", "NOTE_OFF(60)"]) == [
        (0, 0.25, 60, 80)]


def test_note_off_of_a_silent_pitch_is_ignored():
    assert decode_names(["NOTE_OFF(60)", "TIME_SHIFT(1)", "NOTE_OFF(61)"]) == []


def test_note_on_of_a_sounding_pitch_restarts_it():
    row = ["NOTE_ON(60)", "TIME_SHIFT(2)", "NOTE_ON(60)", "TIME_SHIFT(1)", "NOTE_OFF(60)"]
    assert decode_names(row) == [(0, 0.5, 60, 80), (0.5, 0.75, 60, 80)]


def test_repeated_note_on_in_one_step_takes_the_newer_velocity():
    row = ["NOTE_ON(60)", "VELOCITY(8)", "NOTE_ON(60)", "TIME_SHIFT(1)"]
    assert decode_names(row) == [(0, 0.25, 60, 120)]


def test_notes_still_on_stop_at_the_final_time():
    row = ["NOTE_ON(60)", "TIME_SHIFT(3)", "NOTE_ON(62)", "TIME_SHIFT(1)"]
    assert decode_names(row) == [(0, 1, 60, 80), (0.75, 1, 62, 80)]


def test_note_off_in_the_same_step_drops_the_note():
    row = ["NOTE_ON(60)", "NOTE_OFF(60)", "NOTE_ON(62)", "TIME_SHIFT(1)", "NOTE_ON(64)"]
    assert decode_names(row) == [(0, 0.25, 62, 80)]


def test_leading_time_shift_delays_the_notes():
    row = ["TIME_SHIFT(16)", "NOTE_ON(60)", "TIME_SHIFT(2)", "NOTE_OFF(60)"]
    assert decode_names(row) == [(4, 4.5, 60, 80)]


def test_decode_uses_the_grid_and_program():
    enc = PerformanceEncoding(steps_per_quarter=2)
    notes = enc.decode([enc.token_id("NOTE_ON(60)"), enc.token_id("TIME_SHIFT(3)")])
    assert notes == [Note(0, 1.5, 60, 80, 0, 0)]


@pytest.mark.parametrize("bad", [[200], [-1], [3, 250]])
def test_decode_rejects_ids_out_of_range(bad):
    with pytest.raises(ValueError, match="out of range 0..199"):
        ENC.decode(bad)


# --- settings -------------------------------------------------------------------


def test_config_round_trips_through_json():
    enc = PerformanceEncoding(steps_per_quarter=12, min_pitch=36, max_pitch=96,
                              max_shift=48, velocity_bins=32)
    again = encoding_from_config(json.loads(json.dumps(enc.config())))
    assert again == enc and again.vocab == enc.vocab and again.name == "performance"
    assert make_encoding("performance") == PerformanceEncoding()


@pytest.mark.parametrize("settings, message", [
    ({"max_shift": 0}, "max_shift must be in 1..1024"),
    ({"velocity_bins": 128}, "velocity_bins must be in 1..127"),
    ({"min_pitch": -1}, "min_pitch must be in 0..127"),
    ({"min_pitch": "21"}, "min_pitch must be an integer"),
    ({"line": "highest"}, "bad settings for the performance encoding"),
])
def test_bad_settings_raise_data_error(settings, message):
    with pytest.raises(DataError, match=message):
        encoding_from_config({"name": "performance", **settings})


# --- properties -----------------------------------------------------------------

voices = st.lists(  # per pitch: (gap steps, length steps, velocity); pitches distinct lines
    st.tuples(st.integers(0, 40), st.integers(1, 40), st.integers(1, 127)),
    min_size=1, max_size=6)
grid_pieces = st.dictionaries(st.integers(21, 108), voices, min_size=1, max_size=6)


def grid_notes(lines, offset):
    notes = []
    for pitch, rows in lines.items():
        step = offset
        for gap, length, velocity in rows:
            step += gap
            notes.append(Note(step / 4, (step + length) / 4, pitch, velocity))
            step += length
    return notes


@settings(max_examples=150, deadline=None)
@given(grid_pieces, st.integers(0, 50))
def test_polyphonic_grid_notes_round_trip(lines, offset):
    notes = grid_notes(lines, offset)
    first = min(n.start for n in notes)
    expected = sorted((n.start - first, n.pitch, n.end - first,
                       int(ENC.bin_velocity(ENC.velocity_bin(n.velocity)))) for n in notes)
    decoded = ENC.decode(ENC.encode(Piece("t", notes)))
    assert [(n.start, n.pitch, n.end, n.velocity) for n in decoded] == expected


any_notes = st.lists(
    st.builds(lambda s, d, p, v: Note(s, s + d, p, v),
              st.floats(0, 30, allow_nan=False), st.floats(0.01, 8, allow_nan=False),
              st.integers(0, 127), st.integers(1, 127)),
    max_size=30)


@settings(max_examples=150, deadline=None)
@given(any_notes)
def test_encoder_output_is_well_formed_and_round_trips(notes):
    ids = ENC.encode(Piece("t", notes))
    assert ids.dtype == np.int32 and ((ids >= 0) & (ids < 200)).all()
    assert ENC.encode(Piece("t", ENC.decode(ids))).tolist() == ids.tolist()
    on = np.isin(ids, np.arange(88))
    off = np.isin(ids, np.arange(88, 176))
    assert on.sum() == off.sum() == len(ENC.decode(ids))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 199), max_size=80))
def test_any_ids_decode_deterministically_and_settle(ids):
    notes = ENC.decode(ids)
    assert notes == ENC.decode(np.array(ids, dtype=np.int16))
    assert all(n.end > n.start and 21 <= n.pitch <= 108 for n in notes)
    once = ENC.encode(Piece("t", notes))
    assert ENC.encode(Piece("t", ENC.decode(once))).tolist() == once.tolist()


# --- through MIDI files -----------------------------------------------------------


def test_polyphonic_midi_keeps_every_quantized_note(tmp_path):
    from composer.music.midi import read_midi, write_midi

    rng = np.random.default_rng(5)
    notes = [Note(s / 4, (s + d) / 4, p, v) for s, d, p, v in zip(
        rng.integers(0, 200, 60), rng.integers(1, 30, 60), rng.integers(21, 109, 60),
        rng.integers(1, 128, 60), strict=True)]
    write_midi(tmp_path / "in.mid", notes)
    source = read_midi(tmp_path / "in.mid")[0]
    write_midi(tmp_path / "out.mid", ENC.decode(ENC.encode(source)))
    back = read_midi(tmp_path / "out.mid")[0].notes
    # the expected notes: one sounding note per pitch (MIDI has no more), shifted to 0
    first = min(n.start for n in source.notes)
    expected = sorted((n.start - first, n.end - first, n.pitch,
                       int(ENC.bin_velocity(ENC.velocity_bin(n.velocity))))
                      for n in source.notes)
    assert sorted((n.start, n.end, n.pitch, n.velocity) for n in back) == expected
    assert len(back) >= 50


@settings(max_examples=30, deadline=None)
@given(grid_pieces, st.integers(0, 50))
def test_polyphonic_midi_round_trip_property(lines, offset):
    import tempfile
    from pathlib import Path

    from composer.music.midi import read_midi, write_midi

    notes = grid_notes(lines, offset)
    with tempfile.TemporaryDirectory() as folder:
        write_midi(Path(folder, "in.mid"), notes)
        ids = ENC.encode(read_midi(Path(folder, "in.mid"))[0])
        write_midi(Path(folder, "out.mid"), ENC.decode(ids))
        back = read_midi(Path(folder, "out.mid"))[0].notes
    first = min(n.start for n in notes)
    expected = sorted((n.start - first, n.end - first, n.pitch,
                       int(ENC.bin_velocity(ENC.velocity_bin(n.velocity)))) for n in notes)
    assert sorted((n.start, n.end, n.pitch, n.velocity) for n in back) == expected


def test_shipped_tunes_keep_every_quantized_note(tmp_path):
    from pathlib import Path

    from composer.music.midi import read_midi, write_midi

    files = sorted(Path(__file__).resolve().parent.parent.glob("data/*/*.mid"))[5::10]
    if not files:
        pytest.skip("the shipped corpus (data/) is not there")

    def step(beats):
        return int(np.floor(beats * 4 + 0.5))

    for path in files:
        notes = read_midi(path)[0].notes
        spans = {(step(n.start), max(step(n.end), step(n.start) + 1), n.pitch) for n in notes}
        starts = [(a, p) for a, _, p in spans]
        if len(set(starts)) < len(starts):
            continue  # one pitch twice on a step: merged, as documented
        write_midi(tmp_path / "out.mid", ENC.decode(ENC.encode(read_midi(path)[0])))
        out = read_midi(tmp_path / "out.mid")[0].notes
        back = {(step(n.start), step(n.end), n.pitch) for n in out}
        origin = min(a for a, _, _ in spans)
        expected = {(a - origin, min(b, _next_start(spans, a, p)) - origin, p) for a, b, p in spans}
        assert back == expected, path


def _next_start(spans, start, pitch):
    """Where the next note of `pitch` after `start` starts (a sounding pitch is struck again)."""
    return min((a for a, _, p in spans if p == pitch and a > start), default=10**9)
