"""What the studio does, without HTTP: list models, make takes, take uploads, render audio.

composer.studio.app maps routes onto these methods; tests and tools can call them directly.
Generation runs one take at a time (a lock): the machine's cores go to one take, and a
burst of clicks queues instead of piling up.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from composer.constants import STUDIO_MAX_PRIMER_BEATS
from composer.errors import ComposerError
from composer.listen import render
from composer.listen.engrave import INSTALL
from composer.music.midi import parse_midi
from composer.studio.catalog import Catalog
from composer.studio.compose import DEFAULT_METRE, Primer, check_supported, compose, cut
from composer.studio.conditioning import ConditioningError, Metre, parse_metre
from composer.studio.figures import take_figures
from composer.studio.request import RequestError, parse_take_request
from composer.studio.sheet import take_abc, take_score_svg, verovio_available
from composer.studio.takes import Take, TakeStore

RANDOM_SEEDS = 1_000_000  # a seed drawn for the musician is short enough to note down


def server_audio() -> tuple[bool, str]:
    """(can FluidSynth render here, why not / what renders)."""
    try:
        program, font = render.find_fluidsynth(), render.find_soundfont()
    except render.RenderError as error:
        return False, str(error)
    return True, f"FluidSynth ({program}) with {font.name}"


class StudioService:
    def __init__(self, catalog: Catalog | None = None, store: TakeStore | None = None,
                 audio: bool | None = None):
        self.catalog = catalog or Catalog()
        self.store = store or TakeStore()
        found, self.audio_note = server_audio()
        self.audio = found if audio is None else audio and found
        if audio is False:
            self.audio_note = "server audio switched off; the page synthesises the sound"
        self._generating = threading.Lock()
        self.scores = verovio_available()  # can the server engrave scores

    def models(self) -> dict:
        return {"models": self.catalog.describe(), "default": self.catalog.default_id(),
                "audio": {"server": self.audio, "note": self.audio_note},
                "score": {"server": self.scores, "note": "" if self.scores else INSTALL}}

    def make_take(self, body) -> Take:
        """A new take from a request body (decoded JSON); RequestError if it is refused."""
        request = parse_take_request(body)
        model = self.catalog.load(request.model)
        check_supported(model, request.model, request)
        primer = self._primer(request.primer)
        seed = request.seed if request.seed is not None else int(
            np.random.default_rng().integers(RANDOM_SEEDS))
        with self._generating:
            started = time.perf_counter()
            music = compose(model, request, primer, np.random.default_rng(seed))
            milliseconds = round(1000 * (time.perf_counter() - started), 1)
        return self.store.add(self._generated_take(request, music, seed, milliseconds))

    def _generated_take(self, request, music, seed: int, milliseconds: float) -> Take:
        take_id = self.store.new_id()
        settings = {**request.settings(), "seed": seed, "metre": str(music.metre),
                    "qpm": music.qpm}
        figures = take_figures(music.notes, music.metre, music.end, request.key, request.chords,
                               music.form)
        return Take(take_id, f"Take {take_id[1:]}", "generated", music.notes, music.metre,
                    music.qpm, music.end, music.primer_end, request.program, settings, figures,
                    {"generate_ms": milliseconds, "tokens": music.tokens}, key=request.key,
                    chords=request.chords, parts=music.parts)

    def _primer(self, take_id: str | None) -> Primer | None:
        if take_id is None:
            return None
        take = self.store.get(take_id)
        return Primer(take.title, take.notes, take.metre, take.qpm)

    def upload(self, data: bytes, name: str) -> Take:
        """A take from an uploaded MIDI file (read by composer's bounded reader)."""
        name = Path(name or "upload.mid").name[:80] or "upload.mid"
        piece = parse_midi(data, name)[0]
        notes, notice = piece.notes, None
        if piece.duration > STUDIO_MAX_PRIMER_BEATS:
            notes = cut(notes, STUDIO_MAX_PRIMER_BEATS)
            notice = f"{name} is {piece.duration:g} beats long; kept its first " \
                     f"{STUDIO_MAX_PRIMER_BEATS} beats"
        metre = _metre_of(piece.time_signature)
        end = max((n.end for n in notes), default=0.0)
        take = Take(self.store.new_id(), name, "upload", notes, metre, round(piece.qpm, 2),
                    end, program=None, figures=take_figures(notes, metre, end), notice=notice)
        return self.store.add(take)

    def wav(self, take_id: str) -> Path:
        take = self.store.get(take_id)
        if not self.audio:
            raise RequestError(f"no audio on the server: {self.audio_note}", "take", 409)
        if not take.notes:
            raise RequestError(f"take {take.title} has no notes to play", "take", 409)
        try:
            return self.store.wav(take)
        except ComposerError as error:
            raise RequestError(f"could not render take {take.title}: {error}", "take",
                               500) from error

    def score(self, take_id: str) -> str:
        """The take's engraved score (SVG); 409 when Verovio is not installed."""
        take = self.store.get(take_id)
        if not self.scores:
            raise RequestError(f"no score on the server: {INSTALL}", "take", 409)
        return take_score_svg(take)

    def abc(self, take_id: str) -> str:
        return take_abc(self.store.get(take_id))

    def close(self) -> None:
        self.store.close()


def _metre_of(signature: tuple[int, int]) -> Metre:
    """A file's time signature as a Metre (4/4 if the studio cannot write it)."""
    try:
        return parse_metre("{}/{}".format(*signature))
    except ConditioningError:
        return DEFAULT_METRE
