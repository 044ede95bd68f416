"""Tests for composer.music.midi: hostile files, reading rules, writing and the round trip.

MIDI files are written out as commented hex bytes, as mido's own tests do.
"""

import builtins
import io
import os
import struct
import time

import mido
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.constants import MAX_FILE_BYTES, MAX_PIECE_BEATS, TICKS_PER_BEAT
from composer.errors import MidiError
from composer.music.midi import parse_midi, read_midi, write_midi
from composer.music.midi import reader as midi_reader
from composer.music.notes import Note


def hexbytes(text: str) -> bytes:
    """Bytes from hex pairs, ignoring whitespace and '#' comments."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()))


def mtrk(events: str) -> bytes:
    """An MTrk chunk around hex `events`, with its length filled in."""
    body = hexbytes(events)
    return b"MTrk" + struct.pack(">I", len(body)) + body


def smf(*tracks: bytes, fmt: int = 1, division: int = 480) -> bytes:
    """A MIDI file: header chunk + the given MTrk chunks."""
    return b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division) + b"".join(tracks)


def spans(piece):
    """(start, end, pitch, velocity, program) of each note."""
    return [(n.start, n.end, n.pitch, n.velocity, n.program) for n in piece.notes]


def problem(data: bytes) -> str:
    """The problem text parse_midi reports for `data` (fails the test if it parses)."""
    with pytest.raises(MidiError) as info:
        parse_midi(data, "song.mid")
    assert info.value.path == "song.mid"
    assert str(info.value) == f"song.mid: {info.value.problem}"
    assert "\n" not in info.value.problem
    return info.value.problem


VALID = hexbytes("""
    4d 54 68 64 00 00 00 06   # "MThd", header length 6
    00 00 00 01 01 e0         # format 0, 1 track, 480 ticks per beat
    4d 54 72 6b 00 00 00 17   # "MTrk", 23 bytes follow
    00 ff 51 03 07 a1 20      # delta 0: set_tempo 500000 us per beat (120 qpm)
    00 c0 05                  # delta 0: program_change channel 0, program 5
    00 90 3c 40               # delta 0: note_on channel 0, pitch 60, velocity 64
    83 60 80 3c 00            # delta 480 (83 60): note_off pitch 60
    00 ff 2f 00               # delta 0: end_of_track
""")

# One note on channel 0 (pitch 60, beats 0..1), then end_of_track: the body of many fixtures.
ONE_NOTE = """
    00 90 3c 40               # delta 0: note_on pitch 60, velocity 64
    83 60 80 3c 00            # delta 480: note_off pitch 60
    00 ff 2f 00               # delta 0: end_of_track
