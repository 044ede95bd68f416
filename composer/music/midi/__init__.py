"""MIDI files in and out.

- `smf`: the bytes of a file as chunks and events, bounded on hostile input;
- `reader`: events to a Piece of Notes (`read_midi`, `parse_midi`);
- `marks`: time signatures, key signatures and chord symbols (and chord tracks) for the reader;
- `writer`: Notes to a type-1 file through mido (`write_midi`).

These are the only composer modules that know about ticks, and `writer` the only one
that imports mido (tests/test_architecture.py checks it).
"""

from composer.music.midi.reader import parse_midi, read_midi
from composer.music.midi.writer import write_midi

__all__ = ["parse_midi", "read_midi", "write_midi"]
