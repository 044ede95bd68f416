"""The ABC reader: what each part of a tune means, repeats played out, and broken tunes.

Tunes are written out in the tests, as mido's tests write MIDI bytes. Times are in beats
(quarter notes); ABC's C is MIDI 60, c is 72.
"""

import re
import time
import tracemalloc

import pytest

from composer.errors import AbcError
from composer.music.abc import parse_abc, parse_abc_book, read_abc, read_abc_book
from composer.music.abc.repeats import play_order


def tune(body: str, header: str = "M:4/4\nL:1/8\nK:C") -> str:
    return f"X:1\nT:Test\n{header}\n{body}\n"


def notes(text: str, **options) -> list[tuple[float, float, int]]:
    piece, = parse_abc(text, "t.abc", **options)
    return [(n.start, n.end, n.pitch) for n in piece.notes]


def pitches(body: str, header: str = "M:4/4\nL:1/8\nK:C") -> list[int]:
    return [p for _, _, p in notes(tune(body, header))]


# --- pitches ---------------------------------------------------------------------


def test_letters_octaves_and_accidentals():
    assert pitches("C D E F G A B c d' C, ^C _B =F ^^C __D") == \
        [60, 62, 64, 65, 67, 69, 71, 72, 86, 48, 61, 70, 65, 62, 60]


@pytest.mark.parametrize("key, expected", [
    ("K:D", [66, 73, 67]),          # F# and C# in D major
    ("K:Ador", [66, 72, 67]),       # A dorian: G major's signature, F# only
    ("K:Gdor", [65, 72, 67]),       # G dorian: F major's signature, Bb only
    ("K:Dmix", [66, 72, 67]),       # D mixolydian: F#, C natural
    ("K:Bb", [65, 72, 67]),         # Bb, Eb: F, c, G untouched
    ("K:Em", [66, 72, 67]),
    ("K:C ^g", [65, 72, 68]),       # an explicit accidental in the key
    ("K:none", [65, 72, 67]),
])
def test_key_signatures_with_modes(key, expected):
    assert pitches("F c G", f"M:4/4\nL:1/8\n{key}") == expected


def test_an_accidental_holds_to_the_bar_line_in_its_octave():
    assert pitches("^F F f | F") == [66, 66, 77, 65]
    assert pitches("^F F f | F", "M:4/4\nL:1/8\nK:C") == [66, 66, 77, 65]
    piece, = parse_abc(tune("^F F | F"), accidental_carry=False)
    assert [n.pitch for n in piece.notes] == [66, 65, 65]


def test_inline_key_changes_the_following_notes():
    assert pitches("F [K:G] F | F") == [65, 66, 66]


# --- lengths -----------------------------------------------------------------------


def test_lengths_and_the_unit_note_length():
    assert notes(tune("C2 D/ E// F3/2 G/4 z A")) == [
        (0.0, 1.0, 60), (1.0, 1.25, 62), (1.25, 1.375, 64), (1.375, 2.125, 65),
        (2.125, 2.25, 67), (2.75, 3.25, 69)]
    assert notes(tune("C D", "M:2/4\nK:C")) == [(0, 0.25, 60), (0.25, 0.5, 62)]  # L:1/16
    assert notes(tune("C D", "M:6/8\nK:C")) == [(0, 0.5, 60), (0.5, 1.0, 62)]  # L:1/8


def test_broken_rhythm_moves_time_between_notes():
    assert notes(tune("C>D E<F G>>A")) == [
        (0, 0.75, 60), (0.75, 1.0, 62), (1.0, 1.25, 64), (1.25, 2.0, 65),
        (2.0, 2.875, 67), (2.875, 3.0, 69)]


def rounded(found):
    return [(round(a, 9), round(b, 9), p) for a, b, p in found]


def test_tuplets():
    assert rounded(notes(tune("(3CDE F (3:2:2G2A2 B"))) == rounded([
        (0, 1 / 3, 60), (1 / 3, 2 / 3, 62), (2 / 3, 1.0, 64), (1.0, 1.5, 65),
        (1.5, 1.5 + 2 / 3, 67), (1.5 + 2 / 3, 1.5 + 4 / 3, 69), (1.5 + 4 / 3, 2 + 4 / 3, 71)])


