"""Shaping a melody sample: replayed parts, cadences and the ending on the tonic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from composer.generation.sampling import generate
from composer.generation.shaping import Shaping, part_marks
from composer.music.conditioning import user_context
from composer.music.encoding import make_encoding
from composer.music.form import plan_form
from composer.music.notes import PartMark
from composer.training.trained import load_model

MELODY = make_encoding("melody")
HOLD, REST = 1, 0
BAR = 8  # steps in a 2/4 bar


def on(pitch: int) -> int:
    return MELODY.token_id(f"NOTE_ON({pitch})")


@pytest.fixture(scope="module")
def steered(studio_models):
    """A tiny melody model that hears metre, key and chords (tests/conftest.py)."""
    return load_model(studio_models / "melody")


def reel(form="AABB", part_bars=2, bars=8, key="G major", seed=0, **settings):
    context = user_context(meter="2/4", key=key, **settings)
    return replace(context, form=plan_form(form, part_bars, bars, np.random.default_rng(seed)))


def test_a_part_played_again_replays_its_first_time_but_its_ending(steered):
    context = reel()
    tokens = generate(steered, 8 * BAR - 1, 4, context=context, rng=np.random.default_rng(3))
    bars = tokens.reshape(4, 8, BAR)  # (samples, bars, steps)
    for section in context.form.sections:
        if section.source is not None:
            source = context.form.sections[section.source]
            replayed = section.replayed_bars
            np.testing.assert_array_equal(
                bars[:, section.first_bar : section.first_bar + replayed],
                bars[:, source.first_bar : source.first_bar + replayed])
    assert context.form.sections[1].replayed_bars == 1  # 2-bar parts: their last bar drawn


def test_every_part_closes_on_the_tonic_triad_and_the_piece_on_the_tonic(steered):
    context = reel(key="G major")
    tokens = generate(steered, 8 * BAR - 1, 6, context=context, rng=np.random.default_rng(4))
    names = [MELODY.tokens(row) for row in tokens]
    triad = {7, 11, 2}  # G B D
    for section in context.form.sections:
        downbeat = (section.end_bar - 1) * BAR
        for row in names:
            assert row[downbeat].startswith("NOTE_ON"), row[downbeat]
            assert int(row[downbeat][8:-1]) % 12 in triad
    last_beat = 7 * BAR + 4  # 2/4: beats at 0 and 4 of the bar
    for row in tokens:
        start = last_beat if row[last_beat] != HOLD else 7 * BAR  # a tonic held from beat 1
        assert MELODY.vocab[row[start]] in ("NOTE_ON(55)", "NOTE_ON(67)", "NOTE_ON(79)",
                                            "NOTE_ON(91)")
        assert set(row[last_beat + 1 :].tolist()) <= {HOLD, REST}


def test_the_ending_holds_whatever_the_length(steered):
    context = user_context(meter="6/8", key="D major")  # no form: only the ending
    for length in (3, 8, 29, 40):
        tokens = generate(steered, length, 3, context=context, rng=np.random.default_rng(length))
        for row in tokens:
            onsets = [t for t, token in enumerate(row) if token > HOLD]
            last = onsets[-1]
            assert MELODY.vocab[row[last]].startswith("NOTE_ON")
            assert int(MELODY.vocab[row[last]][8:-1]) % 12 == 2  # D
            # on a main beat of 6/8 (beats of 6 steps), but for a piece shorter than a beat
            # after its opening token, which ends right after it
            assert last % 6 == 0 or (length == 3 and last == 1)


def test_chords_given_choose_the_cadence_tones(steered):
    context = reel(chords="C G", key="C major", bars=4, form="AB")  # bar 2 (B's last): G
    tokens = generate(steered, 4 * BAR - 1, 5, context=context, rng=np.random.default_rng(2))
    for row in tokens:
        assert int(MELODY.vocab[row[BAR]][8:-1]) % 12 in (7, 11, 2)  # A ends in bar 1: G


def test_a_replayed_hold_strikes_its_note_where_the_music_before_it_differs():
    context = reel(form="ABB", part_bars=2, bars=6)  # the second B replays bars 2-3 at 4-5
    shaping = Shaping(MELODY, context, 0, 6 * BAR)
    tokens = np.full((3, 6 * BAR), REST, dtype=np.int64)
    tokens[:, 2 * BAR - 1] = on(67)  # G struck at the last step of A ...
    tokens[:, 2 * BAR : 2 * BAR + 3] = HOLD  # ... held into B, which opens with a HOLD
    tokens[0, 4 * BAR - 1] = on(67)  # lane 0: G sounds before the replay: the hold goes on
    tokens[1, 4 * BAR - 1] = on(71)  # lane 1: B sounds: G is struck again
    tokens[2, 4 * BAR - 1] = REST  # lane 2: silence: G is struck again
    t = 4 * BAR
    assert shaping.source[t] == 2 * BAR
    np.testing.assert_array_equal(shaping.forced(t, tokens), [HOLD, on(67), on(67)])


def test_models_that_do_not_hear_the_key_get_no_ending():
    shaping = Shaping(MELODY, user_context(meter="2/4"), 0, 16, cadences=False)
    tokens = np.full((1, 16), on(60))
    assert all(shaping.allowed(t, tokens) is None for t in range(16))
    assert all(shaping.forced(t, tokens) is None for t in range(16))


def test_the_parts_are_marked_where_they_start():
    context = reel(form="AABB", part_bars=2, bars=8)
    assert part_marks(context) == [PartMark(0.0, "A"), PartMark(4.0, "A"), PartMark(8.0, "B"),
                                   PartMark(12.0, "B")]
    assert part_marks(user_context()) == []
