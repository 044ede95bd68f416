"""The grammar of the token languages: what is masked when, and sampling under it."""

import numpy as np
import pytest

from composer.generation.sampling import generate
from composer.music.grammar import MelodyGrammar, PerformanceGrammar, make_grammar
from composer.music.limits import NoteLimits, corpus_limits
from composer.music.melody import HOLD, REST, MelodyEncoding
from composer.music.performance import PerformanceEncoding
from composer.music.texture import sounding_time
from composer.nn import model
from composer.training.config import TrainConfig
from composer.training.trained import TrainedModel

PERF = PerformanceEncoding()  # 88 pitches 21..108, shifts 1..16, 8 velocity bins
MELODY = MelodyEncoding()


def ids(*names, encoding=PERF):
    return [encoding.token_id(name) for name in names]


def replay(*names, **limits):
    """A one-sequence grammar after the tokens `names`."""
    grammar = PerformanceGrammar(PERF, 1, **limits)
    for token in ids(*names):
        grammar.advance(np.array([token]))
    return grammar


def allowed_names(grammar, remaining=None):
    return {PERF.vocab[i] for i in np.flatnonzero(grammar.allowed(remaining)[0])}


SHIFTS = {f"TIME_SHIFT({k})" for k in range(1, 17)}
VELOCITIES = {f"VELOCITY({b})" for b in range(1, 9)}


def test_at_the_start_anything_but_a_note_off():
    names = allowed_names(PerformanceGrammar(PERF, 1))
    assert not any(name.startswith("NOTE_OFF") for name in names)
    assert {"NOTE_ON(21)", "NOTE_ON(108)"} <= names and names >= SHIFTS and names >= VELOCITIES


def test_after_a_note_on_in_the_same_step():
    names = allowed_names(replay("NOTE_ON(60)"))
    assert "NOTE_ON(60)" not in names  # sounding
    assert "NOTE_ON(59)" not in names  # NOTE_ONs of a step rise in pitch
    assert "NOTE_ON(61)" in names
    assert "NOTE_OFF(60)" not in names  # it would last no time at all
    assert names >= SHIFTS


def test_after_a_time_shift():
    names = allowed_names(replay("NOTE_ON(60)", "NOTE_ON(64)", "TIME_SHIFT(2)"))
    assert {"NOTE_OFF(60)", "NOTE_OFF(64)"} <= names
    assert "NOTE_OFF(62)" not in names  # silent
    assert "NOTE_ON(60)" not in names and "NOTE_ON(62)" in names
    assert not names & SHIFTS  # a gap ends with its one short shift
    assert allowed_names(replay("NOTE_ON(60)", "TIME_SHIFT(16)")) >= SHIFTS


def test_note_offs_rise_in_pitch_and_come_before_the_note_ons():
    grammar = replay("NOTE_ON(60)", "NOTE_ON(64)", "NOTE_ON(67)", "TIME_SHIFT(4)", "NOTE_OFF(64)")
    names = allowed_names(grammar)
    assert "NOTE_OFF(67)" in names and "NOTE_OFF(60)" not in names
    grammar.advance(np.array(ids("NOTE_ON(62)")))
    assert not any(name.startswith("NOTE_OFF") for name in allowed_names(grammar))


def test_a_pitch_struck_again_in_one_step():
    names = allowed_names(replay("NOTE_ON(60)", "TIME_SHIFT(4)", "NOTE_OFF(60)"))
    assert "NOTE_ON(60)" in names


def test_no_more_voices_than_the_maximum():
    names = allowed_names(replay("NOTE_ON(60)", "NOTE_ON(64)", max_voices=2))
    assert not any(name.startswith(("NOTE_ON", "VELOCITY")) for name in names)
    names = allowed_names(replay("NOTE_ON(60)", "NOTE_ON(64)", "TIME_SHIFT(4)", "NOTE_OFF(60)",
                                 max_voices=2))
    assert "NOTE_ON(67)" in names


def test_velocity_is_followed_by_a_note_on_and_never_repeats_itself():
    names = allowed_names(replay("VELOCITY(3)"))
    assert all(name.startswith("NOTE_ON") for name in names) and len(names) == 88
    names = allowed_names(replay("VELOCITY(3)", "NOTE_ON(60)"))
    assert "VELOCITY(3)" not in names and "VELOCITY(4)" in names


def test_a_note_is_released_at_the_cap():
    grammar = replay("NOTE_ON(60)", "TIME_SHIFT(4)", "NOTE_ON(64)", "TIME_SHIFT(2)",
                     max_note_steps=8)
    assert allowed_names(grammar) & SHIFTS == set()  # after a short shift
    grammar = replay("NOTE_ON(60)", "TIME_SHIFT(4)", "NOTE_ON(64)", "TIME_SHIFT(1)",
                     "NOTE_ON(67)", max_note_steps=8)  # 60 has 3 steps left
    assert allowed_names(grammar) & SHIFTS == {"TIME_SHIFT(1)", "TIME_SHIFT(2)",
                                               "TIME_SHIFT(3)"}
    grammar.advance(np.array(ids("TIME_SHIFT(3)")))
    assert allowed_names(grammar) == {"NOTE_OFF(60)"}  # forced: the only choice


