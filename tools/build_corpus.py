"""Build composer's bundled MIDI corpus in data/ from tune books shipped with music21.

Sources (ABC files in music21's corpus folder, music21 10.5.1):

* ``oneills1850/*.abc``  -- O'Neill's Music of Ireland (Chicago, 1903), 1,850 tunes
* ``ryansMammoth/*.abc`` -- Ryan's Mammoth Collection (Boston, 1883), one tune a file

Each tune becomes one single-track MIDI file holding one melodic line:
``data/oneills/NNNN-title-slug.mid`` (NNNN = O'Neill's tune number, the ABC ``X:``) and
``data/ryans/NNNN-title-slug.mid`` (NNNN = position of the source file in the sorted
file list). ``data/manifest.tsv`` lists every file with its source and transcriber.
See data/README.md for the sources, the licence situation and the conversion rules.

music21 is a development-only dependency (composer itself never imports it)::

    pip install music21==10.5.1 mido
    python tools/build_corpus.py            # rewrites data/oneills, data/ryans, manifest
    python tools/build_corpus.py --all      # every tune (11 MiB on disk; see DEFAULT_STRIDE)
    python tools/build_corpus.py --chorales DIR   # Bach chorales, not shipped (tools/chorales.py)

The output is deterministic: same music21 version in, byte-identical files out.
At most ``--jobs`` worker processes (default 2) do the conversion.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
import re
import sys
import time
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import mido

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # composer, from this checkout
from composer.music.abc.repeats import play_order  # noqa: E402  (abc2midi's repeat rules)
from composer.music.abc.tables import MAJOR_BY_SHARPS  # noqa: E402

TICKS_PER_BEAT = 480
DEFAULT_QPM = 120.0  # used when the ABC has no Q: field (almost all tunes)
PROGRAM = 40  # General MIDI "Violin": both books are fiddle/pipe dance-tune collections
VELOCITY = 80
CHANNEL = 0
# A deterministic subset keeps `du -sh data` under 5 MB: every file costs at least one
# 4 KiB disk block, so all ~2,900 tunes take 11 MiB on disk (4.4 MiB of bytes). Kept:
# the tunes whose number N satisfies N % STRIDE == 1, i.e. 1, 4, 7, ... for STRIDE 3.
DEFAULT_STRIDE = 3
MAX_SLUG = 48

@dataclass(frozen=True)
class Tune:
    collection: str  # "oneills" or "ryans"
    number: int  # tune number used in the file name
    title: str
    source: str  # music21 corpus path, plus "#X:n" for multi-tune files
    transcriber: str  # the ABC Z: field, without e-mail addresses
    book: str  # the ABC B: field
    abc: str  # the tune's ABC text


# --- reading the ABC tune books ---------------------------------------------------


def corpus_dir() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def _field(block: str, name: str) -> str:
    for line in block.splitlines():
        if line.startswith(name + ":"):
            return line[len(name) + 1 :].strip()
    return ""


def _credit(block: str) -> str:
    """Who transcribed the tune: the first Z: line that says "transcribed", "contributed"
    or "by", else one that starts with a name; without e-mail addresses (an address that
    is the only name given is cut to its user part); "" when no Z: line credits anyone."""
    lines = [line[2:].strip() for line in block.splitlines() if line.startswith("Z:")]
    named = [z for z in lines if re.search(r"transcri|contribut|\bby\b", z, re.I)]
    named += [z for z in lines if re.match(r"(\d+ )?[A-Z][a-z]+ ([A-Z]\.\s*)*[A-Z][a-z]", z)]
    text = (named or [""])[0].replace('"', "").strip()
    text = re.sub(r"https?://\S+|=0D", "", text)
    # addresses, including ones disguised as "name:host.co.uk"
    bare = re.sub(r"<[^>]*>|\([^)]*@[^)]*\)|\S+@\S+|\S*:\S*\.\S+|\S*:\S+", "", text)
    if re.search(r"\bby\s*[,;]?\s*$", bare):  # nothing but an address after "by"
        bare = re.sub(r"([\w.-]+)@\S+", r"\1", text)
    bare = re.sub(r"\(\s*\)|<\s*>", "", bare)
    return re.sub(r"[\s,;]+$", "", re.sub(r"\s+", " ", bare)).strip()


def split_tunes(text: str) -> list[str]:
    """The tunes of a multi-tune ABC file; the file header (if any) is prepended to each."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"X:\s*\d+", line)]
    if not starts:
        return []
    header = lines[: starts[0]]
    blocks = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        blocks.append("\n".join(header + lines[start:end]).strip() + "\n")
    return blocks


