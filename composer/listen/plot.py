"""Pictures: a piano roll of a piece and the training curve of a model, as PNG files.

matplotlib is an optional extra (`pip install 'numpy-lstm-composer[plot]'`);
without it these functions raise PlotError saying so. Figures are drawn on
matplotlib's Agg canvas directly, without pyplot, so no display is needed and
no global backend is switched in the caller's process.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from composer.errors import ComposerError
from composer.music.chords import Chord
from composer.music.harmony import symbol_spans
from composer.music.keys import pitch_name
from composer.music.meter import MeterMap, bar_beats, beat_beats, time_signatures
from composer.music.notes import Piece

INSTALL_MATPLOTLIB = (
    "matplotlib is not installed, and pictures need it: "
    "pip install 'numpy-lstm-composer[plot]' (or: pip install matplotlib)"
)
DPI = 100  # dots per inch of the PNG files
MAX_BAR_LABELS = 16  # at most this many bar numbers along the top of a piano roll
MAX_BAR_LINES = 128  # with more bars, only the numbered bars get a line
MAX_BEAT_LINES = 128  # beats get faint lines up to this many beats
MAX_CHORD_LABELS = 96  # at most this many chord symbols above a piano roll
BLACK_KEYS = frozenset({1, 3, 6, 8, 10})  # pitch classes shaded in the piano roll
PART_SHADES = ("C0", "C2", "C4", "C1", "C6", "C8")  # the parts A, B, C, ... (then again)


class PlotError(ComposerError):
    """matplotlib is missing, or there is nothing to draw."""


def require_matplotlib():
    """(Figure, FigureCanvasAgg), or PlotError saying how to install matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise PlotError(INSTALL_MATPLOTLIB) from error
    return Figure, FigureCanvasAgg


def _save(figure, canvas_class, path: str | os.PathLike) -> Path:
    """Write the figure as a PNG via a temporary file, so a reader never sees half of it."""
    path = Path(path)
    temp = path.with_name(f".{path.stem}.{os.getpid()}.partial.png")
    canvas_class(figure)
    try:
        figure.savefig(temp, format="png", dpi=DPI)
        os.replace(temp, path)
    except OSError as error:
        raise PlotError(f"cannot write {path}: {error.strerror or error}") from error
    finally:
        temp.unlink(missing_ok=True)
    return path


# --- Piano roll ------------------------------------------------------------------


def _bar_step(bars: float) -> int:
    """Label every k-th bar so that at most MAX_BAR_LABELS labels show: k in 1, 2, 4, 8, ..."""
    step = 1
    while bars / step > MAX_BAR_LABELS:
        step *= 2
    return step


def _note_rectangles(piece: Piece) -> np.ndarray:
    """Corner points of one rectangle per note, (n, 4, 2): (time in beats, pitch)."""
    notes = np.array([(n.start, n.end, n.pitch) for n in piece.notes], dtype=float)
    start, end, pitch = notes.T
    low, high = pitch - 0.4, pitch + 0.4
    corners = [(start, low), (end, low), (end, high), (start, high)]
    return np.stack([np.stack(c, axis=-1) for c in corners], axis=1)


def _draw_notes(ax, piece: Piece) -> None:
    from matplotlib import colormaps
    from matplotlib.collections import PolyCollection

    palette = colormaps["tab10"]
    colors = [palette(n.voice % 10) for n in piece.notes]
    alphas = [0.35 + 0.65 * n.velocity / 127 for n in piece.notes]  # louder = darker
    faces = [(*c[:3], a) for c, a in zip(colors, alphas, strict=True)]
    rectangles = PolyCollection(
        _note_rectangles(piece), facecolors=faces, edgecolors="0.15", linewidths=0.4, zorder=2
    )  # zorder 2: above the bar and beat lines
    ax.add_collection(rectangles)


def _draw_pitch_axis(ax, low: int, high: int) -> None:
    """Note names on the pitch axis; black-key rows shaded like a keyboard."""
    for pitch in range(low, high + 1):
        if pitch % 12 in BLACK_KEYS:
            ax.axhspan(pitch - 0.5, pitch + 0.5, color="0.93", zorder=0, linewidth=0)
    every = 1 if high - low <= 24 else 12
    ticks = [p for p in range(low, high + 1) if every == 1 or p % 12 == 0]
    ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_ylabel("pitch")


def bar_lines(bars: MeterMap, end: float) -> tuple[np.ndarray, float]:
    """(bar lines in beats from 0 up to the one closing the piece, where the roll ends)."""
    lines = bars.downbeats(end + bar_beats(bars.meter_at(end)))
    closing = lines[lines >= end - 1e-9]
    stop = float(closing[0]) if closing.size else end
    return lines[lines <= stop + 1e-9], max(stop, end)


