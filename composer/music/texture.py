"""Polyphony statistics: how many notes sound at once, and how long notes last.

Pure functions over `Note`/`Piece`, next to composer.music.stats (which judges the
melodic line). Definitions:

- **notes sounding at once**: at every moment from the piece's first onset to
  its last note's end, the number of notes sounding (a note sounds on
  [start, end)); the histogram gives the time, in beats, spent with exactly k
  notes sounding (k = 0 .. MAX_SOUNDING, the last bin holding "that many or
  more"), so a long chord counts for its length and a short one for little.
  Shares are of the piece's duration; the mean is time-weighted too.
- **note length**: end - start in beats, counted per note in the bins of
  LENGTH_EDGES (a bin holds the lengths above the previous edge up to its own);
  **long notes** are those over LONG_NOTE beats (8: two 4/4 bars).
- Distances to a reference corpus are Jensen-Shannon divergences in bits of
  those two histograms (composer.music.stats.jensen_shannon).

For a corpus, counts and times are pooled over pieces.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from composer.music.notes import Note, Piece
from composer.music.stats import align_columns, jensen_shannon

MAX_SOUNDING = 8  # the histogram of notes sounding at once ends with an "8 or more" bin
LONG_NOTE = 8.0  # beats: a note longer than this (two bars of 4/4) is a long note
LENGTH_EDGES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0)  # beats; then "> 16"
LENGTH_NAMES = tuple(
    [f"<= {edge:g}" for edge in LENGTH_EDGES] + [f"> {LENGTH_EDGES[-1]:g}"]
)  # fmt: skip
SOUNDING_NAMES = tuple([str(k) for k in range(MAX_SOUNDING)] + [f"{MAX_SOUNDING}+"])


# --- Single measures ----------------------------------------------------------


def note_lengths(notes: Iterable[Note]) -> np.ndarray:
    """Length of every note in beats, float64 (notes,)."""
    return np.array([n.end - n.start for n in notes], dtype=np.float64)


def sounding_time(notes: Sequence[Note]) -> np.ndarray:
    """Beats spent with exactly k notes sounding, float64 (k_max + 1,), from the first
    onset to the last end; empty for no notes."""
    if not notes:
        return np.zeros(0)
    times = np.array([[n.start, n.end] for n in notes], dtype=np.float64)  # (notes, 2)
    edges = np.concatenate([times[:, 0], times[:, 1]])
    change = np.concatenate([np.ones(len(notes)), -np.ones(len(notes))])
    order = np.lexsort((change, edges))  # at equal times ends (-1) come first
    edges, count = edges[order], np.cumsum(change[order])  # notes sounding after each edge
    spans = np.diff(edges)  # (2 notes - 1,) beats until the next edge
    return np.bincount(count[:-1].astype(np.int64), weights=spans)


def length_counts(lengths: np.ndarray) -> np.ndarray:
    """Histogram of note lengths (beats) over LENGTH_EDGES, int64 (len(LENGTH_NAMES),)."""
    bins = np.searchsorted(np.asarray(LENGTH_EDGES), lengths, side="left")
    return np.bincount(bins, minlength=len(LENGTH_NAMES)).astype(np.int64)


def fold_sounding(time: np.ndarray) -> np.ndarray:
    """A sounding_time histogram folded to MAX_SOUNDING + 1 bins (the last: "that many or
    more"), float64."""
    folded = np.zeros(MAX_SOUNDING + 1)
    head = time[:MAX_SOUNDING]
    folded[: head.size] = head
    folded[MAX_SOUNDING] = time[MAX_SOUNDING:].sum()
    return folded


# --- Pooling over pieces ----------------------------------------------------------


@dataclass
class TextureTally:
    """Raw polyphony counts over one or more pieces; `texture_summary` makes figures."""

    notes: int = 0
    sounding: np.ndarray = field(default_factory=lambda: np.zeros(MAX_SOUNDING + 1))  # beats
    weighted: float = 0.0  # sum over time of the notes sounding (note-beats)
    lengths: np.ndarray = field(
        default_factory=lambda: np.zeros(len(LENGTH_NAMES), dtype=np.int64))
    long_notes: int = 0  # notes over LONG_NOTE beats
    longest: float = 0.0  # beats

    def __add__(self, other: TextureTally) -> TextureTally:
        return TextureTally(
            notes=self.notes + other.notes,
            sounding=self.sounding + other.sounding,
            weighted=self.weighted + other.weighted,
            lengths=self.lengths + other.lengths,
            long_notes=self.long_notes + other.long_notes,
            longest=max(self.longest, other.longest),
        )


def tally_texture_piece(piece: Piece) -> TextureTally:
    """The polyphony counts of one piece."""
    lengths, time = note_lengths(piece.notes), sounding_time(piece.notes)
    return TextureTally(
        notes=len(piece.notes),
        sounding=fold_sounding(time),
        weighted=float(np.dot(np.arange(time.size), time)),
        lengths=length_counts(lengths),
        long_notes=int((lengths > LONG_NOTE).sum()),
        longest=float(lengths.max(initial=0.0)),
    )


def tally_texture(pieces: Iterable[Piece]) -> TextureTally:
    """Polyphony counts pooled over pieces."""
    total = TextureTally()
    for piece in pieces:
        total = total + tally_texture_piece(piece)
    return total


def _shares(counts: np.ndarray, names: Sequence[str]) -> dict[str, float] | None:
    total = float(counts.sum())
    return {n: float(c) / total for n, c in zip(names, counts, strict=True)} if total else None


def texture_summary(t: TextureTally) -> dict:
    """The figures of a tally, JSON-able; None where undefined (no notes)."""
    duration = float(t.sounding.sum())
    return {
        "mean_sounding": t.weighted / duration if duration else None,  # time-weighted
        "long_note_share": t.long_notes / t.notes if t.notes else None,
        "longest_note": t.longest if t.notes else None,  # beats
        "sounding": _shares(t.sounding, SOUNDING_NAMES),  # share of the time
        "note_lengths": _shares(t.lengths, LENGTH_NAMES),  # share of the notes
    }


def texture_distances(t: TextureTally, reference: TextureTally) -> dict:
    """Jensen-Shannon divergences (bits) of the two histograms to the reference's."""
    return {
        "sounding_js": jensen_shannon(t.sounding, reference.sounding),
        "note_length_js": jensen_shannon(t.lengths, reference.lengths),
    }


# --- Text report ------------------------------------------------------------------


def _rows(s: dict) -> list[tuple[str, str]]:
    """(label, value) rows of one texture summary; "" value marks a heading."""
    rows = [
        ("notes sounding at once (time-weighted mean)", _num(s["mean_sounding"])),
        (f"notes longer than {LONG_NOTE:g} beats", _pct(s["long_note_share"], 2)),
        ("longest note (beats)", _num(s["longest_note"], "{:g}")),
        ("notes sounding at once (share of time)", ""),
    ]
    rows += [(f"  {n}", _pct((s["sounding"] or {}).get(n))) for n in SOUNDING_NAMES]
    rows.append(("note lengths in beats (share of notes)", ""))
    rows += [(f"  {n}", _pct((s["note_lengths"] or {}).get(n))) for n in LENGTH_NAMES]
    return rows


def format_texture_report(columns: dict[str, dict], distance: dict | None = None) -> str:
    """An aligned table of texture summaries, one column each, like stats.format_report."""
    per_column = [_rows(summary) for summary in columns.values()]
    table = [["texture", *columns]]
    for i, (label, value) in enumerate(per_column[0]):
        table.append([label, *("" if value == "" else rows[i][1] for rows in per_column)])
    if distance is not None:
        table.append(["distance to reference (JS, bits)", ""])
        table.append(["  notes sounding at once", _num(distance["sounding_js"], "{:.4f}")])
        table.append(["  note lengths", _num(distance["note_length_js"], "{:.4f}")])
    return align_columns(table)


def _pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)
