"""Tests for composer.listen.plot: valid PNG files of the expected size, and the error texts."""

import struct
import sys

import pytest

from composer.listen import plot
from composer.listen.plot import PlotError, plot_loss_curve, plot_piano_roll
from composer.music.notes import Note, Piece

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
