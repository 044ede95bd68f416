"""`composer evaluate`: a model against an interpolated Kneser-Ney baseline on the same tokens.

The baseline's order (1 to 5) is chosen on the model's own training pieces
(saved in its model file), refitted on all of them, then both are scored on the
evaluation pieces. Pieces the model was trained on (matched by their path
relative to the folder, as saved in the model) are left out, so on the model's
own training folder only its held-out validation pieces count.

A conditioned model is scored with each piece's own metre and key, read from the
file's headers (bar phase estimated, key estimated when there is no key signature).
A model that hears chords is scored twice: with its chords hidden (N.C. at every
step, which chord dropout taught it), the figure comparable with the baseline's;
and with each piece's chords (its chord symbols, else inferred from its notes),
reported apart: inferred chords look at the very notes being predicted, so that
NLL is not comparable with a model's or a baseline's that does not see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from composer.data.corpus import load_pieces
from composer.errors import DataError
from composer.evaluation.metrics import Scores
from composer.evaluation.ngram import fit_baseline
from composer.evaluation.scoring import score_model
from composer.music.conditioning import piece_context, sequence_features, token_context
from composer.music.encoding import note_arrays
from composer.music.feature_edits import hide_leaks
from composer.music.notes import Piece
from composer.training.trained import TrainedModel


@dataclass
class Evaluation:
    model: Scores | None  # with the metre and key of the files for a conditioned model
    baseline: Scores
    baseline_order: int
    pieces: int
    split: str  # which pieces: "all pieces" or "K training pieces left out"
    condition: tuple[str, ...] = ()  # what the model heard: metre, key (and chords hidden)
    with_chords: Scores | None = None  # a chord model with the pieces' chords: not comparable
    chord_sources: dict[str, int] = field(default_factory=dict)  # "inferred"/"file" -> pieces

    @property
    def nll_reduction(self) -> float:
        """How much lower the model's NLL is than the baseline's, as a share of the latter."""
        return 1 - self.model.nll / self.baseline.nll

    def to_dict(self) -> dict:
        found = {"model": self.model.to_dict(), "baseline": self.baseline.to_dict(),
                 "baseline_order": self.baseline_order, "pieces": self.pieces,
                 "split": self.split, "nll_reduction": self.nll_reduction,
                 "condition": list(self.condition)}
        if self.with_chords is not None:
            found["with_chords"] = {**self.with_chords.to_dict(),
                                    "chord_sources": self.chord_sources,
                                    "comparable_with_baseline": False}
        return found


def evaluation_pieces(trained: TrainedModel, folder, warn=None):
    """(token sequences, their pieces, description) of the pieces under folder the model
    never saw."""
    seen = set(trained.data.get("train_names", []))
    pieces = load_pieces(folder, warn=warn)
    unseen = [p for p in pieces if p.name not in seen]
    encoded = [(trained.encoding.encode(p), p) for p in unseen]
    encoded = [(s, p) for s, p in encoded if len(s) > 1]
    if not encoded:
        raise DataError(f"{folder}: no piece that the model was not trained on and that the "
                        f"{trained.encoding.name} encoding can use")
    left_out = len(pieces) - len(unseen)
    split = f"{left_out} training pieces left out" if left_out else "all pieces"
    return [s for s, _ in encoded], [p for _, p in encoded], split


def piece_features(trained: TrainedModel, piece: Piece, ids: np.ndarray):
    """((L, F) field values the model hears beside the piece's tokens, chord source)."""
    encoding, parts = trained.encoding, trained.config.condition
    context = piece_context(piece, encoding.steps_per_quarter, infer=False)
    first_step = encoding.first_step(note_arrays(piece.notes))
    if "chords" in parts:  # inferred as training infers them: from the piece's tokens
        context = token_context(context, encoding, ids, first_step)
    return sequence_features(context, encoding, ids, first_step, parts), context.chord_source


def evaluate(trained: TrainedModel, folder, warn=None) -> Evaluation:
    sequences, pieces, split = evaluation_pieces(trained, folder, warn)
    if len(trained.train_tokens) < 2:
        raise DataError(f"{trained.path}: the model file holds too few training pieces "
                        "for a baseline")
    events = trained.encoding.event_mask()
    baseline = fit_baseline(trained.train_tokens, trained.encoding.vocab_size,
                            seed=trained.config.seed)
    result = Evaluation(None, baseline.score(sequences, events), baseline.order,
                        len(sequences), split, trained.config.condition)
    if trained.config.condition:
        _score_conditioned(trained, sequences, pieces, events, result)
    else:
        result.model = score_model(trained.params, sequences, events)
    return result


def _score_conditioned(trained, sequences, pieces, events, result: Evaluation) -> None:
    """The model's scores with the pieces' metre and key (chords hidden), and, for a chord
    model, apart, with their chords (module docstring)."""
    parts, sizes = trained.config.condition, trained.config.cond_sizes()
    found = [piece_features(trained, p, s) for p, s in zip(pieces, sequences, strict=True)]
    hidden = [hide_leaks(f, parts) for f, _ in found]
    result.model = score_model(trained.params, sequences, events, features=hidden,
                               cond_sizes=sizes)
    if "chords" in parts:
        result.with_chords = score_model(trained.params, sequences, events,
                                         features=[f for f, _ in found], cond_sizes=sizes)
        sources = [source for _, source in found]
        result.chord_sources = {s: sources.count(s) for s in sorted(set(sources))}
