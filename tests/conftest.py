"""Shared fixtures: a private cache folder for every test session, a tiny corpus, and a
record of the MIDI files parsed."""

from pathlib import Path

import pytest
from tunes import write_corpus

import composer.music.midi
from composer.music.midi import read_midi


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Keep the corpus cache out of the user's ~/.cache while testing."""
    mp = pytest.MonkeyPatch()
    mp.setenv("COMPOSER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """40 short synthetic tunes with a learnable structure (tests/tunes.py)."""
    return write_corpus(tmp_path_factory.mktemp("tunes"), count=40, seed=0)


@pytest.fixture(scope="session")
def studio_models(tiny_corpus, tmp_path_factory):
    """A models folder for the studio tests: two tiny runs, "melody" (hearing metre, key
    and chords) and "performance" (hearing nothing but its tokens)."""
    from composer.training.config import TrainConfig
    from composer.training.train import new_run, train

    root = tmp_path_factory.mktemp("studio-models")
    for encoding in ("performance", "melody"):  # melody last: the newest, so the default
        config = TrainConfig(encoding=encoding, hidden_size=16, seq_len=16, batch_size=4,
                             epochs=1, max_steps=8, transpose=0, val_fraction=0.2,
                             condition=("metre", "key", "chords", "history") if encoding == "melody"
                             else ())
        train(tiny_corpus, root / encoding, new_run(config), quiet=True, echo=lambda m: None)
    return root

@pytest.fixture
def parses(monkeypatch):
    """The list of paths read_midi was called on (in this process)."""
    calls = []

    def counting(path):
        calls.append(Path(path).name)
        return read_midi(path)

    monkeypatch.setattr(composer.music.midi, "read_midi", counting)
    return calls
