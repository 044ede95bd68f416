"""Making a take: the one place where the studio calls composer's generation.

`compose` turns a checked TakeRequest (and an optional primer take) into notes:
it encodes the primer with the model's own encoding, works out how much music the
request asks for, lets `draw_tokens` sample it, decodes the tokens and cuts the
notes at the last bar line asked for.

`draw_tokens` is the conditioning seam (see composer.studio.conditioning): when
issue 9 lands, the metre, key and chords of the request become per-step features
passed to `generate`, and scale lock a mask of the tokens outside the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from composer.constants import DEFAULT_QPM, STUDIO_MAX_TAKE_BEATS, STUDIO_MAX_TOKENS
from composer.generation.sampling import generate
from composer.music.notes import Note, Piece
from composer.studio.conditioning import Metre, supported_conditioning
from composer.studio.request import RequestError, TakeRequest

DEFAULT_METRE = Metre(4, 4)
RATE_PIECES = 20  # training pieces that tell how many tokens a beat takes
DRAW_MARGIN = 1.25  # draw this much more than the training pieces needed for the beats


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
    primer_end = _end_of(trained.encoding.decode(primer_ids)) if primer_ids is not None else 0.0
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
        end = max(math.ceil(_end_of(notes) / metre.bar_beats - 1e-9), 1) * metre.bar_beats
        end = min(end, STUDIO_MAX_TAKE_BEATS)
    return Composition(cut(notes, end), primer_end, end, metre, qpm, len(ids))


def draw_tokens(trained, request: TakeRequest, primer_ids, end, rng) -> np.ndarray:
    """Token ids (P + new,): the primer's, then new ones until the music reaches `end` beats.

    Without `end`, exactly request.length new tokens. A melody token is one grid step, so
    the count is exact; other encodings draw in rounds (`_draw_until`). Issue 9 hooks in
    here: features for request.metre, request.key and request.chords, and a scale-lock
    mask, go to `generate`.
    """
    settings = dict(temperature=request.temperature, top_p=request.top_p, rng=rng)
    if end is None:
        return generate(trained, request.length, primer=primer_ids, **settings)[0]
    if trained.encoding.name != "melody":
        return _draw_until(trained, primer_ids, end, settings)
    steps = round((end - _covered_beats(trained, primer_ids)) * trained.config.steps_per_quarter)
    return generate(trained, max(steps, 1), primer=primer_ids, **settings)[0]


def _draw_until(trained, ids, end: float, settings: dict) -> np.ndarray:
    """Draw until the notes reach `end` beats (or STUDIO_MAX_TOKENS tokens).

    Each round draws what the missing beats took in the training pieces, plus a margin,
    so one round is nearly always enough (a round's end releases the sounding notes when
    the sampler follows a grammar, so fewer rounds also sound better).
    """
    per_beat = tokens_per_beat(trained)
    while True:
        covered = _covered_beats(trained, ids)
        wanted = math.ceil((end - covered) * per_beat * DRAW_MARGIN)
        budget = STUDIO_MAX_TOKENS - (0 if ids is None else len(ids))
        ids = generate(trained, max(min(wanted, budget), 1), primer=ids, **settings)[0]
        if _covered_beats(trained, ids) >= end or len(ids) >= STUDIO_MAX_TOKENS:
            return ids


def tokens_per_beat(trained) -> float:
    """Tokens per beat in the model's first training pieces (one grid step per token if
    the model kept none)."""
    pieces = trained.train_tokens[:RATE_PIECES]
    beats = sum(_end_of(trained.encoding.decode(ids)) for ids in pieces)
    if not beats:
        return float(trained.config.steps_per_quarter)
    return sum(len(ids) for ids in pieces) / beats


def _covered_beats(trained, ids) -> float:
    """How far in beats the music of `ids` reaches: steps for a melody, notes' ends else."""
    if ids is None:
        return 0.0
    if trained.encoding.name == "melody":
        return len(ids) / trained.config.steps_per_quarter
    return _end_of(trained.encoding.decode(ids))


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


def _end_of(notes) -> float:
    return max((n.end for n in notes), default=0.0)


def cut(notes, end: float) -> list[Note]:
    """The notes that start before `end` beats, those running past it ending there."""
    return [replace(n, end=min(n.end, end)) for n in notes if n.start < end - 1e-9]
