"""The token model: input gates from token ids, stacked fused LSTM layers, softmax head.

Letters: T time steps, N batch, V vocabulary, H hidden units, L layers.
Parameters (a flat dict of arrays, saved as-is in checkpoints):
    Wx0 (V, 4H)    input weights of layer 0; a token id picks its row, which is the
                   same maths as a one-hot vector times the matrix, without the waste
    Wx{l} (H, 4H)  input weights of layer l >= 1
    Wh{l} (H, 4H)  recurrent weights; b{l} (4H,) gate biases; gate order [o, i, f, g]
    Wy (H, V), by (V,)   the output head
    Wc0 (C, 4H)    only in a conditioned model: the rows of the conditioning fields,
                   added to layer 0's input (composer.nn.condition); C = sum(cond_sizes)
Conditioning: a model made with `init_params(..., cond_sizes=sizes)` takes cond, the
field values of every step (small ints, field f in 0..size_f - 1), in `forward`
(T, N, F) and `step` (N, F), always with the same cond_sizes (a sequence of ints, or
a mapping {name: size} whose names errors then use), which the caller keeps, e.g. in
the training settings: the checkpoint's arrays hold Wc0, not the sizes.
    training   forward(params, ids, state, ..., cond=c, cond_sizes=s), then backward
               as usual: grads has dWc0, which the optimiser updates like the rest;
    scoring    forward over chunks ids[a:b], cond[a:b] with the state carried;
    sampling   forward over the primer, then step(params, ids[t], state, c[t], s).
cond[t] goes in with ids[t] to predict ids[t + 1], so it should describe step t + 1,
the one being predicted (Magenta's lookback RNN feeds the next step's bar position
likewise): with per-token features F_k of a window ids = w[:, :-1].T, pass
cond = F[:, 1:].transpose(1, 0, 2). On padding, repeating the last real values keeps
fields constant, which is faster (padding steps are masked out of the loss anyway).
Dropout (inverted) is applied to the output of every layer, so between layers and
before the head, never on the recurrent connections (Zaremba et al., 2014).
"""

from __future__ import annotations

import numpy as np

from composer.nn.condition import (
    condition_fields,
    condition_rows,
    input_gates,
    input_gradients,
    plan_rows,
)
from composer.nn.lstm import (
    lstm_layer_backward,
    lstm_layer_forward,
    sigmoid_,
    workspace_array,
)


def init_params(vocab_size, hidden_size, layers, rng, dtype=np.float32, cond_sizes=()):
    """Uniform(-1/sqrt(H), 1/sqrt(H)) weights as in PyTorch; forget-gate biases at 1.

    With cond_sizes (a sequence of field sizes, or a mapping {name: size}) the model
    gets Wc0 (C, 4H), drawn after every other weight so that those are the same as an
    unconditioned model's from the same rng; its rows are scaled by 1/sqrt(F) so that
    the F rows a step adds up spread like one token row.
    """
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
    if len(cond_sizes):
        fields = condition_fields(cond_sizes)
        rows = uniform(fields.rows, 4 * H) / np.sqrt(len(fields.sizes))
        params["Wc0"] = rows.astype(dtype)
    return params


def model_shape(params):
    """(vocab size V, hidden size H, number of layers L) of a parameter dict."""
    V, G = params["Wx0"].shape
    layers = sum(1 for name in params if name.startswith("Wh"))
    return V, G // 4, layers


def condition_size(params):
    """C, the rows of the conditioning table Wc0 (sum of the fields' sizes); 0 without."""
    return params["Wc0"].shape[0] if "Wc0" in params else 0


def zero_state(params, batch_size):
    """Initial (h, c) per layer, each (N, H), all zeros."""
    _, H, layers = model_shape(params)
    dtype = params["Wy"].dtype
    return [(np.zeros((batch_size, H), dtype), np.zeros((batch_size, H), dtype))] * layers


