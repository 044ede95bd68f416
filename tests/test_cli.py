"""Every command through click's CliRunner: help, exit codes and exact error texts."""

import json
import shutil
import signal
import subprocess
import sys
import time

import mido
import pytest
from click.testing import CliRunner

from composer.cli import main
from composer.music.midi import read_midi, write_midi
from composer.music.notes import Note

TINY = ["--hidden-size", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "4",
        "--epochs", "2", "--transpose", "0", "--val-fraction", "0.2", "--quiet"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["evaluate"], ["info"],
                                     ["render"], ["plot"], ["stats"]])
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: main" in result.output or "Usage:" in result.output
    assert len(result.output.splitlines()) > 4


def test_train_help_lists_every_option():
    output = invoke("train", "--help").output
    for option in ["--encoding", "--steps-per-quarter", "--hidden-size", "--layers",
                   "--dropout", "--seq-len", "--batch-size", "--epochs", "--max-steps", "--lr",
                   "--clip-norm",
                   "--clip-value", "--transpose", "--val-fraction", "--patience", "--seed",
                   "--out", "--resume", "--quiet"]:
        assert option in output


def test_train_missing_folder(tmp_path):
    result = invoke("train", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'nowhere'}: no such folder"


def test_train_empty_folder(tmp_path):
    result = invoke("train", tmp_path, "--out", tmp_path / "m")
    assert result.exit_code == 1
    assert result.output.strip() == \
        f"Error: no MIDI or ABC files (.mid, .midi, .abc) found in {tmp_path}"


def test_train_folder_of_broken_files(tmp_path):
    (tmp_path / "a.mid").write_bytes(b"")
    (tmp_path / "b.mid").write_text("not music")
    result = invoke("train", tmp_path, "--out", tmp_path / "m", "--quiet")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0] == f"skipped {tmp_path / 'a.mid'}: empty file"
    assert lines[1].startswith(f"skipped {tmp_path / 'b.mid'}: ")
    assert lines[-1].startswith(f"Error: none of the 2 music files in {tmp_path} could be used")
    assert "Traceback" not in result.output


def test_conflicting_clip_options(tmp_path):
    result = invoke("train", tmp_path, "--clip-norm", "1", "--clip-value", "5")
    assert result.exit_code == 2
    assert "Error: give --clip-norm or --clip-value, not both" in result.output


def test_resume_with_new_settings_is_refused(tmp_path):
    result = invoke("train", tmp_path, "--resume", tmp_path, "--hidden-size", "64")
    assert result.exit_code == 2
    assert "Error: --resume continues with the saved settings; drop --hidden-size" in result.output


def test_missing_model(tmp_path):
    result = invoke("sample", "--model", tmp_path / "none")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'none'}: no such model file"
    result = invoke("info", tmp_path / "x.npz")
    assert result.output.strip() == f"Error: {tmp_path / 'x.npz'}: no such model file"


def test_bad_sampling_option():
    result = invoke("sample", "--top-p", "1.5")
    assert result.exit_code == 2 and "--top-p" in result.output


@pytest.mark.parametrize("args, message", [
    (["--programs", "0,1"], "Error: --programs needs --voices"),
    (["--voices", "2", "--programs", "0"], "Error: Invalid value for --programs: '0': give 2 "
                                            "programs (one per voice), each 0..127"),
    (["--voices", "2", "--programs", "0,x"], "Error: Invalid value for --programs: '0,x' is "
                                              "not a comma-separated list of numbers"),
    (["--voices", "1", "--programs", "200"], "give 1 programs (one per voice), each 0..127"),
    (["--voices", "2", "--programs", "0,1", "--program", "5"],
     "Error: give --program or --programs, not both"),
    (["--no-grammar", "--max-voices", "3"],
     "Error: --max-note-beats and --max-voices need the grammar; drop --no-grammar"),
    (["--max-note-beats", "0"], "--max-note-beats"),
])
def test_sample_voice_and_grammar_options_are_checked_first(args, message, tmp_path):
    result = invoke("sample", "--model", tmp_path / "none", *args)
    assert result.exit_code == 2 and message in result.output


@pytest.fixture(scope="module")
def cli_model(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    result = invoke("train", tiny_corpus, "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    return out


def test_train_end_to_end_writes_model_and_refuses_to_overwrite(cli_model, tiny_corpus):
    assert (cli_model / "model.npz").is_file() and (cli_model / "checkpoint.npz").is_file()
    again = invoke("train", tiny_corpus, "--out", cli_model, *TINY)
    assert again.exit_code == 1
    assert f"Error: {cli_model} already holds a model; use --resume {cli_model}" in again.output


def test_resume_a_finished_run_continues_cleanly(cli_model, tiny_corpus):
    result = invoke("train", tiny_corpus, "--resume", cli_model, "--quiet")
    assert result.exit_code == 0, result.output
    assert "best validation NLL" in result.output


def test_sample_writes_midi_files_that_mido_reads(cli_model, tmp_path):
    result = invoke("sample", "--model", cli_model, "--length", 64, "--num", 2, "--seed", 3,
                    "--out", tmp_path)
    assert result.exit_code == 0, result.output
    paths = result.stdout.split()
    assert paths == [str(tmp_path / "sample-001.mid"), str(tmp_path / "sample-002.mid")]
    for path in paths:
        midi = mido.MidiFile(path)
        assert midi.type == 1 and any(m.type == "note_on" for m in midi.tracks[-1])
    more = invoke("sample", "--model", cli_model, "--length", 16, "--out", tmp_path)
    assert more.stdout.split() == [str(tmp_path / "sample-003.mid")]  # nothing overwritten


def test_sample_seed_reproducible_and_file_never_overwritten(cli_model, tmp_path):
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    invoke("sample", "--model", cli_model, "--seed", 9, "--length", 48, "--out", a)
    invoke("sample", "--model", cli_model, "--seed", 9, "--length", 48, "--out", b)
    assert a.read_bytes() == b.read_bytes()
    again = invoke("sample", "--model", cli_model, "--out", a)
    assert again.exit_code == 1
    assert again.output.strip() == f"Error: {a} exists already; choose another --out"


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed "
                    "(sudo apt-get install fluidsynth fluid-soundfont-gm)")
def test_sample_wav_renders_each_sample(cli_model, tmp_path):
    result = invoke("sample", "--model", cli_model, "--length", 32, "--num", 2, "--seed", 4,
                    "--out", tmp_path, "--wav")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(tmp_path / name) for name in
                                     ("sample-001.mid", "sample-001.wav",
                                      "sample-002.mid", "sample-002.wav")]
    assert all((tmp_path / f"sample-00{k}.wav").stat().st_size > 10_000 for k in (1, 2))


