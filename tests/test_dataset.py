"""The corpus loader: scanning, problem files, the split, transposition, caches, windows."""

from pathlib import Path

import numpy as np
import pytest

import composer.music.midi
from composer.data import corpus as corpus_module
from composer.data import dataset as ds
from composer.data.cache import default_cache_dir
from composer.data.corpus import find_midi_files, load_pieces
from composer.data.dataset import CorpusSummary, load_dataset, split_pieces
from composer.errors import DataError
from composer.music.melody import MelodyEncoding
from composer.music.midi import read_midi, write_midi
from composer.music.notes import Note, Piece, transpose
from composer.music.performance import PerformanceEncoding

MELODY = MelodyEncoding()
NOT_MIDI = b"RIFF\x00\x00"  # a WAV header, not 'MThd'
TRUNCATED = bytes.fromhex("4d546864 00000006 0001 0001 01e0 4d54726b 00000020 00")


def tune(k: int, length: int = 12) -> list[Note]:
    """A short monophonic tune that differs with k: eighth notes, one rest."""
    rng = np.random.default_rng(k)
    pitches = rng.integers(60, 80, size=length).tolist()
    return [Note(i / 2, i / 2 + 0.5, p) for i, p in enumerate(pitches) if i != 3]


def make_corpus(folder: Path, names=("a.mid", "b.mid", "sub/c.MIDI", "sub/deep/d.Mid"),
                broken=None) -> Path:
    for k, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_midi(path, tune(k))
    for name, data in (broken or {}).items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path / "songs", broken={"bad.mid": NOT_MIDI})


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def parses(monkeypatch):
    """The list of paths read_midi was called on (in this process)."""
    calls = []

    def counting(path):
        calls.append(Path(path).name)
        return read_midi(path)

    monkeypatch.setattr(composer.music.midi, "read_midi", counting)
    return calls


def load(folder, cache, **options):
    warnings = []
    options.setdefault("val_fraction", 0.0)
    data = load_dataset(folder, MELODY, cache_dir=cache, warn=warnings.append, **options)
    return data, warnings


# --- scanning -------------------------------------------------------------------


def test_find_midi_files_recursive_any_case_sorted(tmp_path):
    make_corpus(tmp_path, names=("z.mid", "B/x.MID", "a.midi", "B/a.Midi"))
    (tmp_path / "notes.txt").write_text("not music")
    (tmp_path / "mid").mkdir()
    found = [p.relative_to(tmp_path).as_posix() for p in find_midi_files(tmp_path)]
    assert found == ["B/a.Midi", "B/x.MID", "a.midi", "z.mid"]


def test_missing_folder(tmp_path, cache):
    with pytest.raises(DataError, match="nowhere: no such folder"):
        load_dataset(tmp_path / "nowhere", MELODY, cache_dir=cache)


def test_a_file_is_not_a_folder(tmp_path, cache):
    (tmp_path / "x.mid").write_bytes(NOT_MIDI)
    with pytest.raises(DataError, match="x.mid: not a folder"):
        load_dataset(tmp_path / "x.mid", MELODY, cache_dir=cache)


def test_folder_without_midi_files(tmp_path, cache):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(DataError, match=r"no MIDI files \(.mid, .midi\) found in"):
        load_dataset(tmp_path, MELODY, cache_dir=cache)


def test_nothing_usable_says_why(tmp_path, cache):
    for name, data in (("a.mid", NOT_MIDI), ("b.mid", NOT_MIDI), ("c.mid", TRUNCATED)):
        (tmp_path / name).write_bytes(data)
    warnings = []
    with pytest.raises(DataError) as error:
        load_dataset(tmp_path, MELODY, cache_dir=cache, warn=warnings.append)
    message = str(error.value)
    assert message.startswith(f"none of the 3 MIDI files in {tmp_path} could be used: ")
    assert "2 files: not a MIDI file" in message and "1 file: " in message
    assert len(warnings) == 3


