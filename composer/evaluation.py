"""`composer evaluate`: a model against an interpolated Kneser-Ney baseline on the same tokens.

The baseline's order (1 to 5) is chosen on the model's own training pieces
(saved in its model file), refitted on all of them, then both are scored on the
evaluation pieces. When the folder is the one the model was trained on, only
its held-out validation pieces are used, so training pieces never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from composer.dataset import load_dataset, load_pieces
from composer.errors import DataError
from composer.metrics import Scores
from composer.ngram import fit_baseline
from composer.scoring import score_model
from composer.trained import TrainedModel


@dataclass
class Evaluation:
    model: Scores
    baseline: Scores
    baseline_order: int
    pieces: int
    split: str  # "validation" (the model's own folder) or "all"

    @property
    def nll_reduction(self) -> float:
        """How much lower the model's NLL is than the baseline's, as a share of the latter."""
        return 1 - self.model.nll / self.baseline.nll

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "baseline": self.baseline.to_dict(),
                "baseline_order": self.baseline_order, "pieces": self.pieces,
                "split": self.split, "nll_reduction": self.nll_reduction}


def evaluation_pieces(trained: TrainedModel, folder, warn=None):
    """(token sequences, split name) to evaluate on."""
    config = trained.config
    if Path(folder).resolve() == Path(trained.data.get("folder", "")):
        dataset = load_dataset(folder, trained.encoding, val_fraction=config.val_fraction,
                               seed=config.seed, warn=warn)
        return dataset.valid, "validation"
    pieces = load_pieces(folder, warn=warn)
    sequences = [s for s in map(trained.encoding.encode, pieces) if len(s) > 1]
    if not sequences:
        raise DataError(f"{folder}: no piece the {trained.encoding.name} encoding can use")
    return sequences, "all"


def evaluate(trained: TrainedModel, folder, warn=None) -> Evaluation:
    sequences, split = evaluation_pieces(trained, folder, warn)
    if len(trained.train_tokens) < 2:
        raise DataError(f"{trained.path}: the model file holds too few training pieces "
                        "for a baseline")
    events = trained.encoding.event_mask()
    baseline = fit_baseline(trained.train_tokens, trained.encoding.vocab_size,
                            seed=trained.config.seed)
    return Evaluation(score_model(trained.params, sequences, events),
                      baseline.score(sequences, events), baseline.order, len(sequences), split)