"""


# --- Hostile and broken files: one case each -------------------------------------

HOSTILE = {
    "empty": (b"", "empty file"),
    "random bytes": (hexbytes("""
        9f 3a 00 c4 17 e2 5b 88 01 fe 7d 42 aa 10 06 d9   # no MThd anywhere
    """), "not a MIDI file"),
    "truncated header": (hexbytes("""
        4d 54 68 64 00 00 00 06   # "MThd", length 6
        00 01 00                  # ... and the file ends
    """), "file ends inside the header (truncated?)"),
    "header chunk too short": (hexbytes("""
        4d 54 68 64 00 00 00 04   # "MThd", length 4 (must be 6)
        00 00 00 01 01 e0
        4d 54 72 6b 00 00 00 04 00 ff 2f 00
    """), "header chunk is 4 bytes long, expected 6"),
    "header chunk too long": (hexbytes("""
        4d 54 68 64 00 00 01 00   # "MThd", length 256, but 6 bytes follow
        00 00 00 01 01 e0
    """), "header chunk claims 256 bytes but only 6 are left"),
    "unknown format": (hexbytes("""
        4d 54 68 64 00 00 00 06
        00 03 00 01 01 e0         # format 3
        4d 54 72 6b 00 00 00 04 00 ff 2f 00
    """), "unknown MIDI format 3"),
    "zero tracks": (hexbytes("""
        4d 54 68 64 00 00 00 06
        00 01 00 00 01 e0         # format 1, 0 tracks, 480 ticks per beat
    """), "no tracks"),
    "time division 0": (hexbytes("""
        4d 54 68 64 00 00 00 06
        00 00 00 01 00 00         # format 0, 1 track, 0 ticks per beat
        4d 54 72 6b 00 00 00 04 00 ff 2f 00
    """), "time division is 0 ticks per beat"),
    "SMPTE, 0 ticks per frame": (hexbytes("""
        4d 54 68 64 00 00 00 06
        00 00 00 01 e7 00         # SMPTE -25 fps, 0 ticks per frame
        4d 54 72 6b 00 00 00 04 00 ff 2f 00
    """), "time division is 0 ticks per frame"),
    "SMPTE, unknown frame rate": (hexbytes("""
        4d 54 68 64 00 00 00 06
        00 00 00 01 e9 28         # SMPTE -23 fps: not a frame rate
        4d 54 72 6b 00 00 00 04 00 ff 2f 00
    """), "unknown SMPTE frame rate 23"),
    "track chunk too long": (hexbytes("""
        4d 54 68 64 00 00 00 06 00 00 00 01 01 e0
        4d 54 72 6b 00 00 01 00   # "MTrk", 256 bytes claimed, 8 follow
        00 90 3c 40 00 ff 2f 00
    """), "chunk 'MTrk' at byte 14 claims 256 bytes but only 8 are left"),
    "track chunk too short": (hexbytes("""
        4d 54 68 64 00 00 00 06 00 00 00 01 01 e0
        4d 54 72 6b 00 00 00 03   # "MTrk", 3 bytes claimed, the events need 13
        00 90 3c 40 83 60 80 3c 00 00 ff 2f 00
    """), "track 0: an event runs past the end of its chunk"),
    "missing tracks": (hexbytes("""
        4d 54 68 64 00 00 00 06
        00 01 00 02 01 e0         # format 1, 2 tracks ...
        4d 54 72 6b 00 00 00 04 00 ff 2f 00   # ... but only one is there
    """), "file ends after 1 of 2 tracks (truncated?)"),
    "garbage instead of a chunk": (hexbytes("""
        4d 54 68 64 00 00 00 06 00 00 00 01 01 e0
        00 01 fe 80 00 00 00 04 00 ff 2f 00   # no chunk name
    """), "bytes 00 01 fe 80 at byte 14 are not a chunk name"),
    "unknown chunk too long": (hexbytes("""
        4d 54 68 64 00 00 00 06 00 00 00 01 01 e0
        58 46 49 48 00 00 10 00 00 00   # "XFIH", 4096 bytes claimed, 2 follow
    """), "chunk 'XFIH' at byte 14 claims 4096 bytes but only 2 are left"),
    "delta time longer than 4 bytes": (smf(mtrk("""
        ff ff ff ff 7f 90 3c 40   # a 5-byte delta time (mido's reader is quadratic on these)
        00 ff 2f 00
    """)), "track 0: a delta time or length at byte 0 is longer than 4 bytes"),
    "running status with no status": (smf(mtrk("""
        00 3c 40                  # data bytes with no status byte before them
        00 ff 2f 00
    """)), "track 0: data byte 0x3C at byte 1 with no status before it"),
    "data byte above 127": (smf(mtrk("""
        00 90 3c                  # note_on missing its velocity, so the 83 of ...
        83 60 80 3c 00            # ... the next delta time is read as one
        00 ff 2f 00
    """)), "track 0: data byte above 127 at byte 2 (a byte is missing?)"),
    "system message in a track": (smf(mtrk("""
        00 f4 00                  # 0xF4 is undefined
        00 ff 2f 00
    """)), "track 0: status byte 0xF4 at byte 1 does not belong in a file"),
    "meta event cut short": (smf(mtrk("""
        00 ff 03 10 61 62         # track name of 16 bytes, 2 follow, end of chunk
    """)), "track 0: an event runs past the end of its chunk"),
    "no notes": (smf(mtrk("""
        00 ff 51 03 07 a1 20      # set_tempo
        00 b0 07 64               # control_change volume
        00 ff 2f 00
    """)), "no notes"),
    "only drums": (smf(mtrk("""
        00 99 24 64               # note_on channel 10 (mido 9), bass drum
        83 60 89 24 00            # note_off
        00 ff 2f 00
    """)), "only drums (channel 10), no other notes"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_file_raises_midi_error_with_a_clear_problem(case):
    data, expected = HOSTILE[case]
    assert expected in problem(data)


def test_text_file_named_mid(tmp_path):
    path = tmp_path / "notes.mid"
    path.write_text("These are not the notes you are looking for.\n")
    with pytest.raises(MidiError, match="not a MIDI file") as info:
        read_midi(path)
    assert info.value.path == str(path)


def test_file_truncated_at_any_byte_is_refused():
    for size in range(len(VALID)):
        text = problem(VALID[:size])
        assert text == "empty file" or "truncated" in text, (size, text)


def test_unknown_chunk_is_skipped():
    data = VALID[:14] + hexbytes("""
        58 46 49 48 00 00 00 03   # "XFIH", an unknown chunk of 3 bytes
        01 02 03
    """) + VALID[14:]
    assert spans(parse_midi(data)[0]) == spans(parse_midi(VALID)[0])


def test_trailing_garbage_is_ignored():
    data = VALID + hexbytes("""
        00 00 de ad be ef 0a      # junk after the last declared track
    """)
    assert spans(parse_midi(data)[0]) == [(0.0, 1.0, 60, 64, 5)]


def test_file_larger_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.mid"
    with open(path, "wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: all zero bytes, "not a MIDI file" if read

    def no_open(*args, **kwargs):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(builtins, "open", no_open)
    with pytest.raises(MidiError, match=rf"file too large \({MAX_FILE_BYTES + 1} bytes"):
        read_midi(path)


def test_too_many_notes_are_refused(monkeypatch):
    monkeypatch.setattr(midi_reader, "MAX_NOTES", 2)
    data = smf(mtrk("""
        00 90 3c 40 83 60 80 3c 00   # 3 notes, one after the other
        00 90 3e 40 83 60 80 3e 00
        00 90 40 40 83 60 80 40 00
        00 ff 2f 00
    """))
    assert problem(data) == "too many notes (more than 2)"


def test_missing_file_and_folder_cannot_be_read(tmp_path):
    with pytest.raises(MidiError, match="cannot read: No such file"):
        read_midi(tmp_path / "missing.mid")
    with pytest.raises(MidiError, match="cannot read"):
        read_midi(tmp_path)


def test_huge_delta_times_are_cut_at_the_piece_limit_quickly():
    data = smf(mtrk("""
        00 90 3c 40               # note_on pitch 60 at tick 0
        ff ff ff 7f 80 3c 00      # delta 0x0fffffff ticks (559240 beats): note_off
        ff ff ff 7f 90 3e 40      # note_on pitch 62, far beyond the limit: dropped
        ff ff ff 7f ff 2f 00      # end_of_track, note 62 never switched off
    """))
    began = time.perf_counter()
    [piece] = parse_midi(data)
    assert time.perf_counter() - began < 0.5
    assert spans(piece) == [(0.0, float(MAX_PIECE_BEATS), 60, 64, 0)]


# --- Property tests: nothing but MidiError ---------------------------------------


def parses_or_refuses(data: bytes) -> None:
    try:
        pieces = parse_midi(data)
    except MidiError as exc:
        assert exc.problem and "\n" not in exc.problem
    else:
        assert all(piece.notes for piece in pieces)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_midi_error(data):
    parses_or_refuses(data)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120))
def test_random_events_in_a_valid_chunk_raise_only_midi_error(body):
    parses_or_refuses(smf(b"MTrk" + struct.pack(">I", len(body)) + body))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=4))
def test_corrupted_bytes_raise_only_midi_error(changes):
    data = bytearray(VALID)
    for index, value in changes:
        data[index] = value
    parses_or_refuses(bytes(data))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, len(VALID) - 1))
def test_truncations_raise_midi_error(size):
    with pytest.raises(MidiError):
        parse_midi(VALID[:size])


# --- Reading rules -----------------------------------------------------------------


def test_valid_file_reads_notes_tempo_and_defaults(tmp_path):
    path = tmp_path / "one.mid"
    path.write_bytes(VALID)
    [piece] = read_midi(path)
    assert piece.name == str(path)
    assert spans(piece) == [(0.0, 1.0, 60, 64, 5)]
    assert piece.qpm == 120.0 and piece.time_signature == (4, 4)


def test_drums_are_left_out():
    [piece] = parse_midi(smf(mtrk("""
        00 99 24 64               # note_on channel 10 (drums), pitch 36
        00 90 3c 40               # note_on channel 1, pitch 60
        83 60 89 24 00            # note_off drums
        00 80 3c 00               # note_off pitch 60
        00 ff 2f 00
    """)))
    assert spans(piece) == [(0.0, 1.0, 60, 64, 0)]


def test_note_on_with_velocity_0_is_a_note_off():
    [piece] = parse_midi(smf(mtrk("""
        00 90 3c 40               # note_on pitch 60, velocity 64
        83 60 3c 00               # delta 480, running status note_on pitch 60 velocity 0
        00 3e 50                  # note_on pitch 62 velocity 80
        81 70 3e 00               # delta 240: velocity 0 ends it
        00 ff 2f 00
    """)))
    assert spans(piece) == [(0.0, 1.0, 60, 64, 0), (1.0, 1.5, 62, 80, 0)]


def test_note_on_of_a_sounding_pitch_ends_it_and_extra_note_offs_are_ignored():
    [piece] = parse_midi(smf(mtrk("""
        00 90 3c 40               # tick 0: note_on pitch 60, velocity 64
        83 60 90 3c 64            # tick 480: note_on pitch 60 again, velocity 100
        83 60 80 3c 00            # tick 960: note_off ends the second note
        83 60 80 3c 00            # tick 1440: note_off with nothing sounding: ignored
        00 ff 2f 00
    """)))
    assert spans(piece) == [(0.0, 1.0, 60, 64, 0), (1.0, 2.0, 60, 100, 0)]


def test_note_off_after_note_on_at_the_same_tick_belongs_to_the_earlier_note():
    [piece] = parse_midi(smf(mtrk("""
        00 90 3c 40               # tick 0: note_on pitch 60
        83 60 90 3c 64            # tick 480: note_on pitch 60 (a repeated note) ...
        00 80 3c 00               # ... and the note_off of the first one, written after it
        00 90 3c 50               # a second note_on at tick 480: ignored
        83 60 80 3c 00            # tick 960: note_off of the second note
        00 ff 2f 00
    """)))
    assert spans(piece) == [(0.0, 1.0, 60, 64, 0), (1.0, 2.0, 60, 100, 0)]


def test_zero_length_notes_are_dropped():
    [piece] = parse_midi(smf(mtrk("""
        00 90 3c 40 00 80 3c 00   # pitch 60 on and off at tick 0
        00 90 3e 40 83 60 80 3e 00   # pitch 62, beats 0..1
        00 ff 2f 00
    """)))
    assert spans(piece) == [(0.0, 1.0, 62, 64, 0)]


def test_unterminated_note_ends_at_the_end_of_its_track():
    [with_end] = parse_midi(smf(mtrk("""
        00 90 3c 40               # note_on pitch 60, never switched off
        87 40 ff 2f 00            # delta 960: end_of_track
        00 90 3e 40 83 60 80 3e 00   # after end_of_track: ignored
    """)))
    assert spans(with_end) == [(0.0, 2.0, 60, 64, 0)]
    [without_end] = parse_midi(smf(mtrk("""
        00 90 3c 40               # note_on pitch 60, never switched off
        85 50 b0 07 64            # delta 720: control_change, the track's last event
    """)))
    assert spans(without_end) == [(0.0, 1.5, 60, 64, 0)]


def test_voices_are_track_and_channel_pairs_in_order_of_first_note():
    [piece] = parse_midi(smf(
        mtrk("00 ff 51 03 07 a1 20  00 ff 2f 00"),  # track 0: tempo only
        mtrk("""
            00 91 40 50           # track 1, channel 2: pitch 64 at beat 0
            83 60 81 40 00
            00 90 3c 50           # track 1, channel 1: pitch 60 at beat 1
            83 60 80 3c 00
            00 ff 2f 00
        """),
        mtrk("""
            81 70 90 43 50        # track 2, channel 1: pitch 67 at beat 0.5
            83 60 80 43 00
            00 ff 2f 00
        """),
    ))
    assert [(n.pitch, n.voice) for n in piece.notes] == [(64, 0), (67, 1), (60, 2)]


def test_program_is_the_latest_change_on_the_same_track_and_channel():
    [piece] = parse_midi(smf(
        mtrk("""
            00 c0 0a              # track 0, channel 1: program 10
            00 c1 28              # channel 2: program 40 (another channel)
            00 90 3c 40 83 60 80 3c 00   # pitch 60: program 10
            00 c0 14              # program 20 from here on
            00 90 3e 40 83 60 80 3e 00   # pitch 62: program 20
            00 ff 2f 00
        """),
        mtrk("""
            00 90 40 40 83 60 80 40 00   # track 1, channel 1, no change: program 0
            00 ff 2f 00
        """),
    ))
    assert [(n.pitch, n.program) for n in piece.notes] == [(60, 10), (64, 0), (62, 20)]


def test_first_tempo_and_time_signature_are_kept():
    [piece] = parse_midi(smf(
        mtrk("""
            00 ff 58 04 06 03 18 08   # time_signature 6/8 (denominator 2**3)
            8f 00 ff 58 04 03 02 18 08   # delta 1920: 3/4, later: ignored
            00 ff 2f 00
        """),
        mtrk("""
            00 ff 51 03 09 27 c0      # set_tempo 600000 us per beat: 100 qpm
            00 90 3c 40 83 60 80 3c 00
            00 ff 51 03 07 a1 20      # 120 qpm later: ignored
            00 ff 2f 00
        """),
    ))
    assert piece.qpm == 100.0
    assert piece.time_signature == (6, 8)


def test_format_2_gives_one_piece_per_track():
    data = smf(
        mtrk("""
            00 ff 51 03 09 27 c0      # song 0: 100 qpm
            00 90 3c 40 83 60 80 3c 00
            00 ff 2f 00
        """),
        mtrk("00 ff 2f 00"),          # song 1: empty, left out
        mtrk("""
            83 60 90 43 40 83 60 80 43 00   # song 2: pitch 67 at beat 1, default tempo
            00 ff 2f 00
        """),
        fmt=2,
    )
    first, last = parse_midi(data, "songs.mid")
    assert (first.name, first.qpm, spans(first)) == ("songs.mid#0", 100.0, [(0, 1, 60, 64, 0)])
    assert (last.name, last.qpm, spans(last)) == ("songs.mid#2", 120.0, [(1, 2, 67, 64, 0)])


@pytest.mark.parametrize(("tempo", "beats"), [("", 2.0), ("00 ff 51 03 0f 42 40", 1.0)])
def test_smpte_time_is_converted_to_beats_with_the_initial_tempo(tempo, beats):
    # 25 frames per second (e7 = -25) * 40 ticks per frame (28) = 1000 ticks per second
    data = smf(mtrk(f"""
        {tempo}                   # none (120 qpm) or set_tempo 1000000 us per beat (60 qpm)
        00 90 3c 40               # note_on at 0 s
        87 68 80 3c 00            # delta 1000 ticks = 1 s: note_off
        00 ff 2f 00
    """), fmt=0, division=0xE728)
    [piece] = parse_midi(data)
    assert spans(piece) == [(0.0, beats, 60, 64, 0)]


def test_notes_are_sorted_by_start_then_pitch():
    [piece] = parse_midi(smf(
        mtrk("00 90 43 40 87 40 80 43 00 00 ff 2f 00"),  # pitch 67, beats 0..2
        mtrk("83 60 90 30 40 83 60 80 30 00 00 ff 2f 00"),  # pitch 48, beats 1..2
        mtrk("00 90 3c 40 83 60 80 3c 00 00 ff 2f 00"),  # pitch 60, beats 0..1
    ))
    assert [(n.start, n.pitch) for n in piece.notes] == [(0, 60), (0, 67), (1, 48)]


# --- Writing -------------------------------------------------------------------------


def write_bytes(notes, **options) -> bytes:
    buffer = io.BytesIO()
    write_midi(buffer, notes, **options)
    return buffer.getvalue()


def test_write_read_round_trip_keeps_notes_tempo_and_metre(tmp_path):
    notes = [
        Note(0.0, 1.0, 60, 90, 0), Note(1.0, 2.0, 60, 91, 0),  # a repeated pitch
        Note(0.25, 0.5, 64, 1, 0), Note(0.5, 4.75, 72, 127, 40), Note(3.0, 3.25, 36, 50, 127),
    ]
    path = tmp_path / "out.mid"
    write_midi(path, notes, qpm=90.0, time_signature=(7, 8))
    [piece] = read_midi(path)
    assert spans(piece) == sorted(spans_of(notes))
    assert piece.qpm == pytest.approx(90.0, abs=1e-4)  # the file keeps whole microseconds
    assert piece.time_signature == (7, 8)
    assert os.listdir(tmp_path) == ["out.mid"]  # no temporary file left behind


def spans_of(notes):
    return [(n.start, n.end, n.pitch, n.velocity, n.program) for n in notes]


note_on_grid = st.builds(
    lambda start, length, pitch, velocity, program: Note(
        start / 4, (start + length) / 4, pitch, velocity, program),
    st.integers(0, 64), st.integers(1, 16), st.integers(0, 127), st.integers(1, 127),
    st.sampled_from([0, 5, 33]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(note_on_grid, min_size=1, max_size=12))
def test_round_trip_is_exact_on_a_sixteenth_note_grid(notes):
    kept = []  # notes whose (program, pitch) does not overlap an earlier kept note
    for note in notes:
        if all(not (k.program == note.program and k.pitch == note.pitch
                    and k.start < note.end and note.start < k.end) for k in kept):
            kept.append(note)
    [piece] = parse_midi(write_bytes(kept))
    assert sorted(spans(piece)) == sorted(spans_of(kept))


def test_file_layout_tempo_track_then_one_track_per_program():
    data = write_bytes([Note(0, 1, 60, 80, 7), Note(0, 1, 64, 80, 3)], qpm=150.0)
    midi = mido.MidiFile(file=io.BytesIO(data))
    assert (midi.type, midi.ticks_per_beat, len(midi.tracks)) == (1, TICKS_PER_BEAT, 3)
    assert [m.type for m in midi.tracks[0]] == ["set_tempo", "time_signature", "end_of_track"]
    assert midi.tracks[0][0].tempo == 400_000
    firsts = [(track[0].type, track[0].program, track[0].channel) for track in midi.tracks[1:]]
    assert firsts == [("program_change", 3, 0), ("program_change", 7, 1)]
    assert all(track[-1].type == "end_of_track" for track in midi.tracks)


def test_programs_never_get_the_drum_channel():
    notes = [Note(0, 1, 60, 80, program) for program in range(12)]
    midi = mido.MidiFile(file=io.BytesIO(write_bytes(notes)))
    channels = [track[0].channel for track in midi.tracks[1:]]
    assert channels == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]


def test_note_offs_come_before_note_ons_at_the_same_tick():
    data = write_bytes([Note(0, 1, 60, 80), Note(1, 2, 60, 81), Note(1, 2, 59, 82)])
    track = mido.MidiFile(file=io.BytesIO(data)).tracks[1]
    events, now = [], 0
    for message in track:
        now += message.time
        if message.type.startswith("note"):
            events.append((now, message.type, message.note))
    assert events == [
        (0, "note_on", 60), (480, "note_off", 60), (480, "note_on", 59), (480, "note_on", 60),
        (960, "note_off", 59), (960, "note_off", 60),
    ]


def test_a_repeated_pitch_never_overlaps_itself():
    notes = [Note(0, 2, 60, 80), Note(1, 3, 60, 90), Note(1, 1.5, 60, 70), Note(0, 1, 62, 80)]
    [piece] = parse_midi(write_bytes(notes))
    assert spans(piece) == [(0, 1, 60, 80, 0), (0, 1, 62, 80, 0), (1, 3, 60, 90, 0)]


def test_program_and_velocity_overrides():
    notes = [Note(0, 1, 60, 30, 5), Note(1, 2, 62, 40, 9)]
    [piece] = parse_midi(write_bytes(notes, program=24, velocity=100))
    assert spans(piece) == [(0, 1, 60, 100, 24), (1, 2, 62, 100, 24)]


def test_write_replaces_an_existing_file(tmp_path):
    path = tmp_path / "out.mid"
    path.write_bytes(b"old")
    write_midi(str(path), [Note(0, 1, 60)])
    assert spans(read_midi(path)[0]) == [(0, 1, 60, 80, 0)]
    assert os.listdir(tmp_path) == ["out.mid"]


def test_write_into_a_missing_folder_raises_midi_error(tmp_path):
    with pytest.raises(MidiError, match="cannot write: No such file or directory"):
        write_midi(tmp_path / "missing" / "out.mid", [Note(0, 1, 60)])


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"qpm": 0.0}, ValueError, "qpm must be"),
    ({"qpm": float("nan")}, ValueError, "qpm must be"),
    ({"qpm": "fast"}, TypeError, "qpm must be a number"),
    ({"time_signature": (0, 4)}, ValueError, "numerator must be in 1..255"),
    ({"time_signature": (3, 3)}, ValueError, "denominator must be one of"),
    ({"program": 128}, ValueError, "program must be in 0..127"),
    ({"velocity": 0}, ValueError, "velocity must be in 1..127"),
    ({"notes": [Note(1, 1, 60)]}, ValueError, "0 <= start < end"),
    ({"notes": [Note(0, 1, 128)]}, ValueError, "pitch must be in 0..127"),
    ({"notes": [Note(0, 1, 60, velocity=0)]}, ValueError, "velocity must be in 1..127"),
    ({"notes": [(0, 1, 60)]}, TypeError, "Note objects"),
])
def test_bad_write_arguments_are_refused(tmp_path, options, error, match):
    options = dict(options)
    notes = options.pop("notes", [Note(0, 1, 60)])
    with pytest.raises(error, match=match):
        write_midi(tmp_path / "out.mid", notes, **options)
    assert os.listdir(tmp_path) == []
