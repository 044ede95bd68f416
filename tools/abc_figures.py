"""How well composer's ABC reader reads ABC: the figures quoted in the README.

1. Read rate: every tune of the ABC sources behind data/ (music21's oneills1850/*.abc and
   ryansMammoth/*.abc) and of the test fixture tests/fixtures/abc/*.abc, read with
   composer.music.abc.read_abc_book: tunes found, read, and why the others were not.
   With --collection DIR, the .abc files under DIR count too (e.g. the whole Nottingham Music
   Database, of which tests/fixtures/abc/nottingham is an excerpt).
2. Agreement with data/: for each file of data/ (tools/build_corpus.py made it from those
   sources with music21), the tune it came from (data/manifest.tsv), read by composer;
   the two agree when their melody tokens on the sixteenth-note grid are the same
   (composer's default melody encoding: the highest line, one token per step, and the
   step the tune starts on). Also: the notes exactly equal (start, end, pitch).

3. Round trip: every tune of data/ (and of the fixture) written as ABC by composer and read
   back by composer: the same melody on the sixteenth grid.

    pip install music21==10.5.1      # only to find its corpus folder (or give --sources)
    python tools/abc_figures.py [--sources DIR] [--collection DIR] [--show 10]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from composer.music.abc import parse_abc_book, read_abc_book  # noqa: E402
from composer.music.abc import reader as abc_reader  # noqa: E402
from composer.music.abc.tunes import decode, split_tunes  # noqa: E402
from composer.music.melody import MelodyEncoding  # noqa: E402
from composer.music.midi import read_midi  # noqa: E402

ENCODING = MelodyEncoding()
_ABC_ENDINGS = abc_reader._endings
FIXTURES = ROOT / "tests" / "fixtures" / "abc"


def music21_corpus() -> Path | None:
    try:
        from music21 import common
    except ImportError:
        return None
    return Path(common.getCorpusFilePath())


def grid(piece) -> tuple[int, tuple[int, ...]]:
    """(first step, melody token ids) of a piece: its notes on the sixteenth-note grid."""
    from composer.music.encoding import note_arrays

    cols = note_arrays(piece.notes)
    return ENCODING.first_step(cols), tuple(ENCODING.encode_columns(cols).tolist())


def read_rates(collections: dict[str, list[Path]]) -> dict[str, dict]:
    """Per collection: tunes found, tunes read, problems counted by kind."""
    figures = {}
    for label, paths in collections.items():
        found = read = 0
        kinds: Counter = Counter()
        for path in paths:
            found += len(split_tunes(decode(path.read_bytes()))[1])
            book = read_abc_book(path)
            read += len(book.pieces)
            kinds.update(problem.split(": ", 1)[-1].split(" at column")[0].split(":")[0]
                         for problem in book.problems)
        figures[label] = {"found": found, "read": read, "problems": kinds}
    return figures


def piece_name(path: Path, x: str, title: str) -> str:
    """The name composer's reader gives the tune numbered x and titled `title` in `path`."""
    tunes = [t for t in split_tunes(decode(path.read_bytes()))[1] if t.number == x]
    titles = [next((v for _, letter, v in t.header if letter == "T"), "") for t in tunes]
    k = titles.index(title) if title in titles else 0
    return f"{path}#X:{x}" + (f".{k + 1}" if k else "")


# Where music21 10.5.1 (which made data/) reads ABC otherwise than ABC 2.1 says: it does
# not carry an accidental to the bar line; it loses a note marked H (fermata) or carrying
# an annotation that starts with < or >; its first ending holds only its first and last
# bars (those between are played on the second pass too). Each tune that disagrees is
# read again the way music21 reads it, to tell those apart from the reader's own
# differences.
_NOTE = r"(?:\^\^|\^|__|_|=)?[A-Ga-gzx][,']*[\d/]*"
_LOST = re.compile(r'H(?:"[^"]*")?' + _NOTE + r'|"[<>][^"]*"' + _NOTE)


def as_music21_reads(text: str) -> str:
    """The ABC text without the notes music21 10.5.1 loses (body lines only)."""
    return "\n".join(line if re.match(r"[A-Za-z]:", line) else _LOST.sub("", line)
                      for line in text.splitlines())


def agreement(sources: Path, data: Path, show: int) -> None:
    rows = list(csv.DictReader((data / "manifest.tsv").open(encoding="utf-8"), delimiter="\t"))
    books: dict[tuple[Path, str], dict] = {}
    counts: Counter = Counter()
    wrong = []
    for row in rows:
        file, _, x = row["source"].partition("#X:")
        path = sources / file
        name = piece_name(path, x, row["title"]) if x else None
        theirs = read_midi(data / row["file"])[0]
        verdict = None
        for reading in ("as ABC 2.1", "without carry", "as music21"):
            if (path, reading) not in books:
                books[(path, reading)] = _read(path, reading)
            pieces = books[(path, reading)]
            ours = pieces.get(name) if name else next(iter(pieces.values()), None)
            if ours is None:
                verdict = "not read"
                break
            if reading == "as ABC 2.1":
                counts["exact"] += _exact(ours, theirs)
                first = ours
            if grid(ours) == grid(theirs):
                verdict = reading
                break
        counts[verdict or "other"] += 1
        if verdict is None:
            wrong.append((row["file"], _first_difference(first, theirs)))
    total = len(rows)

    def share(n):
        return f"{n} ({100 * n / total:.1f}%)"

    print(f"data/: {total} tunes. Melody on the sixteenth grid equal to the shipped MIDI's: "
          f"{share(counts['as ABC 2.1'])}; notes exactly equal: {share(counts['exact'])}")
    print(f"  equal once the accidental carry is left out (music21 10.5.1 does not carry): "
          f"{share(counts['without carry'])}")
    print(f"  equal once also the notes music21 loses are left out (H, \"<\" and \">\" "
          f"annotations) and endings are marked as music21 marks them: "
          f"{share(counts['as music21'])}")
    print(f"  in all, equal or explained: "
          f"{share(total - counts['other'] - counts['not read'])}; not read: "
          f"{counts['not read']}; other differences: {counts['other']}")
    for file, why in wrong[:show]:
        print(f"  {file}: {why}")


