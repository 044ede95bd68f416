"""tools/build_corpus.py --chorales: argument handling without music21, and the MIDI it writes."""

import sys
from pathlib import Path

import pytest

from composer.music.midi import read_midi

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import build_corpus  # noqa: E402
import chorales  # noqa: E402


@pytest.fixture
def no_music21(monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)  # import music21 -> ImportError


def test_without_music21_the_tool_says_how_to_install_it(no_music21, tmp_path, capsys):
    assert build_corpus.main(["--chorales", str(tmp_path / "chorales")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: music21 is not installed, and build_corpus.py reads the "
                          "music from its corpus.")
    assert "pip install music21 mido" in err and "Traceback" not in err
    assert not (tmp_path / "chorales").exists()  # nothing written
    assert build_corpus.main([]) == 1  # the tune books need it too


@pytest.mark.parametrize("args, message", [
    (["--all"], "--chorales DIR writes into DIR; --all applies to the tune books only"),
    (["--stride", "2", "--out", "x"],
     "--chorales DIR writes into DIR; --out, --stride applies to the tune books only"),
    (["--jobs", "0"], "--jobs must be at least 1, not 0"),
])
def test_chorales_refuse_the_tune_book_options(no_music21, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as stopped:
        build_corpus.main(["--chorales", str(tmp_path), *args])
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_chorales_dir_must_be_a_folder(no_music21, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit):
        build_corpus.main(["--chorales", str(tmp_path / "file")])
    assert f"--chorales {tmp_path / 'file'}: exists and is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_corpus.main(["--chorales"])  # DIR missing
    assert "expected one argument" in capsys.readouterr().err


def test_written_files_keep_the_parts_apart_and_skip_duplicates(tmp_path):
    import mido

    def result(name, voices):
        midi = mido.MidiFile(type=1, ticks_per_beat=480)
        midi.tracks.append(chorales._track([(0, mido.MetaMessage("key_signature", key="Gm"))]))
        for channel, notes in enumerate(voices):
            midi.tracks.append(chorales._part_track(f"part {channel}", channel, notes))
        path = tmp_path / "built.mid"
        midi.save(path)
        notes = [n for voice in voices for n in voice]
        return {"source": f"bach/{name}.mxl", "name": f"{name}.mid", "midi": path.read_bytes(),
                "content": repr(voices), "notes": len(notes), "lo": 48, "hi": 72, "beats": 2}

    voices = [[(0, 960, 72)], [(0, 480, 67), (480, 960, 67)], [(0, 960, 60)], [(0, 960, 48)]]
    results = [result("bwv1", voices), result("bwv2", voices),
               {"source": "bach/bwv3.mxl", "name": "bwv3.mid", "error": "5 parts, not 4"}]
    written, skipped = chorales._write(tmp_path / "out", results)
    assert [r["name"] for r in written] == ["bwv1.mid"]
    assert skipped == {"same notes as another file": 1, "not 4 parts": 1}
    notes = read_midi(tmp_path / "out" / "bwv1.mid")[0].notes
    assert sorted((n.voice, n.start, n.pitch) for n in notes) == [
        (0, 0, 72), (1, 0, 67), (1, 1, 67), (2, 0, 60), (3, 0, 48)]
    assert all(n.program == chorales.PROGRAM for n in notes)
    manifest = (tmp_path / "out" / "manifest.tsv").read_text().splitlines()
    assert manifest == ["file\tsource\tnotes\tmin_pitch\tmax_pitch\tbeats",
                        "bwv1.mid\tbach/bwv1.mxl\t5\t48\t72\t2"]