def beat_lines(bars: MeterMap, lines: np.ndarray, stop: float) -> np.ndarray:
    """Beats of the beat lines in 0..stop: from each bar line on, and in a pickup back from
    the first bar line."""
    edges = np.unique(np.concatenate([[0.0], lines, [stop]]))
    beats = []
    for start, finish in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        beat = beat_beats(bars.meter_at(start))
        pickup = start == 0 and lines.size > 0 and finish == lines[0] and lines[0] > 0
        anchor = finish if pickup else start  # the pickup's beats count back from bar 1
        first, last = math.ceil((start - anchor) / beat - 1e-9), (finish - anchor) / beat
        beats.append(anchor + beat * np.arange(first, last - 1e-9))
    return np.unique(np.round(np.concatenate(beats), 9))


def _draw_bars(ax, bars: MeterMap, end: float) -> float:
    """Bar lines of the MeterMap, numbered along the top (bar 1 after any pickup), faint beat
    lines, and each time signature written where it starts. Returns where the roll ends."""
    lines, stop = bar_lines(bars, end)
    step = _bar_step(len(lines))
    for k, line in enumerate(lines.tolist()):
        if k % step == 0 or len(lines) <= MAX_BAR_LINES:
            ax.axvline(line, color="0.55" if k % step == 0 else "0.8", lw=0.7, zorder=1)
    beats = beat_lines(bars, lines, stop)
    if beats.size <= MAX_BEAT_LINES:
        ax.set_xticks(beats, minor=True)
        ax.grid(axis="x", which="minor", color="0.88", linewidth=0.5)
    labelled = lines[::step]
    ax.set_xticks(labelled, [f"{b:g}" for b in labelled])
    ax.set_xlim(0, stop)
    ax.set_xlabel("time (beats = quarter notes)")
    top = ax.secondary_xaxis("top")
    top.set_xticks(labelled, [str(1 + k * step) for k in range(len(labelled))])
    top.set_xlabel("bar")
    for change in bars.changes:
        ax.text(change.beat, 1.0, f" {change.numerator}/{change.denominator}", va="top",
                transform=ax.get_xaxis_transform(), fontsize=9, fontweight="bold", zorder=3)
    return stop


