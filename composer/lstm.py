"""The fused LSTM layer that training uses: all four gates in one matrix.

Letters: T time steps, N batch, H hidden units, D input features.
Layout is time-major and batch-major, (T, N, ...), so that every per-step array
is contiguous and every all-steps product is one matrix product with no copies.

The four gates sit side by side in the last axis, in the order [i, f, o, g]:
input, forget and output gates (sigmoid) first, so one call covers all three,
then the candidate cell value g (tanh). The input projection of every time step
(`xg`, with the bias) is computed by the caller in one product before the loop.

Per step:  z = xg[t] + h[t-1] @ Wh            (N, 4H)
           i, f, o = sigmoid(z[:3H]), g = tanh(z[3H:])
           c[t] = f * c[t-1] + i * g
           h[t] = o * tanh(c[t])
"""

from __future__ import annotations

import numpy as np


def sigmoid_(x):
    """In-place logistic sigmoid via tanh: sigmoid(x) = (1 + tanh(x / 2)) / 2.

    One tanh pass is both faster than exp + reciprocal and never overflows.
    """
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def lstm_layer_forward(xg, h0, c0, Wh):
    """One LSTM layer over T steps.

    xg: (T, N, 4H) input projection x @ Wx + b of every step; it is overwritten
        with the gate activations, which the backward pass needs.
    h0, c0: (N, H) initial states. Wh: (H, 4H) recurrent weights.
    Returns hs (T, N, H) and cache; the final states are hs[-1] and cache["cs"][-1].
    """
    T, N, G = xg.shape
    H = G // 4
    hs = np.empty((T + 1, N, H), dtype=xg.dtype)  # hs[0] = h0, hs[t + 1] = h_t
    cs = np.empty((T + 1, N, H), dtype=xg.dtype)
    tanh_cs = np.empty((T, N, H), dtype=xg.dtype)
    hs[0], cs[0] = h0, c0
    recurrent = np.empty((N, G), dtype=xg.dtype)
    candidate = np.empty((N, H), dtype=xg.dtype)
    for t in range(T):
        z = xg[t]  # (N, 4H), becomes the activations in place
        np.matmul(hs[t], Wh, out=recurrent)
        z += recurrent
        sigmoid_(z[:, : 3 * H])  # i, f, o
        np.tanh(z[:, 3 * H :], out=z[:, 3 * H :])  # g
        i, f, o, g = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        np.multiply(f, cs[t], out=cs[t + 1])
        np.multiply(i, g, out=candidate)
        cs[t + 1] += candidate
        np.tanh(cs[t + 1], out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=hs[t + 1])
    cache = {"gates": xg, "hs": hs, "cs": cs, "tanh_cs": tanh_cs, "Wh": Wh}
    return hs[1:], cache


def lstm_layer_backward(dhs, dhT, dcT, cache):
    """Backpropagation through time for one layer.

    dhs: (T, N, H) gradient of the loss with respect to each output h_t (None for zeros);
    dhT, dcT: (N, H) gradients flowing into the final states from later windows
    (None for zeros). Returns dxg (T, N, 4H), dh0 (N, H), dc0 (N, H), dWh (H, 4H).
    """
    gates, hs, cs, tanh_cs, Wh = (cache[k] for k in ("gates", "hs", "cs", "tanh_cs", "Wh"))
    T, N, G = gates.shape
    H = G // 4
    dxg = np.empty_like(gates)
    dh = np.zeros((N, H), gates.dtype) if dhT is None else dhT.astype(gates.dtype, copy=True)
    dc = np.zeros((N, H), gates.dtype) if dcT is None else dcT.astype(gates.dtype, copy=True)
    tmp = np.empty((N, H), gates.dtype)
    for t in reversed(range(T)):
        if dhs is not None:
            dh += dhs[t]  # h_t feeds the layer above and the next step
        _gate_gradients(dh, dc, gates[t], cs[t], tanh_cs[t], dxg[t], tmp)
        np.matmul(dxg[t], Wh.T, out=dh)  # backprop through the recurrent product
    hs_prev = hs[:-1].reshape(T * N, H)
    dWh = hs_prev.T @ dxg.reshape(T * N, G)  # all steps' weight gradient in one product
    return dxg, dh, dc, dWh


def _gate_gradients(dh, dc, z, c_prev, tanh_c, dz, tmp):
    """One step of the backward pass through the gates, in place.

    dh: (N, H) gradient of h_t; dc: (N, H) gradient of c_t from step t+1, replaced
    by the gradient of c_{t-1}. z: (N, 4H) activations [i, f, o, g]; writes dz,
    the gradient of the pre-activations.
    """
    H = dh.shape[1]
    i, f, o, g = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
    di, df, do, dg = dz[:, :H], dz[:, H : 2 * H], dz[:, 2 * H : 3 * H], dz[:, 3 * H :]
    # h = o * tanh(c): gradient to o, and to c through tanh (tanh' = 1 - tanh^2)
    np.multiply(dh, tanh_c, out=do)
    np.multiply(dh, o, out=tmp)
    np.square(tanh_c, out=dg)
    np.subtract(1, dg, out=dg)
    tmp *= dg
    dc += tmp  # total gradient of c_t
    # c = f * c_prev + i * g
    np.multiply(dc, g, out=di)
    np.multiply(dc, c_prev, out=df)
    np.square(g, out=tmp)
    np.subtract(1, tmp, out=tmp)  # tanh' for g
    np.multiply(dc, i, out=dg)
    dg *= tmp
    dc *= f  # gradient of c_{t-1}
    # through the sigmoids of i, f, o at once: s' = s (1 - s)
    sig = z[:, : 3 * H]
    dsig = dz[:, : 3 * H]
    dsig *= sig
    dsig -= dsig * sig