def test_ties_join_notes_of_one_pitch_and_chords_sound_together():
    assert notes(tune("C2-C2 | [CEG]2 [CE]/ D")) == [
        (0, 2.0, 60), (2.0, 3.0, 60), (2.0, 3.0, 64), (2.0, 3.0, 67), (3.0, 3.25, 60),
        (3.0, 3.25, 64), (3.25, 3.75, 62)]
    assert notes(tune("C-D")) == [(0, 0.5, 60), (0.5, 1.0, 62)]  # a slur, written as a tie


def test_grace_notes_decorations_and_slurs_are_not_read():
    assert pitches("{ga}A !trill!B ~c (de) .f Hg +fermata+a") == [69, 71, 72, 74, 76, 77, 79, 81]


def test_measure_rests_last_whole_bars():
    assert notes(tune("Z2 | C")) == [(8.0, 8.5, 60)]


# --- repeats -------------------------------------------------------------------------


def bars_played(body: str) -> list[int]:
    """The first pitch of each bar in playing order (a bar is one note here)."""
    return pitches(body, "M:1/8\nL:1/8\nK:C")


def test_repeats_and_endings_are_played_out():
    assert bars_played("|: C | D :| E |") == [60, 62, 60, 62, 64]
    assert bars_played("|: C | D |1 E :|2 F |") == [60, 62, 64, 60, 62, 65]
    assert bars_played("C | D :| E | F :|") == [60, 62, 60, 62, 64, 65, 64, 65]
    assert bars_played("|: C :: D :|") == [60, 60, 62, 62]
    assert bars_played("C || D :| E") == [60, 62, 62, 64]  # back to the section start


def test_play_order_of_contradicting_marks_stays_finite():
    order = play_order([True] * 3, [True] * 3, [False] * 3, {})
    assert order == [0, 0, 1, 1, 2, 2]
    assert play_order([False, False], [True, True], [False, False], {0: {5}, 1: {6}}) is None \
        or len(play_order([False, False], [True, True], [False, False], {0: {5}, 1: {6}})) <= 8


# --- what a Piece carries ----------------------------------------------------------


def test_piece_marks_and_names():
    text = ('X:3\nT:A\nM:6/8\nL:1/8\nQ:3/8=100\nK:Dmix\n"D"DEF "G"GAB|[M:9/8]"Am/C"ABc def gab|\n'
            '\nX:4\nT:B\nK:Em\nE\n')
    first, second = parse_abc(text, "book.abc")
    assert first.name == "book.abc#X:3" and second.name == "book.abc#X:4"
    assert first.qpm == 150.0
    assert [(s.beat, s.numerator, s.denominator) for s in first.time_signatures] == [
        (0, 6, 8), (3.0, 9, 8)]
    assert [(k.sharps, k.minor) for k in first.key_signatures] == [(1, False)]
    assert [(c.beat, c.symbol) for c in first.chords] == [(0, "D"), (1.5, "G"), (3.0, "Am/C")]
    assert [(k.sharps, k.minor) for k in second.key_signatures] == [(1, True)]


def test_file_header_fields_apply_to_every_tune():
    text = "L:1/4\nM:3/4\n\nX:1\nK:C\nC D\n\nX:2\nK:C\nC\n"
    assert [[n.end for n in p.notes] for p in parse_abc(text)] == [[1.0, 2.0], [1.0]]


def test_voices_are_kept_apart():
    piece, = parse_abc(tune("V:1\nc2 d2|\nV:2\nC4|"))
    assert sorted((n.voice, n.pitch) for n in piece.notes) == [(0, 72), (0, 74), (1, 60)]


# --- broken tunes and hostile files --------------------------------------------------


def problem(text: str | bytes) -> str:
    book = parse_abc_book(text, "bad.abc")
    assert len(book.problems) == 1 and "\n" not in book.problems[0]
    return book.problems[0]


@pytest.mark.parametrize("body, expected", [
    ('"Am C D', 'X:1, line 6: a chord symbol or annotation " with no closing "'),
    ("[CEG C", "X:1, line 6: a chord [ with no closing ]"),
    ("{ga C D", "X:1, line 6: grace notes { with no closing }"),
    ("[K:D C D", "X:1, line 6: an inline field [K: with no closing ]"),
    ("A999999999", "X:1, line 6: a number too large: 999999999"),
    ("A/0", "X:1, line 6: a length of zero: '/0'"),
    ("A0", "X:1, line 6: a length of zero: '0'"),
    ("A4097", "X:1, line 6: a length out of range: '4097'"),
    ("L:1\nA2000", "X:1, line 7: a note longer than 4096 beats: '2000'"),
    ("(999:2:3 ABC", "X:1, line 6: a tuplet (999:2:3 out of range (each at most 64)"),
    ("(3(3(3(3(3(3(3(3(3 ABC", "X:1, line 6: tuplets nested more than 8 deep"),
    ("c''''''''''''", "X:1, line 6: a note outside the MIDI range"),
])
def test_each_kind_of_broken_tune_gets_one_line(body, expected):
    assert problem(tune(body)).startswith(expected)


