"""The fused LSTM and the token model: float64 gradient checks and agreement with rnn.py."""

import numpy as np
import pytest
from gradcheck import numerical_gradient, relative_error

from composer.nn import model, rnn
from composer.nn.lstm import Workspace, lstm_layer_backward, lstm_layer_forward

T, N, H, V = 5, 3, 4, 7


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize("lanes", [N, 1])  # 1: the one-sequence step (Wh.T used as a view)
def test_layer_gradient_check_inputs_states_and_weights(rng, lanes):
    xg = rng.standard_normal((T, lanes, 4 * H))
    h0, c0 = rng.standard_normal((lanes, H)), rng.standard_normal((lanes, H))
    Wh = rng.standard_normal((H, 4 * H)) * 0.5
    dhs, dhT, dcT = (rng.standard_normal(s) for s in [(T, lanes, H), (lanes, H), (lanes, H)])

    def loss():
        hs, cache = lstm_layer_forward(xg.copy(), h0, c0, Wh)  # forward overwrites xg
        return np.sum(dhs * hs) + np.sum(dhT * hs[-1]) + np.sum(dcT * cache["cs"][-1])

    _, cache = lstm_layer_forward(xg.copy(), h0, c0, Wh)
    dxg, dh0, dc0, dWh = lstm_layer_backward(dhs, dhT, dcT, cache)
    for name, grad, array in [("xg", dxg, xg), ("h0", dh0, h0), ("c0", dc0, c0), ("Wh", dWh, Wh)]:
        assert relative_error(grad, numerical_gradient(loss, array)) < 1e-7, name


def model_loss(params, ids, targets, state, dstate_weights, dropout=0.0, seed=0):
    """Cross-entropy plus a random linear function of the final state (as if a later
    window's gradient flowed back into it)."""
    logits, final, cache = model.forward(
        params, ids, state, dropout=dropout, rng=np.random.default_rng(seed)
    )
    loss, dlogits = model.cross_entropy(logits, targets)
    for (h, c), (wh, wc) in zip(final, dstate_weights, strict=True):
        loss += np.sum(wh * h) + np.sum(wc * c)
    return loss, dlogits, cache


@pytest.mark.parametrize("layers, dropout", [(1, 0.0), (3, 0.0), (2, 0.3)])
def test_model_gradient_check_every_parameter_and_state(rng, layers, dropout):
    params = model.init_params(V, H, layers, rng, dtype=np.float64)
    for value in params.values():
        value += rng.standard_normal(value.shape) * 0.3  # move away from the init symmetry
    ids, targets = rng.integers(0, V, (T, N)), rng.integers(0, V, (T, N))
    state = [(rng.standard_normal((N, H)), rng.standard_normal((N, H))) for _ in range(layers)]
    dstate = [(rng.standard_normal((N, H)), rng.standard_normal((N, H))) for _ in range(layers)]

    def loss():
        return model_loss(params, ids, targets, state, dstate, dropout)[0]

    _, dlogits, cache = model_loss(params, ids, targets, state, dstate, dropout)
    grads, dstate0 = model.backward(params, dlogits, cache, dstate)
    assert set(grads) == {"d" + name for name in params}
    for name, value in params.items():
        assert relative_error(grads["d" + name], numerical_gradient(loss, value)) < 1e-6, name
    for layer, ((h0, c0), (dh0, dc0)) in enumerate(zip(state, dstate0, strict=True)):
        assert relative_error(dh0, numerical_gradient(loss, h0)) < 1e-6, f"h0 of {layer}"
        assert relative_error(dc0, numerical_gradient(loss, c0)) < 1e-6, f"c0 of {layer}"


def test_weighted_cross_entropy_ignores_padding(rng):
    logits, targets = rng.standard_normal((T, N, V)), rng.integers(0, V, (T, N))
    weights = (rng.random((T, N)) > 0.3).astype(float)
    loss, dlogits = model.cross_entropy(logits, targets, weights)
    numeric = numerical_gradient(lambda: model.cross_entropy(logits, targets, weights)[0], logits)
    assert relative_error(dlogits, numeric) < 1e-7
    kept = weights.astype(bool)
    assert np.isclose(loss, model.cross_entropy(logits[kept][:, None], targets[kept][:, None])[0])
    assert np.all(dlogits[~kept] == 0)


def test_cross_entropy_gradient_check(rng):
    logits, targets = rng.standard_normal((T, N, V)), rng.integers(0, V, (T, N))
    loss, dlogits = model.cross_entropy(logits, targets)
    numeric = numerical_gradient(lambda: model.cross_entropy(logits, targets)[0], logits)
    assert relative_error(dlogits, numeric) < 1e-7
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = -np.mean(np.log(np.take_along_axis(p, targets[..., None], -1)))
    assert np.isclose(loss, expected)


def course_parameters_from_fused(params):
    """Map a 1-layer fused model's weights to the course's per-gate dicts.

    Fused gate blocks are [o, i, f, g]; the course concatenates [a_prev; xt], so
    W_gate = [Wh_block.T, Wx_block.T] with the x part taken as a one-hot input.
    """
    H = params["Wh0"].shape[0]
    blocks = {"o": 0, "i": 1, "f": 2, "c": 3}
    course = {}
    for gate, k in blocks.items():
        cols = slice(k * H, (k + 1) * H)
        course[f"W{gate}"] = np.concatenate([params["Wh0"][:, cols].T, params["Wx0"][:, cols].T], 1)
        course[f"b{gate}"] = params["b0"][cols][:, None]
    course["Wy"], course["by"] = params["Wy"].T, params["by"][:, None]
    return course


