"""Sheet music out: ABC and MusicXML read back with the same notes, repeats folded from the
notes, and what a musician sees (header, beams, endings, chords, accidentals, triplets)."""

import random
from pathlib import Path

import pytest

from composer.music.abc import parse_abc
from composer.music.abc.writer import abc_text
from composer.music.encoding import note_arrays
from composer.music.keys import parse_key
from composer.music.melody import MelodyEncoding
from composer.music.meter import single_meter
from composer.music.midi import read_midi
from composer.music.notation.musicxml import musicxml_text
from composer.music.notes import ChordSymbol, KeySignature, Note, Piece, TimeSignature

DATA = Path(__file__).resolve().parents[1] / "data"
MELODY = MelodyEncoding()


def grid(piece):
    """(first step, melody tokens): the notes on the sixteenth grid, as training sees them."""
    cols = note_arrays(piece.notes)
    return MELODY.first_step(cols), MELODY.encode_columns(cols).tolist()


def jig(bars, meter=(6, 8), sharps=2) -> Piece:
    """A piece of eighth notes, one string of pitches per bar."""
    notes, beat = [], 0.0
    for bar in bars:
        for pitch in bar:
            notes.append(Note(beat, beat + 0.5, pitch))
            beat += 0.5
    return Piece("t", notes, time_signature=meter, time_signatures=[TimeSignature(0, *meter)],
                 key_signatures=[KeySignature(0, sharps, False)])


def body(text: str) -> list[str]:
    return text.split("\nK:", 1)[1].splitlines()[1:]


A = [62, 66, 69, 74, 69, 66]
B = [64, 67, 71, 76, 71, 67]
C = [66, 69, 74, 78, 74, 69]
E1, E2 = [69, 67, 66, 64, 62, 64], [62, 62, 62, 62, 62, 62]


def test_a_played_out_part_is_written_once_with_endings():
    piece = jig([A, B, C, E1, A, B, C, E2])
    text = abc_text(piece, "Jig", meter=single_meter((6, 8)))
    assert body(text) == ["|: DFA dAF | EGB eBG | FAd fdA |1 AGF EDE :|", "[2 DDD DDD |]"]
    assert grid(parse_abc(text)[0]) == grid(piece)


def test_header_beams_by_beat_and_mode():
    piece = jig([A, B])
    text = abc_text(piece, "A Jig", meter=single_meter((6, 8)), keys=[(0, parse_key("D"))])
    assert text.splitlines()[:6] == ["X:1", "T:A Jig", "M:6/8", "L:1/8", "Q:1/4=120", "K:D"]
    assert body(text) == ["DFA dAF | EGB eBG |]"]  # 3 + 3 in 6/8
    dorian = Piece("t", [Note(0, 1, 62), Note(1, 2, 65), Note(2, 3, 72), Note(3, 4, 62)],
                   key_signatures=[KeySignature(0, 0, False)])
    assert "K:Ddor" in abc_text(dorian, meter=single_meter((4, 4)))


def test_chords_accidentals_triplets_ties_and_broken_rhythm():
    third = 1 / 3
    notes = [Note(0, 0.75, 62), Note(0.75, 1, 64), Note(1, 1 + third, 66),
             Note(1 + third, 1 + 2 * third, 67), Note(1 + 2 * third, 2, 69),
             Note(2, 2.5, 65), Note(2.5, 3, 65), Note(3, 5, 72), Note(5, 6, 65)]
    piece = Piece("t", notes, key_signatures=[KeySignature(0, 2, False)],
                  chords=[ChordSymbol(0, "D"), ChordSymbol(3, "Am7")])
    text = abc_text(piece, meter=single_meter((4, 4)))
    assert body(text) == ['"D"D>E (3FGA =F=F "Am7"=c2- | =c2 =F2 |]']
    back = parse_abc(text)[0]
    assert [(round(n.start, 6), round(n.end, 6), n.pitch) for n in back.notes] == \
        [(round(n.start, 6), round(n.end, 6), n.pitch) for n in notes]
    assert [(c.beat, c.symbol) for c in back.chords] == [(0, "D"), (3, "Am7")]


