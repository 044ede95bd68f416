"""The lookback fields: what sounded 1, 2 and 8 bars earlier, and how long the music repeats.

The tunes are written out by hand on a grid of 4 steps a quarter (a 2/4 bar is 8 steps,
a 3/4 bar 12), tokens as melody ids: 0 REST, 1 HOLD, 2 + (pitch - 48) NOTE_ON.
"""

from __future__ import annotations

import numpy as np
import pytest

from composer.music.conditioning import (
    Context,
    features,
    fields,
    sequence_features,
)
from composer.music.encoding import make_encoding
from composer.music.feature_edits import transpose_features
from composer.music.keys import Key
from composer.music.lookback import (
    NOTHING,
    LookbackState,
    back_steps,
    bar_lines,
    run_field,
    sequence_lookback,
)
from composer.music.meter import MeterMap, single_meter
from composer.music.notes import TimeSignature

MELODY = make_encoding("melody")
C, D, E = 2 + 12, 2 + 14, 2 + 16  # NOTE_ON(60), (62), (64)
HOLD, REST = 1, 0


def test_bar_lines_start_with_the_pickup_bar_and_follow_metre_changes():
    pickup = MeterMap((TimeSignature(0.0, 2, 4),), phase=0.5)  # 2 steps of pickup
    np.testing.assert_array_equal(bar_lines(pickup, 4, 20), [-6, 2, 10, 18, 26])
    changing = MeterMap((TimeSignature(0.0, 2, 4), TimeSignature(4.0, 3, 4)))  # at step 16
    np.testing.assert_array_equal(bar_lines(changing, 4, 30), [-8, 0, 8, 16, 28, 40])


def test_back_steps_are_the_same_place_in_an_earlier_bar_or_none():
    lines = bar_lines(MeterMap((TimeSignature(0.0, 2, 4), TimeSignature(4.0, 3, 4))), 4, 60)
    steps = np.array([8, 9, 16, 23, 24, 27, 28, 40])  # 24, 27: past the end of a 2/4 bar
    np.testing.assert_array_equal(back_steps(lines, steps, 1, 0), [0, 1, 8, 15, -1, -1, 16, 28])
    np.testing.assert_array_equal(back_steps(lines, steps, 2, 0), [-1, -1, 0, 7, -1, -1, 8, 16])
    np.testing.assert_array_equal(back_steps(lines, steps, 1, 2),
                                  [-1, -1, 8, 15, -1, -1, 16, 28])


def test_run_field_is_the_capped_bit_length():
    np.testing.assert_array_equal(run_field([0, 1, 2, 3, 4, 7, 8, 63, 64, 1000]),
                                  [0, 1, 2, 2, 3, 3, 4, 6, 7, 7])


def test_a_repeated_bar_is_seen_one_bar_later():
    meter = single_meter((2, 4))  # 8 steps a bar, no pickup
    bar = [C, HOLD, D, HOLD, E, HOLD, HOLD, REST]
    ids = np.array(bar + bar + [C, D])
    found = sequence_lookback(meter, 4, ids, 0)  # row t: the fields of step t + 1
    np.testing.assert_array_equal(found[:7, 0], NOTHING)  # bar 0 has no bar before it
    np.testing.assert_array_equal(found[7:15, 0], bar)  # bar 1 hears bar 0, step by step
    np.testing.assert_array_equal(found[15:, 0], bar[:3])
    np.testing.assert_array_equal(found[15:, 1], bar[:3])  # two bars back: bar 0 again
    assert (found[:, 2] == NOTHING).all() and (found[:, 3] == 0).all()  # no part back


def test_a_part_played_again_is_heard_a_part_later_and_its_run_grows():
    meter = single_meter((2, 4))
    part = np.arange(64) % 7 + 2  # 8 bars of 8 steps, no bar like the one before
    ids = np.concatenate([part, part[:20], [REST]])
    found = sequence_lookback(meter, 4, ids, 0)
    np.testing.assert_array_equal(found[63:84, 2], part[:21])  # the part before, step by step
    runs = [0] * 64 + list(range(1, 21)) + [0]  # up to token t: the replay of the part
    np.testing.assert_array_equal(found[:, 3], run_field(np.array(runs)))


def test_the_fields_never_show_the_token_they_predict():
    rng = np.random.default_rng(0)
    meter = MeterMap((TimeSignature(0.0, 3, 4), TimeSignature(20.0, 2, 4)), phase=1.0)
    ids = rng.integers(0, MELODY.vocab_size, 300)
    ids[rng.random(300) < 0.6] = C  # many repeats
    whole = sequence_lookback(meter, 4, ids, first_step=3)
    for cut in (1, 17, 120, 299):
        changed = ids.copy()
        changed[cut:] = rng.integers(0, MELODY.vocab_size, 300 - cut)
        # row t predicts token t + 1: rows up to cut - 1 must not see tokens cut..
        np.testing.assert_array_equal(sequence_lookback(meter, 4, changed, 3)[:cut],
                                      whole[:cut])


@pytest.mark.parametrize("phase, first_step", [(0.0, 0), (1.0, 3), (2.25, 5)])
def test_sampling_hears_what_training_hears(phase, first_step):
    rng = np.random.default_rng(1)
    meter = MeterMap((TimeSignature(0.0, 3, 4), TimeSignature(40.0, 6, 8)), phase=phase)
    ids = rng.integers(0, 6, (3, 400))  # 3 sequences of few tokens, so they repeat
    state = LookbackState(meter, 4, 3, first_step, 400)
    drawn = []
    for t in range(400):
        drawn.append(state.fields())  # the fields of the step token t will take ...
        state.push(ids[:, t])
    by_step = np.stack(drawn, axis=1)  # (K, L, 5); row t: step first_step + t
    for k in range(3):
        whole = sequence_lookback(meter, 4, ids[k], first_step)  # row t: step first_step + t + 1
        np.testing.assert_array_equal(by_step[k, 1:], whole[:-1])


def test_history_features_move_with_the_tokens_when_transposed():
    meter = single_meter((2, 4))
    context = Context(4, meter, ((0.0, Key(0, "major")),))
    bar = [C, HOLD, D, HOLD, E, HOLD, HOLD, REST]
    ids = np.array(bar * 3)
    parts = ("key", "history")
    original = sequence_features(context, MELODY, ids, 0, parts)
    moved = transpose_features(original, parts, 2, MELODY)
    shifted_ids = MELODY.transpose_ids(ids, 2)
    context_up = Context(4, meter, ((0.0, Key(2, "major")),))
    np.testing.assert_array_equal(moved, sequence_features(context_up, MELODY, shifted_ids, 0,
                                                           parts))
    with pytest.raises(ValueError, match="encoding"):
        transpose_features(original, parts, 2)


def test_history_needs_its_columns_and_the_melody_encoding():
    context = Context(4, single_meter((4, 4)), ((0.0, Key(0, "major")),))
    with pytest.raises(ValueError, match="lookback"):
        features(context, np.arange(4), "history")
    with pytest.raises(ValueError, match="melody"):
        sequence_features(context, make_encoding("performance"), np.array([1, 2]), 0, "history")
    assert [f.size for f in fields("history")] == [51, 51, 51, 8]