def forward(params, ids, state, dropout=0.0, rng=None, workspace=None, cond=None,
            cond_sizes=None):
    """Run the stack over token ids (T, N) from `state`.

    Returns logits (T, N, V), the final state (list of (h, c) per layer) and a cache
    for `backward`. Dropout needs an `rng` (numpy Generator) and is off when 0.
    A `composer.nn.lstm.Workspace` lets a training loop reuse the big arrays.
    cond: (T, N, F) field values of every step, required by (and only by) a
    conditioned model, with its cond_sizes; ValueError names a bad field or shape.
    """
    _, H, layers = model_shape(params)
    rows = condition_rows(params.get("Wc0"), cond, cond_sizes, ids.shape)  # (T, N, F)
    plan = None if rows is None else plan_rows(rows, condition_size(params))
    caches, final, x = [], [], None
    for layer in range(layers):
        if layer == 0:
            table = params["Wx0"] + params["b0"]  # (V, 4H): the bias folded into every row
            xg = input_gates(table, ids, params.get("Wc0"), plan, workspace)  # (T, N, 4H)
        else:
            xg = _product(x, params[f"Wx{layer}"], workspace, f"layer{layer}.xg")
            np.add(xg, params[f"b{layer}"], out=xg)  # all steps at once
        h0, c0 = state[layer]
        hs, cache = lstm_layer_forward(xg, h0, c0, params[f"Wh{layer}"], workspace,
                                       f"layer{layer}")
        final.append((hs[-1].copy(), cache["cs"][-1].copy()))
        x, mask = _dropout(hs, dropout, rng)
        cache.update(input=x if layer + 1 < layers else None, mask=mask)
        caches.append(cache)
    logits = _product(x, params["Wy"])  # (T, N, V)
    np.add(logits, params["by"], out=logits)
    return logits, final, {"ids": ids, "plan": plan, "layers": caches, "top": x}


def _product(x, W, workspace=None, name=""):  # noqa: N803
    """x (..., K) @ W (K, M) as one 2-D product: (..., M), in the workspace's array `name`.

    NumPy's matmul of a 3-D x makes one product per step: at N=1 that is 100 products
    of a vector, 2x slower in all than one (T, K) by (K, M) product.
    """
    out = workspace_array(workspace, name, x.shape[:-1] + W.shape[1:], np.result_type(x, W))
    np.matmul(x.reshape(-1, x.shape[-1]), W, out=out.reshape(-1, W.shape[1]))
    return out


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


def cross_entropy(logits, targets, weights=None, total=None):
    """Mean softmax cross-entropy over the T * N steps, and its gradient.

    logits: (T, N, V), targets: (T, N) token ids, weights: (T, N) or None; with
    weights the mean is sum(w * nll) / sum(w) (0 marks padding). `total` replaces
    sum(w) as the divisor: for a share of a larger batch, that batch's sum, so that
    the shares' losses and gradients add up to the whole's. Returns (loss in nats
    per step, dlogits).
    """
    flat = logits.reshape(-1, logits.shape[-1])
    log_probs = log_softmax(flat)  # (T*N, V)
    rows = np.arange(flat.shape[0])
    picked = targets.reshape(-1)
    w = np.ones(flat.shape[0], flat.dtype) if weights is None else weights.reshape(-1)
    total = max(float(w.sum()) if total is None else float(total), 1e-12)
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
    workspace = cache["layers"][-1]["workspace"]
    dx = _product(dlogits, params["Wy"].T, workspace, "dx")  # (T, N, H)
    dstate0 = [None] * layers
    for layer in reversed(range(layers)):
        layer_cache = cache["layers"][layer]
        if layer_cache["mask"] is not None:
            dx *= layer_cache["mask"]
        dhT, dcT = dstate[layer] if dstate is not None else (None, None)
        dxg, dh0, dc0, dWh = lstm_layer_backward(dx, dhT, dcT, layer_cache)
        dstate0[layer] = (dh0, dc0)
        grads[f"dWh{layer}"] = dWh
        if layer > 0:
            dxg2 = dxg.reshape(T * N, 4 * H)
            grads[f"db{layer}"] = dxg2.sum(axis=0)
            below = cache["layers"][layer - 1]["input"].reshape(T * N, H)
            grads[f"dWx{layer}"] = below.T @ dxg2
            dx = _product(dxg, params[f"Wx{layer}"].T, workspace, f"layer{layer}.dx")
        else:  # the rows layer 0 looked up, each gets the gradient of the steps it served
            dWx0, db0, dWc0 = input_gradients(dxg, cache["ids"], V, cache["plan"],
                                                 layer_cache["workspace"])
            grads.update(dWx0=dWx0, db0=db0)
            if dWc0 is not None:
                grads["dWc0"] = dWc0
    return grads, dstate0


def step(params, ids, state, cond=None, cond_sizes=None):
    """One step for sampling: ids (N,) -> logits (N, V), new state. No caches kept.

    cond: (N, F) field values of this step, for a conditioned model (with cond_sizes).
    """
    _, H, layers = model_shape(params)
    rows = condition_rows(params.get("Wc0"), cond, cond_sizes, ids.shape)  # (N, F)
    new_state, below = [], None
    for layer in range(layers):
        if layer == 0:
            x = params["Wx0"][ids] + params["b0"]  # (N, 4H)
            if rows is not None:
                x += params["Wc0"][rows].sum(axis=1)  # (N, F, 4H) -> (N, 4H)
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