def test_sample_with_primer(cli_model, tiny_corpus, tmp_path):
    primer = sorted(tiny_corpus.glob("*.mid"))[0]
    out = tmp_path / "p.mid"
    result = invoke("sample", "--model", cli_model, "--primer", primer, "--length", 32,
                    "--out", out, "--seed", 1)
    assert result.exit_code == 0, result.output
    first = [m for m in mido.MidiFile(primer).tracks[-1] if m.type == "note_on"][:4]
    sampled = [m for m in mido.MidiFile(out).tracks[-1] if m.type == "note_on"][:4]
    assert [m.note for m in first] == [m.note for m in sampled]


def test_evaluate_json_and_info(cli_model, tiny_corpus):
    result = invoke("evaluate", cli_model, tiny_corpus, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["split"].endswith("training pieces left out")
    for side in ("model", "baseline"):
        assert set(figures[side]) >= {"nll", "bits", "perplexity", "accuracy", "event_accuracy"}
    text = invoke("evaluate", cli_model, tiny_corpus).output
    assert "composer LSTM" in text and "Kneser-Ney" in text
    info = invoke("info", cli_model)
    assert info.exit_code == 0
    assert "vocabulary: 50 tokens" in info.output and "parameters:" in info.output
    assert "history: 2 epochs" in info.output
    assert f"trained on: {tiny_corpus.name} (" in info.output  # a name, not this machine's path


def test_ctrl_c_saves_the_checkpoint_and_resume_finishes(tiny_corpus, tmp_path):
    """A real SIGINT to a real `composer train` process: exit 130, resumable."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "composer.cli", "train", str(tiny_corpus), "--out", str(out),
               "--hidden-size", "16", "--layers", "1", "--seq-len", "8", "--batch-size", "2",
               "--epochs", "1000", "--patience", "1000", "--max-steps", "5000",
               "--transpose", "0", "--val-fraction", "0.2"]  # long enough to be interrupted
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the first epoch's checkpoint: training is under way
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"Resume with: composer train {tiny_corpus} --resume {out}" in err
    assert "Traceback" not in err
    resumed = invoke("train", tiny_corpus, "--resume", out, "--quiet")
    assert resumed.exit_code == 0, resumed.output


def test_performance_encoding_end_to_end(tmp_path):
    """Two voices in, a polyphonic model out: its samples hold simultaneous notes."""
    (tmp_path / "data").mkdir()
    for k in range(12):
        melody = [Note(b, b + 1, 67 + (b + k) % 5) for b in range(16)]
        bass = [Note(b, b + 2, 48 + k % 3) for b in range(0, 16, 2)]
        write_midi(tmp_path / "data" / f"duet{k}.mid", melody + bass, qpm=100)
    out = tmp_path / "poly"
    result = invoke("train", tmp_path / "data", "--encoding", "performance", "--out", out,
                    "--hidden-size", "32", "--layers", "1", "--seq-len", "16", "--batch-size",
                    "4", "--epochs", "8", "--lr", "0.01", "--transpose", "0", "--quiet")
    assert result.exit_code == 0, result.output
    assert "vocabulary: 200 tokens" in invoke("info", out).output
    sample = invoke("sample", "--model", out, "--length", 300, "--seed", 2, "--temperature",
                    0.5, "--out", tmp_path / "s.mid")
    assert sample.exit_code == 0, sample.output
    notes = read_midi(tmp_path / "s.mid")[0].notes
    assert any(a.start < b.start < a.end for a in notes for b in notes if a is not b)
    assert "grammar defaults: notes up to 2 beats, at most 2 at once" in invoke("info",
                                                                                out).output
    split = invoke("sample", "--model", out, "--length", 300, "--seed", 2, "--voices", 2,
                   "--programs", "73,32", "--out", tmp_path / "duet.mid")
    assert split.exit_code == 0, split.output
    tracks = mido.MidiFile(tmp_path / "duet.mid").tracks[1:]
    assert [[m.program for m in t if m.type == "program_change"] for t in tracks] == [[73], [32]]
    plain = invoke("sample", "--model", out, "--length", 50, "--no-grammar", "--out",
                   tmp_path / "plain.mid")
    assert plain.exit_code == 0, plain.output


def test_a_finer_grid_is_kept_in_the_model(tiny_corpus, tmp_path):
    out = tmp_path / "fine"
    result = invoke("train", tiny_corpus, "--out", out, "--steps-per-quarter", "12", *TINY)
    assert result.exit_code == 0, result.output
    assert "steps_per_quarter=12" in invoke("info", out).output
    sample = invoke("sample", "--model", out, "--length", 48, "--seed", 1, "--out",
                    tmp_path / "s.mid")
    assert sample.exit_code == 0, sample.output
