"""Metre and harmony statistics: how notes sit in bars, on chords and in keys.

Definitions (composer stats prints them beside composer.music.stats's figures):

- **bars**: a piece's time signatures (or one given metre, `meter`, for the whole piece)
  with its bar phase: "written" = bar lines from time 0 as the file has them (phase 0),
  "estimated" = composer.music.phase's estimate (pickups). A reference corpus is read with
  estimated bars.
- **melody**: the top line of stats.top_line (the highest note of each onset).
- **onset positions**: per metre, how many melody notes start at each sixteenth of the bar
  (starts rounded to sixteenths); compared with a reference by the Jensen-Shannon divergence
  in bits, metre by metre (stats.jensen_shannon).
- **on-beat notes on chord tones**: melody notes that start on a beat (meter.beat_beats from
  the bar line) and sound under a chord (not N.C.): the share whose pitch class is a tone of
  that chord (Chord.pitch_classes). Chords: a given progression (`chords`, one chord a bar
  from the bar lines; see chords.parse_progression), else the file's chord symbols, else
  inferred from the piece's notes (harmony.infer_chords, per bar, with its key).
- **notes in key**: share of all notes whose pitch class is in the scale of the key sounding
  at their start (keys.piece_keys: the key signature with the mode the melody chooses, or
  the Krumhansl-Schmuckler estimate without one; or one given key, `key`, for the piece).
- **repeated bars**, **bars a part back**, **distinct bars**, **empty bars**,
  **self-similarity** and **ends on the tonic**: composer.music.repetition defines them (bar
  content: each onset's sixteenth in the bar, pitch, and length in sixteenths up to the bar
  line).

Counts pool over pieces, as in composer.music.stats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from composer.music.chords import parse_progression
from composer.music.harmony import chord_at, infer_chords, progression_spans, symbol_spans
from composer.music.keys import parse_key, piece_keys
from composer.music.meter import MeterMap, meter_map, single_meter, time_signatures
from composer.music.notes import Note, Piece
from composer.music.phase import meter_name
from composer.music.repetition import BarCounts, bar_counts
from composer.music.stats import align_columns, jensen_shannon, top_line

GRID = 4  # onset positions are counted in sixteenths (steps per quarter note)


@dataclass
class Structure:
    """Raw counts over one or more pieces; `structure_summary` turns them into figures."""

    pieces: int = 0
    onsets: dict[str, np.ndarray] = field(default_factory=dict)  # metre -> (bar,) counts
    on_beat: int = 0  # on-beat melody notes under a chord
    chord_tones: int = 0  # ... whose pitch class is a chord tone
    chord_sources: Counter = field(default_factory=Counter)  # "given"/"file"/"inferred" -> n
    notes: int = 0
    in_key: int = 0
    repetition: BarCounts = field(default_factory=BarCounts)  # bars that come back, ...

    def __add__(self, other: Structure) -> Structure:
        onsets = dict(self.onsets)
        for name, counts in other.onsets.items():
            onsets[name] = onsets[name] + counts if name in onsets else counts
        return Structure(
            self.pieces + other.pieces, onsets, self.on_beat + other.on_beat,
            self.chord_tones + other.chord_tones, self.chord_sources + other.chord_sources,
            self.notes + other.notes, self.in_key + other.in_key,
            self.repetition + other.repetition,
        )  # fmt: skip


def piece_bars(piece: Piece, meter: tuple[int, int] | None = None,
               estimate: bool = False) -> MeterMap:
    """The piece's bars: in a given metre or its own, the phase estimated or 0 (as written)."""
    if meter is not None:
        bars = single_meter(meter)
        return meter_map(Piece(piece.name, piece.notes, time_signature=meter)) if estimate \
            else bars
    return meter_map(piece) if estimate else MeterMap(time_signatures(piece))


def structure_piece(piece: Piece, *, meter: tuple[int, int] | None = None,
                    estimate: bool = False, chords: str | None = None,
                    key: str | None = None) -> Structure:
    """Every count of one piece (module docstring); `chords` a progression such as "Am F",
    `key` a key such as "D major" to judge the notes against instead of the piece's own."""
    bars = piece_bars(piece, meter, estimate)
    line = top_line(piece.notes)
    keys = piece_keys(piece) if key is None else [(0.0, parse_key(key))]
    starts = np.array([round(n.start * GRID) for n in line], dtype=np.int64)
    position, length, beat, segment = bars.positions(starts, GRID)
    spans, source = _chords(piece, bars, keys[0][1], chords)
    on_beat = [n for n, p, b in zip(line, position, beat, strict=True) if p % b == 0]
    under = [(n, c) for n, c in zip(on_beat, chord_at(spans, [n.start for n in on_beat]),
                                    strict=True) if c.root is not None]
    key_index = np.searchsorted([b for b, _ in keys], [n.start for n in piece.notes], "right")
    key_at = [keys[max(i - 1, 0)][1] for i in key_index.tolist()]
    return Structure(
        pieces=1,
        onsets=_onset_counts(bars, position, length, segment),
        on_beat=len(under),
        chord_tones=sum(n.pitch % 12 in c.pitch_classes for n, c in under),
        chord_sources=Counter([source] if line else []),
        notes=len(piece.notes),
        in_key=sum(n.pitch % 12 in k.pitch_classes for n, k in zip(piece.notes, key_at,
                                                                     strict=True)),
        repetition=bar_counts(line, bars, key_at_end(keys, line)),
    )


