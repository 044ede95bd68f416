"""Musical statistics of notes and pieces: the figures melody models are judged by.

Pure functions over `Note`/`Piece` (no MIDI here). Definitions, all documented
so two runs of `composer stats` can be compared:

- **beat** = a quarter note (the unit of `Note.start`); a **bar** lasts
  numerator * 4 / denominator beats of the piece's (first) time signature.
  Note density = notes / bars and notes / beats, where a piece lasts from beat
  0 to the end of its last note.
- **top line**: the highest note starting at each onset, dropped if a higher
  note from an earlier onset is still sounding (the "skyline" reduction). The
  melodic figures below (intervals, repeats, leaps) are computed on it; rests
  between notes are ignored.
- **pitch-class histogram**: share of notes (counted, not weighted by length)
  on each of the 12 pitch classes. Its distance to a reference corpus is the
  Jensen-Shannon divergence in bits (base-2 logarithm): 0 for identical
  histograms, 1 for histograms with no pitch class in common.
- **key** and **in key**: the Krumhansl-Schmuckler estimate and the scale of
  composer.music.keys; in key = share of notes whose pitch class lies in the scale
  of their piece's estimated key.
- **excessive repeats** (after Magenta's RL Tuner, `detect_repeating_notes`,
  which flags a note once more than 4 earlier notes in a row have its pitch):
  a run of consecutive top-line notes of one pitch is excessive when the note
  is repeated more than 4 times, i.e. the run has at least 6 notes; the figure
  is the share of top-line notes that belong to such runs. Unlike RL Tuner,
  which works on a 16th-note grid, held notes and rests do not change the
  threshold.
- **large leap**: a melodic interval larger than a perfect fifth (8 or more
  semitones, either direction). It **resolves** when the next interval goes
  the opposite way by 1 to 4 semitones (a step, or at most a major third).
  Leap share = large leaps / intervals; resolved share = resolved leaps /
  large leaps that have a next interval (a final leap cannot be judged).

For a corpus, counts are pooled over pieces (each piece judged against its own
key), so a long piece weighs more than a short one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np

from composer.music.keys import PITCH_CLASS_NAMES, estimate_key, in_key_count, pitch_name
from composer.music.notes import Note, Piece

INTERVAL_NAMES = (
    "unison", "m2", "M2", "m3", "M3", "P4", "tritone",
    "P5", "m6", "M6", "m7", "M7", "octave", "> octave",
)  # fmt: skip
EXCESSIVE_RUN = 6  # a note plus more than 4 repeats (RL Tuner: num_repeated > 4)
LEAP_MIN = 8  # semitones: a large leap is larger than a perfect fifth
RESOLVE_MAX = 4  # semitones: a resolving step back is at most a major third


# --- Single measures ----------------------------------------------------------


def top_line(notes: Iterable[Note]) -> list[Note]:
    """The skyline melody: the highest note of each onset, unless under a higher held note."""
    line: list[Note] = []
    ordered = sorted(notes, key=lambda n: (n.start, -n.pitch))
    for start, group in groupby(ordered, key=lambda n: n.start):
        top = next(group)
        last = line[-1] if line else None
        if last is not None and last.end > start and last.pitch > top.pitch:
            continue  # a higher note is still sounding: this one is accompaniment
        line.append(top)
    return line


def intervals(line: Sequence[Note]) -> list[int]:
    """Signed melodic intervals in semitones between consecutive notes of a line."""
    return [b.pitch - a.pitch for a, b in zip(line, line[1:], strict=False)]


def pitch_class_counts(notes: Iterable[Note]) -> np.ndarray:
    """Number of notes on each pitch class, int64 (12,)."""
    counts = np.zeros(12, dtype=np.int64)
    for note in notes:
        counts[note.pitch % 12] += 1
    return counts


def interval_counts(steps: Iterable[int]) -> np.ndarray:
    """Histogram of absolute intervals, int64 (14,): 0..12 semitones, then "> octave"."""
    counts = np.zeros(len(INTERVAL_NAMES), dtype=np.int64)
    for step in steps:
        counts[min(abs(step), len(INTERVAL_NAMES) - 1)] += 1
    return counts


def repeated_count(pitches: Sequence[int]) -> int:
    """Notes belonging to runs of at least EXCESSIVE_RUN consecutive equal pitches."""
    runs = (len(list(run)) for _, run in groupby(pitches))
    return sum(length for length in runs if length >= EXCESSIVE_RUN)


def leap_counts(steps: Sequence[int]) -> tuple[int, int, int]:
    """(large leaps, leaps followed by another interval, leaps resolved)."""
    leaps = judged = resolved = 0
    for k, step in enumerate(steps):
        if abs(step) < LEAP_MIN:
            continue
        leaps += 1
        if k + 1 < len(steps):
            judged += 1
            after = steps[k + 1]
            if after * step < 0 and abs(after) <= RESOLVE_MAX:  # back the other way, small
                resolved += 1
    return leaps, judged, resolved


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float | None:
    """Jensen-Shannon divergence in bits of two histograms (normalised here); None if empty."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.sum() <= 0 or q.sum() <= 0:
        return None
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return max(0.0, (kl(p) + kl(q)) / 2)