def test_fused_model_agrees_with_course_lstm(rng):
    params = model.init_params(V, H, 1, rng, dtype=np.float64)
    for value in params.values():
        value += rng.standard_normal(value.shape) * 0.3
    ids = rng.integers(0, V, (T, N))
    a0 = rng.standard_normal((N, H))
    state = [(a0, np.zeros((N, H)))]  # the course starts from a zero cell state
    logits, final, cache = model.forward(params, ids, state)

    x = np.eye(V)[ids].transpose(2, 1, 0)  # one-hot (n_x, m, T_x)
    course = course_parameters_from_fused(params)
    a, y, c, caches = rnn.lstm_forward(x, a0.T, course)
    assert np.allclose(a.transpose(2, 1, 0), cache["top"])
    assert np.allclose(c[:, :, -1].T, final[0][1])
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    assert np.allclose(y.transpose(2, 1, 0), probs)

    # the same upstream gradient of the hidden states gives the same weight gradients
    da = rng.standard_normal((H, N, T))
    course_grads = rnn.lstm_backward(da, caches)
    xg = params["Wx0"][ids] + params["b0"]
    _, layer_cache = lstm_layer_forward(xg, a0, 0 * a0, params["Wh0"])
    dxg, dh0, _, dWh = lstm_layer_backward(da.transpose(2, 1, 0), None, None, layer_cache)
    assert np.allclose(course_grads["da0"], dh0.T)
    assert np.allclose(course_grads["dWf"][:, :H], dWh[:, 2 * H : 3 * H].T)
    assert np.allclose(course_grads["dbo"][:, 0], dxg[..., :H].sum((0, 1)))
    assert np.allclose(course_grads["dbc"][:, 0], dxg[..., 3 * H :].sum((0, 1)))


def test_step_matches_forward_one_token_at_a_time(rng):
    params = model.init_params(V, H, 2, rng, dtype=np.float64)
    ids = rng.integers(0, V, (T, N))
    logits, final, _ = model.forward(params, ids, model.zero_state(params, N))
    state = model.zero_state(params, N)
    for t in range(T):
        step_logits, state = model.step(params, ids[t], state)
        assert np.allclose(step_logits, logits[t])
    assert all(np.allclose(a, b) for (a, _), (b, _) in zip(state, final, strict=True))


def test_carried_state_equals_one_long_window(rng):
    """Truncated BPTT carries state: two windows in a row give the same outputs as one."""
    params = model.init_params(V, H, 2, rng, dtype=np.float64)
    ids = rng.integers(0, V, (2 * T, N))
    whole, _, _ = model.forward(params, ids, model.zero_state(params, N))
    first, state, _ = model.forward(params, ids[:T], model.zero_state(params, N))
    second, _, _ = model.forward(params, ids[T:], state)
    assert np.allclose(np.concatenate([first, second]), whole)


def test_float32_stays_float32(rng):
    params = model.init_params(V, H, 2, rng)
    ids = rng.integers(0, V, (T, N))
    logits, final, cache = model.forward(params, ids, model.zero_state(params, N), 0.2, rng)
    _, dlogits = model.cross_entropy(logits, ids)
    assert dlogits.dtype == np.float32
    grads, _ = model.backward(params, dlogits, cache)
    assert logits.dtype == np.float32 and final[0][0].dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


def training_step(params, ids, targets, state, workspace, dropout=0.0):
    """Logits, final state and gradients of one training step (dropout from seed 0)."""
    logits, final, cache = model.forward(params, ids, state, dropout, np.random.default_rng(0),
                                         workspace)
    logits = logits.copy()  # the next step overwrites a workspace's arrays
    grads, dstate0 = model.backward(params, model.cross_entropy(logits, targets)[1], cache)
    return logits, final, {name: g.copy() for name, g in grads.items()}, dstate0


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_a_reused_workspace_gives_what_fresh_arrays_give(rng, dropout):
    """A training loop's Workspace keeps arrays and each step's views of them from one
    call to the next: windows of other lengths and batches in between, and batch 1,
    give bit for bit what fresh arrays give."""
    params = model.init_params(V, H, 2, rng, dtype=np.float64)
    workspace = Workspace()
    for steps, lanes in [(T, N), (T + 3, N), (T, 1), (T, N), (T, 1), (T + 3, N)]:
        ids, targets = rng.integers(0, V, (2, steps, lanes))
        state = [(rng.standard_normal((lanes, H)), rng.standard_normal((lanes, H)))] * 2
        fresh = training_step(params, ids, targets, state, None, dropout)
        reused = training_step(params, ids, targets, state, workspace, dropout)
        assert np.array_equal(fresh[0], reused[0])
        for (h, c), (h_reused, c_reused) in zip(fresh[1], reused[1], strict=True):
            assert np.array_equal(h, h_reused) and np.array_equal(c, c_reused)
        assert all(np.array_equal(fresh[2][name], reused[2][name]) for name in fresh[2])
        for (dh, dc), (dh_reused, dc_reused) in zip(fresh[3], reused[3], strict=True):
            assert np.array_equal(dh, dh_reused) and np.array_equal(dc, dc_reused)
