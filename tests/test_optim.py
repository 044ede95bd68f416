"""Clipping and optimisers against small hand-computed cases."""

import numpy as np

from composer.nn.optim import SGD, Adam, clip, clip_by_global_norm, global_norm


def test_course_clip_is_elementwise_and_in_place():
    grads = {"dWaa": np.array([[-12.0, 3.0], [7.0, 11.0]]), "db": np.array([[-5.0], [0.5]])}
    out = clip(grads, 5)
    assert out is grads
    assert np.array_equal(grads["dWaa"], [[-5.0, 3.0], [5.0, 5.0]])
    assert np.array_equal(grads["db"], [[-5.0], [0.5]])


def test_global_norm_clipping_scales_all_gradients_together():
    grads = {"dA": np.array([3.0, 0.0]), "dB": np.array([[0.0], [4.0]])}  # norm 5
    assert global_norm(grads) == 5.0
    before = clip_by_global_norm(grads, 1.0)
    assert before == 5.0
    assert np.allclose(grads["dA"], [0.6, 0.0]) and np.allclose(grads["dB"], [[0.0], [0.8]])
    untouched = {"dA": np.array([0.3, 0.4])}
    clip_by_global_norm(untouched, 1.0)
    assert np.array_equal(untouched["dA"], [0.3, 0.4])


def test_sgd_step():
    params = {"w": np.array([1.0, -2.0])}
    SGD(lr=0.5).step(params, {"dw": np.array([2.0, 2.0])})
    assert np.array_equal(params["w"], [0.0, -3.0])


def test_adam_first_two_steps_by_hand():
    # step 1: m = 0.1 g, v = 0.001 g^2; m_hat = g, v_hat = g^2 -> update = lr * g / (|g| + eps)
    params = {"w": np.array([1.0, 1.0])}
    adam = Adam(lr=0.1, eps=1e-8)
    adam.step(params, {"dw": np.array([2.0, -0.5])})
    assert np.allclose(params["w"], [1.0 - 0.1 * 2 / (2 + 1e-8), 1.0 + 0.1 * 0.5 / (0.5 + 1e-8)])
    # step 2 with g = 1: m = 0.9*0.2 + 0.1 = 0.28, v = 0.999*0.004 + 0.001 = 0.004996
    adam.step(params, {"dw": np.array([1.0, 1.0])})
    m_hat, v_hat = 0.28 / (1 - 0.9**2), 0.004996 / (1 - 0.999**2)
    expected = 1.0 - 0.1 * 2 / (2 + 1e-8) - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
    assert np.isclose(params["w"][0], expected, rtol=1e-10)


def test_adam_state_restores_exactly():
    rng = np.random.default_rng(0)
    grads = [{"dw": rng.standard_normal(4)} for _ in range(6)]
    straight = {"w": np.zeros(4)}
    adam = Adam(lr=0.01)
    for g in grads:
        adam.step(straight, g)

    resumed = {"w": np.zeros(4)}
    first = Adam(lr=0.01)
    for g in grads[:3]:
        first.step(resumed, g)
    second = Adam()
    second.load_state_dict(first.state_dict())
    for g in grads[3:]:
        second.step(resumed, g)
    assert np.array_equal(straight["w"], resumed["w"])
    assert second.t == 6