# --- Pooling over pieces ----------------------------------------------------


@dataclass
class Tally:
    """Raw counts over one or more pieces; `summary` turns them into figures."""

    pieces: int = 0
    notes: int = 0
    beats: float = 0.0  # summed piece lengths, quarter notes
    bars: float = 0.0  # summed piece lengths, bars of each piece's time signature
    lowest: int | None = None  # MIDI pitch
    highest: int | None = None
    span_sum: int = 0  # sum of each piece's highest - lowest pitch, semitones
    spanned: int = 0  # pieces with notes (those span_sum adds up)
    pitch_classes: np.ndarray = field(default_factory=lambda: np.zeros(12, dtype=np.int64))
    intervals: np.ndarray = field(
        default_factory=lambda: np.zeros(len(INTERVAL_NAMES), dtype=np.int64)
    )
    in_key: int = 0  # notes in their piece's estimated key (pieces with a key only)
    keyed_notes: int = 0  # notes of pieces whose key could be estimated
    line_notes: int = 0  # top-line notes
    repeated: int = 0  # top-line notes in excessive runs
    leaps: int = 0
    judged_leaps: int = 0
    resolved_leaps: int = 0
    keys: Counter = field(default_factory=Counter)  # key name -> pieces

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            pieces=self.pieces + other.pieces,
            notes=self.notes + other.notes,
            beats=self.beats + other.beats,
            bars=self.bars + other.bars,
            lowest=_pick(min, self.lowest, other.lowest),
            highest=_pick(max, self.highest, other.highest),
            span_sum=self.span_sum + other.span_sum,
            spanned=self.spanned + other.spanned,
            pitch_classes=self.pitch_classes + other.pitch_classes,
            intervals=self.intervals + other.intervals,
            in_key=self.in_key + other.in_key,
            keyed_notes=self.keyed_notes + other.keyed_notes,
            line_notes=self.line_notes + other.line_notes,
            repeated=self.repeated + other.repeated,
            leaps=self.leaps + other.leaps,
            judged_leaps=self.judged_leaps + other.judged_leaps,
            resolved_leaps=self.resolved_leaps + other.resolved_leaps,
            keys=self.keys + other.keys,
        )


def _pick(choose, a, b):
    """min/max of two optional values."""
    present = [v for v in (a, b) if v is not None]
    return choose(present) if present else None


def tally_piece(piece: Piece) -> Tally:
    """Every count of one piece."""
    notes = piece.notes
    numerator, denominator = piece.time_signature
    line = top_line(notes)
    steps = intervals(line)
    key = estimate_key(notes)
    leaps, judged, resolved = leap_counts(steps)
    pitches = [n.pitch for n in notes]
    return Tally(
        pieces=1,
        notes=len(notes),
        beats=piece.duration,
        bars=piece.duration / (numerator * 4 / denominator),
        lowest=min(pitches, default=None),
        highest=max(pitches, default=None),
        span_sum=max(pitches) - min(pitches) if pitches else 0,
        spanned=1 if pitches else 0,
        pitch_classes=pitch_class_counts(notes),
        intervals=interval_counts(steps),
        in_key=in_key_count(notes, key) if key else 0,
        keyed_notes=len(notes) if key else 0,
        line_notes=len(line),
        repeated=repeated_count([n.pitch for n in line]),
        leaps=leaps,
        judged_leaps=judged,
        resolved_leaps=resolved,
        keys=Counter([key.name] if key else []),
    )