def _music21_endings(bars) -> dict[int, set[int]]:
    """The bars of each ending as music21 10.5.1 marks them: a first ending its first bar
    and the bar whose end repeat closes it; a second ending its first bar."""
    endings = _ABC_ENDINGS(bars)
    kept, previous = {}, None
    for i in sorted(endings):
        first = previous is None or previous != i - 1 or bars[i].ending
        last = bars[i].end_repeat or i + 1 not in endings or bars[i + 1].ending
        if first or last:
            kept[i] = endings[i]
        previous = i
    return kept


def _read(path: Path, reading: str) -> dict:
    if reading == "as music21":
        text = as_music21_reads(decode(path.read_bytes()))
        abc_reader._endings = _music21_endings
        try:
            book = parse_abc_book(text, str(path), accidental_carry=False)
        finally:
            abc_reader._endings = _ABC_ENDINGS
    else:
        book = read_abc_book(path, accidental_carry=reading == "as ABC 2.1")
    return {p.name: p for p in book.pieces}


def _exact(ours, theirs) -> bool:
    return [(n.start, n.end, n.pitch) for n in _top_line(ours.notes)] == \
        [(round(n.start * 480) / 480, round(n.end * 480) / 480, n.pitch) for n in theirs.notes]


def _top_line(notes):
    """build_corpus's line: the highest note at each onset, cut where the next starts,
    times rounded to its 480 ticks a beat."""
    kept = []
    for note in sorted(notes, key=lambda n: (n.start, -n.pitch)):
        start, end = round(note.start * 480) / 480, round(note.end * 480) / 480
        if kept and kept[-1][0] == start:
            continue
        if kept and kept[-1][1] > start:
            kept[-1][1] = start
        kept.append([start, end, note.pitch])
    return [type("N", (), {"start": s, "end": e, "pitch": p}) for s, e, p in kept if e > s]


def _first_difference(ours, theirs) -> str:
    a, b = grid(ours), grid(theirs)
    if a[0] != b[0]:
        return f"starts at step {a[0]}, the MIDI at {b[0]}"
    for step, (x, y) in enumerate(zip(a[1], b[1], strict=False)):
        if x != y:
            return (f"step {step} (beat {step / 4:g}): {ENCODING.vocab[x]} against "
                    f"{ENCODING.vocab[y]}; {len(a[1])} steps against {len(b[1])}")
    return f"{len(a[1])} steps against {len(b[1])}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=None,
                        help="music21's corpus folder (default: the installed music21's)")
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--show", type=int, default=10, help="disagreements to list")
    parser.add_argument("--collection", type=Path, action="append", default=[],
                        help="another folder of ABC files to count in the read rate")
    args = parser.parse_args(argv)
    sources = args.sources or music21_corpus()
    collections = {}
    if sources is not None:
        collections["oneills1850"] = sorted((sources / "oneills1850").glob("*.abc"))
        collections["ryansMammoth"] = sorted((sources / "ryansMammoth").glob("*.abc"))
    else:
        print("music21 is not installed: give --sources; only the fixture is measured")
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()) if FIXTURES.is_dir() \
            else []:
        collections[f"fixture {folder.name}"] = sorted(folder.glob("*.abc"))
    for folder in args.collection:
        collections[folder.name] = sorted(folder.rglob("*.abc"))
    for label, f in read_rates(collections).items():
        rate = 100 * f["read"] / max(f["found"], 1)
        print(f"{label}: {f['found']} tunes, {f['read']} read ({rate:.2f}%)")
        for kind, count in f["problems"].most_common(8):
            print(f"  {count} x {kind}")
    if sources is not None:
        agreement(sources, args.data, args.show)
    round_trip(sorted(args.data.glob("*/*.mid")), "data/", read_midi, args.show)
    fixture = [p for path in sorted(FIXTURES.rglob("*.abc")) for p in [path]]
    round_trip(fixture, "the fixture", lambda path: read_abc_book(path).pieces, args.show)
    return 0


def round_trip(paths: list[Path], label: str, read, show: int) -> None:
    """Every piece of `paths` written as ABC and read back: how many keep their melody."""
    from composer.music.abc import parse_abc
    from composer.music.abc.writer import abc_text

    total, wrong = 0, []
    for path in paths:
        for piece in read(path):
            total += 1
            if grid(parse_abc(abc_text(piece, "t"))[0]) != grid(piece):
                wrong.append(piece.name)
    same = total - len(wrong)
    print(f"round trip through ABC, {label}: {same} of {total} tunes read back with the same "
          f"melody on the sixteenth grid ({100 * same / max(total, 1):.1f}%)")
    for name in wrong[:show]:
        print(f"  {name}")


if __name__ == "__main__":
    sys.exit(main())
