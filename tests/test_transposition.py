"""Transposition on token ids (what training applies on the fly) against encoding moved notes."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.music.melody import MelodyEncoding
from composer.music.notes import Note, Piece, piece_metadata, restore_metadata, transpose
from composer.music.performance import PerformanceEncoding

ENCODINGS = [
    MelodyEncoding(),
    MelodyEncoding(line="lowest", steps_per_quarter=3),
    MelodyEncoding(line="voice:1", min_pitch=60, max_pitch=84),
    PerformanceEncoding(),
    PerformanceEncoding(min_pitch=48, max_pitch=72, max_shift=5, velocity_bins=3),
]


@st.composite
def pieces_and_shifts(draw, low, high):
    """(piece, shift): polyphonic notes, every pitch in low..high before and after the shift."""
    shift = draw(st.integers(-12, 12))
    pitches = st.integers(low + max(0, -shift), high - max(0, shift))
    note = st.builds(lambda s, d, p, v, voice: Note(s, s + d, p, v, 0, voice),
                     st.floats(0, 12, allow_nan=False), st.floats(0.01, 4, allow_nan=False),
                     pitches, st.integers(1, 127), st.integers(0, 2))
    return Piece("t", draw(st.lists(note, max_size=30))), shift


@pytest.mark.parametrize("enc", ENCODINGS, ids=repr)
def test_transposing_ids_equals_encoding_the_transposed_notes(enc):
    @settings(max_examples=150, deadline=None)
    @given(pieces_and_shifts(enc.min_pitch, enc.max_pitch))
    def check(case):
        piece, shift = case
        moved = enc.transpose_ids(enc.encode(piece), shift)
        assert moved.dtype == np.int32
        assert moved.tolist() == enc.encode(transpose(piece, shift)).tolist()

    check()


@pytest.mark.parametrize("enc", ENCODINGS, ids=repr)
def test_transposition_is_a_token_by_token_map_into_the_vocabulary(enc):
    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.integers(0, enc.vocab_size - 1), max_size=40), st.integers(-30, 30))
    def check(ids, shift):
        ids = np.array(ids, dtype=np.int64)
        moved = enc.transpose_ids(ids, shift)
        table = enc.transpose_tables([0, shift])
        assert moved.tolist() == table[1][ids].tolist()
        assert table[0].tolist() == list(range(enc.vocab_size))  # shift 0: identity
        assert ((moved >= 0) & (moved < enc.vocab_size)).all()
        if isinstance(enc, MelodyEncoding):  # same notes and times, pitch classes moved
            before, after = enc.decode(ids), enc.decode(moved)
            assert [(n.start, n.end) for n in before] == [(n.start, n.end) for n in after]
            assert [(n.pitch + shift) % 12 for n in before] == [n.pitch % 12 for n in after]

    check()


def test_window_of_a_sequence_transposes_like_the_whole():
    enc = MelodyEncoding()
    ids = np.array([[2, 1, 0, 14], [49, 1, 1, 3]])  # any shape: a batch of windows
    assert enc.transpose_ids(ids, 2).tolist() == [[4, 1, 0, 16], [39, 1, 1, 5]]  # 95+2 -> 85


def test_melody_edges_fold_by_octaves_as_documented():
    enc = MelodyEncoding()  # 48..95
    high = Piece("t", [Note(0, 1, 100)])  # encoded folded: 88
    ids = enc.encode(high)
    assert enc.tokens(ids) == ["NOTE_ON(88)", "HOLD", "HOLD", "HOLD"]
    assert enc.tokens(enc.transpose_ids(ids, 10))[0] == "NOTE_ON(86)"  # as encoding 110
    assert enc.tokens(enc.encode(transpose(high, 10)))[0] == "NOTE_ON(86)"
    assert enc.tokens(enc.transpose_ids(ids, -10))[0] == "NOTE_ON(78)"  # the folded 88 moved
    assert enc.tokens(enc.encode(transpose(high, -10)))[0] == "NOTE_ON(90)"  # 90 fits


def test_performance_edges_fold_note_on_and_note_off():
    enc = PerformanceEncoding()  # 21..108
    ids = enc.encode(Piece("t", [Note(0, 1, 107, 100)]))
    assert enc.tokens(enc.transpose_ids(ids, 3)) == [
        "VELOCITY(7)", "NOTE_ON(98)", "TIME_SHIFT(4)", "NOTE_OFF(98)"]


@pytest.mark.parametrize("shift, error", [(1.5, TypeError), (True, TypeError), ("2", TypeError)])
def test_bad_shifts(shift, error):
    with pytest.raises(error, match="shift must be an integer"):
        MelodyEncoding().transpose_ids([2, 3], shift)


def test_ids_out_of_range_are_refused():
    with pytest.raises(ValueError, match="token id 50 out of range 0..49"):
        MelodyEncoding().transpose_ids([2, 50], 1)


def test_piece_metadata_round_trip():
    piece = Piece("x.mid", [Note(0, 1, 60)], qpm=96.5, time_signature=(6, 8))
    meta = piece_metadata(piece)
    assert meta["qpm"] == 96.5 and meta["time_signature"] == [6, 8]
    assert json.loads(json.dumps(meta)) == meta  # JSON-able
    bare = Piece("x.mid", piece.notes)
    assert restore_metadata(bare, meta) == piece
    assert restore_metadata(bare, {}) == bare
