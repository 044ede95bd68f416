"""The course functions: shapes, cache layouts, and float64 gradient checks."""

import numpy as np
import pytest
from gradcheck import numerical_gradient, relative_error

from composer.nn import rnn

N_X, N_A, N_Y, M, T_X = 3, 5, 2, 4, 6


@pytest.fixture
def rng():
    return np.random.default_rng(1)


def rnn_parameters(rng):
    return {
        "Wax": rng.standard_normal((N_A, N_X)),
        "Waa": rng.standard_normal((N_A, N_A)) * 0.5,
        "Wya": rng.standard_normal((N_Y, N_A)),
        "ba": rng.standard_normal((N_A, 1)),
        "by": rng.standard_normal((N_Y, 1)),
    }


def lstm_parameters(rng):
    params = {}
    for gate in "fico":
        params[f"W{gate}"] = rng.standard_normal((N_A, N_A + N_X)) * 0.5
        params[f"b{gate}"] = rng.standard_normal((N_A, 1))
    params["Wy"] = rng.standard_normal((N_Y, N_A))
    params["by"] = rng.standard_normal((N_Y, 1))
    return params


def test_softmax_columns_sum_to_one_and_survive_large_inputs():
    x = np.array([[1000.0, 1.0], [1001.0, 2.0], [999.0, 3.0]])
    y = rnn.softmax(x)
    assert np.allclose(y.sum(axis=0), 1.0)
    expected = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert np.allclose(y[:, 1], expected)
    assert np.allclose(y[:, 0], np.exp([-1.0, 0.0, -2.0]) / np.exp([-1.0, 0.0, -2.0]).sum())


def test_sigmoid_values():
    assert rnn.sigmoid(0.0) == 0.5
    assert np.isclose(rnn.sigmoid(np.log(3.0)), 0.75)


def test_rnn_cell_forward_matches_the_formula(rng):
    params = rnn_parameters(rng)
    xt, a_prev = rng.standard_normal((N_X, M)), rng.standard_normal((N_A, M))
    a_next, yt, cache = rnn.rnn_cell_forward(xt, a_prev, params)
    z = params["Waa"] @ a_prev + params["Wax"] @ xt + params["ba"]
    assert np.allclose(a_next, np.tanh(z))
    logits = params["Wya"] @ a_next + params["by"]
    assert np.allclose(yt, np.exp(logits) / np.exp(logits).sum(axis=0))
    assert cache[0] is a_next and cache[1] is a_prev and cache[2] is xt and cache[3] is params


def test_rnn_forward_stores_each_new_state(rng):
    params = rnn_parameters(rng)
    x, a0 = rng.standard_normal((N_X, M, T_X)), rng.standard_normal((N_A, M))
    a, y_pred, (caches, x_cached) = rnn.rnn_forward(x, a0, params)
    assert a.shape == (N_A, M, T_X) and y_pred.shape == (N_Y, M, T_X)
    assert len(caches) == T_X and x_cached is x
    a_t = a0
    for t in range(T_X):
        a_t, y_t, _ = rnn.rnn_cell_forward(x[:, :, t], a_t, params)
        assert np.allclose(a[:, :, t], a_t) and np.allclose(y_pred[:, :, t], y_t)


def test_rnn_cell_backward_gradient_check(rng):
    params = rnn_parameters(rng)
    xt, a_prev = rng.standard_normal((N_X, M)), rng.standard_normal((N_A, M))
    da_next = rng.standard_normal((N_A, M))

    def loss():
        return np.sum(da_next * rnn.rnn_cell_forward(xt, a_prev, params)[0])

    _, _, cache = rnn.rnn_cell_forward(xt, a_prev, params)
    grads = rnn.rnn_cell_backward(da_next, cache)
    assert set(grads) == {"dxt", "da_prev", "dWax", "dWaa", "dba"}
    for name, array in [("dxt", xt), ("da_prev", a_prev)] + [
        ("d" + k, params[k]) for k in ("Wax", "Waa", "ba")
    ]:
        assert relative_error(grads[name], numerical_gradient(loss, array)) < 1e-7, name


def test_rnn_backward_gradient_check(rng):
    params = rnn_parameters(rng)
    x, a0 = rng.standard_normal((N_X, M, T_X)), rng.standard_normal((N_A, M))
    da = rng.standard_normal((N_A, M, T_X))

    def loss():
        return np.sum(da * rnn.rnn_forward(x, a0, params)[0])

    _, _, caches = rnn.rnn_forward(x, a0, params)
    grads = rnn.rnn_backward(da, caches)
    assert set(grads) == {"dx", "da0", "dWax", "dWaa", "dba"}
    assert grads["dx"].shape == x.shape and grads["da0"].shape == a0.shape
    for name, array in [("dx", x), ("da0", a0)] + [
        ("d" + k, params[k]) for k in ("Wax", "Waa", "ba")
    ]:
        assert relative_error(grads[name], numerical_gradient(loss, array)) < 1e-7, name


