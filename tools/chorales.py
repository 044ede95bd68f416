"""Build a polyphonic corpus of four-part Bach chorales from the user's own music21 install.

`python tools/build_corpus.py --chorales DIR` runs `build_chorales(DIR)`. music21 ships
the chorales (folder `music21/corpus/bach/`), but their licence is unclear (see
data/README.md, "Why there are no chorales"), so composer does not ship them: each user
builds them from their own copy, for their own use.

Each `.mxl` file with exactly four parts (soprano, alto, tenor, bass) becomes
`DIR/bwvNNN.N.mid`, a type-1 MIDI file:

* track 0: the title, the source, the time signatures, the key signatures (with their
  mode) and the tempo (music21's metronome marks, else 120 quarter notes per minute);
* tracks 1-4: one track per part, named after it, on channels 1-4, General MIDI program
  52 (Choir Aahs), velocity 80, tied notes joined.

A pickup (anacrusis) keeps its place in the bar: the file starts with the silence
before it, so bar lines fall where the time signature puts them. Repeats are kept as
written (not played out). Files whose notes equal those of a file already written
(the same harmonisation under two BWV numbers) are skipped. `DIR/manifest.tsv` lists
every file with its source and its counts. The output is deterministic.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import sys
import warnings
from collections import Counter
from pathlib import Path

import mido
from build_corpus import MAJOR_BY_SHARPS, TICKS_PER_BEAT, _ascii, _ticks

PROGRAM = 52  # General MIDI "Choir Aahs": chorales are sung
VELOCITY = 80
DEFAULT_QPM = 120.0  # when the score has no metronome mark (all of them in music21 10.5.1)
PARTS = 4  # only four-part chorales are kept
# sharps in the key signature -> the minor key's name, as mido spells key_signature
MINOR_BY_SHARPS = {
    -7: "Abm", -6: "Ebm", -5: "Bbm", -4: "Fm", -3: "Cm", -2: "Gm", -1: "Dm", 0: "Am",
    1: "Em", 2: "Bm", 3: "F#m", 4: "C#m", 5: "G#m", 6: "D#m", 7: "A#m",
}  # fmt: skip


def chorale_sources(root: Path) -> list[Path]:
    """The MusicXML files of music21's Bach folder, sorted by name."""
    return sorted((root / "bach").glob("*.mxl"))


def _pickup(part) -> float:
    """Quarter notes of silence before the first note so that it keeps its place in the bar."""
    from music21 import stream

    measures = list(part.getElementsByClass(stream.Measure))
    return float(measures[0].paddingLeft) if measures else 0.0


def _part_notes(part, shift: float) -> list[tuple[int, int, int]]:
    """(start tick, end tick, pitch) of a part's notes, ties joined, chords split."""
    from music21 import chord, note

    notes = []
    for element in part.stripTies().flatten().notes:
        if element.duration.isGrace or element.duration.quarterLength <= 0:
            continue
        start = float(element.offset) + shift
        end = start + float(element.duration.quarterLength)
        pitches = element.pitches if isinstance(element, chord.Chord) else [element.pitch]
        if isinstance(element, note.Note | chord.Chord):
            notes += [(_ticks(start), _ticks(end), p.midi) for p in pitches]
    return sorted(n for n in notes if n[1] > n[0])


def _conductor_events(part, shift: float, title: str, source: str) -> list:
    """(tick, message) of track 0: names, time and key signatures, tempo."""
    from music21 import key, meter, tempo

    events = [(0, mido.MetaMessage("track_name", name=_ascii(title) or "chorale")),
              (0, mido.MetaMessage("text", text=f"music21 corpus: {source}"))]
    flat = part.flatten()
    marks = [m.getQuarterBPM() for m in flat.getElementsByClass(tempo.MetronomeMark)]
    qpm = next((bpm for bpm in marks if bpm and 10 <= bpm <= 400), DEFAULT_QPM)
    events.append((0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm))))
    for sig in flat.getElementsByClass(meter.TimeSignature):
        if sig.denominator & (sig.denominator - 1) == 0:  # MIDI says powers of two only
            tick = 0 if sig.offset == 0 else _ticks(float(sig.offset) + shift)
            events.append((tick, mido.MetaMessage("time_signature", numerator=sig.numerator,
                                                  denominator=sig.denominator)))
    for ks in flat.getElementsByClass(key.KeySignature):
        if ks.sharps in MAJOR_BY_SHARPS:
            minor = isinstance(ks, key.Key) and ks.mode == "minor"
            name = (MINOR_BY_SHARPS if minor else MAJOR_BY_SHARPS)[ks.sharps]
            tick = 0 if ks.offset == 0 else _ticks(float(ks.offset) + shift)
            events.append((tick, mido.MetaMessage("key_signature", key=name)))
    return events


