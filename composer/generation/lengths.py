"""Drawing a given amount of music: as many tokens as it takes to fill a number of beats.

A melody token is one grid step, so the count is exact. A performance token is an
event (NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY), so such models draw in rounds: each
round draws what the missing beats took in the training pieces, plus a margin, so
one round is nearly always enough (a round's end releases the sounding notes when
the sampler follows a grammar, so fewer rounds also sound better). `cut` then
trims the notes to the beats asked for.

Beats here count from the start of the token sequence (its first token's step).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from composer.generation.sampling import generate
from composer.music.notes import Note

RATE_PIECES = 20  # training pieces that tell how many tokens a beat takes
DRAW_MARGIN = 1.25  # draw this much more than the training pieces needed for the beats


def draw_beats(trained, end: float, primer_ids=None, *, max_tokens: int, **settings):
    """Token ids (P + new,) of one sample: the primer's (or a start token), then new ones
    until the music reaches `end` beats or max_tokens tokens; `settings` go to generate."""
    if trained.encoding.name == "melody":
        steps = round((end - covered_beats(trained, primer_ids)) *
                      trained.config.steps_per_quarter) - (primer_ids is None)
        budget = max_tokens - (1 if primer_ids is None else len(primer_ids))
        return generate(trained, max(min(steps, budget), 1), primer=primer_ids, **settings)[0]
    per_beat, ids = tokens_per_beat(trained), primer_ids
    while True:
        wanted = math.ceil((end - covered_beats(trained, ids)) * per_beat * DRAW_MARGIN)
        budget = max_tokens - (1 if ids is None else len(ids))
        ids = generate(trained, max(min(wanted, budget), 1), primer=ids, **settings)[0]
        if covered_beats(trained, ids) >= end or len(ids) >= max_tokens:
            return ids


def tokens_per_beat(trained) -> float:
    """Tokens per beat in the model's first training pieces (one grid step per token if
    the model kept none)."""
    pieces = trained.train_tokens[:RATE_PIECES]
    beats = sum(end_of(trained.encoding.decode(ids)) for ids in pieces)
    if not beats:
        return float(trained.config.steps_per_quarter)
    return sum(len(ids) for ids in pieces) / beats


def covered_beats(trained, ids) -> float:
    """How far in beats the music of `ids` reaches: steps for a melody, notes' ends else."""
    if ids is None:
        return 0.0
    if trained.encoding.name == "melody":
        return len(ids) / trained.config.steps_per_quarter
    return end_of(trained.encoding.decode(np.asarray(ids)))


def end_of(notes) -> float:
    return max((n.end for n in notes), default=0.0)


def cut(notes, end: float) -> list[Note]:
    """The notes that start before `end` beats, those running past it ending there."""
    return [replace(n, end=min(n.end, end)) for n in notes if n.start < end - 1e-9]
