"""Reading time signatures, key signatures and chord symbols (composer.music.midi.marks),
and a Piece's metadata as JSON (composer.music.notes.piece_metadata / restore_metadata).

Files are written as commented hex bytes, as in test_midi_io.
"""

import json

import mido
import pytest
from test_midi_io import ONE_NOTE, mtrk, smf

from composer.constants import CHORD_PROGRAM, CHORD_VELOCITY
from composer.errors import MidiError, MusicError
from composer.music.keys import key_signature, parse_key, piece_keys
from composer.music.midi import marks as midi_marks
from composer.music.midi import parse_midi, read_midi, write_midi
from composer.music.notes import (
    ChordSymbol,
    KeySignature,
    Note,
    Piece,
    TimeSignature,
    piece_metadata,
    restore_metadata,
    transpose,
    transpose_sharps,
)

CONDUCTOR = mtrk("""
    00 ff 58 04 06 03 18 08   # tick 0: time signature 6/8 (denominator 2**3)
    00 ff 59 02 02 00         # tick 0: key signature 2 sharps, major (D major)
    00 ff 59 02 02 00         # tick 0: the same again: not a change, dropped
    8b 20 ff 58 04 02 02 18 08  # tick 1440 (beat 3): 2/4
    00 ff 59 02 ff 01         # tick 1440: 1 flat, minor (D minor)
    00 ff 58 04 03 02 18 08   # tick 1440 again: 3/4 at the same time, the first one wins
    83 60 ff 58 04 02 02 18 08  # tick 1920: 2/4 again, no change: dropped
    00 ff 2f 00
""")


def test_time_signature_changes_and_key_signatures_are_read():
    piece = parse_midi(smf(CONDUCTOR, mtrk(ONE_NOTE)), "song.mid")[0]
    assert piece.time_signatures == [TimeSignature(0.0, 6, 8), TimeSignature(3.0, 2, 4)]
    assert piece.time_signature == (6, 8)  # the first one, as before
    assert piece.key_signatures == [KeySignature(0.0, 2, False), KeySignature(3.0, -1, True)]
    assert piece.chords == []


@pytest.mark.parametrize("event", [
    "00 ff 59 02 08 00",      # 8 sharps
    "00 ff 59 02 f8 00",      # 8 flats (-8 as a signed byte)
    "00 ff 59 02 00 02",      # mode flag 2: neither major nor minor
    "00 ff 59 01 00",         # one byte instead of two
    "00 ff 58 04 00 02 18 08",  # numerator 0
    "00 ff 58 04 03 07 18 08",  # denominator 2**7
])
def test_nonsense_signatures_are_ignored(event):
    piece = parse_midi(smf(mtrk(event + ONE_NOTE)), "song.mid")[0]
    assert piece.key_signatures == [] and piece.time_signatures == []
    assert piece.time_signature == (4, 4)


def text(kind: int, words: str, delta: str = "00") -> str:
    """Hex of a text-like meta event (kind 01 text, 06 marker) at `delta`."""
    data = words.encode("latin-1")
    return f"{delta} ff {kind:02x} {len(data):02x} {data.hex(' ')}"


def test_chord_symbols_come_from_markers_and_texts():
    chords = mtrk("\n".join([
        text(0x06, "Am"),                  # tick 0: marker Am
        text(0x06, "G7", "83 60"),         # tick 480 (beat 1)
        text(0x01, "C/E", "83 60"),        # tick 960: a text event counts too
        text(0x06, "Bbmaj7", "83 60"),     # tick 1440
        "00 ff 2f 00",
    ]))
    piece = parse_midi(smf(chords, mtrk(ONE_NOTE)), "song.mid")[0]
    assert piece.chords == [ChordSymbol(0.0, "Am"), ChordSymbol(1.0, "G7"),
                            ChordSymbol(2.0, "C/E"), ChordSymbol(3.0, "Bbmaj7")]


def test_lyrics_and_comments_are_not_taken_for_chords():
    words = mtrk("\n".join([
        text(0x01, "music21 corpus: oneills1850/0001-0050.abc#X:1"),  # not a chord
        text(0x01, "Do"), text(0x01, "you"), text(0x01, "hear"),  # "Do" reads as D dim
        "00 ff 2f 00",
    ]))
    piece = parse_midi(smf(words, mtrk(ONE_NOTE)), "song.mid")[0]
    assert piece.chords == []  # 1 of 4 texts reads as a chord: below CHORD_TEXT_SHARE


