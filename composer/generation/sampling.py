"""Drawing new music from a trained model, one token at a time.

All K samples are drawn together as a batch of K. Each starts from the primer's
tokens (run through the model first) or, without a primer, from a first token
drawn from how the training pieces opened. A conditioned model is steered by a
context (composer.music.conditioning.user_context: metre, key, chords), whose
features it hears at every step (composer.generation.steering).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from composer.errors import ComposerError
from composer.generation.shaping import Shaping
from composer.generation.steering import Steering
from composer.music.conditioning import Context, user_context
from composer.music.feature_edits import hide_chords
from composer.music.grammar import make_grammar
from composer.nn import model
from composer.training.trained import TrainedModel

GREEDY_BELOW = 1e-3  # temperatures below this pick the most likely token


def generate(trained: TrainedModel, length, num=1, *, temperature=1.0, top_k=0, top_p=1.0,
             primer=None, rng=None, grammar=True, max_note_steps=None,
             max_voices=None, context: Context | None = None, first_step: int = 0,
             scale_lock: bool = False, chord_weight: float = 0.0,
             shape: bool = True) -> np.ndarray:
    """(K, P + length) token ids: the primer (P tokens, or one start token) then `length` more.

    With `grammar` each token is drawn among those the encoding's grammar allows
    (composer.music.grammar): notes last at most `max_note_steps` grid steps, at most
    `max_voices` sound at once, and everything is released by the end. None takes the
    limit from the training corpus (TrainedModel.note_limits).
    `context` (default: 4/4, C major, no chords) steers a conditioned model; the
    opening's first token acts at its grid step `first_step`. `scale_lock` draws only
    notes of the context's key. `chord_weight` w > 0 follows the chords more closely
    than the model would (classifier-free guidance, which chord dropout makes possible:
    each sample is also run with its chords hidden, and the logits become
    l + w (l - l_hidden)); it needs a model that hears chords.
    With `shape`, a melody model's sample follows the context's form plan (parts played
    again, cadences) and ends on the tonic when the model hears the key
    (composer.generation.shaping).
    """
    rng = rng or np.random.default_rng()
    params, sizes = trained.params, trained.config.cond_sizes()
    context = _with_end(trained, context or user_context(
        steps_per_quarter=trained.encoding.steps_per_quarter), primer, first_step, length)
    steering = Steering(trained.encoding, context, trained.config.condition,
                        first_step=first_step, scale_lock=scale_lock, length=length)
    opening = _opening(trained, primer, num, rng, steering.allowed_first())  # (K, P)
    shaping = _shaping(trained, steering.context, first_step, opening.shape, length, shape)
    rules = _grammar(trained, num, max_note_steps, max_voices) if grammar else None
    for column in opening.T if rules is not None else ():
        rules.advance(column)
    guide = _Guide(trained, chord_weight, num)
    state = model.zero_state(params, num * guide.lanes)
    if opening.shape[1] > 1:  # run the primer through, all but its last token
        _, state, _ = model.forward(params, guide.ids(opening[:, :-1].T), state,
                                    cond=guide.cond(steering.opening(opening)), cond_sizes=sizes)
    else:
        steering.opening(opening)  # sets the clock
    tokens = np.empty((num, opening.shape[1] + length), dtype=np.int64)
    tokens[:, : opening.shape[1]] = opening
    current = opening[:, -1]
    for t in range(opening.shape[1], tokens.shape[1]):
        logits, state = model.step(params, guide.ids(current), state,
                                   guide.cond(steering.current()), sizes)
        current = shaping.forced(t, tokens) if shaping else None
        if current is None:
            logits = _masked(guide.combine(logits),
                             rules.allowed(tokens.shape[1] - t) if rules else None,
                             steering.allowed(), shaping.allowed(t, tokens) if shaping else None)
            current = choose(logits, temperature, top_k, top_p, rng)
        tokens[:, t] = current
        steering.step(current)
        if rules is not None:
            rules.advance(current)
    return tokens


class _Guide:
    """Classifier-free guidance by chords: K more lanes that hear the same music with the
    chords hidden (lanes K..2K-1), and the logits pushed away from theirs."""

    def __init__(self, trained, weight: float, num: int):
        self.parts, self.weight, self.num = trained.config.condition, weight, num
        if weight and "chords" not in self.parts:
            raise ComposerError("a chord weight needs a model that hears chords (trained "
                                "with --condition ...,chords)")
        self.lanes = 2 if weight else 1

    def ids(self, ids):
        """ids (..., K) for every lane (..., lanes * K)."""
        return np.concatenate([ids] * self.lanes, axis=-1)

    def cond(self, features):
        """features (..., K, F) for every lane, the chords hidden in the second half."""
        if features is None or self.lanes == 1:
            return features
        return np.concatenate([features, hide_chords(features, self.parts)], axis=-2)

    def combine(self, logits):
        """(lanes * K, V) -> (K, V): l + w (l - l_hidden)."""
        if self.lanes == 1:
            return logits
        heard, hidden = logits[: self.num], logits[self.num :]
        return heard + self.weight * (heard - hidden)


def _with_end(trained, context: Context, primer, first_step: int, length: int) -> Context:
    """The context with the sample's end step (where a melody sample of `length` tokens after
    its opening ends), unless it knows its end already (the form part counts bars to it)."""
    if trained.encoding.name != "melody" or context.form is not None or context.end_step:
        return context
    opening = len(primer) if primer is not None and len(primer) else 1
    return replace(context, end_step=first_step + opening + length)


def _shaping(trained, context, first_step, opening_shape, length, shape):
    """The Shaping of a melody sample after its opening (K, P) (its form plan; cadences and
    the ending when the model hears the key), or None."""
    if not shape or trained.encoding.name != "melody":
        return None
    return Shaping(trained.encoding, context, first_step, opening_shape[1] + length,
                   cadences="key" in trained.config.condition, drawn_from=opening_shape[1])


def _masked(logits, grammar, *wishes):
    """logits with what cannot follow (the grammar) at -inf, then what each of the wishes
    forbids (the scale lock, the shaping), each yielding where it would leave a row of
    the grammar's tokens nothing (K, V)."""
    if grammar is None and all(wish is None for wish in wishes):
        return logits
    allowed = np.ones(logits.shape, dtype=bool) if grammar is None else grammar
    for wish in wishes:
        if wish is not None:
            both = wish & allowed
            allowed = np.where(both.any(axis=1, keepdims=True), both, allowed)
    return np.where(allowed, logits, -np.inf)


