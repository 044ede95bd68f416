"""The token store and what is built on it: memory-mapped loading, damage, the sharded
notes cache, on-the-fly transposition per batch, epoch coverage and memory per token."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_dataset import make_corpus, tune

from composer.data import shards
from composer.data import store as store_module
from composer.data.dataset import load_dataset, split_store
from composer.data.store import (
    TokenStore,
    load_store,
    save_store,
    store_from_pieces,
    token_dtype,
)
from composer.data.windows import piece_windows
from composer.music.melody import MelodyEncoding
from composer.music.midi import read_midi, write_midi
from composer.music.notes import Note
from composer.music.performance import PerformanceEncoding

MELODY = MelodyEncoding()


def random_pieces(count, length, vocab, seed=0):
    """Token sequences of about `length` tokens whose NOTE_ONs stay well inside the range."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab, size=int(rng.integers(length // 2, length * 3 // 2)))
            for _ in range(count)]


def small_store(count=6, length=30, vocab=50, seed=0) -> TokenStore:
    pieces = random_pieces(count, length, vocab, seed)
    names = [f"dir/p{k}.mid" for k in range(count)]
    metas = [json.dumps({"qpm": 100.0 + k, "time_signature": [3, 4]}) for k in range(count)]
    return store_from_pieces(pieces, names, metas, vocab)


# --- the store ---------------------------------------------------------------------


@pytest.mark.parametrize("vocab, dtype", [(2, np.uint8), (256, np.uint8), (257, np.uint16),
                                          (65536, np.uint16)])
def test_token_type_is_the_smallest_that_fits(vocab, dtype):
    assert token_dtype(vocab) == dtype


def test_token_type_refuses_huge_vocabularies():
    with pytest.raises(ValueError, match="vocab_size must be in 1..65536"):
        token_dtype(65537)


@pytest.mark.parametrize("vocab", [50, 300])
def test_store_round_trip_is_memory_mapped(tmp_path, vocab):
    store = small_store(vocab=vocab)
    assert save_store(store, tmp_path / "s", {"note": "kept"})
    loaded, info = load_store(tmp_path / "s", vocab)
    assert isinstance(loaded.tokens, np.memmap) and loaded.tokens.dtype == token_dtype(vocab)
    assert info["note"] == "kept" and len(loaded) == 6
    for row in range(6):
        assert loaded.piece(row).dtype == np.int32
        assert loaded.piece(row).tolist() == store.piece(row).tolist()
        assert loaded.metadata(row) == {"qpm": 100.0 + row, "time_signature": [3, 4]}
    assert loaded.piece_names() == [f"dir/p{k}.mid" for k in range(6)]
    assert loaded.nbytes == store.nbytes
    assert load_store(tmp_path / "s", vocab + 1) is None  # another vocabulary: not used
    assert not [p for p in tmp_path.iterdir() if p.name != "s"]  # no temporary folder left


def damage_tokens(folder: Path):
    data = bytearray((folder / "tokens.npy").read_bytes())
    data[-1] ^= 0x01
    (folder / "tokens.npy").write_bytes(bytes(data))


def forge(folder: Path, name: str, array: np.ndarray):
    """Replace an array and fix the checksum, as a hostile but consistent cache would."""
    np.save(folder / f"{name}.npy", array)
    info = json.loads((folder / "info.json").read_text())
    loaded = {n: np.load(folder / f"{n}.npy") for n in
              ("tokens", "offsets", "names", "name_offsets", "meta", "meta_offsets", "order")}
    info["checksum"] = store_module._checksum(loaded, info)
    (folder / "info.json").write_text(json.dumps(info))


@pytest.mark.parametrize("damage", [
    damage_tokens,
    lambda f: (f / "tokens.npy").write_bytes(b""),
    lambda f: (f / "info.json").write_text("{"),
    lambda f: (f / "info.json").write_text(
        (f / "info.json").read_text().replace('"note": "kept"', '"note": "kepT"')),
    lambda f: (f / "order.npy").unlink(),
    lambda f: forge(f, "tokens", np.full(np.load(f / "tokens.npy").size, 50, np.uint8)),
    lambda f: forge(f, "offsets", np.load(f / "offsets.npy")[::-1].copy()),
    lambda f: forge(f, "order", np.zeros(6, dtype=np.int64)),
    lambda f: forge(f, "tokens", np.load(f / "tokens.npy").astype(np.uint16)),
], ids=["flipped byte", "truncated", "bad json", "info changed", "missing file",
        "token outside vocab", "offsets backwards", "order not a permutation", "wrong type"])