def _chords(piece: Piece, bars: MeterMap, key, progression: str | None):
    """(chord spans, where they came from) for the chord-tone share."""
    if progression is not None:
        return progression_spans(parse_progression(progression), bars, piece.duration), "given"
    if piece.chords:
        return symbol_spans(piece.chords), "file"
    return infer_chords(piece.notes, bars, key), "inferred"


def _onset_counts(bars: MeterMap, position, length, segment) -> dict[str, np.ndarray]:
    """Metre name -> (bar length,) onsets per sixteenth of the bar."""
    counts: dict[str, np.ndarray] = {}
    for k, change in enumerate(bars.changes):
        mine = segment == k
        if mine.any():
            name = meter_name((change.numerator, change.denominator))
            found = np.bincount(position[mine], minlength=int(length[mine][0]))
            counts[name] = counts[name] + found if name in counts else found
    return counts


def key_at_end(keys, line: list[Note]) -> int | None:
    """The tonic's pitch class where the line's last note starts (None without notes)."""
    if not line:
        return None
    index = max(0, int(np.searchsorted([b for b, _ in keys], line[-1].start, "right")) - 1)
    return keys[index][1].tonic


def structure(pieces: Iterable[Piece], **settings) -> Structure:
    """Counts pooled over pieces; settings as for structure_piece."""
    total = Structure()
    for piece in pieces:
        total = total + structure_piece(piece, **settings)
    return total


# --- Figures and report ----------------------------------------------------------------


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def structure_summary(s: Structure) -> dict:
    """The figures of a Structure, JSON-able; None where undefined."""
    return {
        "pieces": s.pieces,
        "chord_tone_share": _share(s.chord_tones, s.on_beat),
        "on_beat_notes": s.on_beat,
        "chord_sources": dict(s.chord_sources),
        "in_key_share": _share(s.in_key, s.notes),
        **repetition_summary(s.repetition),
        "onsets": {name: {"notes": int(c.sum()), "shares": (c / c.sum()).tolist()}
                   for name, c in sorted(s.onsets.items()) if c.sum()},
    }


def onset_distances(s: Structure, reference: Structure) -> dict[str, float]:
    """Metre -> Jensen-Shannon divergence (bits) of onset positions, metres in both."""
    found = {}
    for name in sorted(set(s.onsets) & set(reference.onsets)):
        distance = jensen_shannon(s.onsets[name], reference.onsets[name])
        if distance is not None:
            found[name] = distance
    return found


def repetition_summary(r: BarCounts) -> dict:
    """The repetition figures of BarCounts, JSON-able; None where undefined."""
    return {
        "repeated_bar_share": _share(r.repeated, r.bars),
        "bars": r.bars,
        "part_back_share": _share(r.part_back, r.part_back_judged),
        "distinct_bar_share": _share(r.distinct, r.bars),
        "empty_bar_share": _share(r.empty, r.bars + r.empty),
        "self_similarity": _share(r.similarity, r.similarity_bars),
        "tonic_ending_share": _share(r.tonic_endings, r.endings),
    }


FORM_ROWS = (  # (row label, repetition_summary key)
    ("bars repeating an earlier bar", "repeated_bar_share"),
    ("bars equal to the bar a part (8) back", "part_back_share"),
    ("distinct bars (of bars with an onset)", "distinct_bar_share"),
    ("bars without an onset (held or silent)", "empty_bar_share"),
    ("self-similarity (best match of each bar)", "self_similarity"),
    ("pieces ending on the tonic", "tonic_ending_share"),
)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _sources(summary: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(summary["chord_sources"].items())) or "-"


def format_structure(columns: dict[str, dict], bars: dict[str, str],
                     distances: dict[str, float] | None = None) -> str:
    """An aligned table of structure summaries, one column each (`bars`: how each was read)."""
    names = list(columns)
    meters = sorted({m for s in columns.values() for m in s["onsets"]})
    rows = [["", *names], ["bars", *(bars[n] for n in names)]]
    rows.append(["on-beat notes on chord tones",
                 *(_pct(columns[n]["chord_tone_share"]) for n in names)])
    rows.append(["  chords (pieces)", *(_sources(columns[n]) for n in names)])
    rows.append(["notes in key (signature and mode)",
                 *(_pct(columns[n]["in_key_share"]) for n in names)])
    for label, key in FORM_ROWS:
        rows.append([label, *(_pct(columns[n][key]) for n in names)])
    rows.append(["melody onsets per metre (notes)", *([""] * len(names))])
    for meter in meters:
        rows.append([f"  {meter}", *(str(columns[n]["onsets"].get(meter, {}).get("notes", "-"))
                                     for n in names)])
    if distances is not None:
        rows.append(["onset positions, distance (JS, bits)", ""])
        rows += [[f"  {meter}", f"{value:.4f}"] for meter, value in distances.items()]
    return align_columns(rows)
