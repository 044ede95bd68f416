"""Making a take: the one place where the studio calls composer's generation.

`compose` turns a checked TakeRequest (and an optional primer take) into notes:
it encodes the primer with the model's own encoding, works out how much music the
request asks for, lets `draw_tokens` sample it, decodes the tokens and cuts the
notes at the last bar line asked for.

`draw_tokens` is where the request's metre, key and chords become the context that
steers a conditioned model (composer.generation.steering), and scale lock a mask of
the notes outside the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from composer.constants import CHORD_WEIGHT, DEFAULT_QPM, STUDIO_MAX_TAKE_BEATS, STUDIO_MAX_TOKENS
from composer.generation.lengths import cut, draw_beats, end_of
from composer.generation.sampling import generate
from composer.music.conditioning import user_context
from composer.music.notes import Note, Piece
from composer.studio.conditioning import Metre, supported_conditioning
from composer.studio.request import RequestError, TakeRequest

DEFAULT_METRE = Metre(4, 4)


@dataclass
class Primer:
    """The music a take continues: another take's notes and how they are written."""

    name: str  # e.g. the take id, for messages
    notes: list[Note]
    metre: Metre
    qpm: float


@dataclass
class Composition:
    notes: list[Note]  # the whole take: the primer as the model heard it, then the new music
    primer_end: float  # beats: where the primer's notes end (0 without a primer)
    end: float  # beats: the take's length (whole bars when the request asked for bars)
    metre: Metre
    qpm: float
    tokens: int  # tokens the model drew


def check_supported(trained, model_id: str, request: TakeRequest) -> None:
    """RequestError when the request sets controls the model was not trained to hear."""
    heard = supported_conditioning(trained)
    asked = {"key": request.key is not None, "chords": bool(request.chords),
             "scale_lock": request.scale_lock}
    for control, wanted in asked.items():
        if wanted and not heard[control]:
            raise RequestError(f"model {model_id} was not trained with {control.replace('_', ' ')}"
                               f" conditioning; leave {control} empty", control)


def compose(trained, request: TakeRequest, primer: Primer | None,
            rng: np.random.Generator) -> Composition:
    """The notes of a new take (see the module docstring)."""
    metre = request.metre or (primer.metre if primer else DEFAULT_METRE)
    qpm = float(request.qpm or (primer.qpm if primer else DEFAULT_QPM))
    primer_ids = _primer_tokens(trained, primer)
    primer_end = end_of(trained.encoding.decode(primer_ids)) if primer_ids is not None else 0.0
    if request.bars is not None:
        end = math.ceil(primer_end / metre.bar_beats - 1e-9) * metre.bar_beats
        end += request.bars * metre.bar_beats
    else:
        end = None  # as long as `length` tokens make it
    if (end or primer_end) > STUDIO_MAX_TAKE_BEATS:
        raise RequestError(f"the take would last {end or primer_end:g} beats; a take holds at "
                           f"most {STUDIO_MAX_TAKE_BEATS}", "bars")
    ids = draw_tokens(trained, request, primer_ids, end, rng)
    notes = trained.encoding.decode(ids)
    if end is None:  # whole bars, but no longer than a take may be
        end = max(math.ceil(end_of(notes) / metre.bar_beats - 1e-9), 1) * metre.bar_beats
        end = min(end, STUDIO_MAX_TAKE_BEATS)
    return Composition(cut(notes, end), primer_end, end, metre, qpm, len(ids))


def draw_tokens(trained, request: TakeRequest, primer_ids, end, rng) -> np.ndarray:
    """Token ids (P + new,): the primer's, then new ones until the music reaches `end` beats.

    Without `end`, exactly request.length new tokens. The request's metre, key and chords
    steer a model that hears them (composer.generation.steering), and scale lock keeps
    its notes in the key.
    """
    settings = dict(temperature=request.temperature, top_p=request.top_p, rng=rng,
                    context=_context(trained, request), scale_lock=request.scale_lock,
                    chord_weight=CHORD_WEIGHT if request.chords else 0.0)
    if end is None:
        return generate(trained, request.length, primer=primer_ids, **settings)[0]
    return draw_beats(trained, end, primer_ids, max_tokens=STUDIO_MAX_TOKENS, **settings)


def _context(trained, request: TakeRequest):
    """The music's context for the model: the request's metre, key and chords (4/4 and
    C major when not given), read by composer.music's parsers."""
    chords = " ".join(chord.symbol for chord in request.chords or ()) or None
    return user_context(meter=str(request.metre or DEFAULT_METRE),
                        key=request.key, chords=chords,
                        steps_per_quarter=trained.encoding.steps_per_quarter,
                        beats=STUDIO_MAX_TAKE_BEATS)


def _primer_tokens(trained, primer: Primer | None):
    """The primer's token ids in the model's encoding, or None without a primer."""
    if primer is None:
        return None
    piece = Piece(primer.name, primer.notes, qpm=primer.qpm,
                  time_signature=(primer.metre.numerator, primer.metre.denominator))
    ids = trained.encoding.encode(piece)
    if not len(ids):
        raise RequestError(f"{primer.name} has no notes the {trained.encoding.name} encoding "
                           f"can use", "primer")
    return ids