def tally(pieces: Iterable[Piece]) -> Tally:
    """Counts pooled over pieces."""
    total = Tally()
    for piece in pieces:
        total = total + tally_piece(piece)
    return total


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _shares(counts: np.ndarray, names: Sequence[str]) -> dict[str, float] | None:
    total = int(counts.sum())
    return {n: int(c) / total for n, c in zip(names, counts, strict=True)} if total else None


def summary(t: Tally) -> dict:
    """The figures of a tally, JSON-able; None where a figure is undefined (no notes)."""
    key, key_pieces = t.keys.most_common(1)[0] if t.keys else (None, 0)
    return {
        "pieces": t.pieces,
        "notes": t.notes,
        "notes_per_bar": _share(t.notes, t.bars),
        "notes_per_beat": _share(t.notes, t.beats),
        "lowest_pitch": t.lowest,
        "highest_pitch": t.highest,
        "mean_span": _share(t.span_sum, t.spanned),  # over pieces with notes
        "key": key,  # the most common estimated key
        "key_pieces": key_pieces,  # how many pieces are in it
        "in_key_share": _share(t.in_key, t.keyed_notes),
        "repeated_share": _share(t.repeated, t.line_notes),
        "leap_share": _share(t.leaps, int(t.intervals.sum())),
        "resolved_share": _share(t.resolved_leaps, t.judged_leaps),
        "pitch_classes": _shares(t.pitch_classes, PITCH_CLASS_NAMES),
        "intervals": _shares(t.intervals, INTERVAL_NAMES),
    }


def distances(t: Tally, reference: Tally) -> dict:
    """Jensen-Shannon divergences (bits) of the histograms of `t` to those of `reference`."""
    return {
        "pitch_class_js": jensen_shannon(t.pitch_classes, reference.pitch_classes),
        "interval_js": jensen_shannon(t.intervals, reference.intervals),
    }


# --- Text report ------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def _pitch_range(s: dict) -> str:
    if s["lowest_pitch"] is None:
        return "-"
    return f"{pitch_name(s['lowest_pitch'])}-{pitch_name(s['highest_pitch'])}"


def _key(s: dict) -> str:
    return "-" if s["key"] is None else f"{s['key']} ({s['key_pieces']}/{s['pieces']})"


def _rows(s: dict) -> list[tuple[str, str]]:
    """(label, value) rows of one summary; "" value marks a section heading."""
    rows = [
        ("pieces", str(s["pieces"])),
        ("notes", str(s["notes"])),
        ("notes per bar", _num(s["notes_per_bar"])),
        ("notes per beat (quarter)", _num(s["notes_per_beat"])),
        ("pitch range", _pitch_range(s)),
        ("mean span per piece (semitones)", _num(s["mean_span"], "{:.1f}")),
        ("most common key (pieces)", _key(s)),
        ("notes in key", _pct(s["in_key_share"])),
        ("top line: excessive repeats", _pct(s["repeated_share"])),
        ("top line: leaps > P5", _pct(s["leap_share"])),
        ("top line: leaps resolved", _pct(s["resolved_share"])),
        ("pitch classes (share of notes)", ""),
    ]
    classes = s["pitch_classes"] or {}
    rows += [(f"  {n}", _pct(classes.get(n))) for n in PITCH_CLASS_NAMES]
    rows.append(("top-line intervals (share)", ""))
    steps = s["intervals"] or {}
    rows += [(f"  {n}", _pct(steps.get(n))) for n in INTERVAL_NAMES]
    return rows


def format_report(columns: dict[str, dict], distance: dict | None = None) -> str:
    """An aligned table: one column per summary (e.g. the samples and the reference)."""
    names = list(columns)
    per_column = [_rows(columns[name]) for name in names]
    labels = [label for label, _ in per_column[0]]
    table = [["", *names]]
    for i, label in enumerate(labels):
        heading = per_column[0][i][1] == ""
        table.append([label, *("" if heading else rows[i][1] for rows in per_column)])
    if distance is not None:
        table.append(["distance to reference (JS, bits)", ""])
        table.append(["  pitch classes", _num(distance["pitch_class_js"], "{:.4f}")])
        table.append(["  intervals", _num(distance["interval_js"], "{:.4f}")])
    return align_table(table)


def align_table(table: list[list[str]]) -> str:
    """Left-align the first column, right-align the others."""
    width = max(len(row) for row in table)
    table = [row + [""] * (width - len(row)) for row in table]
    widths = [max(len(row[i]) for row in table) for i in range(width)]
    lines = []
    for row in table:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