def test_a_damaged_store_is_not_loaded(tmp_path, damage):
    save_store(small_store(), tmp_path / "s", {"note": "kept"})
    assert load_store(tmp_path / "s", 50) is not None
    damage(tmp_path / "s")
    assert load_store(tmp_path / "s", 50) is None


def test_damaged_store_is_rebuilt_from_segments_without_parsing(tmp_path, parses):
    folder = make_corpus(tmp_path / "songs")
    first = load_dataset(folder, MELODY, cache_dir=tmp_path / "c", val_fraction=0)
    expected = [x.tolist() for x in first.train]
    [store_dir] = (tmp_path / "c").glob("tokens-*/*/store-*")
    damage_tokens(store_dir)
    parses.clear()
    again = load_dataset(folder, MELODY, cache_dir=tmp_path / "c", val_fraction=0)
    assert parses == [] and [x.tolist() for x in again.train] == expected


# --- the sharded notes cache ----------------------------------------------------------------


def stats(paths):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}


def test_a_changed_file_rewrites_only_its_shard(tmp_path, parses):
    names = [f"t{k:02d}.mid" for k in range(12)]
    folder = make_corpus(tmp_path / "songs", names=names)
    cache = tmp_path / "c"
    load_dataset(folder, MELODY, cache_dir=cache, warn=lambda m: None)
    notes_before = stats(cache.glob("notes-*/shard-*.npz"))
    segments_before = stats(cache.glob("tokens-*/*/segment-*.npz"))
    assert len(notes_before) > 4  # the files spread over several shards
    write_midi(folder / "t05.mid", tune(77))
    parses.clear()
    data = load_dataset(folder, MELODY, cache_dir=cache, val_fraction=0)
    assert parses == ["t05.mid"]
    mine = f"shard-{shards.shard_of('t05.mid'):02d}.npz"
    notes_after = stats(cache.glob("notes-*/shard-*.npz"))
    assert {n for n in notes_after if notes_after[n] != notes_before[n]} == {mine}
    segments_after = stats(cache.glob("tokens-*/*/segment-*.npz"))
    changed = {n for n in segments_after if segments_after[n] != segments_before[n]}
    assert changed == {mine.replace("shard", "segment")}
    assert data.train[5].tolist() == MELODY.encode(read_midi(folder / "t05.mid")[0]).tolist()


