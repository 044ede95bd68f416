"""Validation after each epoch: the held-out pieces scored, shared among the ranks.

The validation NLL chooses the weights a run keeps. On a corpus of a few thousand tunes
every held-out piece is scored, as always. On a large one, scoring them all would take
longer than a short run's training (10,141 pieces: 41 s on one process), so at most
`val_pieces` of them are scored: a simple random sample drawn once from the seed, the
same every epoch (so epochs are compared on the same pieces). The NLL of a sample comes
with its standard error as an estimate of the whole held-out split's (a ratio estimator:
nats over steps, pieces drawn without replacement).

The pieces, longest first, are dealt to the ranks in turn; each scores its own, with
their metre and key and their chords hidden (the figure comparable with an unconditioned
model's, composer.evaluation.evaluate), and a sum over the ranks joins the per-piece
totals, so every rank gets the same scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from composer.data.dataset import Dataset
from composer.evaluation.metrics import Scores, scores_from_sums
from composer.evaluation.scoring import TOTALS, piece_totals
from composer.training.run import Run

SAMPLE_STREAM = 0x5A11  # mixed with the seed to draw the sample of held-out pieces


@dataclass
class Validation:
    scores: Scores
    pieces: int  # pieces scored
    held_out: int  # pieces held out in all
    stderr: float  # standard error of scores.nll as the held-out split's NLL (0: all scored)

    def describe(self) -> str:
        """' +- 0.0041 (1,000 of 10,141 pieces)' for a sample, '' when every piece counted."""
        if self.pieces == self.held_out:
            return ""
        return f" +- {self.stderr:.4f} ({self.pieces:,} of {self.held_out:,} pieces)"


def validation_rows(valid_rows: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """The store rows to score: all of them, or a sample of `cap` (in file order)."""
    if not cap or len(valid_rows) <= cap:
        return valid_rows
    chosen = np.random.default_rng([seed, SAMPLE_STREAM]).choice(len(valid_rows), cap,
                                                                 replace=False)
    return valid_rows[np.sort(chosen)]


def validate(run: Run, dataset: Dataset, rows: np.ndarray) -> Validation:
    """Scores of the run's weights on the store rows `rows` (module docstring)."""
    world = run.world
    longest_first = np.argsort(-dataset.store.lengths[rows], kind="stable")
    mine = longest_first[world.rank :: world.size]
    totals = np.zeros((len(rows), len(TOTALS)))
    pieces = [dataset.store.piece(int(r)) for r in rows[mine]]
    totals[mine] = piece_totals(run.params, pieces, run.encoding.event_mask(),
                                **_features(run, rows[mine]))
    world.sum_(totals)
    steps, nll = totals[:, 0], totals[:, 1]
    held_out = len(dataset.valid_rows)
    return Validation(scores_from_sums(*totals.sum(axis=0)), len(rows), held_out,
                      ratio_stderr(nll, steps, held_out))


def _features(run: Run, rows: np.ndarray) -> dict:
    """piece_totals' conditioning arguments: each piece's metre, key and history, chords
    hidden and the end out of sight (hide_leaks)."""
    if run.features is None:
        return {}
    return {"features": [run.features.comparable_features(r) for r in rows.tolist()],
            "cond_sizes": run.config.cond_sizes()}


def ratio_stderr(values: np.ndarray, weights: np.ndarray, population: int) -> float:
    """Standard error of sum(values) / sum(weights) as the same ratio over a population of
    `population` units of which these are a simple random sample (without replacement)."""
    n = len(values)
    if n < 2 or n >= population or not weights.sum():
        return 0.0
    ratio = values.sum() / weights.sum()
    spread = ((values - ratio * weights) ** 2).sum() / (n - 1)
    return math.sqrt((1 - n / population) * spread / n) / weights.mean()