def _track(events: list) -> mido.MidiTrack:
    """A mido track of (tick, message) pairs, in tick order (stable)."""
    track, now = mido.MidiTrack(), 0
    for tick, message in sorted(events, key=lambda e: e[0]):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _part_track(name: str, channel: int, notes: list[tuple[int, int, int]]) -> mido.MidiTrack:
    """One part: its name, program and notes (note_offs before note_ons at equal ticks)."""
    events = [(0, 0, 0, mido.MetaMessage("track_name", name=_ascii(name))),
              (0, 1, 0, mido.Message("program_change", channel=channel, program=PROGRAM))]
    for start, end, pitch in notes:
        events.append((start, 3, pitch, mido.Message("note_on", channel=channel, note=pitch,
                                                     velocity=VELOCITY)))
        events.append((end, 2, pitch, mido.Message("note_off", channel=channel, note=pitch,
                                                   velocity=0)))
    events.sort(key=lambda e: e[:3])
    return _track([(tick, message) for tick, _, _, message in events])


def convert_chorale(path: Path) -> dict:
    """One chorale file as MIDI bytes and its counts, or {"error": why it is left out}."""
    warnings.simplefilter("ignore")
    from music21 import converter

    result: dict = {"source": f"bach/{path.name}", "name": f"{path.stem}.mid"}
    try:
        score = converter.parse(str(path))
    except Exception as exc:  # any parser failure skips the file
        return {**result, "error": f"music21 cannot parse it ({type(exc).__name__})"}
    parts = list(getattr(score, "parts", []))
    if len(parts) != PARTS:
        return {**result, "error": f"{len(parts)} parts, not {PARTS}"}
    shift = _pickup(parts[0])
    voices = [_part_notes(part, shift) for part in parts]
    if not all(voices):
        return {**result, "error": "a part without notes"}
    title = (score.metadata.title if score.metadata else None) or path.stem
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_track(_conductor_events(parts[0], shift, title, result["source"])))
    for channel, (part, notes) in enumerate(zip(parts, voices, strict=True)):
        midi.tracks.append(_part_track(part.partName or f"part {channel + 1}", channel, notes))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    content = hashlib.sha256(repr(voices).encode()).hexdigest()
    notes = [n for voice in voices for n in voice]
    return {**result, "midi": buffer.getvalue(), "content": content, "notes": len(notes),
            "lo": min(n[2] for n in notes), "hi": max(n[2] for n in notes),
            "beats": max(n[1] for n in notes) / TICKS_PER_BEAT}


def build_chorales(out: Path, root: Path, jobs: int = 2) -> int:
    """Write the four-part chorales of music21's corpus at `root` into `out`; 0 if any."""
    sources = chorale_sources(root)
    if not sources:
        print(f"error: no chorales (bach/*.mxl) in music21's corpus at {root}", file=sys.stderr)
        return 1
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = list(pool.imap(convert_chorale, sources, chunksize=4))
    else:
        results = [convert_chorale(path) for path in sources]
    written, skipped = _write(out, results)
    print(f"{len(sources)} files in {root / 'bach'}: {len(written)} chorales written to {out}")
    print("left out:", dict(sorted(skipped.items())) or "none")
    if written:
        notes = sum(r["notes"] for r in written)
        print(f"{notes:,} notes; pitch range {min(r['lo'] for r in written)}.."
              f"{max(r['hi'] for r in written)}; "
              f"{sum(r['beats'] for r in written):,.0f} quarter notes in all")
    print("These encodings are for your own use: their licence is unclear "
          "(see data/README.md); do not redistribute them.")
    return 0 if written else 1


def _write(out: Path, results: list[dict]) -> tuple[list[dict], Counter]:
    """Write the usable results and the manifest; (written results, reasons for the rest)."""
    out.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    written, skipped = [], Counter()
    for result in results:
        if "error" in result:
            skipped[result["error"] if "parts" not in result["error"] else "not 4 parts"] += 1
        elif result["content"] in seen:
            skipped["same notes as another file"] += 1
        else:
            seen[result["content"]] = result["source"]
            (out / result["name"]).write_bytes(result["midi"])
            written.append(result)
    with open(out / "manifest.tsv", "w", encoding="utf-8", newline="\n") as handle:
        handle.write("file\tsource\tnotes\tmin_pitch\tmax_pitch\tbeats\n")
        for r in written:
            handle.write(f"{r['name']}\t{r['source']}\t{r['notes']}\t{r['lo']}\t{r['hi']}\t"
                         f"{r['beats']:g}\n")
    return written, skipped
