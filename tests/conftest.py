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


@pytest.fixture
def parses(monkeypatch):
    """The list of paths read_midi was called on (in this process)."""
    calls = []

    def counting(path):
        calls.append(Path(path).name)
        return read_midi(path)

    monkeypatch.setattr(composer.music.midi, "read_midi", counting)
    return calls
