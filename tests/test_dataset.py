"""The corpus loader: scanning, problem files, the split, transposition, caches, windows."""

from pathlib import Path

import numpy as np
import pytest

from composer.data import corpus as corpus_module
from composer.data import tokens
from composer.data.cache import default_cache_dir, folder_key
from composer.data.corpus import find_music_files, load_pieces
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


def load(folder, cache, **options):
    warnings = []
    options.setdefault("val_fraction", 0.0)
    data = load_dataset(folder, MELODY, cache_dir=cache, warn=warnings.append, **options)
    return data, warnings


# --- scanning -------------------------------------------------------------------


def test_find_music_files_recursive_any_case_sorted(tmp_path):
    make_corpus(tmp_path, names=("z.mid", "B/x.MID", "a.midi", "B/a.Midi"))
    (tmp_path / "notes.txt").write_text("not music")
    (tmp_path / "mid").mkdir()
    found = [p.relative_to(tmp_path).as_posix() for p in find_music_files(tmp_path)]
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
    with pytest.raises(DataError, match=r"no MIDI or ABC files \(.mid, .midi, .abc\) found in"):
        load_dataset(tmp_path, MELODY, cache_dir=cache)


def test_nothing_usable_says_why(tmp_path, cache):
    for name, data in (("a.mid", NOT_MIDI), ("b.mid", NOT_MIDI), ("c.mid", TRUNCATED)):
        (tmp_path / name).write_bytes(data)
    warnings = []
    with pytest.raises(DataError) as error:
        load_dataset(tmp_path, MELODY, cache_dir=cache, warn=warnings.append)
    message = str(error.value)
    assert message.startswith(f"none of the 3 music files in {tmp_path} could be used: ")
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
    assert len(data.valid) == 0 and data.valid_names == []
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
    assert s.train_sequences == 3 * s.train_pieces == 3 * len(data.train)
    assert s.train_steps == 3 * sum(x.size for x in data.train)
    moved = [MELODY.encode(transpose(read_midi(corpus / name)[0], shift))
             for name in data.train_names for shift in (-1, 0, 1)]
    used = np.unique(np.concatenate(moved + list(data.valid)))
    assert s.tokens_used == used.size and s.vocab_size == 50
    text = str(s)
    assert f"{corpus}: 5 music files, 4 used, 1 skipped (1 file: not a MIDI file" in text
    assert "4 pieces, 96 steps" in text and f"{used.size} of 50 tokens used" in text


