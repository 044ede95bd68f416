"""Musical objects shared by the MIDI reader, the encodings and the statistics.

Nothing here knows about ticks or mido: times are in beats (quarter notes),
after the tempo map has been applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True, order=True)
class Note:
    start: float  # beats (quarter notes) from the start of the piece
    end: float  # beats; end > start
    pitch: int  # MIDI pitch 0..127
    velocity: int = 80  # MIDI velocity 1..127
    program: int = 0  # General MIDI program 0..127
    voice: int = 0  # index of the (track, channel) pair the note came from


@dataclass
class Piece:
    """One piece of music: its notes (sorted by start, then pitch) and its metadata."""

    name: str  # where it came from, e.g. the file path (plus "#k" for type-2 songs)
    notes: list[Note] = field(default_factory=list)
    qpm: float = 120.0  # initial tempo in quarter notes per minute
    time_signature: tuple[int, int] = (4, 4)  # (numerator, denominator) of the first one

    @property
    def duration(self) -> float:
        """Length in beats: the end of the last note (0 for an empty piece)."""
        return max((n.end for n in self.notes), default=0.0)


def transpose(piece: Piece, semitones: int) -> Piece:
    """The piece moved by `semitones`; notes pushed outside 0..127 are dropped."""
    moved = [replace(n, pitch=n.pitch + semitones) for n in piece.notes]
    kept = [n for n in moved if 0 <= n.pitch <= 127]
    return replace(piece, notes=kept)


def piece_metadata(piece: Piece) -> dict:
    """A piece's metadata (everything but its name and notes) as a JSON-able dict.

    Stored per piece in the corpus caches, so a piece rebuilt by `restore_metadata`
    carries the same context as the one read from its file.
    """
    return {"qpm": float(piece.qpm), "time_signature": [int(x) for x in piece.time_signature]}


def restore_metadata(piece: Piece, meta: dict) -> Piece:
    """`piece` with the metadata of `piece_metadata` put back (missing keys keep theirs)."""
    changes = {}
    if "qpm" in meta:
        changes["qpm"] = float(meta["qpm"])
    if "time_signature" in meta:
        changes["time_signature"] = tuple(int(x) for x in meta["time_signature"])
    return replace(piece, **changes)
