"""The settings of a training run: one commented set of defaults, saved in every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from composer.errors import CheckpointError
from composer.music import conditioning


@dataclass
class TrainConfig:
    # --- data ---
    encoding: str = "melody"  # "melody" (one line, a token per grid step) or "performance"
    steps_per_quarter: int = 4  # grid steps per quarter note: 4 = sixteenths, 12 = triplets too
    transpose: int = 2  # training pieces are also seen shifted by every -2..+2 semitones
    val_fraction: float = 0.1  # share of pieces held out for validation (split by piece)
    val_pieces: int = 1000  # score at most this many held-out pieces after each epoch: on a
    #                         larger split, a sample drawn from the seed, the same every
    #                         epoch, its NLL given with a standard error (0 = score all)
    # --- conditioning (composer.music.conditioning): what the model hears besides the notes
    condition: tuple[str, ...] = ("metre", "key", "chords", "history")  # parts heard; ()
    #                            for none; "form" (the part, bars to the end) is measured but
    #                            off by default: it did not lower held-out NLL (README, "Form")
    chord_dropout: float = 0.5  # share of (piece, shift) sequences trained with chords hidden
    # --- model ---
    hidden_size: int = 256  # H, LSTM units per layer
    layers: int = 1  # stacked LSTM layers
    dropout: float = 0.3  # dropout on each layer's output (between layers, before the head)
    # --- optimisation ---
    seq_len: int = 64  # T, the truncated-BPTT window in tokens; state carries across windows
    batch_size: int = 32  # N, parallel lanes of the token stream
    epochs: int = 15  # passes over the training pieces
    max_steps: int = 10_000  # stop after this many optimiser steps (0 = no limit): bounds
    #                          the time on a large corpus (about 8 minutes on 2 cores)
    lr: float = 5e-3  # Adam learning rate at the start
    schedule: str = "cosine"  # "plateau": lr halved after each epoch without progress;
    #                            "cosine": lr * (1 + cos(pi * step / max_steps)) / 2
    clip_norm: float = 5.0  # clip gradients to this global norm (0 = off)
    clip_value: float = 0.0  # clip each gradient element to +-this (0 = off; the course's clip)
    patience: int = 3  # stop after this many epochs without a better validation NLL
    seed: int = 0  # seeds initialisation, data order and dropout

    def __post_init__(self):
        self.condition = conditioning.check_parts(self.condition)

    def to_dict(self) -> dict:
        return {**asdict(self), "condition": list(self.condition)}

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise CheckpointError(f"unknown training settings: {', '.join(sorted(unknown))}")
        # models from before conditioning hear none, and halved their rate on plateaus;
        # runs from before the validation sample scored every held-out piece
        return cls(**{"condition": (), "schedule": "plateau", "val_pieces": 0, **data})

    def cond_sizes(self) -> dict[str, int] | None:
        """{field name: size} of the conditioning fields (nn.model's cond_sizes); None when
        the model hears nothing but the tokens."""
        chosen = conditioning.fields(self.condition)
        return {f.name: f.size for f in chosen} or None

    def validate(self) -> None:
        """ValueError naming the first setting outside its range."""
        checks = [
            ("steps_per_quarter", 1 <= self.steps_per_quarter <= 48, "1..48"),
            ("hidden_size", self.hidden_size >= 1, "at least 1"),
            ("layers", self.layers >= 1, "at least 1"),
            ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
            ("chord_dropout", 0 <= self.chord_dropout <= 1, "in [0, 1]"),
            ("seq_len", self.seq_len >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("epochs", self.epochs >= 1, "at least 1"),
            ("max_steps", self.max_steps >= 0, "0 or more"),
            ("lr", self.lr > 0, "positive"),
            ("schedule", self.schedule in ("plateau", "cosine"), "plateau or cosine"),
            ("clip_norm", self.clip_norm >= 0, "0 or more"),
            ("clip_value", self.clip_value >= 0, "0 or more"),
            ("transpose", 0 <= self.transpose <= 12, "0..12"),
            ("val_fraction", 0 < self.val_fraction < 1, "in (0, 1)"),
            ("val_pieces", self.val_pieces >= 0, "0 or more"),
            ("patience", self.patience >= 1, "at least 1"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{name} must be {allowed}, not {getattr(self, name)!r}")
        if "history" in self.condition and self.encoding != "melody":
            raise ValueError("history conditioning needs the melody encoding (a token per "
                             f"grid step), not {self.encoding!r}")
