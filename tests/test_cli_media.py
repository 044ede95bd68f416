"""Tests for `composer render`, `composer plot` and `composer stats` through click's CliRunner."""

import json
import os
import shutil
import sys

import pytest
from click.testing import CliRunner

from composer.cli import main
from composer.cli import media as cli_media
from composer.listen.render import SOUNDFONT_PLACES
from composer.music.midi import write_midi
from composer.music.notes import Note

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not os.path.isfile(SOUNDFONT_PLACES[0]),
    reason="FluidSynth or its soundfont is not installed "
    "(sudo apt-get install fluidsynth fluid-soundfont-gm)",
)
SCALE = [60, 62, 64, 65, 67, 69, 71, 72]  # C major, one beat each


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPOSER_CACHE_DIR", str(tmp_path / "cache"))  # not ~/.cache


@pytest.fixture
def scale(tmp_path):
    path = tmp_path / "scale.mid"
    write_midi(path, [Note(i, i + 1, p) for i, p in enumerate(SCALE)])
    return path


def test_commands_are_exported_and_registered():
    exported = cli_media.COMMANDS
    assert exported == [cli_media.render, cli_media.plot, cli_media.stats]
    for command in exported:
        assert main.commands[command.name] is command


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("render", ["Render MIDI_FILE to audio (WAV)", "--soundfont", "--gain", "--overwrite"]),
        ("plot", ["piano roll", "--output", "numpy-lstm-composer[plot]"]),
        ("stats", ["Musical statistics", "--against DATA_DIR", "--json", "--meter N/D",
                   "--chords CHORDS", "--estimate-phase"]),
    ],
)
def test_help(name, words):
    result = run(name, "--help")
    assert result.exit_code == 0
    for word in words:
        assert word in result.output
    assert run("--help").output.count(name) >= 1


def test_every_command_has_help_text():
    for command in cli_media.COMMANDS:
        assert command.help and command.get_short_help_str()
        for param in command.params:
            assert param.name in ("midi_file", "path") or param.help, param.name


# --- stats ---------------------------------------------------------------------------


def test_stats_of_a_file(scale):
    result = run("stats", scale)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].strip() == str(scale)
    assert next(line for line in lines if line.startswith("most common key")).endswith(
        "C major (1/1)"
    )
    assert next(line for line in lines if line.startswith("notes in key")).endswith("100.0%")
    assert next(line for line in lines if line.startswith("pitch range")).endswith("C4-C5")


def test_stats_as_json(scale):
    result = run("stats", scale, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["path"] == str(scale)
    assert report["summary"]["key"] == "C major"
    assert report["summary"]["notes_per_bar"] == 4.0
    assert "reference" not in report


def test_stats_against_a_corpus(scale, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_midi(corpus / "a.mid", [Note(i, i + 1, p) for i, p in enumerate(SCALE)])
    write_midi(corpus / "b.mid", [Note(i, i + 1, p) for i, p in enumerate([66, 68, 70, 66])])
    result = run("stats", scale, "--against", corpus)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [str(scale), str(corpus)]
    assert lines[1].split() == ["pieces", "1", "2"]
    assert "distance to reference (JS, bits)" in lines
    assert lines[lines.index("onset positions, distance (JS, bits)") + 1].split() == \
        ["4/4", "0.0000"]  # the same quarter notes on every beat
    as_json = json.loads(run("stats", scale, "--against", corpus, "--json").output)
    assert as_json["reference"]["summary"]["pieces"] == 2
    assert 0 < as_json["distance"]["pitch_class_js"] < 1


def test_stats_read_against_a_metre_and_a_progression(scale):
    result = run("stats", scale, "--meter", "3/4", "--chords", "C G", "--json")
    assert result.exit_code == 0, result.output
    structure = json.loads(result.output)["structure"]
    assert list(structure["onsets"]) == ["3/4"]
    assert structure["chord_sources"] == {"given": 1}
    # bars C D E | F G A | B C over C | G | C: chord tones C E, G, C: 4 of 8 beats
    assert structure["on_beat_notes"] == 8 and structure["chord_tone_share"] == 0.5
    text = run("stats", scale, "--meter", "3/4", "--estimate-phase").output
    assert next(line for line in text.splitlines() if line.startswith("bars ")).split() == \
        ["bars", "3/4,", "estimated"]


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--meter", "7/0", "Error: bad metre '7/0': the denominator must be one of"),
    ("--chords", "Am H7", "Error: bad chord symbol 'H7': it must start with a root A-G"),
    ("--chords", "Am:0", "Error: bad chord duration 'Am:0'"),
])
def test_stats_refuses_bad_metres_and_progressions(scale, option, value, message):
    result = run("stats", scale, option, value)
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1


def test_stats_of_a_folder_warns_about_bad_files(scale, tmp_path):
    (tmp_path / "broken.mid").write_bytes(b"nonsense")
    result = run("stats", tmp_path)
    assert result.exit_code == 0
    assert "Warning: skipped" in result.output and "broken.mid" in result.output
    assert "pieces" in result.output