CHORD_TRACK = mtrk("""
    00 ff 03 06 43 68 6f 72 64 73   # track name "Chords"
    00 90 30 50 00 90 34 50 00 90 37 50   # tick 0: C3 E3 G3 (C major)
    8f 00 80 30 00 00 80 34 00 00 80 37 00   # tick 1920: all off
    00 90 2d 50 00 90 30 50 00 90 34 50   # tick 1920: A2 C3 E3 (A minor)
    83 60 80 2d 00 00 80 30 00 00 80 34 00   # tick 2400: off; nothing until the end
    00 ff 2f 00
""")


def test_a_chord_track_gives_chords_and_no_melody_notes():
    piece = parse_midi(smf(CHORD_TRACK, mtrk(ONE_NOTE)), "song.mid")[0]
    assert [n.pitch for n in piece.notes] == [60]  # only the melody track's note
    assert piece.chords == [ChordSymbol(0.0, "C"), ChordSymbol(4.0, "Am"),
                            ChordSymbol(5.0, "N.C.")]


def test_chord_symbols_win_over_a_chord_tracks_notes():
    marker = mtrk(text(0x06, "F") + " 00 ff 2f 00")
    piece = parse_midi(smf(marker, CHORD_TRACK, mtrk(ONE_NOTE)), "song.mid")[0]
    assert piece.chords == [ChordSymbol(0.0, "F")]


def test_a_file_with_only_a_chord_track_has_no_notes():
    with pytest.raises(MidiError, match="only a chord track, no other notes"):
        parse_midi(smf(CHORD_TRACK), "song.mid")


def test_marks_are_capped_per_file(monkeypatch):
    monkeypatch.setattr(midi_marks, "MAX_MARKS", 2)
    many = "".join(f"83 60 ff 58 04 0{n} 02 18 08 " for n in (2, 3, 4, 5))  # 2/4 3/4 4/4 5/4
    piece = parse_midi(smf(mtrk(many + "00 ff 2f 00"), mtrk(ONE_NOTE)), "song.mid")[0]
    assert [(s.numerator, s.beat) for s in piece.time_signatures] == [(2, 1.0), (3, 2.0)]


def test_format_2_songs_keep_their_own_marks():
    first = mtrk("00 ff 58 04 06 03 18 08\n" + text(0x06, "D") + ONE_NOTE)
    second = mtrk("00 ff 59 02 fd 01\n" + ONE_NOTE)  # 3 flats, minor (C minor)
    one, two = parse_midi(smf(first, second, fmt=2), "song.mid")
    assert one.time_signature == (6, 8) and one.chords == [ChordSymbol(0.0, "D")]
    assert one.key_signatures == []
    assert two.time_signature == (4, 4) and two.key_signatures == [KeySignature(0.0, -3, True)]


# --- Metadata as JSON --------------------------------------------------------------

FULL = Piece(
    "tune.mid",
    [Note(0.0, 1.0, 62)],
    qpm=96.0,
    time_signature=(6, 8),
    time_signatures=[TimeSignature(0.0, 6, 8), TimeSignature(12.0, 9, 8)],
    key_signatures=[KeySignature(0.0, 2, False), KeySignature(6.0, -3, True)],
    chords=[ChordSymbol(0.0, "D"), ChordSymbol(3.0, "A7"), ChordSymbol(6.0, "N.C.")],
)


def test_metadata_round_trips_through_json():
    meta = json.loads(json.dumps(piece_metadata(FULL)))
    assert "notes" not in meta
    bare = Piece("other", FULL.notes)
    assert restore_metadata(bare, meta) == FULL
    assert isinstance(restore_metadata(bare, meta).key_signatures[0].minor, bool)


def test_restoring_old_metadata_keeps_the_pieces_own_values():
    old = {"qpm": 90.0, "time_signature": [3, 4]}  # what an older cache stored
    restored = restore_metadata(Piece("x.mid", FULL.notes, chords=FULL.chords), old)
    assert (restored.name, restored.qpm, restored.time_signature) == ("x.mid", 90.0, (3, 4))
    assert restored.chords == FULL.chords and restored.time_signatures == []


@pytest.mark.parametrize(("sharps", "semitones", "moved"), [
    (0, 2, 2),     # C -> D major: 2 sharps
    (2, -2, 0),    # D -> C
    (0, 1, -5),    # C -> Db (5 flats), not C# (7 sharps)
    (0, 6, 6),     # C -> F# (6 sharps), not Gb (6 flats)
    (-1, 12, -1),  # an octave changes nothing
])
def test_key_signatures_move_round_the_circle_of_fifths(sharps, semitones, moved):
    assert transpose_sharps(sharps, semitones) == moved


