"""Scores of a language model on token sequences: NLL, bits, perplexity and accuracy.

Any model that predicts the next token (the LSTM, the n-gram baseline) reports, for each
scored step, the log-probability it gave the true token and its argmax prediction. A
`ScoreAccumulator` sums these over batches; `format_scores_table` lays the results of several
models side by side.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    """How well a model predicted the scored steps of a set of pieces."""

    steps: int  # scored steps
    nll: float  # mean negative log-likelihood per step, nats
    bits: float  # the same in bits per step (nll / ln 2)
    perplexity: float  # exp(nll)
    accuracy: float  # share of steps whose argmax prediction is the true token
    event_accuracy: float  # accuracy on steps whose true token starts a note; nan if none

    def to_dict(self) -> dict:
        """The fields as a plain dict (for JSON reports)."""
        return asdict(self)


class ScoreAccumulator:
    """Sums scored steps over batches; `result()` turns the sums into `Scores`."""

    def __init__(self, event_mask: np.ndarray):
        """`event_mask`: bool (V,), True for the token ids that start a note."""
        mask = np.asarray(event_mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"event_mask must be a bool array, got dtype {mask.dtype}")
        if mask.ndim != 1:
            raise ValueError(f"event_mask must be 1-D (V,), got shape {mask.shape}")
        self.event_mask = mask  # (V,)
        self.steps = 0
        self.nll_sum = 0.0  # nats, summed over steps
        self.correct = 0
        self.event_steps = 0
        self.event_correct = 0

    def add(self, target_logprob: np.ndarray, predicted: np.ndarray, targets: np.ndarray) -> None:
        """Add a batch of steps; the three arrays have the same shape, any shape."""
        logprob = np.asarray(target_logprob, dtype=np.float64)
        predicted, targets = np.asarray(predicted), np.asarray(targets)
        if not logprob.shape == predicted.shape == targets.shape:
            raise ValueError(
                "target_logprob, predicted and targets must have the same shape, got "
                f"{logprob.shape}, {predicted.shape} and {targets.shape}"
            )
        for name, array in (("predicted", predicted), ("targets", targets)):
            if array.size and array.dtype.kind not in "iu":
                raise TypeError(f"{name} must hold integer token ids, got dtype {array.dtype}")
        vocab = len(self.event_mask)
        if targets.size and (targets.min() < 0 or targets.max() >= vocab):
            bad = targets.min() if targets.min() < 0 else targets.max()
            raise ValueError(f"target token {bad} is outside the vocabulary 0..{vocab - 1}")
        hit = predicted == targets
        event = self.event_mask[targets.astype(np.intp)]
        self.steps += targets.size
        self.nll_sum -= float(logprob.sum())
        self.correct += int(hit.sum())
        self.event_steps += int(event.sum())
        self.event_correct += int((hit & event).sum())

    def result(self) -> Scores:
        """The scores so far; every field but `steps` is nan when no step was added."""
        return scores_from_sums(self.steps, self.nll_sum, self.correct, self.event_steps,
                                self.event_correct)


def scores_from_sums(steps, nll_sum, correct, event_steps, event_correct) -> Scores:
    """Scores from sums over scored steps (nll_sum in nats); nan fields without steps."""
    nan = float("nan")
    steps, event_steps = int(steps), int(event_steps)
    nll = nll_sum / steps if steps else nan
    return Scores(
        steps=steps,
        nll=nll,
        bits=nll / math.log(2),
        perplexity=math.inf if nll > 700 else math.exp(nll),  # exp overflows above ~709
        accuracy=correct / steps if steps else nan,
        event_accuracy=event_correct / event_steps if event_steps else nan,
    )


_COLUMNS = (  # (header, Scores field, format)
    ("nll(nats)", "nll", "{:.4f}"),
    ("bits", "bits", "{:.4f}"),
    ("ppl", "perplexity", "{:.2f}"),
    ("acc", "accuracy", "{:.4f}"),
    ("event-acc", "event_accuracy", "{:.4f}"),
    ("steps", "steps", "{:d}"),
)


def format_scores_table(rows: dict[str, Scores]) -> str:
    """An aligned text table, one row per model: names left-aligned, numbers right-aligned."""
    header = ["model"] + [title for title, _, _ in _COLUMNS]
    body = [
        [name] + [fmt.format(getattr(scores, field)) for _, field, fmt in _COLUMNS]
        for name, scores in rows.items()
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in body)])
