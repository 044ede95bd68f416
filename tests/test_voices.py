"""Voices: splitting sampled notes by register and continuity, and one MIDI track per voice."""

import io

import mido
import pytest

from composer.music.midi import write_midi
from composer.music.midi.reader import parse_midi
from composer.music.notes import Note
from composer.music.voices import assign_voices


def by_voice(notes):
    return {v: [(n.start, n.pitch) for n in notes if n.voice == v]
            for v in sorted({n.voice for n in notes})}


def test_four_part_chords_go_to_voices_by_rank():
    chords = [(0, [72, 67, 64, 48]), (1, [71, 67, 62, 55]), (2, [72, 64, 60, 48])]
    notes = [Note(t, t + 1, p) for t, chord in chords for p in chord]
    out = assign_voices(notes, 4)
    assert by_voice(out) == {v: [(t, chord[v]) for t, chord in chords] for v in range(4)}


def test_a_melody_dipping_under_a_held_bass_note_stays_in_its_voice():
    bass = [Note(0, 4, 55)]
    melody = [Note(t, t + 1, p) for t, p in enumerate([64, 60, 57, 53])]  # ends below the bass
    out = assign_voices(bass + melody, 2)
    assert by_voice(out) == {0: [(0, 64), (1, 60), (2, 57), (3, 53)], 1: [(0, 55)]}


def test_a_lone_line_keeps_its_voice_as_it_climbs_into_another_register():
    # both voices sing, then the lower one climbs alone to where the upper one began
    notes = [Note(0, 1, 76), Note(0, 1, 60)]
    notes += [Note(t, t + 1, p) for t, p in enumerate([62, 64, 66, 68, 70, 72], start=1)]
    out = assign_voices(notes, 2)
    assert by_voice(out) == {0: [(0, 76)], 1: [(t, p) for t, p in enumerate(
        [60, 62, 64, 66, 68, 70, 72])]}


def test_more_notes_than_voices_share_the_nearest_voice():
    notes = [Note(0, 1, p) for p in (72, 67, 64, 48)]  # one piano chord, two hands
    out = assign_voices(notes, 2)
    assert by_voice(out) == {0: [(0, 64), (0, 67), (0, 72)], 1: [(0, 48)]}


def test_programs_per_voice_and_bad_arguments():
    out = assign_voices([Note(0, 1, 72), Note(0, 1, 48)], 2, programs=[73, 32])
    assert [(n.pitch, n.program) for n in out] == [(48, 32), (72, 73)]
    assert assign_voices([], 3) == []
    with pytest.raises(ValueError, match="voices must be at least 1, not 0"):
        assign_voices([Note(0, 1, 60)], 0)
    with pytest.raises(ValueError, match="1 programs for 2 voices"):
        assign_voices([Note(0, 1, 60)], 2, programs=[0])


def test_writer_puts_each_voice_on_its_own_track():
    notes = [Note(0, 1, 72, 90, 73, 0), Note(1, 2, 74, 90, 73, 0),
             Note(0, 2, 60, 70, 73, 1), Note(0, 2, 48, 70, 32, 2)]
    buffer = io.BytesIO()
    write_midi(buffer, notes, by_voice=True)
    midi = mido.MidiFile(file=io.BytesIO(buffer.getvalue()))
    assert len(midi.tracks) == 4  # conductor + three voices, though only two programs
    names = [[m.name for m in t if m.type == "track_name"] for t in midi.tracks[1:]]
    assert names == [["voice 1"], ["voice 2"], ["voice 3"]]
    programs = [[m.program for m in t if m.type == "program_change"] for t in midi.tracks[1:]]
    assert programs == [[73], [73], [32]]
    pitches = [[m.note for m in t if m.type == "note_on"] for t in midi.tracks[1:]]
    assert pitches == [[72, 74], [60], [48]]
    back = parse_midi(buffer.getvalue())[0].notes
    assert sorted((n.start, n.pitch, n.voice) for n in back) == sorted(
        (n.start, n.pitch, n.voice) for n in notes)


def test_writer_without_by_voice_still_groups_by_program():
    notes = [Note(0, 1, 72, 90, 73, 0), Note(0, 1, 60, 90, 73, 1)]
    buffer = io.BytesIO()
    write_midi(buffer, notes)
    assert len(mido.MidiFile(file=io.BytesIO(buffer.getvalue())).tracks) == 2