def _grammar(trained: TrainedModel, num, max_note_steps, max_voices):
    """The grammar of the model's encoding, with the corpus's limits where none is given."""
    limits = trained.note_limits
    if max_note_steps is None:
        max_note_steps = limits.max_note_steps()
    if max_voices is None:
        max_voices = limits.max_voices()
    return make_grammar(trained.encoding, num, max_note_steps, max_voices)


def _opening(trained, primer, num, rng, allowed=None):
    """(K, P) the primer's tokens, else a first token drawn as the training pieces opened,
    among the `allowed` ones (V,) when given (the scale lock)."""
    if primer is not None and len(primer):
        return np.tile(np.asarray(primer, dtype=np.int64), (num, 1))
    counts = np.asarray(trained.start_counts, dtype=np.float64)
    if allowed is not None and (counts * allowed).sum() > 0:
        counts = counts * allowed
    if counts.sum() <= 0:
        counts = np.ones(trained.encoding.vocab_size)
    return rng.choice(len(counts), size=(num, 1), p=counts / counts.sum())


def choose(logits, temperature, top_k, top_p, rng) -> np.ndarray:
    """One token per row of logits (K, V): greedy, or sampled with temperature/top-k/top-p."""
    if temperature < GREEDY_BELOW:
        return logits.argmax(axis=1)
    scaled = logits.astype(np.float64) / temperature
    probs = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    if top_k:
        probs = _keep_top_k(probs, top_k)
    if top_p < 1.0:
        probs = _keep_nucleus(probs, top_p)
    cumulative = probs.cumsum(axis=1)
    draws = rng.random((len(probs), 1)) * cumulative[:, -1:]
    # <= : a draw of exactly 0 must not land on a leading token of probability 0
    return np.minimum((cumulative <= draws).sum(axis=1), probs.shape[1] - 1)


def _keep_top_k(probs, k):
    """Zero all but the k most likely tokens of each row."""
    if k >= probs.shape[1]:
        return probs
    threshold = -np.partition(-probs, k - 1, axis=1)[:, k - 1 : k]
    return np.where(probs >= threshold, probs, 0.0)


def _keep_nucleus(probs, p):
    """Keep the smallest set of most likely tokens whose probability reaches p."""
    order = np.argsort(-probs, axis=1)
    sorted_probs = np.take_along_axis(probs, order, axis=1)
    total = sorted_probs.sum(axis=1, keepdims=True)
    before = np.cumsum(sorted_probs, axis=1) - sorted_probs  # mass of the more likely tokens
    keep_sorted = before < p * total  # the most likely token is always kept
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=1)
    return np.where(keep, probs, 0.0)


def output_paths(out, num, suffix: str = ".mid") -> list[Path]:
    """Where the K samples go; never a file that exists already.

    out ending in the suffix (.mid/.midi for MIDI) is a file name (numbered -1, -2, ...
    when K > 1); anything else is a folder, where the files are sample-001.mid (or .abc,
    .musicxml) and on, numbered after the ones already there.
    """
    out = Path(out)
    names = (".mid", ".midi") if suffix == ".mid" else (suffix,)
    if out.suffix.lower() in names:
        paths = [out] if num == 1 else [out.with_name(f"{out.stem}-{k}{out.suffix}")
                                        for k in range(1, num + 1)]
        taken = [p for p in paths if p.exists()]
        if taken:
            raise ComposerError(f"{taken[0]} exists already; choose another --out")
        return paths
    existing = {p.name for p in out.glob(f"sample-*{suffix}")} if out.is_dir() else set()
    paths, k = [], 1
    while len(paths) < num:
        name = f"sample-{k:03d}{suffix}"
        if name not in existing:
            paths.append(out / name)
        k += 1
    return paths
