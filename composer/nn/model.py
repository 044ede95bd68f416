"""The token model: input gates from token ids, stacked fused LSTM layers, softmax head.

Letters: T time steps, N batch, V vocabulary, H hidden units, L layers.
Parameters (a flat dict of arrays, saved as-is in checkpoints):
    Wx0 (V, 4H)    input weights of layer 0; a token id picks its row, which is the
                   same maths as a one-hot vector times the matrix, without the waste
    Wx{l} (H, 4H)  input weights of layer l >= 1
    Wh{l} (H, 4H)  recurrent weights; b{l} (4H,) gate biases; gate order [o, i, f, g]
    Wy (H, V), by (V,)   the output head
Dropout (inverted) is applied to the output of every layer, so between layers and
before the head, never on the recurrent connections (Zaremba et al., 2014).
"""

from __future__ import annotations

import numpy as np

from composer.nn.lstm import lstm_layer_backward, lstm_layer_forward, sigmoid_, workspace_array


def init_params(vocab_size, hidden_size, layers, rng, dtype=np.float32):
    """Uniform(-1/sqrt(H), 1/sqrt(H)) weights as in PyTorch; forget-gate biases at 1."""
    V, H = vocab_size, hidden_size
    scale = 1.0 / np.sqrt(H)

    def uniform(*shape):
        return rng.uniform(-scale, scale, size=shape).astype(dtype)

    params = {}
    for layer in range(layers):
        params[f"Wx{layer}"] = uniform(V if layer == 0 else H, 4 * H)
        params[f"Wh{layer}"] = uniform(H, 4 * H)
        bias = np.zeros(4 * H, dtype)
        bias[2 * H : 3 * H] = 1.0  # forget gate: remember by default, eases long dependencies
        params[f"b{layer}"] = bias
    params["Wy"] = uniform(H, V)
    params["by"] = np.zeros(V, dtype)
    return params


def model_shape(params):
    """(vocab size V, hidden size H, number of layers L) of a parameter dict."""
    V, G = params["Wx0"].shape
    layers = sum(1 for name in params if name.startswith("Wh"))
    return V, G // 4, layers


def zero_state(params, batch_size):
    """Initial (h, c) per layer, each (N, H), all zeros."""
    _, H, layers = model_shape(params)
    dtype = params["Wy"].dtype
    return [(np.zeros((batch_size, H), dtype), np.zeros((batch_size, H), dtype))] * layers


def forward(params, ids, state, dropout=0.0, rng=None, workspace=None):
    """Run the stack over token ids (T, N) from `state`.

    Returns logits (T, N, V), the final state (list of (h, c) per layer) and a cache
    for `backward`. Dropout needs an `rng` (numpy Generator) and is off when 0.
    A `composer.nn.lstm.Workspace` lets a training loop reuse the big arrays.
    """
    _, H, layers = model_shape(params)
    caches, final, x = [], [], None
    for layer in range(layers):
        if layer == 0:
            table = params["Wx0"] + params["b0"]  # (V, 4H): the bias folded into every row
            xg = workspace_array(workspace, "xg0", ids.shape + table.shape[1:], table.dtype)
            np.take(table, ids, axis=0, out=xg)  # (T, N, 4H): one-hot @ Wx0 without the waste
        else:
            xg = x @ params[f"Wx{layer}"] + params[f"b{layer}"]  # all steps at once
        h0, c0 = state[layer]
        hs, cache = lstm_layer_forward(xg, h0, c0, params[f"Wh{layer}"], workspace,
                                       f"layer{layer}")
        final.append((hs[-1].copy(), cache["cs"][-1].copy()))
        x, mask = _dropout(hs, dropout, rng)
        cache.update(input=x if layer + 1 < layers else None, mask=mask)
        caches.append(cache)
    logits = x @ params["Wy"] + params["by"]  # (T, N, V)
    return logits, final, {"ids": ids, "layers": caches, "top": x}


def _dropout(x, rate, rng):
    """Inverted dropout: zero a share `rate` of x, scale the rest by 1 / (1 - rate)."""
    if rate <= 0:
        return x, None
    keep = rng.random(x.shape, dtype=np.float32) >= rate
    mask = keep.astype(x.dtype) / x.dtype.type(1 - rate)
    return x * mask, mask