def test_transposing_a_piece_moves_its_key_signatures_and_chords():
    moved = transpose(FULL, 3)
    assert [n.pitch for n in moved.notes] == [65]
    assert moved.key_signatures == [KeySignature(0.0, -1, False), KeySignature(6.0, 6, True)]
    assert [c.symbol for c in moved.chords] == ["F", "C7", "N.C."]
    assert moved.time_signatures == FULL.time_signatures


# --- Writing them: round trips ---------------------------------------------------------

SONG = [Note(float(k), k + 1.0, 60 + k % 7, program=40) for k in range(16)]
METERS = [TimeSignature(0.0, 6, 8), TimeSignature(12.0, 2, 4)]
KEYS = [KeySignature(0.0, 2, False), KeySignature(12.0, -3, True)]
CHORDS = [ChordSymbol(0.0, "D"), ChordSymbol(3.0, "A7"), ChordSymbol(6.0, "Bm"),
          ChordSymbol(9.0, "N.C."), ChordSymbol(12.0, "Cm"), ChordSymbol(14.0, "G7/B")]


def written(tmp_path, **marks) -> Piece:
    path = tmp_path / "song.mid"
    write_midi(path, SONG, qpm=100, **marks)
    return read_midi(path)[0]


def test_metre_keys_and_chords_round_trip(tmp_path):
    piece = written(tmp_path, time_signatures=METERS, key_signatures=KEYS, chords=CHORDS)
    assert piece.time_signatures == METERS and piece.time_signature == (6, 8)
    assert piece.key_signatures == KEYS
    assert piece.chords == CHORDS
    assert piece.notes == SONG  # the chord track's notes are not the piece's


def test_the_chord_track_alone_gives_the_chords_back(tmp_path):
    write_midi(tmp_path / "song.mid", SONG, chords=CHORDS)
    midi = mido.MidiFile(tmp_path / "song.mid")
    for track in midi.tracks:  # blank the markers (keeping their times): only blocks remain
        track[:] = [mido.MetaMessage("text", text="", time=m.time) if m.type == "marker" else m
                    for m in track]
    midi.save(tmp_path / "blocks.mid")
    piece = read_midi(tmp_path / "blocks.mid")[0]
    assert piece.chords == CHORDS + [ChordSymbol(16.0, "N.C.")]  # silent after the notes


def test_the_chord_track_is_named_and_has_a_channel_of_its_own(tmp_path):
    write_midi(tmp_path / "song.mid", SONG, chords=CHORDS)
    conductor, melody, chords = mido.MidiFile(tmp_path / "song.mid").tracks
    assert [m.text for m in conductor if m.type == "marker"] == [c.symbol for c in CHORDS]
    assert chords.name == "Chords"
    on = [m for m in chords if m.type == "note_on"]
    assert {m.channel for m in on} == {1} and {m.channel for m in melody if m.type == "note_on"} \
        == {0}
    assert {m.velocity for m in on} == {CHORD_VELOCITY}
    assert [m.program for m in chords if m.type == "program_change"] == [CHORD_PROGRAM]
    first = sorted(m.note for m in on[:4])
    assert first == [38, 50, 54, 57]  # D: D2 under D3 F#3 A3


def test_a_key_with_a_mode_is_written_as_its_signature(tmp_path):
    piece = written(tmp_path, key_signatures=[key_signature(parse_key("A dorian"))])
    assert piece.key_signatures == [KeySignature(0.0, 1, False)]
    assert piece_keys(piece)[0][1].sharps == 1


@pytest.mark.parametrize(("marks", "error", "problem"), [
    ({"key_signatures": [KeySignature(0.0, 8, False)]}, ValueError,
     "key signature sharps must be in -7..7"),
    ({"chords": [ChordSymbol(0.0, "H7")]}, MusicError, "bad chord symbol 'H7'"),
    ({"time_signatures": [TimeSignature(0.0, 3, 3)]}, ValueError, "denominator must be one of"),
    ({"chords": [ChordSymbol(-1.0, "C")]}, ValueError, "a chord needs a finite beat >= 0"),
    ({"time_signatures": [TimeSignature(0.0, 0, 4)]}, ValueError, "numerator must be in 1..255"),
])
def test_bad_marks_are_refused_before_writing(tmp_path, marks, error, problem):
    with pytest.raises(error, match=problem):
        write_midi(tmp_path / "song.mid", SONG, **marks)
    assert list(tmp_path.iterdir()) == []
