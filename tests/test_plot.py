"""Tests for composer.listen.plot: valid PNG files of the expected size, and the error texts."""

import struct
import sys

import pytest

from composer.listen import plot
from composer.listen.plot import PlotError, plot_loss_curve, plot_piano_roll
from composer.music.chords import Chord
from composer.music.meter import MeterMap
from composer.music.notes import ChordSymbol, Note, Piece, TimeSignature

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) in pixels of a PNG file, from its IHDR chunk; fails if not a PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    return struct.unpack(">II", data[16:24])


def tune(time_signature=(4, 4)) -> Piece:
    """Eight beats of C major over a held C3, in two voices."""
    top = [Note(i, i + 1, p, 90) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62])]
    return Piece("tune.mid", [*top, Note(0, 8, 48, 50, voice=1)], time_signature=time_signature)


HISTORY = [
    {"epoch": 1, "train_nll": 2.9, "valid_nll": 2.8},
    {"epoch": 2, "train_nll": 2.1, "valid_nll": None},  # no validation this epoch
    {"epoch": 3, "train_nll": 1.7, "valid_nll": 1.9},
    {"epoch": 4, "train_nll": 1.5, "valid_nll": 2.0},
]


def test_piano_roll_is_a_png_of_the_expected_size(tmp_path):
    out = plot_piano_roll(tune(), tmp_path / "roll.png", title="tune.mid")
    assert out == tmp_path / "roll.png"
    # 100 dpi; 8 beats -> 8 inches wide (the minimum); rows for pitches 47..68 (one spare
    # each side of C3..G4) -> 1.5 + 0.16 * 21 = 4.86 inches tall
    assert png_size(out) == (800, 486)
    assert not list(tmp_path.glob(".*partial*"))


def test_piano_roll_grows_with_the_piece(tmp_path):
    long = Piece("long", [Note(i, i + 1, 40 + i % 50) for i in range(200)], time_signature=(6, 8))
    width, height = png_size(plot_piano_roll(long, tmp_path / "long.png"))
    assert width == 2400  # capped at 24 inches
    assert height == round(100 * (1.5 + 0.16 * (90 - 39)))  # 51 pitch rows


def test_piano_roll_of_nothing_is_an_error(tmp_path):
    with pytest.raises(PlotError, match="^empty.mid: no notes to draw$"):
        plot_piano_roll(Piece("empty.mid"), tmp_path / "roll.png")


def test_bar_labels_thin_out():
    assert [plot._bar_step(bars) for bars in (1, 16, 17, 40, 1024)] == [1, 1, 2, 4, 64]


def test_loss_curve_is_a_png(tmp_path):
    out = plot_loss_curve(HISTORY, tmp_path / "loss.png")
    assert png_size(out) == (800, 500)


def test_loss_curve_without_validation(tmp_path):
    history = [{"epoch": 1, "train_nll": 3.0}, {"epoch": 2, "train_nll": float("nan")}]
    assert png_size(plot_loss_curve(history, tmp_path / "loss.png")) == (800, 500)


@pytest.mark.parametrize(
    ("history", "error", "text"),
    [
        ([], ValueError, "history is empty: nothing to plot"),
        ("epochs", TypeError, "history must be a list of dicts, got str"),
        ([3.0], TypeError, "history rows must be dicts, got float"),
        ([{"epoch": 1}], ValueError, "lacks train_nll"),
    ],
)
def test_bad_history(tmp_path, history, error, text):
    with pytest.raises(error, match=text):
        plot_loss_curve(history, tmp_path / "loss.png")


def test_unwritable_path_is_a_plot_error(tmp_path):
    with pytest.raises(PlotError, match="cannot write .*roll.png"):
        plot_piano_roll(tune(), tmp_path / "no" / "such" / "roll.png")


def test_missing_matplotlib_says_how_to_install_it(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # `import` now raises ImportError
    expected = (
        "matplotlib is not installed, and pictures need it: "
        "pip install 'numpy-lstm-composer[plot]' (or: pip install matplotlib)"
    )
    with pytest.raises(PlotError) as info:
        plot_piano_roll(tune(), tmp_path / "roll.png")
    assert str(info.value) == expected
    with pytest.raises(PlotError, match="numpy-lstm-composer"):
        plot_loss_curve(HISTORY, tmp_path / "loss.png")
    assert not list(tmp_path.iterdir())


# --- Bars and chords ------------------------------------------------------------------

JIG_THEN_REEL = MeterMap((TimeSignature(0.0, 6, 8), TimeSignature(7.0, 2, 4)), phase=1.0)


def test_bar_lines_follow_the_phase_and_the_changes():
    lines, stop = plot.bar_lines(JIG_THEN_REEL, 10.2)
    assert lines.tolist() == [1.0, 4.0, 7.0, 9.0, 11.0] and stop == 11.0  # the closing line
    assert plot.beat_lines(JIG_THEN_REEL, lines, stop).tolist() == \
        [1.0, 2.5, 4.0, 5.5, 7.0, 8.0, 9.0, 10.0]  # dotted quarters in 6/8, quarters in 2/4
    waltz = MeterMap((TimeSignature(0.0, 3, 4),), phase=2.0)
    lines, stop = plot.bar_lines(waltz, 5.0)
    assert (lines.tolist(), stop) == ([2.0, 5.0], 5.0)
    assert plot.beat_lines(waltz, lines, stop).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_the_roll_draws_the_bars_metres_and_chord_symbols():
    piece = Piece("jig.mid", [Note(0.0, 1.0, 62), Note(1.0, 10.0, 66)])
    chords = [(1.0, Chord(2)), (4.0, Chord(9, "dominant7")), (7.0, Chord(None, None))]
    figure = plot.piano_roll_figure(piece, JIG_THEN_REEL, chords)
    ax = figure.axes[0]
    verticals = sorted({line.get_xdata()[0] for line in ax.lines})
    assert verticals == [1.0, 4.0, 7.0, 9.0, 11.0]
    texts = [(t.get_position()[0], t.get_text().strip()) for t in ax.texts]
    assert (0.0, "6/8") in texts and (7.0, "2/4") in texts
    symbols = [t for t in texts if t[1] in ("D", "A7", "N.C.")]
    assert symbols == [(1.0, "D"), (4.0, "A7"), (7.0, "N.C.")]
    assert "pickup of 1 beat" in ax.get_title()


def test_by_default_the_roll_shows_the_files_bars_and_chords():
    piece = Piece("x.mid", [Note(0.0, 8.0, 60)], time_signatures=[TimeSignature(0.0, 2, 4)],
                  chords=[ChordSymbol(0.0, "Am")])
    ax = plot.piano_roll_figure(piece).axes[0]
    assert sorted({line.get_xdata()[0] for line in ax.lines}) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert "Am" in [t.get_text().strip() for t in ax.texts]


def test_many_chord_symbols_are_thinned():
    chords = [(float(k), Chord(k % 12)) for k in range(300)]
    shown = plot.chord_labels(chords, 1000.0)
    assert len(shown) <= plot.MAX_CHORD_LABELS and shown[0] == (0.0, "C")
    assert plot.chord_labels(chords, 2.0) == [(0.0, "C"), (1.0, "C#")]