def test_files_the_encoding_cannot_use_are_reported(tmp_path, cache):
    make_corpus(tmp_path, names=("a.mid",))
    warnings = []
    with pytest.raises(DataError, match="1 file: no notes the melody encoding can use"):
        load_dataset(tmp_path, MelodyEncoding(line="program:5"), cache_dir=cache,
                     warn=warnings.append)
    assert warnings == [f"skipped {tmp_path / 'a.mid'}: no notes the melody encoding can use"]


# --- loading --------------------------------------------------------------------


def test_problem_file_is_reported_once_per_load(corpus, cache):
    for _ in range(2):  # cold, then from the cache
        data, warnings = load(corpus, cache)
        assert warnings == [f"skipped {corpus / 'bad.mid'}: "
                            "not a MIDI file (it does not start with 'MThd')"]


def test_default_warning_goes_to_stderr(corpus, cache, capsys):
    load_dataset(corpus, MELODY, cache_dir=cache)
    assert capsys.readouterr().err == (
        f"skipped {corpus / 'bad.mid'}: not a MIDI file (it does not start with 'MThd')\n")


def test_tokens_are_the_encoded_pieces(corpus, cache):
    data, _ = load(corpus, cache)
    assert data.train_names == ["a.mid", "b.mid", "sub/c.MIDI", "sub/deep/d.Mid"]
    assert data.valid == [] and data.valid_names == []
    for name, ids in zip(data.train_names, data.train, strict=True):
        expected = MELODY.encode(read_midi(corpus / name)[0])
        assert ids.dtype == np.int32 and ids.tolist() == expected.tolist()


def test_summary_counts(corpus, cache):
    data, _ = load(corpus, cache, transpose=1, val_fraction=0.5, seed=3)
    s = data.summary
    assert (s.files_found, s.files_used, s.files_skipped, s.pieces) == (5, 4, 1, 4)
    assert s.skipped == {"not a MIDI file (it does not start with 'MThd')": 1}
    assert s.steps == 4 * 24  # 12 eighth notes = 24 steps each
    assert s.train_pieces + s.valid_pieces == 4 and s.valid_steps == 24 * s.valid_pieces
    assert s.train_sequences == 3 * s.train_pieces == len(data.train)
    assert s.train_steps == sum(x.size for x in data.train)
    used = np.unique(np.concatenate(data.train + data.valid))
    assert s.tokens_used == used.size and s.vocab_size == 50
    text = str(s)
    assert f"{corpus}: 5 MIDI files, 4 used, 1 skipped (1 file: not a MIDI file" in text
    assert "4 pieces, 96 steps" in text and f"{used.size} of 50 tokens used" in text


def test_summary_text_by_hand():
    s = CorpusSummary("data", 3012, 3000, {"no notes": 10, "empty file": 2}, pieces=3000,
                      steps=1234567, train_pieces=2700, valid_pieces=300, train_sequences=2700,
                      train_steps=1111111, valid_steps=123456, tokens_used=48, vocab_size=50)
    assert str(s) == (
        "data: 3,012 MIDI files, 3,000 used, 12 skipped (10 files: no notes; 2 files: empty file)\n"
        "3,000 pieces, 1,234,567 steps: 2,700 for training, 300 for validation (123,456 steps)\n"
        "48 of 50 tokens used")


def test_load_pieces(corpus, cache):
    warnings = []
    pieces = load_pieces(corpus, cache_dir=cache, warn=warnings.append)
    assert [p.name for p in pieces] == ["a.mid", "b.mid", "sub/c.MIDI", "sub/deep/d.Mid"]
    assert pieces[1].notes == read_midi(corpus / "b.mid")[0].notes
    assert pieces[1].qpm == 120 and pieces[1].time_signature == (4, 4)
    assert len(warnings) == 1
    again = load_pieces(corpus, cache_dir=cache, warn=warnings.append)
    assert again == pieces and len(warnings) == 2


