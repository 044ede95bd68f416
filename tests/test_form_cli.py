"""`composer sample --form`, `composer stats` and `composer plot` on tunes with form."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from composer.cli import main
from composer.music.encoding import make_encoding
from composer.music.midi import read_midi, write_midi
from composer.music.notes import Note, PartMark

MELODY = make_encoding("melody")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def melody_model(studio_models):
    return studio_models / "melody"


@pytest.mark.parametrize("args, message", [
    (["--form", "XYZ"], "Error: Invalid value for '--form': bad form 'XYZ': name the parts in "
                        "the order they first appear, A, then B, ... (X where A comes next)"),
    (["--form", "A2"], "bad form 'A2': write the parts as letters"),
    (["--bars", "4", "--part-bars", "8"],
     "Error: --part-bars 8 is longer than the piece (--bars 4)"),
    (["--form", "none", "--part-bars", "2"], "Error: --part-bars needs a form; drop --form none"),
])
def test_bad_forms_are_usage_errors_before_any_work(args, message, tmp_path):
    result = invoke("sample", "--model", tmp_path / "none", *args)
    assert result.exit_code == 2 and message in result.output


def test_a_form_cannot_continue_a_primer(melody_model, tmp_path):
    primer = tmp_path / "primer.mid"
    write_midi(primer, [Note(0, 1, 60)])
    result = invoke("sample", "--model", melody_model, "--primer", primer, "--form", "AB",
                    "--out", tmp_path)
    assert result.exit_code == 2 and "cannot continue a --primer" in result.output


def test_a_part_longer_than_the_length_asked_is_named(melody_model, tmp_path):
    result = invoke("sample", "--model", melody_model, "--length", 20, "--meter", "4/4",
                    "--part-bars", 8, "--out", tmp_path)
    assert result.exit_code == 2
    assert "a part of 8 bars is longer than the piece (2 bars)" in result.output


def test_a_performance_model_plays_no_form(studio_models, tmp_path):
    result = invoke("sample", "--model", studio_models / "performance", "--form", "AABB",
                    "--out", tmp_path)
    assert result.exit_code == 2 and "--form and --part-bars need a melody model" in result.output
    plain = invoke("sample", "--model", studio_models / "performance", "--length", 40,
                   "--out", tmp_path)
    assert plain.exit_code == 0, plain.output  # the default form is for melody models


def test_a_sample_in_aabb_replays_its_parts_and_marks_them(melody_model, tmp_path):
    out = tmp_path / "reel.mid"
    result = invoke("sample", "--model", melody_model, "--bars", 8, "--meter", "2/4", "--key",
                    "G major", "--form", "AABB", "--part-bars", 2, "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.output
    piece = read_midi(out)[0]
    assert piece.parts == [PartMark(0.0, "A"), PartMark(4.0, "A"), PartMark(8.0, "B"),
                           PartMark(12.0, "B")]
    bars = MELODY.encode(piece)[: 8 * 8].reshape(8, 8)  # the tune starts on beat 0
    assert (bars[2] == bars[0]).all() and (bars[6] == bars[4]).all()  # first bars replayed
    assert piece.notes[-1].pitch % 12 == 7  # the last note: G


def test_stats_reports_form_and_judges_a_given_key(tmp_path):
    notes = [Note(2.0 * k, 2.0 * k + 1, 60 + (k % 4) * 2) for k in range(16)] + \
        [Note(32.0, 34.0, 62)]  # 2/4: a note a bar, 4 bars 4 times, then a long D
    path = tmp_path / "tune.mid"
    write_midi(path, notes, time_signature=(2, 4))
    report = json.loads(invoke("stats", path, "--json", "--key", "C major").output)
    form = report["structure"]
    assert form["repeated_bar_share"] == pytest.approx(12 / 17)  # 4 distinct bars, the last
    assert form["part_back_share"] == pytest.approx(8 / 9)  # bars 8..16 against 0..8
    assert form["distinct_bar_share"] == pytest.approx(5 / 17)
    assert form["tonic_ending_share"] == 0.0
    assert json.loads(invoke("stats", path, "--json", "--key", "D major").output)[
        "structure"]["tonic_ending_share"] == 1.0
    table = invoke("stats", path).output
    for row in ("bars equal to the bar a part (8) back", "pieces ending on the tonic",
                "self-similarity"):
        assert row in table
    bad = invoke("stats", path, "--key", "H major")
    assert bad.exit_code == 1 and "bad key 'H major'" in bad.output


def test_plot_shades_and_letters_the_parts(tmp_path):
    pytest.importorskip("matplotlib")
    from composer.listen.plot import piano_roll_figure
    from composer.music.notes import Piece

    piece = Piece("tune", [Note(float(k), k + 1.0, 60 + k % 5) for k in range(16)],
                  parts=[PartMark(0.0, "A"), PartMark(4.0, "A"), PartMark(8.0, "B"),
                         PartMark(12.0, "B")])
    texts = [t.get_text().strip() for t in piano_roll_figure(piece).axes[0].texts]
    assert {"A", "A (2)", "B", "B (2)"} <= set(texts)
    assert "form AABB" in piano_roll_figure(piece).axes[0].get_title()


def test_the_default_form_of_a_long_sample_is_aabb(melody_model, tmp_path):
    out = tmp_path / "jig.mid"
    result = invoke("sample", "--model", melody_model, "--bars", 32, "--meter", "6/8",
                    "--key", "D major", "--seed", 2, "--out", out)
    assert result.exit_code == 0, result.output
    assert [(m.beat, m.letter) for m in read_midi(out)[0].parts] == [
        (0.0, "A"), (24.0, "A"), (48.0, "B"), (72.0, "B")]
    short = tmp_path / "short.mid"
    invoke("sample", "--model", melody_model, "--bars", 4, "--out", short, "--seed", 2)
    assert read_midi(short)[0].parts == []  # below 8 bars: no form, only the ending
    assert np.isfinite(read_midi(short)[0].duration)


def test_a_sample_in_a_form_is_written_as_abc_with_its_repeats(melody_model, tmp_path):
    from composer.music.abc import read_abc

    out = tmp_path / "reel.abc"
    shape = ["--bars", 16, "--meter", "2/4", "--key", "G major", "--form", "AABB",
             "--part-bars", 4, "--seed", 1]  # a repeat with endings holds 4 bars or more
    result = invoke("sample", "--model", melody_model, *shape, "--format", "abc", "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.count("|:") == 2 and text.count(":|") == 2 and "[2" in text  # A and B, twice
    midi = tmp_path / "reel.mid"
    invoke("sample", "--model", melody_model, *shape, "--out", midi)
    played = [(n.start, n.end, n.pitch) for n in read_abc(out)[0].notes]
    assert played == [(n.start, n.end, n.pitch) for n in read_midi(midi)[0].notes]