def chord_labels(chords: list[tuple[float, Chord]], stop: float) -> list[tuple[float, str]]:
    """(beat, symbol) of the chord symbols to write: at most MAX_CHORD_LABELS, evenly thinned."""
    shown = [(beat, chord.symbol) for beat, chord in chords if beat < stop]
    every = max(1, -(-len(shown) // MAX_CHORD_LABELS))
    return shown[::every]


def _draw_chords(ax, chords: list[tuple[float, Chord]], stop: float, row: float) -> None:
    for beat, symbol in chord_labels(chords, stop):
        ax.text(beat, row, f" {symbol}", va="center", fontsize=8, color="C3", zorder=3)


def _draw_parts(ax, parts, stop: float, row: float) -> None:
    """Each part (Piece.parts) shaded, a band with its letter over its middle; a part played
    again darker."""
    starts = [beat for beat, _ in parts] + [stop]
    seen: dict[str, int] = {}
    for (beat, letter), end in zip(parts, starts[1:], strict=True):
        if beat >= stop:
            break
        shade = PART_SHADES[(ord(letter) - ord("A")) % len(PART_SHADES)]
        times = seen[letter] = seen.get(letter, 0) + 1
        ax.axvspan(beat, end, color=shade, alpha=0.10 if times == 1 else 0.18, zorder=0,
                   linewidth=0)
        ax.text((beat + min(end, stop)) / 2, row, letter + ("" if times == 1 else f" ({times})"),
                ha="center", va="center", fontsize=10, fontweight="bold", color="0.25",
                zorder=3)


def piano_roll_figure(piece: Piece, bars: MeterMap | None = None,
                      chords: list[tuple[float, Chord]] | None = None, title: str | None = None):
    """The matplotlib Figure of a piano roll (see plot_piano_roll)."""
    if not piece.notes:
        raise PlotError(f"{piece.name}: no notes to draw")
    Figure, _ = require_matplotlib()
    bars = bars or MeterMap(time_signatures(piece))
    chords = symbol_spans(piece.chords) if chords is None else chords
    low = min(n.pitch for n in piece.notes) - 1
    high = max(n.pitch for n in piece.notes) + 1
    width = min(24.0, max(8.0, 3 + 0.15 * piece.duration))  # inches
    height = min(10.0, max(4.0, 1.5 + 0.16 * (high - low)))
    figure = Figure(figsize=(width, height), layout="constrained")
    ax = figure.add_subplot()
    _draw_pitch_axis(ax, low, high)
    stop = _draw_bars(ax, bars, piece.duration)
    top = high + 0.5  # strips above the notes: the parts, then the chord symbols
    if piece.parts:
        top += 2
        _draw_parts(ax, piece.parts, stop, top - 1)
    if chords:
        top += 2
        _draw_chords(ax, chords, stop, top - 1)
    ax.set_ylim(low - 0.5, top)
    _draw_notes(ax, piece)
    numerator, denominator = bars.first
    details = f"{numerator}/{denominator}, {piece.qpm:g} qpm, {len(piece.notes)} notes"
    if piece.parts:
        details += f", form {''.join(letter for _, letter in piece.parts)}"
    if bars.phase:
        details += f", pickup of {bars.phase:g} beat{'' if bars.phase == 1 else 's'}"
    ax.set_title(f"{title or piece.name}\n{details}", fontsize=11)
    return figure


def plot_piano_roll(piece: Piece, path: str | os.PathLike, *, title: str | None = None,
                    bars: MeterMap | None = None,
                    chords: list[tuple[float, Chord]] | None = None) -> Path:
    """Draw the piece's notes as a piano roll (pitch against beats) to a PNG.

    bars: where the bar lines go (default: the piece's time signatures from time 0, as
    written; meter.meter_map(piece) estimates the pickup); chords: (beat, Chord) spans
    written above the notes (default: the piece's chord symbols). The piece's parts
    (Piece.parts, e.g. a sample's form) are shaded and lettered.
    """
    figure = piano_roll_figure(piece, bars, chords, title)
    return _save(figure, require_matplotlib()[1], path)


# --- Loss curve --------------------------------------------------------------------


def _finite(value) -> float | None:
    """The value as a float, or None when missing or not finite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _check_history(history: Sequence[Mapping]) -> None:
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise TypeError(f"history must be a list of dicts, got {type(history).__name__}")
    if not history:
        raise ValueError("history is empty: nothing to plot")
    for row in history:
        if not isinstance(row, Mapping):
            raise TypeError(f"history rows must be dicts, got {type(row).__name__}")
        missing = {"epoch", "train_nll"} - set(row)
        if missing:
            raise ValueError(f"history row {dict(row)!r} lacks {', '.join(sorted(missing))}")


def _series(history: Sequence[Mapping], key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) of one column, skipping missing and non-finite values."""
    pairs = [(float(row["epoch"]), _finite(row.get(key))) for row in history]
    kept = [(e, v) for e, v in pairs if v is not None]
    return [e for e, _ in kept], [v for _, v in kept]


def _mark_best(ax, epochs: list[float], values: list[float]) -> None:
    best = int(np.argmin(values))
    ax.scatter([epochs[best]], [values[best]], s=80, facecolors="none", edgecolors="C1", zorder=3)
    ax.annotate(
        f"best {values[best]:.3f} (epoch {epochs[best]:g})",
        (epochs[best], values[best]),
        textcoords="offset points",
        xytext=(0, 10),
        ha="center",
        fontsize=9,
        color="C1",
    )


def plot_loss_curve(history: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Training and validation NLL (nats/step) per epoch to a PNG.

    `history`: one dict per epoch with "epoch", "train_nll" and "valid_nll"
    (None, or absent, when there was no validation).
    """
    _check_history(history)
    Figure, canvas_class = require_matplotlib()
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 5), layout="constrained")
    ax = figure.add_subplot()
    epochs, train = _series(history, "train_nll")
    ax.plot(epochs, train, "o-", color="C0", markersize=4, label="training")
    epochs_v, valid = _series(history, "valid_nll")
    if valid:
        ax.plot(epochs_v, valid, "s-", color="C1", markersize=4, label="validation")
        _mark_best(ax, epochs_v, valid)
    ax.margins(x=0.04, y=0.12)  # room above the "best" label
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if min(epochs) == max(epochs):  # one epoch: keep the axis from zooming into 0.001s
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL (nats per step)")
    bits = ax.secondary_yaxis(
        "right", functions=(lambda x: x / math.log(2), lambda b: b * math.log(2))
    )
    bits.set_ylabel("bits per step")
    ax.grid(True, color="0.9")
    ax.legend()
    ax.set_title("Training and validation loss")
    return _save(figure, canvas_class, path)
