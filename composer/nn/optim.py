"""Gradient clipping and optimisers (Adam, SGD) over dicts of NumPy arrays.

Gradient dicts use the parameter names with a leading "d" (params["Wy"] <->
grads["dWy"]), as in the course.
"""

from __future__ import annotations

import numpy as np


def clip(gradients, maxValue):  # noqa: N803 (the course's signature)
    """The course's clip: every gradient clipped element-wise to [-maxValue, maxValue], in place."""
    for gradient in gradients.values():
        np.clip(gradient, -maxValue, maxValue, out=gradient)
    return gradients


def global_norm(gradients):
    """Euclidean norm of all gradients taken together as one vector."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in gradients.values())))


def clip_by_global_norm(gradients, max_norm):
    """Scale all gradients together, in place, so their global norm is at most max_norm.

    Returns the norm before clipping.
    """
    norm = global_norm(gradients)
    if norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for gradient in gradients.values():
            gradient *= gradient.dtype.type(scale)
    return norm


class SGD:
    """Plain stochastic gradient descent: p -= lr * dp."""

    def __init__(self, lr=0.1):
        self.lr = lr

    def step(self, params, grads):
        for name, value in params.items():
            value -= value.dtype.type(self.lr) * grads["d" + name]

    def state_dict(self):
        return {"arrays": {}, "scalars": {"lr": self.lr}}

    def load_state_dict(self, state):
        self.lr = state["scalars"]["lr"]


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    p -= lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
    Its whole state (moments and step count) can be saved and restored exactly.
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m = {}
        self.v = {}

    def step(self, params, grads):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # fold both bias corrections into one step size
        step_size = self.lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        eps_hat = self.eps * np.sqrt(1 - b2**self.t)
        for name, value in params.items():
            g = grads["d" + name]
            m = self.m.setdefault(name, np.zeros_like(value))
            v = self.v.setdefault(name, np.zeros_like(value))
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            value -= value.dtype.type(step_size) * m / (np.sqrt(v) + value.dtype.type(eps_hat))

    def state_dict(self):
        """Arrays and scalars, ready for .npz and JSON."""
        arrays = {f"m.{k}": a for k, a in self.m.items()}
        arrays.update({f"v.{k}": a for k, a in self.v.items()})
        scalars = {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}
        scalars["t"] = self.t
        return {"arrays": arrays, "scalars": scalars}

    def load_state_dict(self, state):
        scalars = state["scalars"]
        self.lr, self.beta1, self.beta2 = scalars["lr"], scalars["beta1"], scalars["beta2"]
        self.eps, self.t = scalars["eps"], int(scalars["t"])
        self.m, self.v = {}, {}
        for key, array in state["arrays"].items():
            kind, name = key.split(".", 1)
            (self.m if kind == "m" else self.v)[name] = np.array(array)
