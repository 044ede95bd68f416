"""Scoring a model on held-out pieces: NLL per step, accuracy and event accuracy.

Each piece starts from a zero state and is scored on its targets tokens[1:],
each predicted from the tokens before it, exactly the steps the n-gram baseline
is scored on (composer.evaluation.ngram).
"""

from __future__ import annotations

import numpy as np

from composer.evaluation.metrics import ScoreAccumulator, Scores
from composer.nn import model

CHUNK_STEPS = 256  # forward this many steps at a time, carrying state, to bound memory


def score_model(params, sequences, event_mask, batch_size=32, *, features=None,
                cond_sizes=None) -> Scores:
    """Scores of the model on `sequences` (int arrays, one per piece).

    A conditioned model also needs `features`: per piece an (L, F) array of field values,
    row t fed beside token t (composer.data.contexts.ConditionFeatures.piece_features),
    and its `cond_sizes`.
    """
    scores = ScoreAccumulator(event_mask)
    features = [None] * len(sequences) if features is None else list(features)
    pairs = [(s, f) for s, f in zip(sequences, features, strict=True) if len(s) > 1]
    pairs.sort(key=lambda pair: len(pair[0]), reverse=True)
    for first in range(0, len(pairs), batch_size):
        batch = pairs[first : first + batch_size]
        ids, lengths = _pad([s for s, _ in batch])  # (L, N), (N,)
        cond = None if batch[0][1] is None else _pad_features([f for _, f in batch], len(ids))
        for logprob, predicted, targets, valid in _predict(params, ids, lengths, cond,
                                                           cond_sizes):
            scores.add(logprob[valid], predicted[valid], targets[valid])
    return scores.result()


def _pad_features(features, steps):
    """(L, N, F) field values, each piece's last row repeated over its padding."""
    cond = np.zeros((steps, len(features), features[0].shape[1]), dtype=np.int64)
    for n, piece in enumerate(features):
        cond[:, n] = piece[np.minimum(np.arange(steps), len(piece) - 1)]
    return cond


def _pad(batch):
    """Time-major ids (L, N), padded with token 0, and the true lengths (N,)."""
    lengths = np.array([len(s) for s in batch])
    ids = np.zeros((lengths.max(), len(batch)), dtype=np.int64)
    for n, sequence in enumerate(batch):
        ids[: len(sequence), n] = sequence
    return ids, lengths


def _predict(params, ids, lengths, cond=None, cond_sizes=None):
    """Per chunk: log p(target), argmax, targets and the mask of real steps."""
    state = model.zero_state(params, ids.shape[1])
    steps = ids.shape[0] - 1
    for start in range(0, steps, CHUNK_STEPS):
        stop = min(start + CHUNK_STEPS, steps)
        chunk = None if cond is None else cond[start:stop]
        logits, state, _ = model.forward(params, ids[start:stop], state, cond=chunk,
                                         cond_sizes=cond_sizes)
        targets = ids[start + 1 : stop + 1]  # (T, N)
        log_probs = model.log_softmax(logits.astype(np.float64))  # float64: exact sums
        target_logprob = np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
        valid = np.arange(start + 1, stop + 1)[:, None] < lengths[None, :]  # (T, N)
        yield target_logprob, log_probs.argmax(-1), targets, valid