def test_strict_reading_names_the_file_and_the_tune(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text(tune("C D") + "\nX:2\nK:C\n\"Am C\n")
    with pytest.raises(AbcError) as error:
        read_abc(path)
    assert str(error.value) == (f'{path}: X:2, line 10: a chord symbol or annotation " with no '
                                'closing " at column 1')
    book = read_abc_book(path)  # lenient: the good tune, and the other's problem
    assert len(book.pieces) == 1 and book.problems[0].startswith("X:2, line 10:")


@pytest.mark.parametrize("text, expected", [
    ("", "bad.abc: no tunes (no X: line)"),
    ("T:Only a title\nC D E\n", "bad.abc: no tunes (no X: line)"),
])
def test_files_without_tunes(text, expected):
    with pytest.raises(AbcError, match=re.escape(expected)):
        parse_abc_book(text, "bad.abc")


def test_a_tune_without_key_or_notes():
    assert problem("X:1\nT:No key\nC D E\n") == \
        "X:1: no K: field (a tune's header ends with its key)"
    assert problem("X:1\nK:C\n% nothing\n") == "X:1: no notes"


def bounded(text, seconds=30.0, megabytes=64):
    """Read `text` leniently; fail if it takes far longer or more memory than given (a
    guard against runaway reading, not a benchmark: these take well under a second on an
    idle machine, several times that under tracemalloc on a busy one)."""
    tracemalloc.start()
    began = time.perf_counter()
    try:
        book = parse_abc_book(text, "hostile.abc")
    except AbcError as error:
        book = error
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert elapsed < seconds and peak < megabytes, (elapsed, peak)
    return book


def test_a_file_over_the_size_limit_is_refused_unread():
    error = bounded(b"X:1\nK:C\n" + b"C" * (10 * 2**20))  # a 10 MB line
    assert str(error) == "hostile.abc: file too large (more than 8,388,608 bytes)"


def test_a_long_line_stops_its_tune():
    book = bounded("X:1\nK:C\n" + "C" * 2_000_000 + "\n\nX:2\nK:C\nD\n")
    assert book.problems == ["X:1: line 3: longer than the 10,000 characters a line may have"] \
        or book.problems == ["X:1, line 3: longer than the 10,000 characters a line may have"]
    assert len(book.pieces) == 1


def test_deep_nesting_and_endless_marks_are_bounded():
    deep = "X:1\nK:C\n" + "\n".join("(" * 4000 + "C" + ")" * 4000 for _ in range(25)) + "\n"
    assert len(bounded(deep).pieces) == 1  # slurs are not read: no stack to overflow
    repeats = "X:1\nK:C\n" + "\n".join("|: C :|" * 1000 for _ in range(8)) + "\n"
    book = bounded(repeats)
    assert len(book.pieces) == 1 and book.pieces[0].notes[-1].end == 4096  # cut there
    endings = "X:1\nK:C\n" + "\n".join("|:C|1D:|2E:|" * 500 for _ in range(8)) + "\n"
    assert len(bounded(endings).pieces) == 1


def test_too_many_notes_stop_the_file(monkeypatch):
    from composer.music.abc import reader

    monkeypatch.setattr(reader, "MAX_NOTES", 20_000)  # the mechanism, at a tenth of the cost
    text = "X:1\nK:C\n" + "\n".join("C" * 9000 for _ in range(4)) + "\n"
    book = bounded(text)
    assert book.problems == ["X:1, line 5: too many notes"] and not book.pieces
    played = "X:1\nK:C\n" + "|: " + "C" * 6000 + " :|\n"  # 12,000 notes once played out
    monkeypatch.setattr(reader, "MAX_NOTES", 10_000)
    assert bounded(played).problems == [
        "X:1: too many notes with its repeats played (the file may have 10,000)"]
