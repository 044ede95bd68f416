"""The melody encoding: vocabulary, hand-written token rows, line rules, round trips."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.constants import DEFAULT_PROGRAM, DEFAULT_VELOCITY
from composer.errors import DataError
from composer.music.encoding import encoding_from_config, make_encoding
from composer.music.melody import MelodyEncoding
from composer.music.notes import Note, Piece

ENC = MelodyEncoding()


def piece(*notes):
    return Piece("test", [Note(*n) if isinstance(n, tuple) else n for n in notes])


def names(notes_piece, enc=ENC):
    return enc.tokens(enc.encode(notes_piece))


def melody_notes(*spans):
    """Decoded-style notes from (start, end, pitch) in beats."""
    return [Note(s, e, p, DEFAULT_VELOCITY, DEFAULT_PROGRAM, 0) for s, e, p in spans]


# --- vocabulary ------------------------------------------------------------------


def test_vocabulary_ids_are_fixed():
    assert ENC.vocab_size == 50
    assert ENC.vocab[:3] == ["REST", "HOLD", "NOTE_ON(48)"]
    assert ENC.vocab[49] == "NOTE_ON(95)"
    assert ENC.token_id("NOTE_ON(60)") == 14


def test_vocabulary_follows_the_pitch_range():
    enc = MelodyEncoding(min_pitch=60, max_pitch=71)
    assert enc.vocab == ["REST", "HOLD"] + [f"NOTE_ON({p})" for p in range(60, 72)]


def test_event_mask_marks_note_ons_only():
    mask = ENC.event_mask()
    assert mask.dtype == bool and mask.shape == (50,)
    assert not mask[0] and not mask[1] and mask[2:].all()


# --- hand-written token rows ---------------------------------------------------------


def test_simple_tune():
    # C4 quarter, D4 eighth, eighth rest, E4 half (4 steps per quarter).
    tune = piece((0, 1, 60), (1, 1.5, 62), (2, 4, 64))
    assert names(tune) == [
        "NOTE_ON(60)", "HOLD", "HOLD", "HOLD",
        "NOTE_ON(62)", "HOLD",
        "REST", "REST",
        "NOTE_ON(64)", "HOLD", "HOLD", "HOLD", "HOLD", "HOLD", "HOLD", "HOLD",
    ]


def test_ids_of_a_repeated_note():
    tune = piece((0, 0.5, 60), (0.5, 0.75, 60))
    assert ENC.encode(tune).tolist() == [14, 1, 14]
    assert ENC.encode(tune).dtype == np.int32


def test_leading_silence_is_trimmed():
    assert names(piece((3.5, 4, 67))) == ["NOTE_ON(67)", "HOLD"]


def test_empty_piece_gives_no_tokens():
    ids = ENC.encode(Piece("empty"))
    assert ids.shape == (0,) and ids.dtype == np.int32


def test_quantize_to_nearest_step_halves_up():
    # 0.3 beats = 1.2 steps -> 1; 0.625 beats = 2.5 steps -> 3 (np.round would say 2);
    # 0.7 beats = 2.8 steps -> 3, so the second note is stretched to one step.
    tune = piece((0, 0.3, 60), (0.625, 0.7, 62))
    assert names(tune) == ["NOTE_ON(60)", "REST", "REST", "NOTE_ON(62)"]


def test_pitches_outside_the_range_fold_by_octaves():
    tune = piece((0, 0.25, 47), (0.25, 0.5, 96), (0.5, 0.75, 12), (0.75, 1, 127))
    assert names(tune) == ["NOTE_ON(59)", "NOTE_ON(84)", "NOTE_ON(48)", "NOTE_ON(91)"]


# --- one line from many notes -----------------------------------------------------


def test_highest_note_of_a_chord_wins():
    tune = piece((0, 1, 60), (0, 1, 64), (0, 1, 67), (1, 2, 55))
    assert names(tune) == ["NOTE_ON(67)"] + ["HOLD"] * 3 + ["NOTE_ON(55)"] + ["HOLD"] * 3


def test_lower_voice_under_a_held_melody_note_is_hidden():
    melody = Note(0, 2, 72, voice=0)
    bass = [Note(0, 1, 48, voice=1), Note(1, 2, 50, voice=1)]
    assert names(piece(melody, *bass)) == ["NOTE_ON(72)"] + ["HOLD"] * 7


def test_a_note_uncovered_by_a_higher_one_is_struck_again():
    tune = piece(Note(0, 2, 60, voice=1), Note(0.5, 1, 72, voice=0))
    assert names(tune) == ["NOTE_ON(60)", "HOLD", "NOTE_ON(72)", "HOLD",
                           "NOTE_ON(60)", "HOLD", "HOLD", "HOLD"]


def test_lowest_line():
    enc = MelodyEncoding(line="lowest")
    tune = piece((0, 1, 60), (0, 1, 64), (0.5, 1, 55))
    assert names(tune, enc) == ["NOTE_ON(60)", "HOLD", "NOTE_ON(55)", "HOLD"]


def test_voice_line_keeps_one_voice():
    enc = MelodyEncoding(line="voice:1")
    tune = piece(Note(0, 1, 72, voice=0), Note(0.5, 1, 60, voice=1))
    assert names(tune, enc) == ["NOTE_ON(60)", "HOLD"]
    assert enc.decode(enc.encode(tune))[0].voice == 1


def test_program_line_keeps_one_instrument():
    enc = MelodyEncoding(line="program:40")
    tune = piece(Note(0, 1, 72, program=0), Note(0, 0.25, 60, program=40))
    assert names(tune, enc) == ["NOTE_ON(60)"]
    assert enc.decode(enc.encode(tune)) == [Note(0, 0.25, 60, DEFAULT_VELOCITY, 40, 0)]


def test_program_line_with_no_such_instrument_encodes_to_nothing():
    enc = MelodyEncoding(line="program:40")
    assert enc.encode(piece((0, 1, 60))).size == 0


def test_grace_note_gives_way_to_its_main_note():
    # A grace note 0.05 beats before the beat rounds onto the beat with its main note.
    tune = piece((0, 0.95, 60), (0.95, 0.99, 79), (1, 2, 62))
    assert names(tune) == ["NOTE_ON(60)", "HOLD", "HOLD", "HOLD",
                           "NOTE_ON(62)", "HOLD", "HOLD", "HOLD"]


def test_sixteenth_triplets_that_collide_keep_the_later_note():
    third = 1 / 6  # sixteenth-note triplets: starts 0, 1/6, 2/6 -> steps 0, 1, 1
    tune = piece((0, third, 60), (third, 2 * third, 64), (2 * third, 0.5, 62))
    assert names(tune) == ["NOTE_ON(60)", "NOTE_ON(62)"]


def test_collisions_in_different_voices_use_the_skyline():
    tune = piece(Note(0.95, 0.99, 79, voice=1), Note(1, 2, 62, voice=0))
    assert names(tune) == ["NOTE_ON(79)", "NOTE_ON(62)", "HOLD", "HOLD"]


def test_same_pitch_in_two_voices_sounds_on_and_strikes_again():
    tune = piece(Note(0, 2, 60, voice=0), Note(0.5, 0.75, 60, voice=1))
    assert names(tune) == ["NOTE_ON(60)", "HOLD", "NOTE_ON(60)"] + ["HOLD"] * 5


def test_notes_outside_the_piece_window_are_dropped():
    tune = piece((0, 1, 60), (5000, 5001, 62), (float("nan"), 1, 64), (0, 0, 66), (0, 1, 200))
    assert names(tune) == ["NOTE_ON(60)", "HOLD", "HOLD", "HOLD"]


def test_dense_hostile_piece_is_bounded():
    # 30,000 notes held to the 4,096-beat limit: 120 million covered cells if painted naively
    rng = np.random.default_rng(0)
    notes = [Note(float(s), 1e9, int(p), voice=int(v)) for s, p, v in zip(
        rng.integers(0, 8, 30000), rng.integers(0, 128, 30000), rng.integers(0, 40, 30000),
        strict=True)]
    ids = ENC.encode(Piece("dense", notes))
    assert ids.size == 4096 * 4 and ENC.vocab[ids[0]].startswith("NOTE_ON")
    assert (ids[1:] != 0).all()


@pytest.mark.parametrize("extra_cells", [4096, -10**9])  # one go; key by key
@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 40), st.integers(1, 40)),
                     min_size=1, max_size=40))
def test_top_keys_matches_brute_force(extra_cells, rows):
    """Both ways of finding the top key agree with a plain loop."""
    from composer.music import melody

    segments = {}  # key -> non-overlapping segments, as the encoder guarantees
    for key, start, length in rows:
        if all(start >= e or start + length <= s for s, e in segments.get(key, [])):
            segments.setdefault(key, []).append((start, start + length))
    flat = [(k, s, e) for k, spans in segments.items() for s, e in spans]
    key, first, last = (np.array(column) for column in zip(*flat, strict=True))
    steps = int(last.max())
    expected = [max([k for k, s, e in flat if s <= t < e], default=-1) for t in range(steps)]
    saved = melody._CELLS_EXTRA
    melody._CELLS_EXTRA = extra_cells
    try:
        assert melody._top_keys(key, first, last, steps).tolist() == expected
    finally:
        melody._CELLS_EXTRA = saved


# --- decode ---------------------------------------------------------------------


def test_decode_hand_written_row():
    row = ["NOTE_ON(60)", "HOLD", "REST", "NOTE_ON(62)", "NOTE_ON(64)", "HOLD", "HOLD"]
    ids = [ENC.token_id(t) for t in row]
    assert ENC.decode(ids) == melody_notes((0, 0.5, 60), (0.75, 1, 62), (1, 1.75, 64))


def test_hold_without_a_sounding_note_is_a_rest():
    row = ["HOLD", "HOLD", "NOTE_ON(60)", "REST", "HOLD", "NOTE_ON(61)"]
    ids = [ENC.token_id(t) for t in row]
    assert ENC.decode(ids) == melody_notes((0.5, 0.75, 60), (1.25, 1.5, 61))


def test_decode_uses_the_grid():
    enc = MelodyEncoding(steps_per_quarter=2)
    assert enc.decode([enc.token_id("NOTE_ON(60)"), 1, 1]) == melody_notes((0, 1.5, 60))


def test_decode_empty_and_silence():
    assert ENC.decode([]) == []
    assert ENC.decode(np.array([0, 1, 0], dtype=np.int32)) == []


@pytest.mark.parametrize("bad", [[50], [-1], [0, 1, 99]])
def test_decode_rejects_ids_out_of_range(bad):
    with pytest.raises(ValueError, match="out of range 0..49"):
        ENC.decode(bad)


def test_decode_rejects_non_integers():
    with pytest.raises(ValueError, match="integers"):
        ENC.decode([0.5, 1.0])


# --- settings -------------------------------------------------------------------


def test_config_round_trips_through_json():
    enc = MelodyEncoding(steps_per_quarter=3, min_pitch=40, max_pitch=90, line="voice:2")
    config = json.loads(json.dumps(enc.config()))
    assert config["name"] == "melody"
    again = encoding_from_config(config)
    assert again == enc and again.vocab == enc.vocab


def test_make_encoding_defaults():
    assert make_encoding("melody") == MelodyEncoding()


@pytest.mark.parametrize("settings, message", [
    ({"line": "top"}, "bad melody line 'top'"),
    ({"line": "program:200"}, "programs are 0..127"),
    ({"min_pitch": 60, "max_pitch": 70}, "at least 12 semitones"),
    ({"max_pitch": 128}, "max_pitch must be in 0..127"),
    ({"steps_per_quarter": 0}, "steps_per_quarter must be in 1..48"),
    ({"steps_per_quarter": 2.5}, "must be an integer"),
    ({"colour": "red"}, "bad settings for the melody encoding"),
])
def test_bad_settings_raise_data_error(settings, message):
    with pytest.raises(DataError, match=message):
        make_encoding("melody", **settings)


def test_unknown_encoding_name_lists_the_allowed_ones():
    with pytest.raises(DataError, match="unknown encoding 'drums'.*melody, performance"):
        make_encoding("drums")


@pytest.mark.parametrize("config", [None, [], {}, {"name": 3}, {"steps_per_quarter": 4}])
def test_encoding_from_config_rejects_non_configs(config):
    with pytest.raises(DataError, match="must be a dict with a 'name'"):
        encoding_from_config(config)


# --- properties -----------------------------------------------------------------

grid_tunes = st.lists(  # monophonic, on the grid, in range: (gap steps, length steps, pitch)
    st.tuples(st.integers(0, 5), st.integers(1, 9), st.integers(48, 95)),
    min_size=1, max_size=30)


def tune_from_gaps(rows, spq=4):
    notes, step = [], 0
    for gap, length, pitch in rows:
        step += gap
        notes.append(Note(step / spq, (step + length) / spq, pitch))
        step += length
    return notes


@settings(max_examples=150, deadline=None)
@given(grid_tunes, st.integers(0, 64))
def test_monophonic_grid_tune_round_trips(rows, offset):
    notes = tune_from_gaps(rows)
    shifted = [Note(n.start + offset / 4, n.end + offset / 4, n.pitch, 100, 3, 1) for n in notes]
    first = notes[0].start
    expected = melody_notes(*[(n.start - first, n.end - first, n.pitch) for n in notes])
    assert ENC.decode(ENC.encode(Piece("t", shifted))) == expected


any_notes = st.lists(
    st.builds(lambda s, d, p, v: Note(s, s + d, p, voice=v),
              st.floats(0, 20, allow_nan=False), st.floats(0.01, 6, allow_nan=False),
              st.integers(0, 127), st.integers(0, 3)),
    max_size=25)


@settings(max_examples=150, deadline=None)
@given(any_notes, st.sampled_from(["highest", "lowest", "voice:1", "program:0"]))
def test_any_notes_encode_to_a_fixed_point(notes, line):
    enc = MelodyEncoding(line=line)
    ids = enc.encode(Piece("t", notes))
    assert ids.dtype == np.int32 and ((ids >= 0) & (ids < enc.vocab_size)).all()
    if ids.size:
        assert enc.vocab[ids[0]].startswith("NOTE_ON") and ids[-1] != 0
    assert enc.encode(Piece("t", enc.decode(ids))).tolist() == ids.tolist()


def step(beats):
    return int(np.floor(beats * 4 + 0.5))


@settings(max_examples=150, deadline=None)
@given(any_notes)
def test_line_sounds_whenever_a_kept_note_sounds(notes):
    """Skyline: a step is REST exactly when no note left by the collision rule covers it."""
    ids = ENC.encode(Piece("t", notes))
    latest = {}  # (voice, start step) -> latest real start
    for n in notes:
        key = (n.voice, step(n.start))
        latest[key] = max(latest.get(key, n.start), n.start)
    kept = [n for n in notes if n.start == latest[n.voice, step(n.start)]]
    covered = np.zeros(ids.size, dtype=bool)
    origin = min((step(n.start) for n in kept), default=0)
    for n in kept:
        a = step(n.start)
        covered[a - origin:max(step(n.end), a + 1) - origin] = True
    assert ((ids != 0) == covered).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 49), max_size=60))
def test_any_ids_decode_deterministically_and_settle(ids):
    notes = ENC.decode(ids)
    assert notes == ENC.decode(np.array(ids, dtype=np.int32))
    assert all(n.end > n.start and 48 <= n.pitch <= 95 for n in notes)
    assert all(a.end <= b.start for a, b in zip(notes, notes[1:], strict=False))
    once = ENC.encode(Piece("t", notes))
    assert ENC.encode(Piece("t", ENC.decode(once))).tolist() == once.tolist()


well_formed = st.lists(  # rows of (rests before, pitch id, holds after)
    st.tuples(st.integers(0, 4), st.integers(2, 49), st.integers(0, 6)), min_size=1)


@settings(max_examples=150, deadline=None)
@given(well_formed)
def test_well_formed_tokens_round_trip_exactly(rows):
    ids = []
    for i, (rests, pitch_id, holds) in enumerate(rows):
        ids += [0] * (rests if i else 0) + [pitch_id] + [1] * holds
    assert ENC.encode(Piece("t", ENC.decode(ids))).tolist() == ids


# --- through MIDI files -----------------------------------------------------------


def midi_round_trip(notes, enc, folder):
    """notes -> MIDI file -> Piece -> tokens -> notes -> MIDI file -> Piece."""
    from composer.music.midi import read_midi, write_midi

    write_midi(folder / "in.mid", notes)
    ids = enc.encode(read_midi(folder / "in.mid")[0])
    write_midi(folder / "out.mid", enc.decode(ids))
    return ids, read_midi(folder / "out.mid")[0].notes


def test_midi_file_by_hand(tmp_path):
    # a pickup eighth (leading silence trimmed), a dotted quarter slightly late, a grace note
    notes = [Note(0.5, 1, 67), Note(1.02, 2.5, 72), Note(2.95, 3, 76), Note(3, 4, 74)]
    ids, back = midi_round_trip(notes, ENC, tmp_path)
    assert ENC.tokens(ids) == ["NOTE_ON(67)", "HOLD", "NOTE_ON(72)"] + ["HOLD"] * 5 + [
        "REST", "REST", "NOTE_ON(74)", "HOLD", "HOLD", "HOLD"]
    assert [(n.start, n.end, n.pitch) for n in back] == [(0, 0.5, 67), (0.5, 2, 72), (2.5, 3.5, 74)]


@settings(max_examples=40, deadline=None)
@given(grid_tunes)
def test_monophonic_midi_keeps_every_quantized_note(rows):
    import tempfile
    from pathlib import Path

    notes = tune_from_gaps(rows)
    with tempfile.TemporaryDirectory() as folder:
        _, back = midi_round_trip(notes, ENC, Path(folder))
    first = notes[0].start
    assert [(n.start, n.end, n.pitch) for n in back] == [
        (n.start - first, n.end - first, n.pitch) for n in notes]


def shipped_tunes(every=10):
    """Every `every`-th file of the shipped corpus, with its notes on the 16th grid."""
    from pathlib import Path

    from composer.music.midi import read_midi

    files = sorted(Path(__file__).resolve().parent.parent.glob("data/*/*.mid"))[::every]
    if not files:
        pytest.skip("the shipped corpus (data/) is not there")
    for path in files:
        notes = read_midi(path)[0].notes
        spans = [(step(n.start), max(step(n.end), step(n.start) + 1), n.pitch) for n in notes]
        yield path, spans


def test_shipped_tunes_keep_every_quantized_note(tmp_path):
    from composer.music.midi import read_midi, write_midi

    clean = checked = 0
    for path, spans in shipped_tunes():
        checked += 1
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False)):
            continue  # notes that round onto each other (32nd notes, 16th triplets)
        clean += 1
        write_midi(tmp_path / "out.mid", ENC.decode(ENC.encode(read_midi(path)[0])))
        out = read_midi(tmp_path / "out.mid")[0].notes
        back = [(step(n.start), step(n.end), n.pitch) for n in out]
        origin = spans[0][0]
        assert back == [(a - origin, b - origin, p) for a, b, p in spans], path
    assert clean >= 0.7 * checked