def log_softmax(logits):
    """log softmax over the last axis, shifted by the maximum for stability; keeps the dtype."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits, targets, weights=None):
    """Mean softmax cross-entropy over the T * N steps, and its gradient.

    logits: (T, N, V), targets: (T, N) token ids, weights: (T, N) or None; with
    weights the mean is sum(w * nll) / sum(w) (0 marks padding). Returns (loss in
    nats per step, dlogits).
    """
    flat = logits.reshape(-1, logits.shape[-1])
    log_probs = log_softmax(flat)  # (T*N, V)
    rows = np.arange(flat.shape[0])
    picked = targets.reshape(-1)
    w = np.ones(flat.shape[0], flat.dtype) if weights is None else weights.reshape(-1)
    total = max(float(w.sum()), 1e-12)
    loss = -float(np.dot(w.astype(np.float64), log_probs[rows, picked])) / total
    dlogits = np.exp(log_probs)  # softmax
    dlogits[rows, picked] -= 1  # d(-log p_target)/dlogits = p - onehot
    dlogits *= (w / total).astype(flat.dtype)[:, None]
    return loss, dlogits.reshape(logits.shape)


def backward(params, dlogits, cache, dstate=None):
    """Gradients of every parameter and of the initial state.

    dlogits: (T, N, V). dstate: gradients of the final state per layer (or None).
    Returns grads (same keys as params, with a leading "d") and dstate0, a list of
    (dh0, dc0) per layer.
    """
    _, H, layers = model_shape(params)
    T, N, V = dlogits.shape
    top = cache["top"].reshape(T * N, H)
    d2 = dlogits.reshape(T * N, V)
    grads = {"dWy": top.T @ d2, "dby": d2.sum(axis=0)}
    dx = dlogits @ params["Wy"].T  # (T, N, H)
    dstate0 = [None] * layers
    for layer in reversed(range(layers)):
        layer_cache = cache["layers"][layer]
        if layer_cache["mask"] is not None:
            dx *= layer_cache["mask"]
        dhT, dcT = dstate[layer] if dstate is not None else (None, None)
        dxg, dh0, dc0, dWh = lstm_layer_backward(dx, dhT, dcT, layer_cache)
        dstate0[layer] = (dh0, dc0)
        dxg2 = dxg.reshape(T * N, 4 * H)
        grads[f"dWh{layer}"] = dWh
        grads[f"db{layer}"] = dxg2.sum(axis=0)
        if layer > 0:
            below = cache["layers"][layer - 1]["input"].reshape(T * N, H)
            grads[f"dWx{layer}"] = below.T @ dxg2
            dx = dxg @ params[f"Wx{layer}"].T
        else:
            grads["dWx0"] = _embedding_gradient(cache["ids"], dxg2, params["Wx0"].shape)
    return grads, dstate0


def _embedding_gradient(ids, dxg2, shape):
    """Sum each step's gate gradient into the row of its token: (V, 4H).

    Written as one-hot(ids).T @ dxg2: for vocabularies of a few hundred tokens one
    matrix product is several times faster than np.add.at's scatter.
    """
    flat = ids.reshape(-1)  # (T*N,)
    one_hot_t = np.zeros((shape[0], flat.size), dxg2.dtype)  # (V, T*N)
    one_hot_t[flat, np.arange(flat.size)] = 1
    return one_hot_t @ dxg2


def step(params, ids, state):
    """One step for sampling: ids (N,) -> logits (N, V), new state. No caches kept."""
    _, H, layers = model_shape(params)
    new_state, below = [], None
    for layer in range(layers):
        if layer == 0:
            x = params["Wx0"][ids] + params["b0"]  # (N, 4H)
        else:
            x = below @ params[f"Wx{layer}"] + params[f"b{layer}"]
        h, c = state[layer]
        x += h @ params[f"Wh{layer}"]
        sigmoid_(x[:, : 3 * H])
        g = np.tanh(x[:, 3 * H :])
        c = x[:, 2 * H : 3 * H] * c + x[:, H : 2 * H] * g  # f * c + i * g
        below = x[:, :H] * np.tanh(c)  # the new h = o * tanh(c)
        new_state.append((below, c))
    return below @ params["Wy"] + params["by"], new_state
