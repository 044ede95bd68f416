"""Tests of composer.evaluation.ngram: Kneser-Ney estimates worked out by hand, order selection."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.evaluation import ngram
from composer.evaluation.ngram import (
    KneserNey,
    choose_order,
    estimate_discount,
    fit_baseline,
    holdout_nlls,
    split_pieces,
)


def seq(*tokens: int) -> np.ndarray:
    return np.array(tokens, dtype=np.int32)


def pattern_pieces(count: int, seed: int) -> list[np.ndarray]:
    """Pieces cut from 0 0 1 0 0 2 repeated, at random offsets and lengths.

    After "0 0" comes 1 or 2: only the token before, 3 back, tells which.
    """
    rng = np.random.default_rng(seed)
    repeated = np.tile(seq(0, 0, 1, 0, 0, 2), 40)
    starts, lengths = rng.integers(0, 6, count), rng.integers(60, 120, count)
    return [repeated[s : s + n] for s, n in zip(starts, lengths, strict=True)]


# --- Estimates worked out by hand ---------------------------------------------------


def test_order_1_without_discount_is_the_relative_frequency():
    # Counts: token 0 once, 1 three times, 2 once, 3 once, 4 never; 6 tokens.
    model = KneserNey(1, 5, discount=0.0).fit([seq(0, 1, 1, 2), seq(1, 3)])
    expected = np.array([1, 3, 1, 1, 0]) / 6
    np.testing.assert_allclose(model.distributions(seq(4, 0, 3)), [expected, expected])


def test_unseen_context_backs_off_to_the_continuation_unigram():
    # Padded: BOS 0 1 0 2 0 1. Order 2, no discount.
    # Seen context 0: c(0 1) = 2, c(0 2) = 1, so P(. | 0) = (0, 2/3, 1/3, 0).
    # Context 3 never seen: P(w) = N1+(. w) / N1+(. .), with left neighbours
    # 0: {BOS, 1, 2}, 1: {0}, 2: {0}, 3: {}; 5 in all.
    model = KneserNey(2, 4, discount=0.0).fit([seq(0, 1, 0, 2, 0, 1)])
    np.testing.assert_allclose(
        model.distributions(seq(0, 3, 1)), [[0, 2 / 3, 1 / 3, 0], [3 / 5, 1 / 5, 1 / 5, 0]]
    )


def test_bigram_kneser_ney_by_hand():
    # Padded: BOS 0 1 0 2 0 1, order 2, D = 0.5 at both orders, V = 3.
    # Unigram, continuation counts N1+(. w) = (3, 1, 1), sum 5, N1+(.) = 3 word types:
    #   P1(w) = (N1+(. w) - 0.5) / 5 + (0.5 * 3 / 5) * 1/3 = (0.6, 0.2, 0.2)
    # Context 0: c(0 1) = 2, c(0 2) = 1, c(0) = 3, N1+(0 .) = 2, gamma = 0.5 * 2 / 3 = 1/3
    #   P(0 | 0) = 0                 + 0.6 / 3 = 0.2
    #   P(1 | 0) = (2 - 0.5) / 3     + 0.2 / 3 = 17/30
    #   P(2 | 0) = (1 - 0.5) / 3     + 0.2 / 3 = 7/30
    # Context 1: c(1 0) = 1, N1+(1 .) = 1, gamma = 0.5
    #   P(. | 1) = (0.5 + 0.5 * 0.6, 0.5 * 0.2, 0.5 * 0.2) = (0.8, 0.1, 0.1)
    # Context 2: c(2 0) = 1: the same as context 1.
    model = KneserNey(2, 3, discount=0.5).fit([seq(0, 1, 0, 2, 0, 1)])
    np.testing.assert_allclose(model.unigram, [0.6, 0.2, 0.2])
    np.testing.assert_allclose(
        model.distributions(seq(0, 1, 2, 0)),
        [[0.2, 17 / 30, 7 / 30], [0.8, 0.1, 0.1], [0.8, 0.1, 0.1]],
    )


def test_pieces_do_not_run_into_each_other():
    # Pieces 0 1 and 2 0: no bigram 1 2, so context 1 is unseen and backs off to the
    # continuation unigram: left neighbours 0: {BOS, 2}, 1: {0}, 2: {BOS}; 4 in all.
    model = KneserNey(2, 3, discount=0.0).fit([seq(0, 1), seq(2, 0)])
    np.testing.assert_allclose(model.distributions(seq(1, 2)), [[0.5, 0.25, 0.25]])


def test_first_step_uses_the_start_of_piece_context():
    # Every piece starts 0 1; inside a piece, 0 is always followed by 2.
    pieces = [seq(0, 1, 3, 0, 2, 3, 0, 2, 3)] * 5
    model = KneserNey(3, 4).fit(pieces)
    dist = model.distributions(seq(0, 1, 3, 0, 2))
    assert dist[0].argmax() == 1 and dist[0, 1] > 0.8  # context BOS 0
    assert dist[3].argmax() == 2 and dist[3, 2] > 0.8  # context 3 0


def test_ngrams_starting_with_bos_keep_raw_counts():
    # Order 3, pieces 0 1 / 0 1 / 0 2. The bigram BOS 0 has only BOS before it, so it keeps
    # its raw count 3; the bigram 0 1 has one left neighbour (BOS), continuation count 1.
    model = KneserNey(3, 3, discount=0.5).fit([seq(0, 1), seq(0, 1), seq(0, 2)])
    bigrams = model.levels[1]
    counts = dict(zip(bigrams.gram_keys.tolist(), bigrams.gram_counts.tolist(), strict=True))
    bos, base = 3, 4
    assert counts == {bos * base + 0: 3, 0 * base + 1: 1, 0 * base + 2: 1}


def test_estimate_discount():
    assert estimate_discount(np.array([1, 1, 1, 2, 3])) == pytest.approx(0.6)  # 3 / (3 + 2)
    assert estimate_discount(np.array([1, 1, 7])) == 0.95  # D = 1 clipped
    assert estimate_discount(np.array([5, 7])) == 0.1  # no rare counts: the low end
    model = KneserNey(2, 3).fit([seq(0, 1, 0, 2, 0, 1)])
    # Bigram counts (1, 2, 1, 1, 1): D = 4 / (4 + 2); unigram (3, 1, 1): D = 2 / 2 -> 0.95.
    assert model.discounts == pytest.approx([0.95, 2 / 3])


# --- Whole-model behaviour ----------------------------------------------------------


def test_distributions_sum_to_one_and_are_positive_at_every_order():
    rng = np.random.default_rng(0)
    pieces = [rng.integers(0, 6, n) for n in (30, 1, 0, 25)]  # tokens 6, 7 never seen
    query = rng.integers(0, 8, 40)
    for order in range(1, 6):
        dist = KneserNey(order, 8).fit(pieces).distributions(query)
        assert dist.shape == (39, 8)
        np.testing.assert_allclose(dist.sum(axis=1), 1.0, rtol=1e-12)
        assert (dist > 0).all()


def test_short_sequences_have_no_steps():
    model = KneserNey(3, 4).fit([seq(0, 1, 2)])
    assert model.distributions(seq()).shape == (0, 4)
    assert model.distributions(seq(2)).shape == (0, 4)
    assert model.score([seq(1), seq()], np.ones(4, bool)).steps == 0


def test_empty_corpus_gives_uniform_distributions():
    dist = KneserNey(3, 4).fit([seq(), seq()]).distributions(seq(0, 1, 2))
    np.testing.assert_allclose(dist, 0.25)


def test_score_matches_distributions(monkeypatch):
    monkeypatch.setattr(ngram, "BLOCK_STEPS", 7)  # several blocks per piece
    rng = np.random.default_rng(1)
    model = KneserNey(3, 5).fit([rng.integers(0, 5, 50) for _ in range(3)])
    pieces = [rng.integers(0, 5, 30), rng.integers(0, 5, 12)]
    events = np.array([True, False, True, False, False])
    targets = np.concatenate([p[1:] for p in pieces])  # (40,)
    dist = np.concatenate([model.distributions(p) for p in pieces])  # (40, 5)
    logprob = np.log(dist[np.arange(len(targets)), targets])
    hits = dist.argmax(axis=1) == targets
    scores = model.score(pieces, events)
    assert scores.steps == 29 + 11
    assert scores.nll == pytest.approx(-logprob.mean())
    assert scores.accuracy == pytest.approx(hits.mean())
    assert scores.event_accuracy == pytest.approx(hits[events[targets]].mean())


def test_distributions_do_not_depend_on_block_size(monkeypatch):
    rng = np.random.default_rng(2)
    model = KneserNey(4, 6).fit([rng.integers(0, 6, 200)])
    query = rng.integers(0, 6, 60)
    whole = model.distributions(query)
    monkeypatch.setattr(ngram, "BLOCK_STEPS", 8)
    np.testing.assert_allclose(model.distributions(query), whole, rtol=0, atol=0)


def test_higher_orders_learn_long_structure():
    train, test = pattern_pieces(30, seed=0), pattern_pieces(5, seed=1)
    no_events = np.zeros(3, bool)
    nll = [KneserNey(order, 3).fit(train).score(test, no_events).nll for order in range(1, 6)]
    assert nll[0] > nll[1] > nll[2] > nll[3]  # order 4 sees the 3 tokens it needs
    assert nll[3] < 0.05


def test_choose_order_picks_enough_context():
    pieces = pattern_pieces(30, seed=0)
    assert choose_order(pieces, 3) >= 3
    nlls = holdout_nlls(pieces, 3, orders=[2, 4])
    assert nlls[4] < nlls[2]


def test_choose_order_picks_unigram_for_independent_tokens():
    # 2,000 uniform tokens over 30 ids: ~2 per bigram type, so any context only overfits.
    rng = np.random.default_rng(3)
    pieces = [rng.integers(0, 30, 100) for _ in range(20)]
    assert choose_order(pieces, 30) == 1


def test_fit_baseline_refits_the_chosen_order_on_every_piece():
    pieces = pattern_pieces(20, seed=4)
    model = fit_baseline(pieces, 3, orders=range(1, 6))
    assert model.order == choose_order(pieces, 3)
    refit = KneserNey(model.order, 3).fit(pieces)
    query = pattern_pieces(1, seed=5)[0]
    np.testing.assert_array_equal(model.distributions(query), refit.distributions(query))


def test_fit_baseline_with_one_order_needs_no_split():
    assert fit_baseline([seq(0, 1, 2)], 3, orders=[2]).order == 2


def test_split_pieces_is_deterministic_and_by_piece():
    pieces = [seq(i) for i in range(20)]
    kept, held = split_pieces(pieces, 0.1, seed=7)
    assert len(held) == 2 and len(kept) == 18
    again = split_pieces(pieces, 0.1, seed=7)
    assert [p.tolist() for p in kept + held] == [p.tolist() for p in again[0] + again[1]]
    assert sorted(int(p[0]) for p in kept + held) == list(range(20))


@settings(max_examples=60, deadline=None)
@given(
    vocab=st.integers(1, 6),
    order=st.integers(1, 5),
    discount=st.none() | st.floats(0.01, 1.0),
    data=st.data(),
)
def test_random_corpora_give_valid_distributions(vocab, order, discount, data):
    tokens = st.lists(st.integers(0, vocab - 1), max_size=15).map(np.array)
    pieces = data.draw(st.lists(tokens, max_size=5))
    query = data.draw(st.lists(st.integers(0, vocab - 1), min_size=2, max_size=20))
    dist = KneserNey(order, vocab, discount).fit(pieces).distributions(np.array(query))
    assert dist.shape == (len(query) - 1, vocab)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0, rtol=1e-12)
    assert (dist > 0).all()


# --- Bad input: one test per kind ---------------------------------------------------


@pytest.mark.parametrize("order", [0, 6])
def test_order_out_of_range(order):
    with pytest.raises(ValueError, match=f"order must be in 1..5, got {order}"):
        KneserNey(order, 10)


def test_order_must_be_an_int():
    with pytest.raises(TypeError, match="order must be an int, got str"):
        KneserNey("3", 10)


def test_vocab_size_must_be_positive():
    with pytest.raises(ValueError, match="vocab_size must be in >= 1, got 0"):
        KneserNey(2, 0)


def test_vocab_too_large_for_int64_keys():
    with pytest.raises(ValueError, match="too large for order 5"):
        KneserNey(5, 10_000)


@pytest.mark.parametrize("discount", [1.5, -0.1, [0.5, 0.5]])
def test_bad_discount(discount):
    with pytest.raises(ValueError, match="discount"):
        KneserNey(3, 10, discount)


def test_token_outside_the_vocabulary():
    with pytest.raises(ValueError, match="sequence 1 has token 10, outside 0..9"):
        KneserNey(2, 10).fit([seq(0, 1), seq(2, 10)])


def test_float_tokens():
    with pytest.raises(TypeError, match="sequence 0 must hold integer token ids"):
        KneserNey(2, 10).fit([np.array([0.0, 1.0])])


def test_sequence_must_be_1d():
    with pytest.raises(ValueError, match=r"sequence 0 must be 1-D, got shape \(\)"):
        KneserNey(2, 10).fit([3, 4])


def test_single_array_instead_of_a_list():
    with pytest.raises(TypeError, match="not a single array"):
        KneserNey(2, 10).fit(seq(0, 1, 2))


def test_predicting_before_fit():
    with pytest.raises(RuntimeError, match="fit the KneserNey model"):
        KneserNey(2, 10).distributions(seq(0, 1))


def test_choose_order_needs_two_pieces():
    with pytest.raises(ValueError, match="need at least 2 pieces"):
        choose_order([seq(0, 1, 2)], 3)


def test_choose_order_needs_held_out_steps():
    with pytest.raises(ValueError, match="no steps to score"):
        choose_order([seq(0), seq(1)], 3)  # one token each: nothing to score


def test_holdout_fraction_out_of_range():
    with pytest.raises(ValueError, match=r"holdout_fraction must be in \(0, 1\), got 1.0"):
        choose_order([seq(0, 1), seq(1, 0)], 3, holdout_fraction=1.0)
