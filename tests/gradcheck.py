"""Central-difference gradient checks in float64 (after cs231n's gradient_check.py)."""

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """d f() / d x by central differences; f reads x, which is perturbed in place."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        index = it.multi_index
        old = x[index]
        x[index] = old + h
        plus = f()
        x[index] = old - h
        minus = f()
        x[index] = old
        grad[index] = (plus - minus) / (2 * h)
        it.iternext()
    return grad


def relative_error(a, b):
    """max |a - b| / max(|a| + |b|), robust when both are near zero."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-12))
