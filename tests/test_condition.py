"""The conditioning input of layer 0: float64 gradient checks, agreement with the course
LSTM on one-hot inputs, the unconditioned model as a special case, validation, learning."""

import numpy as np
import pytest
from gradcheck import numerical_gradient, relative_error

from composer.nn import condition, model, rnn
from composer.nn.condition import (
    FAST_SHARE,
    _combinations,
    condition_rows,
    grouped_sums,
    input_gradients,
    lane_run_sums,
    plan_rows,
)
from composer.nn.optim import Adam

T, N, H, V = 8, 3, 4, 7
SIZES = {"metre": 3, "chord": 2, "position": 4, "beat": 2}  # C = 11 rows of Wc0


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def musical_cond(rng, steps=T, lanes=N):
    """(steps, lanes, 4): metre fixed in each lane, a chord that changes once in lane 0,
    a position that changes at every step and its beat: a constant, a slow and two
    fast fields (few combinations of these two: the beat follows from the position)."""
    cond = np.empty((steps, lanes, 4), dtype=np.int64)
    cond[..., 0] = rng.integers(0, 3, lanes)
    cond[..., 1] = 1
    cond[steps // 2 :, 0, 1] = 0
    cond[..., 2] = (np.arange(steps)[:, None] + np.arange(lanes)) % 4
    cond[..., 3] = cond[..., 2] // 2
    return cond


def random_cond(rng, steps=T, lanes=N):
    """(steps, lanes, 3): every field drawn afresh at every step (all fields fast)."""
    return np.stack([rng.integers(0, s, (steps, lanes)) for s in SIZES.values()], axis=-1)


def repetitive_cond(rng, steps=T, lanes=N):
    """musical_cond over 4 times as many steps: with 3 tokens, few (token, position)
    pairs, which the forward pass then sums first."""
    return musical_cond(rng, 4 * steps, lanes)


def test_each_path_of_the_plan_is_taken(rng):
    rows = condition_rows(np.zeros((11, 16)), musical_cond(rng), SIZES, (T, N))
    plan = plan_rows(rows, 11)
    assert plan.slow.fields.tolist() == [True, True, False, False]
    assert plan.slow.first is not None and plan.fast.first is not None  # combinations
    ids = rng.integers(0, V, (T, N))
    first, _ = _combinations([ids.reshape(-1), rows[..., 2].reshape(-1)], 11)
    assert len(first) > ids.size // FAST_SHARE  # token not merged with the fast fields
    plan = plan_rows(condition_rows(np.zeros((11, 16)), random_cond(rng), SIZES, (T, N)), 11)
    assert not plan.slow.fields.any() and plan.fast.first is None  # field by field
    ids, cond = rng.integers(0, 3, (4 * T, N)), repetitive_cond(rng)
    first, _ = _combinations([ids.reshape(-1), cond[..., 2].reshape(-1)], 11)
    assert len(first) <= ids.size // FAST_SHARE  # (token, position) pairs summed first


def perturbed_params(rng, layers, cond_sizes=SIZES):
    params = model.init_params(V, H, layers, rng, dtype=np.float64, cond_sizes=cond_sizes)
    for value in params.values():
        value += rng.standard_normal(value.shape) * 0.3  # away from the init symmetry
    return params


@pytest.mark.parametrize("layers, dropout, make_cond", [
    (1, 0.0, musical_cond), (1, 0.0, random_cond), (1, 0.0, repetitive_cond),
    (2, 0.3, musical_cond), (2, 0.3, random_cond),
])
def test_gradient_check_every_parameter_and_state_with_conditioning(rng, layers, dropout,
                                                                    make_cond):
    params = perturbed_params(rng, layers)
    cond = make_cond(rng)
    ids = rng.integers(0, 3 if make_cond is repetitive_cond else V, cond.shape[:2])
    targets = rng.integers(0, V, ids.shape)
    state = [(rng.standard_normal((N, H)), rng.standard_normal((N, H))) for _ in range(layers)]
    dstate = [(rng.standard_normal((N, H)), rng.standard_normal((N, H))) for _ in range(layers)]

    def run():  # cross-entropy plus a linear function of the final state
        logits, final, cache = model.forward(params, ids, state, dropout,
                                             np.random.default_rng(5), cond=cond,
                                             cond_sizes=SIZES)
        loss, dlogits = model.cross_entropy(logits, targets)
        for (h, c), (wh, wc) in zip(final, dstate, strict=True):
            loss += np.sum(wh * h) + np.sum(wc * c)
        return loss, dlogits, cache

    _, dlogits, cache = run()
    grads, dstate0 = model.backward(params, dlogits, cache, dstate)
    assert set(grads) == {"d" + name for name in params} and "dWc0" in grads
    for name, value in params.items():
        numeric = numerical_gradient(lambda: run()[0], value)
        assert relative_error(grads["d" + name], numeric) < 1e-6, name
    for (h0, c0), (dh0, dc0) in zip(state, dstate0, strict=True):
        assert relative_error(dh0, numerical_gradient(lambda: run()[0], h0)) < 1e-6
        assert relative_error(dc0, numerical_gradient(lambda: run()[0], c0)) < 1e-6


def test_gradient_check_with_the_history_fields(rng):
    """The lookback fields of composer.music.lookback, from the tokens themselves (tokens 1,
    2 and 8 bars back: 51 rows each, changing at every step; the run of the part before),
    in a 2/4 of 2 steps a bar, beside the metre fields: every gradient, float64."""
    from composer.music.conditioning import fields
    from composer.music.lookback import sequence_lookback
    from composer.music.meter import single_meter

    steps = 24  # 12 bars: the part 8 bars back is heard from bar 8
    ids = rng.integers(0, 3, (steps, N))  # few tokens, so that bars repeat
    ids[16:, 0] = ids[:8, 0]  # lane 0 plays its first 4 bars again 8 bars later
    cond = np.stack([sequence_lookback(single_meter((2, 4)), 1, ids[:, n], 0)
                     for n in range(N)], axis=1)  # (T, N, 4)
    sizes = {f.name: f.size for f in fields("history")}
    assert cond[:, 0, 3].max() >= 3 and (cond[:15, :, 2] == 50).all()  # a run; no part yet
    params = perturbed_params(rng, 1, sizes)
    targets = rng.integers(0, V, ids.shape)
    state = [(rng.standard_normal((N, H)), rng.standard_normal((N, H)))]

    def run():
        logits, _, cache = model.forward(params, ids, state, cond=cond, cond_sizes=sizes)
        loss, dlogits = model.cross_entropy(logits, targets)
        return loss, dlogits, cache

    _, dlogits, cache = run()
    grads, _ = model.backward(params, dlogits, cache)
    for name, value in params.items():
        numeric = numerical_gradient(lambda: run()[0], value)
        assert relative_error(grads["d" + name], numeric) < 1e-6, name


@pytest.mark.parametrize("make_cond", [musical_cond, random_cond, repetitive_cond])
def test_conditioned_model_agrees_with_course_lstm_on_one_hot_inputs(rng, make_cond):
    """The lookups are the one-hot definition: x = [one-hot(token); one-hot of each field]
    times [Wx0; Wc0], run through the course's reference LSTM."""
    params = perturbed_params(rng, 1)
    cond = make_cond(rng)
    ids = rng.integers(0, 3, cond.shape[:2])
    T, N = ids.shape
    a0 = rng.standard_normal((N, H))
    logits, _, _ = model.forward(params, ids, [(a0, np.zeros((N, H)))], cond=cond,
                                 cond_sizes=SIZES)
    parts = [np.eye(V)[ids]] + [np.eye(s)[cond[..., f]] for f, s in enumerate(SIZES.values())]
    x = np.concatenate(parts, axis=-1).transpose(2, 1, 0)  # (V + C, N, T)
    Wx = np.concatenate([params["Wx0"], params["Wc0"]])  # (V + C, 4H)
    course = {}
    for gate, k in {"o": 0, "i": 1, "f": 2, "c": 3}.items():
        cols = slice(k * H, (k + 1) * H)
        course[f"W{gate}"] = np.concatenate([params["Wh0"][:, cols].T, Wx[:, cols].T], 1)
        course[f"b{gate}"] = params["b0"][cols][:, None]
    course["Wy"], course["by"] = params["Wy"].T, params["by"][:, None]
    _, y, _, _ = rnn.lstm_forward(x, a0.T, course)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    assert np.allclose(y.transpose(2, 1, 0), probs)


def test_many_slow_fields_are_summed_exactly(rng):
    """16 slow fields: their combinations' numbering is renumbered before int64 overflows."""
    sizes = [2] * 16  # C = 32: a key of 16 fields would need 32**16 > 2**62
    params = perturbed_params(rng, 1, sizes)
    ids = rng.integers(0, V, (T, N))
    cond = np.repeat(rng.integers(0, 2, (1, N, 16)), T, axis=0)
    cond[T // 2 :, 1] = 1 - cond[T // 2 :, 1]  # every field of lane 1 changes once
    state = model.zero_state(params, N)
    logits, _, _ = model.forward(params, ids, state, cond=cond, cond_sizes=sizes)
    rows = cond + 2 * np.arange(16)  # field f's rows start at 2 f
    step_by_step = params["Wc0"][rows].sum(axis=2)  # (T, N, 4H) the conditioning input
    folded = dict(params, b0=0 * params["b0"])  # the same through the stepping code
    state = model.zero_state(params, N)
    for t in range(T):
        folded["b0"] = params["b0"] + step_by_step[t]  # (N, 4H) broadcast over the batch
        step_logits, state = model.step({k: v for k, v in folded.items() if k != "Wc0"},
                                        ids[t], state)
        assert np.allclose(step_logits, logits[t])


def test_combination_keys_are_renumbered_before_they_overflow():
    """With a radix of 2**32, three columns' key a R^2 + b R + c would wrap around int64
    and (1, 0, 0) would collide with (0, 0, 0): the numbering is compacted first."""
    columns = [np.array([0, 1, 0, 1]), np.array([0, 0, 0, 0]), np.array([0, 0, 5, 0])]
    first, index = _combinations(columns, 1 << 32)
    assert index.tolist() == [0, 2, 1, 2] and first.tolist() == [0, 2, 1]


@pytest.fixture(params=["gathered", "one-hot"])
def grouping(request, monkeypatch):
    """The two ways of summing groups and runs of steps: gathered a group at a time or
    summed in time order (as for large windows), or a one-hot product (as for small
    ones, e.g. T=100 at N=1)."""
    if request.param == "gathered":
        monkeypatch.setattr(condition, "ONE_HOT_BYTES", 0)
    else:
        monkeypatch.setattr(condition, "ONE_HOT_BYTES", 1 << 30)
    return request.param


def test_grouped_sums_equal_a_scatter_across_chunks(rng, monkeypatch, grouping):
    """Groups larger than the gather buffer, and groups with no member (rows of zeros)."""
    monkeypatch.setattr(condition, "GATHER_BYTES", 3 * 5 * 8)  # 3 rows of 5 float64s
    keys = np.array([4, 0, 4, 4, 2, 4, 0, 4, 4])  # key 4: 6 rows, two chunks; 1, 3, 5: none
    values = rng.standard_normal((len(keys), 5))
    scattered = np.zeros((6, 5))
    np.add.at(scattered, keys, values)
    assert np.allclose(grouped_sums(keys, 6, values), scattered)


def test_lane_run_sums_sum_each_lanes_runs(rng, grouping):
    """Runs end where a lane's index changes and at the window's end; the same index in
    two lanes, or again later in one lane, makes separate runs."""
    index = np.array([[0, 0], [0, 0], [1, 0], [1, 1], [0, 1]])  # (T=5, N=2)
    values = rng.standard_normal((5, 2, 3))
    runs = {0: [[0, 1], [2, 3], [4]], 1: [[0, 1, 2], [3, 4]]}  # lane: its runs' steps
    expected = {steps[-1] * 2 + lane: values[steps, lane].sum(axis=0)  # by last position
                for lane, lane_runs in runs.items() for steps in lane_runs}
    sums, last = lane_run_sums(values, index)
    assert sorted(last.tolist()) == sorted(expected)
    for total, position in zip(sums, last.tolist(), strict=True):
        assert np.allclose(total, expected[position])


@pytest.mark.parametrize("steps, lanes, make_cond", [
    (T, N, musical_cond), (T, N, random_cond), (1, 12, random_cond)])
def test_input_gradients_equal_the_one_hot_product(rng, steps, lanes, make_cond, grouping):
    """Every path of the backward (combinations, runs, steps themselves; at T=1 every field is
    slow, with more combinations than a quarter of the steps) against the
    definition: [one-hot(token), one-hot of each field].T @ the gate gradients."""
    cond = make_cond(rng, steps, lanes)
    ids = rng.integers(0, V, (steps, lanes))
    rows = condition_rows(np.zeros((11, 8)), cond, SIZES, (steps, lanes))
    plan = plan_rows(rows, 11)
    dxg = rng.standard_normal((steps, lanes, 8))
    dWx0, db0, dWc0 = input_gradients(dxg, ids, V, plan)
    flat = dxg.reshape(steps * lanes, 8)
    assert np.allclose(dWx0, np.eye(V)[ids.reshape(-1)].T @ flat)
    assert np.allclose(db0, flat.sum(axis=0))
    multi_hot = sum(np.eye(11)[rows[..., f].reshape(-1)] for f in range(4))  # (T*N, C)
    assert np.allclose(dWc0, multi_hot.T @ flat)


def test_unconditioned_parameters_are_unchanged(rng):
    plain = model.init_params(V, H, 2, np.random.default_rng(3))
    assert set(plain) == {"Wx0", "Wh0", "b0", "Wx1", "Wh1", "b1", "Wy", "by"}
    assert model.condition_size(plain) == 0
    conditioned = model.init_params(V, H, 2, np.random.default_rng(3), cond_sizes=SIZES)
    assert set(conditioned) == set(plain) | {"Wc0"}
    assert conditioned["Wc0"].shape == (11, 4 * H) and model.condition_size(conditioned) == 11
    assert all(np.array_equal(plain[k], conditioned[k]) for k in plain)  # drawn after them


def test_all_zero_conditioning_table_is_the_unconditioned_model(rng):
    plain = perturbed_params(np.random.default_rng(4), 2, ())
    conditioned = dict(plain, Wc0=np.zeros((11, 4 * H)))
    ids, targets, cond = rng.integers(0, V, (T, N)), rng.integers(0, V, (T, N)), random_cond(rng)
    state = model.zero_state(plain, N)
    logits, final, cache = model.forward(plain, ids, state, 0.2, np.random.default_rng(1))
    logits_c, final_c, cache_c = model.forward(conditioned, ids, state, 0.2,
                                               np.random.default_rng(1), cond=cond,
                                               cond_sizes=SIZES)
    assert np.allclose(logits, logits_c)
    assert all(np.allclose(a, b) for a, b in zip(final[0] + final[1], final_c[0] + final_c[1],
                                                  strict=True))
    grads, _ = model.backward(plain, model.cross_entropy(logits, targets)[1], cache)
    grads_c, _ = model.backward(conditioned, model.cross_entropy(logits_c, targets)[1], cache_c)
    assert all(np.allclose(grads[k], grads_c[k]) for k in grads)
    step, _ = model.step(plain, ids[0], state)
    step_c, _ = model.step(conditioned, ids[0], state, cond[0], SIZES)
    assert np.allclose(step, step_c)


def test_conditioning_changes_the_output_from_the_step_it_changes(rng):
    params = perturbed_params(rng, 2)
    ids, cond = rng.integers(0, V, (T, N)), musical_cond(rng)
    state = model.zero_state(params, N)
    before, _, _ = model.forward(params, ids, state, cond=cond, cond_sizes=SIZES)
    changed = cond.copy()
    changed[5:, :, 0] = (changed[5:, :, 0] + 1) % 3  # another metre from step 5 on
    after, _, _ = model.forward(params, ids, state, cond=changed, cond_sizes=SIZES)
    assert np.allclose(before[:5], after[:5])  # the past does not see the future
    assert not np.allclose(before[5], after[5], atol=1e-3)
    assert np.abs(before[5:] - after[5:]).min(axis=-1).max() > 1e-3


def test_step_with_conditioning_matches_forward(rng):
    params = perturbed_params(rng, 2)
    ids, cond = rng.integers(0, V, (T, N)), musical_cond(rng)
    logits, final, _ = model.forward(params, ids, model.zero_state(params, N), cond=cond,
                                     cond_sizes=SIZES)
    state = model.zero_state(params, N)
    for t in range(T):
        step_logits, state = model.step(params, ids[t], state, cond[t], SIZES)
        assert np.allclose(step_logits, logits[t])
    assert all(np.allclose(a, b) for (a, _), (b, _) in zip(state, final, strict=True))


def test_chunks_with_carried_state_equal_one_window(rng):
    """Scoring runs chunks ids[a:b], cond[a:b] with the state carried: same as one window,
    though each chunk's plan (which fields are constant, slow or fast) differs."""
    params = perturbed_params(rng, 2)
    ids, cond = rng.integers(0, V, (2 * T, N)), musical_cond(rng, 2 * T)
    whole, _, _ = model.forward(params, ids, model.zero_state(params, N), cond=cond,
                                cond_sizes=SIZES)
    state, chunks = model.zero_state(params, N), []
    for a, b in [(0, 3), (3, 4), (4, 2 * T)]:
        logits, state, _ = model.forward(params, ids[a:b], state, cond=cond[a:b],
                                         cond_sizes=SIZES)
        chunks.append(logits)
    assert np.allclose(np.concatenate(chunks), whole)


def test_float32_stays_float32_with_conditioning(rng):
    params = model.init_params(V, H, 1, rng, cond_sizes=SIZES)
    ids, cond = rng.integers(0, V, (T, N)), musical_cond(rng)
    logits, _, cache = model.forward(params, ids, model.zero_state(params, N), 0.1, rng,
                                     cond=cond.astype(np.int8), cond_sizes=SIZES)
    grads, _ = model.backward(params, model.cross_entropy(logits, ids)[1], cache)
    assert logits.dtype == np.float32 and grads["dWc0"].dtype == np.float32


def test_a_conditioned_model_learns_what_only_the_condition_tells():
    """Copy task: the target is the step's condition, the tokens are noise. Unconditioned,
    nothing beats log 4 = 1.39 nats; conditioned, the loss falls far below it."""
    rng = np.random.default_rng(0)
    params = model.init_params(4, 8, 1, rng, cond_sizes=(4,))
    adam = Adam(lr=0.05)
    for _ in range(150):
        cond = rng.integers(0, 4, (10, 8, 1))
        logits, _, cache = model.forward(params, rng.integers(0, 4, (10, 8)),
                                         model.zero_state(params, 8), cond=cond,
                                         cond_sizes=(4,))
        loss, dlogits = model.cross_entropy(logits, cond[..., 0])
        grads, _ = model.backward(params, dlogits, cache)
        adam.step(params, grads)
    assert loss < 0.2


# --- bad input: one clear error per kind --------------------------------------


@pytest.fixture
def conditioned():
    return model.init_params(V, H, 1, np.random.default_rng(0), dtype=np.float64,
                             cond_sizes=SIZES)


def run_forward(params, cond, cond_sizes=SIZES, ids=None):
    ids = np.zeros((T, N), dtype=np.int64) if ids is None else ids
    return model.forward(params, ids, model.zero_state(params, N), cond=cond,
                         cond_sizes=cond_sizes)


def test_a_value_outside_its_field_names_the_field_and_the_place(conditioned, rng):
    cond = musical_cond(rng)
    cond[6, 2, 2] = 4
    with pytest.raises(ValueError, match=r"cond field 'position' has value 4 at step 6, "
                                         r"lane 2, outside its range 0\.\.3"):
        run_forward(conditioned, cond)
    cond[6, 2, 2], cond[0, 1, 1] = 0, -1
    with pytest.raises(ValueError, match=r"field 'chord' has value -1 at step 0, lane 1"):
        run_forward(conditioned, cond)
    with pytest.raises(ValueError, match=r"cond field 1 has value -1 at lane 1, outside its "
                                         r"range 0\.\.1"):
        model.step(conditioned, np.zeros(N, int), model.zero_state(conditioned, N), cond[0],
                   (3, 2, 4, 2))


def test_cond_of_the_wrong_shape_or_type(conditioned, rng):
    with pytest.raises(ValueError, match=r"cond has shape \(8, 3, 2\), expected \(8, 3, 4\) "
                                         r"\(steps, lanes, fields 'metre', 'chord', "
                                         r"'position', 'beat'\)"):
        run_forward(conditioned, musical_cond(rng)[..., :2])
    with pytest.raises(ValueError, match=r"expected \(3, 4\) \(lanes, fields"):
        model.step(conditioned, np.zeros(N, int), model.zero_state(conditioned, N),
                   musical_cond(rng), SIZES)
    with pytest.raises(TypeError, match="cond must hold integers, not float64"):
        run_forward(conditioned, musical_cond(rng).astype(float))


def test_cond_and_model_must_agree(conditioned, rng):
    plain = model.init_params(V, H, 1, rng)
    with pytest.raises(ValueError, match="the model has no conditioning table Wc0"):
        run_forward(plain, musical_cond(rng))
    with pytest.raises(ValueError, match=r"model is conditioned \(Wc0 has 11 rows\): pass cond"):
        run_forward(conditioned, None)
    with pytest.raises(ValueError, match=r"model is conditioned"):
        run_forward(conditioned, musical_cond(rng), cond_sizes=None)
    with pytest.raises(ValueError, match=r"cond_sizes \(3, 2, 5, 2\) add up to 12 rows, but "
                                         r"Wc0 has 11"):
        run_forward(conditioned, musical_cond(rng), cond_sizes=(3, 2, 5, 2))
    with pytest.raises(ValueError, match="cond_sizes is empty"):
        run_forward(conditioned, musical_cond(rng), cond_sizes={})


@pytest.mark.parametrize("cond_sizes, error, message", [
    ((3, 0), ValueError, r"field 1 has size 0, it must be at least 1"),
    ({"key": 2.5}, TypeError, r"field 'key' has size 2\.5, not an integer"),
    ((True,), TypeError, r"field 0 has size True, not an integer"),
])
def test_bad_cond_sizes(cond_sizes, error, message):
    with pytest.raises(error, match=message):
        model.init_params(V, H, 1, np.random.default_rng(0), cond_sizes=cond_sizes)


def test_token_ids_outside_the_vocabulary(conditioned, rng):
    ids = np.zeros((T, N), dtype=np.int64)
    ids[3, 1] = V
    with pytest.raises(ValueError, match=r"token id 7 is outside the vocabulary 0\.\.6"):
        run_forward(conditioned, musical_cond(rng), ids=ids)
    plain = model.init_params(V, H, 1, rng)
    with pytest.raises(ValueError, match=r"token id -1 is outside"):
        model.forward(plain, ids - 1, model.zero_state(plain, N))