def test_the_end_releases_everything():
    grammar = replay("NOTE_ON(60)", "NOTE_ON(64)", "TIME_SHIFT(4)")
    assert allowed_names(grammar, remaining=2) == {"NOTE_OFF(60)", "NOTE_OFF(64)"}
    names = allowed_names(grammar, remaining=4)  # two spare tokens: no new note
    assert not any(name.startswith(("NOTE_ON", "VELOCITY")) for name in names)
    assert "NOTE_ON(67)" in allowed_names(grammar, remaining=5)
    grammar.advance(np.array(ids("NOTE_ON(67)")))  # struck now: a shift first, then its off
    assert allowed_names(grammar, remaining=3) == {"NOTE_OFF(60)", "NOTE_OFF(64)",
                                                   "TIME_SHIFT(1)"}


def test_an_odd_primer_never_leaves_a_sequence_without_a_token():
    grammar = replay("NOTE_ON(60)", "NOTE_ON(64)", "VELOCITY(2)", max_voices=2)
    names = allowed_names(grammar)  # a VELOCITY with no NOTE_ON possible: the loose rules
    assert names and "NOTE_ON(67)" not in names


def test_melody_hold_only_while_a_note_sounds_and_until_the_cap():
    grammar = MelodyGrammar(MELODY, 3, max_note_steps=3)
    assert not grammar.allowed()[:, HOLD].any()  # at the start
    grammar.advance(np.array([MELODY.token_id("NOTE_ON(60)"), REST, HOLD]))
    assert grammar.allowed()[:, HOLD].tolist() == [True, False, False]
    for expected in (True, False):  # the note has lasted 2 steps, then 3
        grammar.advance(np.array([HOLD, REST, REST]))
        assert grammar.allowed()[0, HOLD] == expected
    assert grammar.allowed()[:, 2:].all() and grammar.allowed()[:, REST].all()


def test_make_grammar_picks_the_encoding():
    assert isinstance(make_grammar(PERF, 2, 8, 4), PerformanceGrammar)
    assert isinstance(make_grammar(MELODY, 2, 8), MelodyGrammar)


def _stubborn_model(encoding, favourite, hidden=8):
    """A random model that almost always wants the tokens `favourite` (K ids)."""
    params = model.init_params(encoding.vocab_size, hidden, 1, np.random.default_rng(0))
    params["by"][favourite] = 6.0
    limits = NoteLimits(4, {8: 10}, {3: 5})  # notes of 2 beats, at most 3 at once
    return TrainedModel(params, encoding, TrainConfig(encoding=encoding.name, condition=()),
                        path=None,
                        data={"note_limits": limits.to_dict()},
                        start_counts=np.eye(encoding.vocab_size)[favourite[0]])


def test_sampled_notes_never_outlast_the_cap_and_all_end_released():
    # a model that keeps striking notes and moving on, never switching one off
    stubborn = _stubborn_model(PERF, ids("NOTE_ON(60)", "NOTE_ON(67)", "TIME_SHIFT(16)"))
    tokens = generate(stubborn, 300, 6, rng=np.random.default_rng(1))
    free = generate(stubborn, 300, 6, rng=np.random.default_rng(1), grammar=False)
    assert max(n.end - n.start for k in range(6) for n in PERF.decode(free[k])) > 2
    for sequence in tokens:
        notes = PERF.decode(sequence)
        assert len(notes) > 10 and max(n.end - n.start for n in notes) <= 2.0
        grammar = PerformanceGrammar(PERF, 1, max_note_steps=8, max_voices=3)
        for t, token in enumerate(sequence):
            assert t == 0 or grammar.allowed(len(sequence) - t)[0, token]
            grammar.advance(np.array([token]))
        assert not grammar.sounding.any()  # released at the end


def test_melody_samples_keep_their_notes_under_the_cap():
    stubborn = _stubborn_model(MELODY, [MELODY.token_id("NOTE_ON(60)"), HOLD])
    notes = [n for seq in generate(stubborn, 200, 4, rng=np.random.default_rng(2))
             for n in MELODY.decode(seq)]
    assert notes and max(n.end - n.start for n in notes) <= 2.0


@pytest.mark.parametrize("cap, voices", [(16, 4), (1, 1)])
def test_limits_given_by_the_caller_override_the_corpus(cap, voices):
    stubborn = _stubborn_model(PERF, ids("NOTE_ON(60)", "NOTE_ON(64)", "NOTE_ON(67)",
                                         "TIME_SHIFT(16)"))
    tokens = generate(stubborn, 200, 3, rng=np.random.default_rng(3), max_note_steps=cap,
                      max_voices=voices)
    for sequence in tokens:
        notes = PERF.decode(sequence)
        assert max(n.end - n.start for n in notes) <= cap / 4
        assert sounding_time(notes).size - 1 == voices  # the most notes sounding at once


def test_corpus_limits_by_hand():
    sequence = ids("VELOCITY(5)", "NOTE_ON(60)", "NOTE_ON(64)", "TIME_SHIFT(4)", "NOTE_OFF(60)",
                   "TIME_SHIFT(4)", "NOTE_OFF(64)")
    limits = corpus_limits(PERF, [np.array(sequence)] * 3)
    assert limits.length_counts == {4: 3, 8: 3}
    assert limits.sounding_steps == {1: 12, 2: 12}
    assert limits.max_voices() == 2 and limits.max_voices(0.5) == 1
    assert limits.max_note_steps(0.5) == 4 and limits.max_note_steps() == 8
    assert NoteLimits(4, {1: 5}, {}).max_note_steps() == 4  # never below one beat
    assert NoteLimits.from_dict(limits.to_dict()) == limits
