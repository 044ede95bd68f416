"""A training run's state: settings, weights, optimiser, progress and carried LSTM state."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from composer.data.contexts import ConditionFeatures
from composer.music.encoding import Encoding, make_encoding
from composer.nn import model
from composer.nn.lstm import Workspace
from composer.nn.optim import Adam
from composer.training.config import TrainConfig
from composer.training.world import Solo


@dataclass
class Progress:
    """Where a run stands; saved in the checkpoint so --resume continues exactly."""

    epoch: int = 0  # epochs finished
    window: int = 0  # windows done in the current epoch
    step: int = 0  # optimiser steps so far
    lr: float = 0.0  # current learning rate
    best_nll: float = math.inf  # best validation NLL so far (nats/step)
    bad_epochs: int = 0  # epochs since the best one
    loss_sum: float = 0.0  # training loss summed over this epoch's windows
    history: list[dict] = field(default_factory=list)  # one dict per epoch
    finished: bool = False


@dataclass
class Run:
    config: TrainConfig
    encoding: Encoding
    params: dict[str, np.ndarray]  # the same on every rank
    optimizer: Adam
    progress: Progress
    world: Solo = field(default_factory=Solo)  # this process and the others (training.world)
    state: list | None = None  # carried (h, c) per layer for this rank's lanes, or None at
    #                            an epoch start
    resumed_state: list | None = None  # the state of every lane, read from a checkpoint: the
    #                                    ranks take their lanes of it when the epoch goes on
    features: ConditionFeatures | None = None  # conditioning of the data, when conditioned
    workspace: Workspace = field(default_factory=Workspace)  # big arrays reused step to step


def new_run(config: TrainConfig, world: Solo | None = None) -> Run:
    """A run at step 0: weights drawn from the seed (alike on every rank)."""
    encoding = make_encoding(config.encoding, steps_per_quarter=config.steps_per_quarter)
    rng = np.random.default_rng(config.seed)
    params = model.init_params(encoding.vocab_size, config.hidden_size, config.layers, rng,
                               cond_sizes=config.cond_sizes() or ())
    return Run(config, encoding, params, Adam(lr=config.lr), Progress(lr=config.lr),
               world or Solo())