def test_stats_missing_path_is_one_line():
    result = run("stats", "nowhere.mid")
    assert result.exit_code == 1
    assert result.output == "Error: nowhere.mid: no such file or folder\n"
    result = run("stats", ".", "--against", "no_corpus")
    assert (result.exit_code, result.output) == (1, "Error: no_corpus: no such file or folder\n")


def test_stats_of_a_file_that_is_not_midi(tmp_path):
    (tmp_path / "notes.mid").write_text("hello")
    result = run("stats", tmp_path / "notes.mid")
    assert result.exit_code == 1
    expected = f"Error: {tmp_path / 'notes.mid'}: not a MIDI file (it does not start with 'MThd')\n"
    assert result.output == expected


# --- plot ----------------------------------------------------------------------------


def test_plot_writes_a_png_next_to_the_file(scale, tmp_path):
    result = run("plot", scale)
    assert (result.exit_code, result.output) == (0, f"Wrote {tmp_path / 'scale.png'}\n")
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = run("plot", scale)  # never overwrites silently: picks a new name and says so
    assert again.output.splitlines() == [
        f"{tmp_path / 'scale.png'} already exists; writing {tmp_path / 'scale-1.png'} instead",
        f"Wrote {tmp_path / 'scale-1.png'}",
    ]


def test_plot_can_estimate_where_the_bars_start(tmp_path, monkeypatch):
    jig = [Note(0.0, 0.5, 57)] + [Note(0.5 + k / 2, 1.0 + k / 2, 62 + (k % 3) * 2)
                                  for k in range(36)] + [Note(18.5, 20.0, 62)]
    write_midi(tmp_path / "jig.mid", jig, time_signature=(6, 8))
    drawn = []
    monkeypatch.setattr(cli_media, "plot_piano_roll",
                        lambda piece, png, title, bars: drawn.append(bars))
    assert run("plot", tmp_path / "jig.mid", "--estimate-phase").exit_code == 0
    assert run("plot", tmp_path / "jig.mid", "-o", tmp_path / "b.png").exit_code == 0
    assert drawn[0].phase == 0.5 and drawn[0].first == (6, 8)
    assert drawn[1] is None  # the file's own bars, from time 0


def test_plot_to_a_chosen_file(scale, tmp_path):
    out = tmp_path / "roll.png"
    assert run("plot", scale, "-o", out).exit_code == 0
    refused = run("plot", scale, "-o", out)
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {out} already exists; choose another name with -o, or pass --overwrite\n"
    )
    assert run("plot", scale, "-o", out, "--overwrite").exit_code == 0


def test_output_must_not_be_the_input(scale):
    result = run("plot", scale, "-o", scale, "--overwrite")
    assert result.exit_code == 1
    assert result.output == f"Error: {scale} is the input file; choose another name with -o\n"


def test_plot_missing_file():
    result = run("plot", "missing.mid")
    assert (result.exit_code, result.output) == (1, "Error: missing.mid: no such file\n")


def test_plot_without_matplotlib(scale, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    result = run("plot", scale)
    assert result.exit_code == 1
    assert result.output == (
        "Error: matplotlib is not installed, and pictures need it: "
        "pip install 'numpy-lstm-composer[plot]' (or: pip install matplotlib)\n"
    )


# --- render --------------------------------------------------------------------------


def test_render_missing_file():
    result = run("render", "missing.mid")
    assert (result.exit_code, result.output) == (1, "Error: missing.mid: no such file\n")


def test_render_without_fluidsynth(scale, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = run("render", scale)
    assert result.exit_code == 1
    assert result.output.startswith("Error: FluidSynth is not installed")
    assert "sudo apt-get install fluidsynth fluid-soundfont-gm" in result.output
    assert result.output.count("\n") == 1
    assert not (tmp_path / "scale.wav").exists()


def test_render_refuses_to_overwrite_a_chosen_file(scale, tmp_path):
    (tmp_path / "out.wav").write_bytes(b"keep")
    result = run("render", scale, "-o", tmp_path / "out.wav")
    assert result.exit_code == 1
    assert "already exists; choose another name with -o, or pass --overwrite" in result.output
    assert (tmp_path / "out.wav").read_bytes() == b"keep"


def test_render_rejects_a_bad_gain_before_any_work(scale):
    result = run("render", scale, "--gain", "0")
    assert result.exit_code == 2
    assert "Invalid value for '--gain'" in result.output


@needs_fluidsynth
def test_render_writes_a_wav_and_never_overwrites(scale, tmp_path):
    first = run("render", scale)
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"Wrote {tmp_path / 'scale.wav'} (")
    assert first.output.endswith(" dBFS)\n")
    second = run("render", scale)
    assert second.exit_code == 0, second.output
    assert second.output.splitlines()[0] == (
        f"{tmp_path / 'scale.wav'} already exists; writing {tmp_path / 'scale-1.wav'} instead"
    )
    assert (tmp_path / "scale-1.wav").stat().st_size > 44
