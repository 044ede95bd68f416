"""Scoring a model on held-out pieces: NLL per step, accuracy and event accuracy.

Each piece starts from a zero state and is scored on its targets tokens[1:],
each predicted from the tokens before it, exactly the steps the n-gram baseline
is scored on (composer.evaluation.ngram).
"""

from __future__ import annotations

import numpy as np

from composer.evaluation.metrics import Scores, scores_from_sums
from composer.nn import model

CHUNK_STEPS = 256  # forward this many steps at a time, carrying state, to bound memory
TOTALS = ("steps", "nll_sum", "correct", "event_steps", "event_correct")  # piece_totals


def score_model(params, sequences, event_mask, batch_size=32, *, features=None,
                cond_sizes=None) -> Scores:
    """Scores of the model on `sequences` (int arrays, one per piece).

    A conditioned model also needs `features`: per piece an (L, F) array of field values,
    row t fed beside token t (composer.data.contexts.ConditionFeatures.piece_features),
    and its `cond_sizes`.
    """
    totals = piece_totals(params, sequences, event_mask, batch_size, features=features,
                          cond_sizes=cond_sizes)
    return scores_from_sums(*totals.sum(axis=0))


def piece_totals(params, sequences, event_mask, batch_size=32, *, features=None,
                 cond_sizes=None) -> np.ndarray:
    """(P, 5) float64, per piece in the order given, the sums TOTALS over its scored steps
    (score_model's arguments): what a share of the pieces contributes to their scores."""
    event_mask = np.asarray(event_mask, dtype=bool)
    totals = np.zeros((len(sequences), len(TOTALS)))
    features = [None] * len(sequences) if features is None else list(features)
    order = sorted((k for k, s in enumerate(sequences) if len(s) > 1),
                   key=lambda k: len(sequences[k]), reverse=True)
    for first in range(0, len(order), batch_size):
        batch = order[first : first + batch_size]
        ids, lengths = _pad([sequences[k] for k in batch])  # (L, N), (N,)
        cond = None if features[batch[0]] is None else \
            _pad_features([features[k] for k in batch], len(ids))
        for logprob, predicted, targets, valid in _predict(params, ids, lengths, cond,
                                                           cond_sizes):
            hit, event = (predicted == targets) & valid, event_mask[targets] & valid
            totals[batch] += np.stack([valid.sum(0), -np.where(valid, logprob, 0.0).sum(0),
                                       hit.sum(0), event.sum(0), (hit & event).sum(0)], 1)
    return totals


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