def test_summary_text_by_hand():
    s = CorpusSummary("data", 3012, 3000, {"no notes": 10, "empty file": 2}, pieces=3000,
                      steps=1234567, train_pieces=2700, valid_pieces=300, train_sequences=2700,
                      train_steps=1111111, valid_steps=123456, tokens_used=48, vocab_size=50)
    assert str(s) == (
        "data: 3,012 music files, 3,000 used, 12 skipped (10 files: no notes; 2 files: "
        "empty file)\n"
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
    assert len(data.valid) >= 1 and not set(data.train_names) & set(data.valid_names)
    assert data.shifts == (0, 1, -1, 2, -2)
    epoch = data.epoch(seed=0, epoch=0, batch_size=2, seq_len=5)
    seen = sequences_of(epoch)  # {(store row, shift): token ids rebuilt from the windows}
    assert len(seen) == 5 * len(data.train)
    for row, name in zip(data.train_rows.tolist(), data.train_names, strict=True):
        for shift in data.shifts:
            moved = transpose(read_midi(corpus / name)[0], shift)
            assert seen[row, shift] == MELODY.encode(moved).tolist()
    assert not {row for row, _ in seen} & set(data.valid_rows.tolist())
    for name, ids in zip(data.valid_names, data.valid, strict=True):
        assert ids.tolist() == MELODY.encode(read_midi(corpus / name)[0]).tolist()


def sequences_of(epoch) -> dict:
    """{(row, shift): ids} of every sequence of an epoch, glued back from its windows."""
    found = {}
    for k in range(len(epoch)):
        batch = epoch.batch(k)
        for n in np.flatnonzero(batch.rows >= 0):
            key = (int(batch.rows[n]), int(batch.shifts[n]))
            real = batch.ids[n, 1:][batch.mask[n] > 0].tolist()
            if batch.starts[n]:
                assert key not in found  # every pair starts once
                found[key] = [int(batch.ids[n, 0])]
            assert len(found[key]) == batch.positions[n] + 1  # windows arrive in order
            found[key] += real
    return found


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


def cache_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04garbage", b"\x93NUMPY nonsense"])
def test_corrupt_caches_are_rebuilt(corpus, cache, parses, damage):
    first, _ = load(corpus, cache)
    expected = [x.tolist() for x in first.train]  # read before the mapped files are damaged
    files = cache_files(cache)
    kinds = sorted({p.suffix for p in files})
    assert kinds == [".json", ".npy", ".npz"] and len(files) == 5 + 5 + 8  # shards,
    for path in files:  # segments (one per file, here) and the store's eight files
        path.write_bytes(damage)
    parses.clear()
    again, warnings = load(corpus, cache)
    assert len(parses) == 5 and len(warnings) == 1
    assert [x.tolist() for x in again.train] == expected
    parses.clear()
    load(corpus, cache)
    assert parses == []  # rebuilt caches work


def test_cache_with_wrong_arrays_is_rebuilt(corpus, cache):
    first, _ = load(corpus, cache)
    expected = [x.tolist() for x in first.train]
    for path in cache.rglob("*.np[yz]"):
        np.save(path, np.arange(3)) if path.suffix == ".npy" else np.savez(path, x=np.arange(3))
    again, _ = load(corpus, cache)
    assert [x.tolist() for x in again.train] == expected


def test_a_flipped_byte_is_caught_by_the_checksums(corpus, cache, parses):
    first, _ = load(corpus, cache)
    expected = [x.tolist() for x in first.train]
    for path in cache_files(cache):
        if path.suffix in (".npy", ".npz"):
            data = bytearray(path.read_bytes())
            data[-3] ^= 0x01  # inside the last array's data: the file still loads
            path.write_bytes(bytes(data))
    parses.clear()
    again, _ = load(corpus, cache)
    assert len(parses) == 5  # no shard was trusted
    assert [x.tolist() for x in again.train] == expected


def test_caches_need_no_pickle(corpus, cache):
    load(corpus, cache, transpose=1, val_fraction=0.5)
    for path in cache.rglob("*.npz"):
        with np.load(path, allow_pickle=False) as data:
            for name in data.files:
                assert data[name].dtype != object
    for path in cache.rglob("*.npy"):
        assert np.load(path, allow_pickle=False).dtype != object
    assert not [p for p in cache.rglob("*") if ".tmp" in p.name]


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
    assert len(list((tmp_path / "envcache").glob("tokens-*/*/store-*/tokens.npy"))) == 1


def test_old_stores_are_pruned_and_seeds_share_one(corpus, cache):
    for seed in range(3):  # the store does not depend on the split
        load(corpus, cache, val_fraction=0.5, seed=seed)
    assert len(list(cache.glob("tokens-*/*/store-*"))) == 1
    for k in range(tokens.KEEP_STORES + 2):  # each state of the folder has its own store
        write_midi(corpus / "a.mid", tune(100 + k))
        load(corpus, cache)
    assert len(list(cache.glob("tokens-*/*/store-*"))) == tokens.KEEP_STORES


def test_old_cache_versions_are_removed(corpus, cache):
    key = folder_key(corpus)
    cache.mkdir()
    (cache / f"notes-v1-{key}.npz").write_bytes(b"old")
    (cache / f"tokens-v1-{key}-abc.npz").write_bytes(b"old")
    (cache / "notes-v1-someotherfolder.npz").write_bytes(b"not ours")
    load(corpus, cache)
    assert sorted(p.name for p in cache.glob("*-v1-*")) == ["notes-v1-someotherfolder.npz"]


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


