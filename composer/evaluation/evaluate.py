"""`composer evaluate`: a model against an interpolated Kneser-Ney baseline on the same tokens.

The baseline's order (1 to 5) is chosen on the model's own training pieces
(saved in its model file), refitted on all of them, then both are scored on the
evaluation pieces. Pieces the model was trained on (matched by their path
relative to the folder, as saved in the model) are left out, so on the model's
own training folder only its held-out validation pieces count.
"""

from __future__ import annotations

from dataclasses import dataclass

from composer.data.corpus import load_pieces
from composer.errors import DataError
from composer.evaluation.metrics import Scores
from composer.evaluation.ngram import fit_baseline
from composer.evaluation.scoring import score_model
from composer.training.trained import TrainedModel


@dataclass
class Evaluation:
    model: Scores
    baseline: Scores
    baseline_order: int
    pieces: int
    split: str  # which pieces: "all pieces" or "K training pieces left out"

    @property
    def nll_reduction(self) -> float:
        """How much lower the model's NLL is than the baseline's, as a share of the latter."""
        return 1 - self.model.nll / self.baseline.nll

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "baseline": self.baseline.to_dict(),
                "baseline_order": self.baseline_order, "pieces": self.pieces,
                "split": self.split, "nll_reduction": self.nll_reduction}


def evaluation_pieces(trained: TrainedModel, folder, warn=None):
    """(token sequences, description) of the pieces under folder the model never saw."""
    seen = set(trained.data.get("train_names", []))
    pieces = load_pieces(folder, warn=warn)
    unseen = [p for p in pieces if p.name not in seen]
    sequences = [s for s in map(trained.encoding.encode, unseen) if len(s) > 1]
    if not sequences:
        raise DataError(f"{folder}: no piece that the model was not trained on and that the "
                        f"{trained.encoding.name} encoding can use")
    left_out = len(pieces) - len(unseen)
    split = f"{left_out} training pieces left out" if left_out else "all pieces"
    return sequences, split


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