def _x_number(block: str) -> int:
    return int(re.search(r"^X:\s*(\d+)", block, re.M).group(1))


def oneills_tunes(root: Path, skipped: Counter) -> list[Tune]:
    """O'Neill's tunes, numbered by X: (the book's tune number). The corpus has
    overlapping files (two transcriptions of some ranges): the first file in sorted
    name order wins."""
    tunes: dict[int, Tune] = {}
    for path in sorted((root / "oneills1850").glob("*.abc")):
        lo, hi = (int(v) for v in re.match(r"(\d+)-(\d+)", path.name).groups())
        for block in split_tunes(path.read_text(encoding="utf-8")):
            number = x = _x_number(block)
            if not lo <= number <= hi:
                # X: 0 and X: 800 are typos, X: 1781 in 1701-1780 repeats tune 1780:
                # the B: field has the book's number
                found = re.search(r"\d+", _field(block, "B"))
                number = int(found.group()) if found else -1
            if not lo <= number <= hi:
                skipped["oneills: tune number outside its file's range"] += 1
                continue
            if number in tunes:
                skipped["oneills: second transcription of the same tune number"] += 1
                continue
            tunes[number] = Tune(
                collection="oneills",
                number=number,
                title=_field(block, "T"),
                source=f"oneills1850/{path.name}#X:{x}",
                transcriber=_credit(block),
                book=_field(block, "B").strip('"').strip(),
                abc=block,
            )
    return [tunes[n] for n in sorted(tunes)]


def ryans_tunes(root: Path, skipped: Counter) -> list[Tune]:
    """Ryan's tunes, one per file, numbered by the position of the file in sorted order."""
    tunes = []
    for number, path in enumerate(sorted((root / "ryansMammoth").glob("*.abc")), start=1):
        blocks = split_tunes(path.read_text(encoding="utf-8"))
        if not blocks:
            skipped["ryans: file without an X: tune"] += 1
            continue
        block = blocks[0]  # every file holds exactly one tune in music21 10.5.1
        tunes.append(
            Tune(
                collection="ryans",
                number=number,
                title=_field(block, "T"),
                source=f"ryansMammoth/{path.name}",
                transcriber=_credit(block),
                book=_field(block, "B").strip(),
                abc=block,
            )
        )
    return tunes


def slug(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"['`\u2019]", "", text.lower())
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(text) > MAX_SLUG:
        text = text[:MAX_SLUG].rsplit("-", 1)[0]
    return text or "untitled"


def file_name(tune: Tune) -> str:
    return f"{tune.collection}/{tune.number:04d}-{slug(tune.title)}.mid"


# --- converting one tune ----------------------------------------------------------


