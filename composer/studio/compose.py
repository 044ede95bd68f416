"""Making a take: the one place where the studio calls composer's generation.

`compose` turns a checked TakeRequest (and an optional primer take) into notes:
it encodes the primer with the model's own encoding, works out how much music the
request asks for, lets `draw_tokens` sample it, decodes the tokens and cuts the
notes at the last bar line asked for.

`draw_tokens` is where the request's metre, key and chords become the context that
steers a conditioned model (composer.generation.steering), and scale lock a mask of
the notes outside the key. A take without a primer from a melody model gets the form
plan `composer sample` would play (composer.music.form.sample_plan), which the page shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from composer.constants import CHORD_WEIGHT, DEFAULT_QPM, STUDIO_MAX_TAKE_BEATS, STUDIO_MAX_TOKENS
from composer.errors import MusicError
from composer.generation.lengths import cut, draw_beats, end_of
from composer.generation.sampling import generate
from composer.generation.shaping import part_marks
from composer.music.conditioning import user_context
from composer.music.form import FormPlan, sample_plan
from composer.music.meter import bar_steps
from composer.music.notes import Note, PartMark, Piece
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
    form: FormPlan | None = None  # the parts it was drawn in
    parts: list[PartMark] = field(default_factory=list)  # where they start


def check_supported(trained, model_id: str, request: TakeRequest) -> None:
    """RequestError when the request sets controls the model was not trained to hear."""
    heard = supported_conditioning(trained)
    asked = {"key": request.key is not None, "chords": bool(request.chords),
             "scale_lock": request.scale_lock}
    for control, wanted in asked.items():
        if wanted and not heard[control]:
            raise RequestError(f"model {model_id} was not trained with {control.replace('_', ' ')}"
                               f" conditioning; leave {control} empty", control)
    if request.form not in (None, "none") and not heard["form"]:
        raise RequestError(f"model {model_id} draws no token per grid step, so it cannot play "
                           f"a form; leave form empty", "form")


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
    context = _planned(trained, request, _context(trained, request, metre), primer, rng)
    ids = draw_tokens(trained, request, primer_ids, end, rng, context)
    notes = trained.encoding.decode(ids)
    if end is None:  # whole bars, but no longer than a take may be
        end = max(math.ceil(end_of(notes) / metre.bar_beats - 1e-9), 1) * metre.bar_beats
        end = min(end, STUDIO_MAX_TAKE_BEATS)
    return Composition(cut(notes, end), primer_end, end, metre, qpm, len(ids), context.form,
                       [mark for mark in part_marks(context) if mark.beat < end - 1e-9])


def draw_tokens(trained, request: TakeRequest, primer_ids, end, rng, context) -> np.ndarray:
    """Token ids (P + new,): the primer's, then new ones until the music reaches `end` beats.

    Without `end`, exactly request.length new tokens. The request's metre, key and chords
    steer a model that hears them (composer.generation.steering), and scale lock keeps
    its notes in the key; `context` holds them (and the form plan).
    """
    settings = dict(temperature=request.temperature, top_p=request.top_p, rng=rng,
                    context=context, scale_lock=request.scale_lock,
                    chord_weight=CHORD_WEIGHT if request.chords else 0.0)
    if end is None:
        return generate(trained, request.length, primer=primer_ids, **settings)[0]
    return draw_beats(trained, end, primer_ids, max_tokens=STUDIO_MAX_TOKENS, **settings)


def _planned(trained, request: TakeRequest, context, primer: Primer | None, rng):
    """The context with the take's form plan: for a melody model without a primer."""
    explicit = request.form not in (None, "none") or request.part_bars is not None
    if primer is not None:
        if explicit:
            raise RequestError("a form shapes a take from its start: it cannot continue a "
                               "primer; leave form empty or start afresh", "form")
        return context
    if not supported_conditioning(trained)["form"]:
        return context
    bars = request.bars or (request.length + 1) / bar_steps(
        context.meter.first, context.steps_per_quarter)
    try:
        return replace(context, form=sample_plan(request.form, request.part_bars, bars, rng,
                                                 cycle=len(request.chords) or None))
    except MusicError as error:
        raise RequestError(str(error), "part_bars" if request.part_bars else "form") from error


def _context(trained, request: TakeRequest, metre: Metre):
    """The music's context for the model: the take's metre and the request's key and chords
    (C major when not given), read by composer.music's parsers."""
    chords = " ".join(chord.symbol for chord in request.chords or ()) or None
    return user_context(meter=str(metre),
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
