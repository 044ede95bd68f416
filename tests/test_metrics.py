"""Tests of composer.evaluation.metrics: scores worked out by hand, and the text table."""

import math

import numpy as np
import pytest

from composer.evaluation.metrics import ScoreAccumulator, Scores, format_scores_table

LN2 = math.log(2)
EVENTS = np.array([False, True, True, False])  # V = 4: tokens 1 and 2 start a note


def hand_scores() -> Scores:
    """Four steps, added as a (1, 2) batch and a (2,) batch.

    step  p(true)  -log p   target  predicted  hit  event
    1     1/2      1 ln2    0       0          yes  no
    2     1/4      2 ln2    1       3          no   yes
    3     1/8      3 ln2    2       2          yes  yes
    4     1/2      1 ln2    1       2          no   yes
    """
    accumulator = ScoreAccumulator(EVENTS)
    accumulator.add(np.log([[0.5, 0.25]]), np.array([[0, 3]]), np.array([[0, 1]]))
    accumulator.add(np.log([0.125, 0.5]), np.array([2, 2]), np.array([2, 1]))
    return accumulator.result()


def test_scores_by_hand():
    scores = hand_scores()
    assert scores.steps == 4
    assert scores.nll == pytest.approx(7 * LN2 / 4)  # (1 + 2 + 3 + 1) ln2 / 4 steps
    assert scores.bits == pytest.approx(1.75)
    assert scores.perplexity == pytest.approx(2**1.75)  # 3.3636
    assert scores.accuracy == 0.5  # steps 1 and 3
    assert scores.event_accuracy == pytest.approx(1 / 3)  # step 3 of the event steps 2, 3, 4


def test_event_accuracy_is_nan_without_event_targets():
    accumulator = ScoreAccumulator(EVENTS)
    accumulator.add(np.log([0.5, 0.5]), np.array([0, 0]), np.array([0, 3]))
    scores = accumulator.result()
    assert scores.accuracy == 0.5
    assert math.isnan(scores.event_accuracy)


def test_no_steps_gives_nan_scores():
    accumulator = ScoreAccumulator(EVENTS)
    accumulator.add(np.zeros(0), np.zeros(0, int), np.zeros(0, int))
    scores = accumulator.result()
    assert scores.steps == 0
    assert all(math.isnan(v) for v in (scores.nll, scores.bits, scores.perplexity))
    assert math.isnan(scores.accuracy) and math.isnan(scores.event_accuracy)


def test_certain_predictions_give_zero_nll_and_perplexity_one():
    accumulator = ScoreAccumulator(EVENTS)
    accumulator.add(np.zeros(3), np.array([1, 2, 3]), np.array([1, 2, 3]))
    scores = accumulator.result()
    assert (scores.nll, scores.perplexity, scores.accuracy, scores.event_accuracy) == (
        0.0,
        1.0,
        1.0,
        1.0,
    )


def test_to_dict():
    assert hand_scores().to_dict() == {
        "steps": 4,
        "nll": pytest.approx(7 * LN2 / 4),
        "bits": pytest.approx(1.75),
        "perplexity": pytest.approx(2**1.75),
        "accuracy": 0.5,
        "event_accuracy": pytest.approx(1 / 3),
    }


def test_table_holds_the_numbers_aligned():
    nan_events = Scores(steps=12, nll=2.5, bits=3.6067, perplexity=12.18, accuracy=0.25,
                        event_accuracy=float("nan"))  # fmt: skip
    table = format_scores_table({"lstm": hand_scores(), "kneser-ney 3": nan_events})
    lines = table.splitlines()
    assert lines[0].split() == ["model", "nll(nats)", "bits", "ppl", "acc", "event-acc", "steps"]
    assert lines[2].split() == ["lstm", "1.2130", "1.7500", "3.36", "0.5000", "0.3333", "4"]
    assert lines[3].split() == ["kneser-ney", "3", "2.5000", "3.6067", "12.18", "0.2500", "nan",
                                "12"]  # fmt: skip
    assert len({len(line) for line in lines}) == 1  # every line padded to the same width
    assert set(lines[1]) == {"-", " "}


def test_table_without_rows_is_just_the_header():
    assert len(format_scores_table({}).splitlines()) == 2


# --- Bad input: one test per kind ---------------------------------------------------


def test_event_mask_must_be_bool():
    with pytest.raises(TypeError, match="event_mask must be a bool array"):
        ScoreAccumulator(np.array([0, 1, 1, 0]))


def test_event_mask_must_be_1d():
    with pytest.raises(ValueError, match=r"event_mask must be 1-D \(V,\), got shape \(2, 2\)"):
        ScoreAccumulator(EVENTS.reshape(2, 2))


def test_add_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        ScoreAccumulator(EVENTS).add(np.zeros(3), np.zeros(3, int), np.zeros(2, int))


def test_add_rejects_float_token_ids():
    with pytest.raises(TypeError, match="predicted must hold integer token ids"):
        ScoreAccumulator(EVENTS).add(np.zeros(2), np.zeros(2), np.zeros(2, int))


def test_add_rejects_targets_outside_the_vocabulary():
    with pytest.raises(ValueError, match="target token 4 is outside the vocabulary 0..3"):
        ScoreAccumulator(EVENTS).add(np.zeros(2), np.zeros(2, int), np.array([0, 4]))


def test_a_zero_probability_gives_infinite_nll_and_perplexity():
    accumulator = ScoreAccumulator(EVENTS)
    accumulator.add(np.array([-np.inf, -1000.0]), np.array([0, 0]), np.array([0, 1]))
    scores = accumulator.result()
    assert scores.nll == scores.perplexity == math.inf