def fix_abc(abc: str) -> str:
    """Work around a music21 10.5.1 ABC-reader bug: a ``::`` repeat bar right after a
    note (``fg::ab``) loses that note and often the rest of the tune. ``:|:`` means the
    same and is read correctly."""
    lines = []
    for line in abc.splitlines():
        if not re.match(r"[A-Za-z+]:|%", line):
            line = re.sub(r"(?<![|:])::(?![|:])", ":|:", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _ticks(quarters) -> int:
    return int(round(float(quarters) * TICKS_PER_BEAT))


def convert(tune: Tune) -> dict:
    """Parse one tune with music21 and render its melody as MIDI bytes (or say why not)."""
    warnings.simplefilter("ignore")
    from music21 import chord as m21chord
    from music21 import converter, harmony, key, meter, note, tempo

    result: dict = {"tune": tune}
    try:
        score = converter.parse(fix_abc(tune.abc), format="abc")
    except Exception as exc:  # any parser failure skips the tune
        result["error"] = f"music21 cannot parse it ({type(exc).__name__})"
        return result
    parts = list(score.parts) if hasattr(score, "parts") else []
    if not parts:
        result["error"] = "music21 found no part in it"
        return result
    part = parts[0]

    # Repeats: played out by _play_order (ABC conventions), else the written form.
    form, order = _play_order(part)

    try:
        timeline = _timeline(part, order)
    except Exception as exc:
        result["error"] = f"music21 cannot lay out its notes ({type(exc).__name__})"
        return result

    raw = []  # (start, end, pitch, tied to the next note) in ticks
    dropped = Counter()
    for start, el in timeline:
        if not isinstance(el, (note.Note, m21chord.Chord)):
            continue
        if isinstance(el, harmony.Harmony):
            dropped["chord symbols"] += 1
            continue
        if el.duration.isGrace or el.duration.quarterLength <= 0:
            dropped["grace notes"] += 1
            continue
        if isinstance(el, m21chord.Chord):
            pitches = [p.midi for p in el.pitches]
            if not pitches:
                continue
            dropped["chord notes below the top"] += len(pitches) - 1
            midi = max(pitches)
        else:
            midi = el.pitch.midi
        tied = el.tie is not None and el.tie.type in ("start", "continue")
        raw.append((_ticks(start), _ticks(start + el.duration.quarterLength), midi, tied))

    # One line: at each onset keep the highest pitch, and cut a note where the next starts.
    # A tie joins two notes only when they have the same pitch and touch: some
    # transcribers wrote ABC's tie sign "-" between different pitches to mean a slur,
    # and music21's stripTies() would then swallow the second note.
    raw.sort(key=lambda n: (n[0], -n[2]))
    notes: list[list] = []
    for start, end, midi, tied in raw:
        if notes and notes[-1][0] == start:
            dropped["simultaneous notes below the top"] += 1
            continue
        if notes and notes[-1][1] > start:
            notes[-1][1] = start
        if notes and notes[-1][3] and notes[-1][2] == midi and notes[-1][1] == start:
            notes[-1][1] = end
            notes[-1][3] = tied
            continue
        notes.append([start, end, midi, tied])
    notes = [n[:3] for n in notes if n[1] > n[0] and 0 <= n[2] <= 127]
    if not notes:
        result["error"] = "no notes after conversion"
        return result

    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    # order within a tick: 0 meta, 1 program, 2 note_off, 3 note_on
    events.append((0, 0, mido.MetaMessage("track_name", name=_ascii(tune.title) or "untitled")))
    events.append((0, 0, mido.MetaMessage("text", text=_ascii(f"music21 corpus: {tune.source}"))))

    signatures = [
        (_ticks(off), (el.numerator, el.denominator))
        for off, el in timeline
        if isinstance(el, meter.TimeSignature)
    ]
    time_signatures = []
    for tick, sig in _without_blips(signatures):
        if sig[1] & (sig[1] - 1):  # MIDI can only say powers of two
            continue
        time_signatures.append(f"{sig[0]}/{sig[1]}")
        events.append(
            (tick, 0, mido.MetaMessage("time_signature", numerator=sig[0], denominator=sig[1]))
        )

    last = None
    for off, ks in timeline:
        if not isinstance(ks, key.KeySignature):
            continue
        if ks.sharps == last or ks.sharps not in MAJOR_BY_SHARPS:
            continue
        last = ks.sharps
        events.append(
            (_ticks(off), 0, mido.MetaMessage("key_signature", key=MAJOR_BY_SHARPS[ks.sharps]))
        )

    marks = [
        (off, mm.getQuarterBPM()) for off, mm in timeline if isinstance(mm, tempo.MetronomeMark)
    ]
    marks = [(off, bpm) for off, bpm in marks if bpm and 10 <= bpm <= 400]
    if not marks or _ticks(marks[0][0]) > 0:
        marks.insert(0, (0.0, DEFAULT_QPM))
    last = None
    for off, bpm in marks:
        micro = mido.bpm2tempo(bpm)
        if micro != last:
            last = micro
            events.append((_ticks(off), 0, mido.MetaMessage("set_tempo", tempo=micro)))

    events.append((0, 1, mido.Message("program_change", channel=CHANNEL, program=PROGRAM)))
    for start, end, midi in notes:
        events.append(
            (start, 3, mido.Message("note_on", channel=CHANNEL, note=midi, velocity=VELOCITY))
        )
        events.append((end, 2, mido.Message("note_off", channel=CHANNEL, note=midi, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))

    track = mido.MidiTrack()
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)

    sixteenth = TICKS_PER_BEAT // 4
    result.update(
        midi=buf.getvalue(),
        content=hashlib.sha256(repr([(s, e, p) for s, e, p in notes]).encode()).hexdigest(),
        notes=len(notes),
        lo=min(n[2] for n in notes),
        hi=max(n[2] for n in notes),
        beats=notes[-1][1] / TICKS_PER_BEAT,
        qpm=marks[0][1],
        time_signature=time_signatures[0] if time_signatures else "",
        form=form,
        dropped=dropped,
        off_grid=sum(1 for n in notes if n[0] % sixteenth or n[1] % sixteenth),
        min_len=min(n[1] - n[0] for n in notes) / TICKS_PER_BEAT,
        max_len=max(n[1] - n[0] for n in notes) / TICKS_PER_BEAT,
    )
    return result


SECTION_BARS = {
    "double",
    "final",
    "light-light",
    "light-heavy",
    "heavy-light",
    "heavy-heavy",
    "heavy",
}


def _play_order(part) -> tuple[str, list[int] | None]:
    """The order in which the part's measures are played, with repeats played out.

    Returns ("expanded" | "no-repeats" | "written", measure indices or None = as written).
    ABC conventions, as abc2midi plays them (composer.music.abc.repeats.play_order, which
    composer's ABC reader shares), on music21's measures. music21's own Expander sends
    every ``:|`` without a ``|:`` back to the very start, which multiplies a many-part jig
    (O'Neill's 1046 became 50,000 notes). D.C., D.S. and Fine are not followed."""
    from music21 import bar, spanner, stream

    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        return "no-repeats", None
    index = {id(m): i for i, m in enumerate(measures)}
    endings: dict[int, set[int]] = {}
    for bracket in part.spannerBundle.getByClass(spanner.RepeatBracket):
        numbers = {n for n in bracket.numberRange if n > 0} or {1}
        for m in bracket.getSpannedElements():
            if id(m) in index:
                endings.setdefault(index[id(m)], set()).update(numbers)

    def is_repeat(barline, direction: str) -> bool:
        return isinstance(barline, bar.Repeat) and barline.direction == direction

    starts = [is_repeat(m.leftBarline, "start") for m in measures]
    ends = [is_repeat(m.rightBarline, "end") for m in measures]
    section_end = [
        (m.rightBarline is not None and m.rightBarline.type in SECTION_BARS)
        or (
            k + 1 < len(measures)
            and measures[k + 1].leftBarline is not None
            and not starts[k + 1]
            and measures[k + 1].leftBarline.type in SECTION_BARS
        )
        for k, m in enumerate(measures)
    ]
    if not any(starts) and not any(ends):
        return "no-repeats", None

    order = play_order(starts, ends, section_end, endings)
    if order is None:
        return "written", None
    return "expanded", order


def _timeline(part, order: list[int] | None) -> list[tuple[float, object]]:
    """(offset in quarters, element) for everything in the part, measure by measure, in
    playing order (`order` = measure indices, None = as written).

    Offsets are taken measure by measure because music21's ABC reader can put one
    TimeSignature object into two measures, and a flattened stream then reports one
    offset for both."""
    from music21 import stream

    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        flat = part.flatten()
        return [(flat.elementOffset(el), el) for el in flat]
    offsets = [part.elementOffset(m) for m in measures]
    lengths = [b - a for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    lengths.append(measures[-1].duration.quarterLength)
    out = [
        (0.0, el)
        for el in part.getElementsNotOfClass(stream.Measure)
        if part.elementOffset(el) == 0
    ]
    base = 0.0
    for k in range(len(measures)) if order is None else order:
        inner = measures[k].flatten()
        out.extend((base + inner.elementOffset(el), el) for el in inner)
        base += lengths[k]
    out.sort(key=lambda pair: pair[0])
    return out


def _without_blips(signatures: list[tuple[int, tuple[int, int]]]):
    """Time-signature changes, minus repeats of the current one and minus "blips": music21
    marks a lone pickup bar inside a tune with a signature of its length (1/16 for a
    sixteenth-note pickup) and restores the old one a bar later; such a pair is dropped."""
    kept: list[tuple[int, tuple[int, int]]] = []
    i = 0
    while i < len(signatures):
        tick, sig = signatures[i]
        if kept and sig == kept[-1][1]:
            i += 1
            continue
        if kept and i + 1 < len(signatures):
            nxt_tick, nxt = signatures[i + 1]
            bar = TICKS_PER_BEAT * 4 * sig[0] // sig[1]
            if nxt == kept[-1][1] and nxt_tick - tick <= bar:
                i += 2
                continue
        if kept and kept[-1][0] == tick:
            kept[-1] = (tick, sig)
        else:
            kept.append((tick, sig))
        i += 1
    return kept


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# --- checking what was written ----------------------------------------------------


def check(path: Path) -> tuple[int, int, int]:
    """Read a written file back with mido: (notes, lowest pitch, highest pitch)."""
    mid = mido.MidiFile(path)
    pitches = [
        m.note for track in mid.tracks for m in track if m.type == "note_on" and m.velocity > 0
    ]
    if not pitches:
        raise ValueError(f"{path}: no notes")
    return len(pitches), min(pitches), max(pitches)


# --- main -------------------------------------------------------------------------

INSTALL_MUSIC21 = (
    "error: music21 is not installed, and build_corpus.py reads the music from its corpus. "
    "composer itself never needs it: install it in a separate environment, e.g. "
    "python3 -m venv /tmp/m21venv && /tmp/m21venv/bin/pip install music21 mido, "
    "then run: /tmp/m21venv/bin/python tools/build_corpus.py ..."
)


def _import_music21():
    """The music21 module, or None after saying how to install it."""
    try:
        import music21
    except ImportError:
        print(INSTALL_MUSIC21, file=sys.stderr)
        return None
    return music21


def _check_chorale_arguments(parser: argparse.ArgumentParser, args) -> None:
    """Exit with a usage error when --chorales is mixed with the tune-book options or DIR
    cannot be a folder."""
    mixed = [name for name, used in (("--out", args.out is not None), ("--all", args.all),
                                     ("--stride", args.stride != DEFAULT_STRIDE)) if used]
    if mixed:
        parser.error(f"--chorales DIR writes into DIR; {', '.join(mixed)} "
                     "applies to the tune books only")
    if args.chorales.exists() and not args.chorales.is_dir():
        parser.error(f"--chorales {args.chorales}: exists and is not a folder")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="where the tune books go (default: the repository's data/)")
    parser.add_argument("--chorales", type=Path, metavar="DIR",
                        help="instead, build the four-part Bach chorales into DIR "
                             "(see tools/chorales.py; not shipped: licence unclear)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--stride",
        type=int,
        default=DEFAULT_STRIDE,
        help="keep tunes whose number %% STRIDE == 1 (default %(default)s)",
    )
    parser.add_argument("--all", action="store_true", help="keep every tune (--stride 1)")
    args = parser.parse_args(argv)
    if args.chorales is not None:
        _check_chorale_arguments(parser, args)
    music21 = _import_music21()
    if music21 is None:
        return 1
    if args.chorales is not None:
        from chorales import build_chorales

        print(f"music21 {music21.__version__}, corpus {corpus_dir()}")
        return build_chorales(args.chorales, corpus_dir(), jobs=args.jobs)
    args.out = args.out or Path(__file__).resolve().parents[1] / "data"
    stride = 1 if args.all else max(1, args.stride)

    t0 = time.time()
    root = corpus_dir()
    unused: Counter = Counter()
    tunes = oneills_tunes(root, unused) + ryans_tunes(root, unused)
    found = Counter(t.collection for t in tunes)
    print(f"music21 {music21.__version__}, corpus {root}")
    print(f"tunes found: {dict(found)}; not used: {dict(sorted(unused.items()))}")
    tunes = [t for t in tunes if t.number % stride == 1 % stride]
    print(f"selected (tune number % {stride} == {1 % stride}): {len(tunes)}")
    skipped: Counter = Counter()

    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            results = list(pool.imap(convert, tunes, chunksize=4))
    else:
        results = [convert(t) for t in tunes]

    out: Path = args.out
    for sub in ("oneills", "ryans"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for old in (out / sub).glob("*.mid"):
            old.unlink()

    seen: dict[str, str] = {}
    names: set[str] = set()
    written = []
    forms: Counter = Counter()
    dropped: Counter = Counter()
    for res in results:
        tune: Tune = res["tune"]
        if "error" in res:
            skipped[f"{tune.collection}: {res['error']}"] += 1
            print(f"  skipped {tune.source}: {res['error']}", file=sys.stderr)
            continue
        if res["content"] in seen:
            skipped[f"{tune.collection}: exact duplicate of another tune's notes"] += 1
            print(f"  skipped {tune.source}: same notes as {seen[res['content']]}", file=sys.stderr)
            continue
        seen[res["content"]] = tune.source
        name = file_name(tune)
        assert name not in names, name
        names.add(name)
        (out / name).write_bytes(res["midi"])
        forms[f"{tune.collection}: {res['form']}"] += 1
        dropped.update(res["dropped"])
        written.append((name, res))

    with open(out / "manifest.tsv", "w", encoding="utf-8", newline="\n") as fh:
        fh.write(
            "file\tcollection\tnumber\ttitle\tsource\tbook\ttranscriber\tnotes\t"
            "min_pitch\tmax_pitch\tbeats\tqpm\ttime_signature\trepeats\n"
        )
        for name, res in written:
            t = res["tune"]
            row = [
                name,
                t.collection,
                str(t.number),
                t.title,
                t.source,
                t.book,
                t.transcriber,
                str(res["notes"]),
                str(res["lo"]),
                str(res["hi"]),
                f"{res['beats']:g}",
                f"{res['qpm']:g}",
                res["time_signature"],
                res["form"],
            ]
            fh.write("\t".join(c.replace("\t", " ") for c in row) + "\n")

    # read every file back with mido
    counts = []
    lo, hi = 127, 0
    for name, _ in written:
        n, a, b = check(out / name)
        counts.append(n)
        lo, hi = min(lo, a), max(hi, b)
    counts.sort()

    def pct(q: float) -> int:
        return counts[min(len(counts) - 1, int(q * len(counts)))]

    per = Counter(name.split("/")[0] for name, _ in written)
    total = sum((out / name).stat().st_size for name, _ in written)
    print(f"written: {dict(per)} ({len(written)} files, {total / 1e6:.2f} MB of MIDI)")
    print("repeats:", dict(sorted(forms.items())))
    print("dropped while converting:", dict(sorted(dropped.items())))
    print("skipped while converting:", dict(sorted(skipped.items())) or "none")
    print(f"read back with mido: all {len(counts)} files have notes; pitch range {lo}..{hi}")
    print(
        f"notes per file: min {counts[0]}, p10 {pct(0.1)}, median {pct(0.5)}, "
        f"p90 {pct(0.9)}, max {counts[-1]}"
    )
    lens = [r["min_len"] for _, r in written] + [r["max_len"] for _, r in written]
    grid = sum(r["off_grid"] for _, r in written)
    print(
        f"note lengths: {min(lens):g}..{max(lens):g} quarters; "
        f"{grid} of {sum(counts)} notes start or end off the sixteenth-note grid"
    )
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
