"""The takes of a running studio: their notes, MIDI bytes, figures and rendered audio.

A TakeStore keeps at most STUDIO_MAX_TAKES takes in memory (the oldest is dropped first)
and their WAV renders in one temporary folder, which `close` deletes; nothing else is
written anywhere. Audio is rendered by FluidSynth on first request and kept.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from composer.constants import STUDIO_MAX_TAKES
from composer.listen import render
from composer.music.harmony import progression_spans
from composer.music.keys import key_signature
from composer.music.meter import single_meter
from composer.music.midi import write_midi
from composer.music.notes import ChordSymbol, Note, PartMark
from composer.studio.conditioning import Chord, Key, Metre
from composer.studio.request import RequestError


@dataclass
class Take:
    id: str  # "t1", "t2", ...: never reused while the studio runs
    title: str  # what the page lists: "Take 3", "tune.mid"
    source: str  # "generated" or "upload"
    notes: list[Note]
    metre: Metre
    qpm: float
    end: float  # beats: the take's length, whole bars for generated takes
    primer_end: float = 0.0  # beats: where the primer's notes end (0: no primer)
    program: int | None = 0  # General MIDI program of every note; None: the notes' own
    settings: dict = field(default_factory=dict)  # the request that made it (generated takes)
    figures: dict = field(default_factory=dict)  # composer.studio.figures.take_figures
    timing: dict = field(default_factory=dict)  # milliseconds spent making it
    key: Key | None = None  # the key asked for, written as the file's key signature
    chords: tuple[Chord, ...] = ()  # the chords asked for, one a bar, repeated to the end
    parts: list[PartMark] = field(default_factory=list)  # where its parts start (a form)
    notice: str | None = None  # something the musician should know (e.g. an upload was cut)
    midi: bytes = b""  # the take as a MIDI file, filled by TakeStore.add
    score_svg: str = ""  # the engraved score, made on the first request (composer.studio.sheet)
    created: float = field(default_factory=time.time)  # Unix time

    def summary(self) -> dict:
        """What the list of takes needs."""
        return {"id": self.id, "title": self.title, "source": self.source,
                "metre": str(self.metre), "bars": self.figures.get("bars"),
                "notes": len(self.notes), "seed": self.settings.get("seed"),
                "model": self.settings.get("model"), "created": self.created}

    def to_json(self, audio_on_server: bool) -> dict:
        """Everything the page draws and plays: notes as [start, end, pitch, velocity]."""
        return {**self.summary(), "qpm": self.qpm, "end": self.end,
                "primer_end": self.primer_end, "program": self.program,
                "time_signature": [self.metre.numerator, self.metre.denominator],
                "notes": [[n.start, n.end, n.pitch, n.velocity] for n in self.notes],
                "chords": [[beat, symbol] for beat, symbol in self.chord_symbols()],
                "parts": [[beat, letter] for beat, letter in self.parts],
                "settings": self.settings, "figures": self.figures, "timing": self.timing,
                "notice": self.notice, "midi_url": f"/api/takes/{self.id}/midi",
                "abc_url": f"/api/takes/{self.id}/abc",
                "score_url": f"/api/takes/{self.id}/score",
                "wav_url": f"/api/takes/{self.id}/wav" if audio_on_server else None}

    def chord_symbols(self) -> list[tuple[float, str]]:
        """(beat, symbol) of the chords asked for, one a bar, repeated to the take's end."""
        meter = single_meter((self.metre.numerator, self.metre.denominator))
        spans = progression_spans([(chord, 1.0) for chord in self.chords], meter, self.end)
        return [(beat, chord.symbol) for beat, chord in spans]


def midi_bytes(take: Take) -> bytes:
    """The take as a type-1 MIDI file with its tempo, time signature and program, the key
    signature and chords (a track of their own, and markers) when they were asked for, and
    a marker where each part starts."""
    buffer = io.BytesIO()
    write_midi(buffer, take.notes, qpm=take.qpm,
               time_signature=(take.metre.numerator, take.metre.denominator),
               program=take.program,
               key_signatures=[key_signature(take.key)] if take.key else [],
               chords=[ChordSymbol(beat, symbol) for beat, symbol in take.chord_symbols()],
               parts=take.parts)
    return buffer.getvalue()


class TakeStore:
    """Takes by id, at most `capacity`, oldest dropped first; renders in a temp folder."""

    def __init__(self, capacity: int = STUDIO_MAX_TAKES):
        self.capacity = capacity
        self.folder = Path(tempfile.mkdtemp(prefix="composer-studio-"))
        self._takes: OrderedDict[str, Take] = OrderedDict()
        self._lock = threading.Lock()  # guards _takes and the counter
        self._render_lock = threading.Lock()  # one FluidSynth run at a time
        self._count = 0

    def new_id(self) -> str:
        with self._lock:
            self._count += 1
            return f"t{self._count}"

    def add(self, take: Take) -> Take:
        take.midi = midi_bytes(take)
        with self._lock:
            self._takes[take.id] = take
            while len(self._takes) > self.capacity:
                old_id, _ = self._takes.popitem(last=False)
                for suffix in (".mid", ".wav"):
                    (self.folder / f"{old_id}{suffix}").unlink(missing_ok=True)
        return take

    def get(self, take_id: str) -> Take:
        with self._lock:
            take = self._takes.get(take_id)
        if take is None:
            raise RequestError(f"no take {take_id!r} here (takes are kept while the studio "
                               f"runs, the latest {self.capacity})", "take", status=404)
        return take

    def all(self) -> list[Take]:
        with self._lock:
            return list(self._takes.values())

    def wav(self, take: Take) -> Path:
        """The take rendered by FluidSynth (rendered on the first call, then kept)."""
        wav_path = self.folder / f"{take.id}.wav"
        with self._render_lock:
            if not wav_path.is_file():
                midi_path = self.folder / f"{take.id}.mid"
                midi_path.write_bytes(take.midi)
                render.render_wav(midi_path, wav_path, overwrite=True)
        return wav_path

    def close(self) -> None:
        """Delete the temporary folder and everything rendered in it."""
        shutil.rmtree(self.folder, ignore_errors=True)