def test_lstm_cell_forward_cache_layout(rng):
    params = lstm_parameters(rng)
    xt, a_prev, c_prev = (rng.standard_normal(s) for s in [(N_X, M), (N_A, M), (N_A, M)])
    a_next, c_next, yt, cache = rnn.lstm_cell_forward(xt, a_prev, c_prev, params)
    assert a_next.shape == c_next.shape == (N_A, M) and yt.shape == (N_Y, M)
    assert len(cache) == 10
    a_c, c_c, ap_c, cp_c, ft, it, cct, ot, xt_c, params_c = cache
    assert a_c is a_next and c_c is c_next and ap_c is a_prev and cp_c is c_prev
    assert xt_c is xt and params_c is params
    assert np.allclose(c_next, ft * c_prev + it * cct)
    assert np.allclose(a_next, ot * np.tanh(c_next))
    concat = np.concatenate([a_prev, xt])
    assert np.allclose(ft, 1 / (1 + np.exp(-(params["Wf"] @ concat + params["bf"]))))


def test_lstm_forward_shapes_and_zero_initial_cell(rng):
    params = lstm_parameters(rng)
    x, a0 = rng.standard_normal((N_X, M, T_X)), rng.standard_normal((N_A, M))
    a, y, c, (caches, x_cached) = rnn.lstm_forward(x, a0, params)
    assert a.shape == c.shape == (N_A, M, T_X) and y.shape == (N_Y, M, T_X)
    assert len(caches) == T_X and x_cached is x
    assert np.array_equal(caches[0][3], np.zeros((N_A, M)))  # c_prev of the first step
    assert np.allclose(caches[-1][1], c[:, :, -1])


def test_lstm_cell_backward_gradient_check(rng):
    params = lstm_parameters(rng)
    xt, a_prev, c_prev = (rng.standard_normal(s) for s in [(N_X, M), (N_A, M), (N_A, M)])
    da_next, dc_next = rng.standard_normal((N_A, M)), rng.standard_normal((N_A, M))

    def loss():
        a_next, c_next, _, _ = rnn.lstm_cell_forward(xt, a_prev, c_prev, params)
        return np.sum(da_next * a_next) + np.sum(dc_next * c_next)

    cache = rnn.lstm_cell_forward(xt, a_prev, c_prev, params)[3]
    grads = rnn.lstm_cell_backward(da_next, dc_next, cache)
    expected_keys = {"dxt", "da_prev", "dc_prev"} | {f"d{w}{g}" for w in "Wb" for g in "fico"}
    assert set(grads) == expected_keys
    assert grads["dc_prev"].shape == (N_A, M)
    checks = [("dxt", xt), ("da_prev", a_prev), ("dc_prev", c_prev)]
    checks += [("d" + k, params[k]) for k in params if k not in ("Wy", "by")]
    for name, array in checks:
        assert relative_error(grads[name], numerical_gradient(loss, array)) < 1e-7, name


def test_lstm_backward_gradient_check(rng):
    params = lstm_parameters(rng)
    x, a0 = rng.standard_normal((N_X, M, T_X)), rng.standard_normal((N_A, M))
    da = rng.standard_normal((N_A, M, T_X))

    def loss():
        return np.sum(da * rnn.lstm_forward(x, a0, params)[0])

    caches = rnn.lstm_forward(x, a0, params)[3]
    grads = rnn.lstm_backward(da, caches)
    assert list(grads)[:2] == ["dx", "da0"]
    assert set(grads) == {"dx", "da0"} | {f"d{w}{g}" for w in "Wb" for g in "fico"}
    checks = [("dx", x), ("da0", a0)] + [("d" + k, params[k]) for k in params if k[1] != "y"]
    for name, array in checks:
        assert relative_error(grads[name], numerical_gradient(loss, array)) < 1e-7, name


def test_lstm_backward_takes_time_steps_from_da(rng):
    """Only the first steps get upstream gradient: later steps must still carry state back."""
    params = lstm_parameters(rng)
    x, a0 = rng.standard_normal((N_X, M, T_X)), rng.standard_normal((N_A, M))
    da = np.zeros((N_A, M, T_X))
    da[:, :, -1] = 1.0
    grads = rnn.lstm_backward(da, rnn.lstm_forward(x, a0, params)[3])
    assert np.abs(grads["dx"][:, :, 0]).sum() > 0  # reached through 5 steps of BPTT
