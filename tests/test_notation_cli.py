"""composer export, composer score, composer sample --format, and composer train on ABC files:
exit codes, files written, exact error texts."""

import sys

import pytest
from click.testing import CliRunner
from test_cli import TINY

from composer.cli import main
from composer.data.dataset import load_dataset
from composer.music.abc import read_abc
from composer.music.melody import MelodyEncoding
from composer.music.midi import read_midi, write_midi
from composer.music.notes import Note

TUNE = "X:1\nT:One\nM:6/8\nL:1/8\nK:G\n|: GAB cde | dBG A3 :|\n"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def midi_file(tmp_path):
    path = tmp_path / "tune.mid"
    write_midi(path, [Note(k / 2, k / 2 + 0.5, 67 + k % 5) for k in range(24)],
               time_signature=(6, 8))
    return path


@pytest.mark.parametrize("fmt, suffix, start", [("abc", ".abc", "X:1\nT:tune\nM:6/8"),
                                                ("musicxml", ".musicxml", "<?xml")])
def test_export_writes_beside_the_file_and_never_overwrites(midi_file, fmt, suffix, start):
    result = invoke("export", midi_file, "--format", fmt)
    assert result.exit_code == 0, result.output
    written = midi_file.with_suffix(suffix)
    assert result.output == f"Wrote {written}\n" and written.read_text().startswith(start)
    again = invoke("export", midi_file, "--format", fmt, "-o", written)
    assert again.exit_code == 1
    assert f"Error: {written} already exists; choose another name with -o, or pass " \
           "--overwrite" in again.output


def test_export_abc_reads_back_with_the_same_notes(midi_file, tmp_path):
    out = tmp_path / "out.abc"
    assert invoke("export", midi_file, "--format", "abc", "-o", out).exit_code == 0
    back = read_abc(out)[0]
    assert [(n.start, n.end, n.pitch) for n in back.notes] == \
        [(n.start, n.end, n.pitch) for n in read_midi(midi_file)[0].notes]


def test_export_of_an_abc_book_keeps_every_tune(tmp_path):
    book = tmp_path / "book.abc"
    book.write_text(TUNE + "\n" + TUNE.replace("X:1", "X:2"))
    out = tmp_path / "again.abc"
    assert invoke("export", book, "--format", "abc", "-o", out).exit_code == 0
    assert len(read_abc(out)) == 2


def test_export_and_score_report_bad_input_in_one_line(tmp_path):
    missing = invoke("export", tmp_path / "none.mid", "--format", "abc")
    assert missing.exit_code == 1 and missing.output == f"Error: {tmp_path / 'none.mid'}: " \
        "no such file\n"
    bad = tmp_path / "bad.abc"
    bad.write_text('X:7\nK:C\n"Am C D\n')
    result = invoke("export", bad, "--format", "musicxml")
    assert result.exit_code == 1 and result.output == (
        f'Error: {bad}: X:7, line 3: a chord symbol or annotation " with no closing " '
        "at column 1\n")


def test_score_writes_svg(midi_file, tmp_path):
    pytest.importorskip("verovio")
    out = tmp_path / "tune.svg"
    result = invoke("score", midi_file, "--output", out)
    assert result.exit_code == 0, result.output
    assert out.read_text().lstrip().startswith(("<?xml", "<svg")) and "</svg>" in \
        out.read_text()
    wrong = invoke("score", midi_file, "--output", tmp_path / "tune.pdf")
    assert wrong.exit_code == 2 and "composer score writes SVG; give a .svg name" in \
        wrong.output


def test_score_without_verovio_says_how_to_install_it(midi_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "verovio", None)
    result = invoke("score", midi_file)
    assert result.exit_code == 1
    assert result.output == "Error: engraving needs Verovio: pip install " \
                            "'numpy-lstm-composer[score]'\n"


@pytest.fixture(scope="module")
def model(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("notation") / "run"
    assert invoke("train", tiny_corpus, "--out", out, *TINY).exit_code == 0
    return out


def test_sample_writes_abc_that_reads_back_as_its_midi(model, tmp_path):
    args = ["sample", "--model", model, "--bars", "8", "--meter", "6/8", "--seed", "3"]
    assert invoke(*args, "--out", tmp_path / "a.mid").exit_code == 0
    result = invoke(*args, "--out", tmp_path, "--format", "abc")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == str(tmp_path / "sample-001.abc")
    encoding = MelodyEncoding()
    abc = read_abc(tmp_path / "sample-001.abc")[0]
    midi = read_midi(tmp_path / "a.mid")[0]
    assert encoding.encode(abc).tolist() == encoding.encode(midi).tolist()
    assert invoke(*args, "--out", tmp_path, "--format", "musicxml").exit_code == 0
    assert (tmp_path / "sample-001.musicxml").read_text().startswith("<?xml")


def test_sample_refuses_wav_with_notation(model, tmp_path):
    result = invoke("sample", "--model", model, "--format", "abc", "--wav", "--out", tmp_path)
    assert result.exit_code == 2
    assert "--wav renders MIDI; drop --wav or use --format midi" in result.output
    assert not list(tmp_path.iterdir())


def test_train_reads_abc_books_and_names_each_broken_tune(tmp_path):
    folder = tmp_path / "abc"
    folder.mkdir()
    good = "".join(f"X:{k}\nT:T{k}\nM:2/4\nL:1/8\nK:D\n|: {'DFAd' if k % 2 else 'FAdf'} "
                   f"| {'edcB' * (1 + k % 3)} :|\n\n" for k in range(1, 9))
    (folder / "book.abc").write_text(good + 'X:99\nK:D\n"D DFA\n')
    (folder / "lone.abc").write_text("X:1\nK:D\n[DFA\n")
    warnings = []
    data = load_dataset(folder, MelodyEncoding(), cache_dir=tmp_path / "cache",
                        warn=warnings.append, val_fraction=0.2)
    assert warnings == [
        f'skipped {folder / "book.abc"}: X:99, line 59: a chord symbol or annotation " with '
        'no closing " at column 1',
        f"skipped {folder / 'lone.abc'}: X:1, line 3: a chord [ with no closing ] at column 1"]
    summary = data.summary
    assert (summary.files_found, summary.files_used, summary.pieces) == (2, 1, 8)
    assert summary.tunes_skipped == 1 and "1 tunes skipped in them" in str(summary)
    assert sorted(data.train_names + data.valid_names)[0] == "book.abc#X:1"
    again = []  # from the cache: the same lines
    load_dataset(folder, MelodyEncoding(), cache_dir=tmp_path / "cache", warn=again.append,
                 val_fraction=0.2)
    assert again == warnings