def test_shards_keep_the_metadata_and_notes(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    write_midi(folder / "x.mid", [Note(0, 1, 60, 90), Note(1, 2.5, 127, 1, 0)], qpm=75,
               time_signature=(6, 8))
    data = load_dataset(folder, MELODY, cache_dir=tmp_path / "c", val_fraction=0)
    original = read_midi(folder / "x.mid")[0]
    meta = data.store.metadata(0)
    assert meta["qpm"] == 75.0 and meta["time_signature"] == [6, 8] and "name" not in meta
    [path] = (tmp_path / "c").glob("notes-*/shard-*.npz")
    [parsed] = shards.read_shard(path).values()
    assert shards.to_piece(parsed.pieces[0]) == replace(original, name="x.mid")


# --- epochs: (piece, shift) pairs, transposed a batch at a time -----------------------------


def glued(epoch):
    """{(row, shift): ids} rebuilt from an epoch's windows; each pair must start once."""
    found = {}
    for k in range(len(epoch)):
        batch = epoch.batch(k)
        for n in np.flatnonzero(batch.rows >= 0):
            key = (int(batch.rows[n]), int(batch.shifts[n]))
            if batch.starts[n]:
                assert key not in found
                found[key] = [int(batch.ids[n, 0])]
            assert len(found[key]) == batch.positions[n] + 1
            found[key] += batch.ids[n, 1:][batch.mask[n] > 0].tolist()
    return found


def dataset_of(store: TokenStore, transpose: int, encoding=MELODY, val_fraction=0.3):
    histogram = np.bincount(store.tokens, minlength=store.vocab_size).tolist()
    info = {"files_found": len(store), "files_used": len(store), "problems": {},
            "histogram": histogram}
    return split_store(store, info, encoding, transpose, val_fraction, 0, "corpus")


@pytest.mark.parametrize("encoding", [MELODY, PerformanceEncoding()], ids=lambda e: e.name)
def test_an_epoch_covers_every_piece_at_every_shift_once(encoding):
    store = small_store(count=9, length=40, vocab=encoding.vocab_size)
    data = dataset_of(store, transpose=2, encoding=encoding)
    epoch = data.epoch(seed=3, epoch=1, batch_size=4, seq_len=7)
    found = glued(epoch)
    assert set(found) == {(r, s) for r in data.train_rows.tolist() for s in (0, 1, -1, 2, -2)}
    for (row, shift), ids in found.items():
        assert ids == encoding.transpose_ids(store.piece(row), shift).tolist()


def test_lazy_windows_equal_the_windows_of_stored_transposed_copies():
    """The old way (every transposed copy materialised, then windowed) gives the same
    batches, in the same order, for the same seed and epoch."""
    store = small_store(count=11, length=50)
    data = dataset_of(store, transpose=3)
    for epoch_number in (0, 1):
        copies = [MELODY.transpose_ids(store.piece(r), s)
                  for s in data.shifts for r in data.train_rows.tolist()]
        order = np.random.default_rng([5, epoch_number]).permutation(len(copies))
        old = piece_windows([copies[i] for i in order], batch_size=3, seq_len=8)
        new = data.epoch(seed=5, epoch=epoch_number, batch_size=3, seq_len=8)
        assert len(new) == len(old)
        for k in range(len(old)):
            batch = new.batch(k)
            assert batch.ids.dtype == np.int32 and batch.mask.dtype == np.float32
            assert np.array_equal(batch.ids, old.ids[k]) and np.array_equal(batch.mask,
                                                                            old.mask[k])
            assert np.array_equal(batch.starts, old.starts[k])


def test_epochs_are_reproducible_and_differ_from_each_other():
    data = dataset_of(small_store(count=8), transpose=1)
    first = [data.epoch(1, 0, 2, 5).batch(k).ids for k in range(3)]
    again = [data.epoch(1, 0, 2, 5).batch(k).ids for k in range(3)]
    other = [data.epoch(1, 1, 2, 5).batch(k).ids for k in range(3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_the_feature_hook_sees_every_window():
    store = small_store(count=5, length=30)
    data = dataset_of(store, transpose=1, val_fraction=0)

    def features(batch):  # a per-step feature from the piece's metadata, moved by the shift
        qpm = np.array([store.metadata(r)["qpm"] if r >= 0 else 0.0 for r in batch.rows])
        steps = batch.positions[:, None] + np.arange(batch.ids.shape[1])[None, :]
        return {"qpm": np.repeat(qpm[:, None], batch.ids.shape[1], 1), "step": steps,
                "key": np.repeat(batch.shifts[:, None] % 12, batch.ids.shape[1], 1)}

    epoch = data.epoch(0, 0, 3, 6, features=features)
    for k in range(len(epoch)):
        batch = epoch.batch(k)
        for n in np.flatnonzero(batch.rows >= 0):
            assert batch.features["qpm"][n, 0] == 100.0 + batch.rows[n]
            assert batch.features["step"][n, 0] == batch.positions[n]
            assert batch.features["key"][n, 0] == batch.shifts[n] % 12


# --- memory -----------------------------------------------------------------------------


@pytest.mark.parametrize("transpose", [0, 5, 12])
def test_the_loaded_training_set_takes_at_most_two_bytes_per_token(tmp_path, transpose):
    folder = tmp_path / "songs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(24):  # folk-length tunes: 80 quarter notes, 320 steps
        pitches = rng.integers(60, 80, size=80).tolist()
        write_midi(folder / f"tune{k:02d}.mid", [Note(i, i + 1, p) for i, p in enumerate(pitches)])
    data = load_dataset(folder, MELODY, cache_dir=tmp_path / "c", transpose=transpose,
                        val_fraction=0.1, warn=lambda m: None)
    assert isinstance(data.store.tokens, np.memmap) and data.store.tokens.itemsize == 1
    epoch = data.epoch(0, 0, batch_size=8, seq_len=64)
    tokens = data.store.tokens.size
    assert tokens == 24 * 320
    assert (data.nbytes + epoch.nbytes) / tokens <= 2.0
    # only the epoch's order (4 bytes per (piece, shift) pair) and the (shifts, V) maps grow
    assert data.nbytes - data.tables.nbytes == data.store.nbytes + 8 * 24  # + split rows
    assert data.tables.nbytes == (2 * transpose + 1) * MELODY.vocab_size
    assert epoch.nbytes == 4 * len(data.train_rows) * (2 * transpose + 1)


def test_model_files_keep_a_bounded_sample_of_training_tokens():
    data = dataset_of(small_store(count=40, length=30), transpose=0, val_fraction=0)
    every = data.baseline_pieces(10**9, seed=0)
    assert [x.tolist() for x in every] == [x.tolist() for x in data.train]
    some = data.baseline_pieces(300, seed=0)
    assert sum(len(x) for x in some) <= 300 and len(some) >= 5
    rows = [int(r) for r in data.train_rows if any(
        np.array_equal(data.store.piece(int(r)), x) for x in some)]
    assert rows == sorted(rows)  # kept in file order
    assert [x.tolist() for x in data.baseline_pieces(300, seed=0)] == [x.tolist() for x in some]