def test_part_markers_choose_where_repeats_start():
    piece = jig([A, B, A, B, C, E1, C, E1])
    meter = single_meter((6, 8))
    assert body(abc_text(piece, meter=meter)) == ["|: DFA dAF | EGB eBG :|",
                                                  "|: FAd fdA | AGF EDE :|"]
    assert body(abc_text(piece, meter=meter, hints=[12.0])) == [
        "DFA dAF | EGB eBG | DFA dAF | EGB eBG |", "|: FAd fdA | AGF EDE :|"]


@pytest.mark.parametrize("voices", [1, 2])
def test_voices_are_written_apart(voices):
    notes = [Note(k, k + 1, 72 + k, voice=0) for k in range(4)]
    if voices == 2:
        notes += [Note(k, k + 1, 48 + k, voice=1) for k in range(4)]
    text = abc_text(Piece("t", sorted(notes)), meter=single_meter((4, 4)))
    assert text.count("V:") == (2 if voices == 2 else 0)
    back = parse_abc(text)[0]
    assert sorted((n.voice, n.pitch) for n in back.notes) == sorted(
        (n.voice, n.pitch) for n in notes)


def sample_of_data(count: int, seed: int = 0) -> list[Path]:
    files = sorted(DATA.glob("*/*.mid"))
    return random.Random(seed).sample(files, count)


def test_tunes_of_data_read_back_with_the_same_notes():
    """A seeded sample here; tools/abc_figures.py --round-trip measures all 966."""
    wrong = []
    for path in sample_of_data(40):
        piece = read_midi(path)[0]
        if grid(parse_abc(abc_text(piece))[0]) != grid(piece):
            wrong.append(path.name)
    assert wrong == []


def m21_grid(text: str, fmt: str):
    """The notes music21 reads from `text`, repeats played out and ties joined."""
    converter = pytest.importorskip("music21.converter")
    score = converter.parse(text, format=fmt)
    part = score.parts[0].expandRepeats().stripTies()
    notes = [Note(float(n.offset), float(n.offset + n.duration.quarterLength),
                  max(p.midi for p in n.pitches))
             for n in part.flatten().notes if n.duration.quarterLength > 0]
    return grid(Piece("m21", sorted(notes)))


@pytest.mark.parametrize("fmt", ["abc", "musicxml"])
def test_another_reader_reads_the_same_notes(fmt):
    write = abc_text if fmt == "abc" else musicxml_text
    for path in sample_of_data(6, seed=1):
        piece = read_midi(path)[0]
        assert m21_grid(write(piece, "t"), fmt) == grid(piece), path.name


def test_musicxml_has_metre_key_harmony_parts_and_repeats():
    piece = jig([A, B, C, E1, A, B, C, E2])
    piece.chords = [ChordSymbol(0, "D"), ChordSymbol(3, "Em"), ChordSymbol(9, "A7/C#"),
                    ChordSymbol(12, "D"), ChordSymbol(15, "Em"), ChordSymbol(21, "D")]
    text = musicxml_text(piece, "Jig", meter=single_meter((6, 8)))
    for part in ("<beats>6</beats><beat-type>8</beat-type>",
                 "<fifths>2</fifths><mode>major</mode>", "<rehearsal>A</rehearsal>",
                 '<repeat direction="forward"/>', '<repeat direction="backward"/>',
                 '<ending number="1" type="start">', '<ending number="2" type="start">',
                 "<root-step>A</root-step></root>", "<kind", "<bass-step>C</bass-step>"):
        assert part in text, part
    verovio = pytest.importorskip("verovio")
    toolkit = verovio.toolkit()
    assert toolkit.loadData(text) and toolkit.getPageCount() == 1


def test_part_markers_of_a_midi_file_are_read_as_its_parts(tmp_path):
    import mido

    from composer.music.files import read_music
    from composer.music.notes import PartMark

    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("marker", text="Part A", time=0))
    track.append(mido.MetaMessage("marker", text="Am", time=0))  # a chord, not a part
    track.append(mido.MetaMessage("marker", text="Part B", time=480 * 12))
    track.append(mido.Message("note_on", note=60, velocity=80, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=480))
    midi.tracks.append(track)
    path = tmp_path / "parts.mid"
    midi.save(path)
    piece = read_music(path)[0]
    assert piece.parts == [PartMark(0.0, "A"), PartMark(12.0, "B")]
    assert [c.symbol for c in piece.chords] == ["Am"]  # the chord marker stays a chord
