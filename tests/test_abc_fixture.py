"""A public ABC collection read by composer: an excerpt of the Nottingham Music Database
(tests/fixtures/abc/nottingham, GPL-3.0, see its README): every tune read, its chord symbols
kept, and written out again with the same notes."""

from pathlib import Path

from test_abc_writer import grid

from composer.music.abc import parse_abc, read_abc_book
from composer.music.abc.writer import abc_text

FOLDER = Path(__file__).resolve().parent / "fixtures" / "abc" / "nottingham"
FILES = sorted(FOLDER.glob("*.abc"))


def test_every_tune_of_the_excerpt_is_read():
    books = {path.name: read_abc_book(path) for path in FILES}
    assert {name: len(book.pieces) for name, book in books.items()} == {
        "morris.abc": 31, "slip.abc": 11, "waltzes.abc": 52}
    assert all(not book.problems for book in books.values())
    waltz = books["waltzes.abc"].pieces[0]  # X:1 Alnwick Castle, 3/4 in G, with chords
    assert (waltz.time_signature, waltz.key_signatures[0].sharps) == ((3, 4), 1)
    assert [c.symbol for c in waltz.chords[:4]] == ["G", "D7", "G", "C"]


def test_the_excerpt_written_again_reads_back_with_the_same_notes_and_chords():
    for path in FILES:
        for piece in read_abc_book(path).pieces:
            back = parse_abc(abc_text(piece, "t"))[0]
            assert grid(back) == grid(piece), piece.name
            assert [c.symbol for c in back.chords] == [c.symbol for c in piece.chords], \
                piece.name