def test_performance_encoding_loads_too(corpus, cache):
    enc = PerformanceEncoding()
    data = load_dataset(corpus, enc, cache_dir=cache, val_fraction=0, warn=lambda m: None)
    assert data.train[0].tolist() == enc.encode(read_midi(corpus / "a.mid")[0]).tolist()


@pytest.mark.parametrize("option, value, message", [
    ("transpose", -1, "transpose must be an integer in 0..24"),
    ("transpose", 1.5, "transpose must be an integer in 0..24"),
    ("val_fraction", 1.0, r"val_fraction must be in \[0, 1\)"),
    ("seed", "x", "seed must be an integer"),
    ("workers", 0, "workers must be a positive integer"),
])
def test_bad_options(corpus, cache, option, value, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(corpus, MELODY, cache_dir=cache, **{option: value})


# --- split and transposition -------------------------------------------------------


def test_split_is_deterministic_and_by_name():
    names = [f"tune{k}.mid" for k in range(400)]
    held = split_pieces(names, 0.25, seed=7)
    assert held.tolist() == split_pieces(names, 0.25, seed=7).tolist()
    assert 60 <= held.sum() <= 140
    assert held.tolist() != split_pieces(names, 0.25, seed=8).tolist()
    # adding pieces never moves the others
    more = split_pieces(names + [f"new{k}.mid" for k in range(50)], 0.25, seed=7)
    assert more[:400].tolist() == held.tolist()


@pytest.mark.parametrize("count, fraction, expected_valid", [
    (0, 0.1, 0), (1, 0.9, 0), (2, 0.01, 1), (5, 0.0, 0), (3, 0.999, 2)])
def test_split_keeps_both_parts_when_it_can(count, fraction, expected_valid):
    held = split_pieces([f"p{k}" for k in range(count)], fraction, seed=0)
    assert held.sum() == expected_valid


def test_transposition_only_in_training(corpus, cache):
    data, _ = load(corpus, cache, transpose=2, val_fraction=0.3, seed=1)
    assert len(data.valid) >= 1
    assert not any("(" in name for name in data.valid_names)
    base = [n for n in data.train_names if "(" not in n]
    assert data.train_names[len(base):len(base) * 2] == [f"{n} (+1)" for n in base]
    assert len(data.train) == 5 * len(base)
    assert not set(base) & set(data.valid_names)
    name = base[0]
    for shift in (-2, 2):
        moved = transpose(read_midi(corpus / name)[0], shift)
        index = data.train_names.index(f"{name} ({shift:+d})")
        assert data.train[index].tolist() == MELODY.encode(moved).tolist()
    for name, ids in zip(data.valid_names, data.valid, strict=True):
        assert ids.tolist() == MELODY.encode(read_midi(corpus / name)[0]).tolist()


# --- caches -----------------------------------------------------------------------


def test_second_load_reads_no_file(corpus, cache, parses):
    first, _ = load(corpus, cache)
    assert sorted(parses) == ["a.mid", "b.mid", "bad.mid", "c.MIDI", "d.Mid"]
    parses.clear()
    second, _ = load(corpus, cache)
    assert parses == []
    assert [x.tolist() for x in second.train] == [x.tolist() for x in first.train]
    assert second.summary == first.summary


def test_a_changed_file_alone_is_read_again(corpus, cache, parses):
    load(corpus, cache)
    parses.clear()
    write_midi(corpus / "b.mid", tune(99))
    data, _ = load(corpus, cache)
    assert parses == ["b.mid"]
    assert data.train[1].tolist() == MELODY.encode(Piece("b", tune(99))).tolist()


def test_new_settings_reuse_the_parsed_notes(corpus, cache, parses):
    load(corpus, cache)
    parses.clear()
    data, _ = load(corpus, cache, transpose=1, val_fraction=0.5)
    load_dataset(corpus, PerformanceEncoding(), cache_dir=cache, warn=lambda m: None)
    assert parses == [] and len(data.train) > 0


def test_removed_and_added_files(corpus, cache, parses):
    load(corpus, cache)
    (corpus / "a.mid").unlink()
    write_midi(corpus / "e.mid", tune(5))
    parses.clear()
    data, _ = load(corpus, cache)
    assert parses == ["e.mid"]
    assert data.train_names == ["b.mid", "e.mid", "sub/c.MIDI", "sub/deep/d.Mid"]


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04garbage", b"\x93NUMPY nonsense"])
def test_corrupt_caches_are_rebuilt(corpus, cache, parses, damage):
    first, _ = load(corpus, cache)
    files = sorted(cache.glob("*.npz"))
    assert len(files) == 2  # the notes store and one token cache
    for path in files:
        path.write_bytes(damage)
    parses.clear()
    again, warnings = load(corpus, cache)
    assert len(parses) == 5 and len(warnings) == 1
    assert [x.tolist() for x in again.train] == [x.tolist() for x in first.train]
    parses.clear()
    load(corpus, cache)
    assert parses == []  # rebuilt caches work


def test_cache_with_wrong_arrays_is_rebuilt(corpus, cache):
    first, _ = load(corpus, cache)
    for path in cache.glob("*.npz"):
        np.savez(path, train=np.arange(3))  # readable, but not a cache
    again, _ = load(corpus, cache)
    assert again.train_names == first.train_names


def test_caches_need_no_pickle(corpus, cache):
    load(corpus, cache, transpose=1, val_fraction=0.5)
    for path in cache.glob("*.npz"):
        with np.load(path, allow_pickle=False) as data:
            for name in data.files:
                assert data[name].dtype != object
    assert not list(cache.glob("*.tmp"))


def test_unwritable_cache_is_not_fatal(corpus, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    data, _ = load(corpus, blocker / "cache")
    assert len(data.train) == 4


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPOSER_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("COMPOSER_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "composer"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "composer"


def test_default_cache_dir_is_used(corpus, monkeypatch, tmp_path):
    monkeypatch.setenv("COMPOSER_CACHE_DIR", str(tmp_path / "envcache"))
    load_dataset(corpus, MELODY, warn=lambda m: None)
    assert len(list((tmp_path / "envcache").glob("tokens-*.npz"))) == 1


def test_old_token_caches_are_pruned(corpus, cache):
    for seed in range(ds.KEEP_TOKEN_CACHES + 3):
        load(corpus, cache, val_fraction=0.5, seed=seed)
    assert len(list(cache.glob("tokens-*.npz"))) == ds.KEEP_TOKEN_CACHES


def test_parallel_parse_matches_serial(tmp_path, monkeypatch):
    pools = []

    class SpyPool(corpus_module.ProcessPoolExecutor):
        def __init__(self, workers):
            pools.append(workers)
            super().__init__(workers)

    monkeypatch.setattr(corpus_module, "ProcessPoolExecutor", SpyPool)
    names = [f"t{k:03d}.mid" for k in range(corpus_module.PARALLEL_MIN_FILES + 6)]
    folder = make_corpus(tmp_path / "many", names=names, broken={"zz.mid": NOT_MIDI})
    warnings = {1: [], 2: []}
    loaded = {w: load_dataset(folder, MELODY, cache_dir=tmp_path / f"cache{w}", workers=w,
                              val_fraction=0.1, warn=warnings[w].append) for w in (1, 2)}
    assert loaded[1].train_names == loaded[2].train_names
    assert [x.tolist() for x in loaded[1].train] == [x.tolist() for x in loaded[2].train]
    assert warnings[1] == warnings[2] and len(warnings[2]) == 1
    assert loaded[2].summary.files_found == len(names) + 1
    assert pools == [2]  # only the workers=2 load used processes


