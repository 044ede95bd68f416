"""The fused LSTM layer that training uses: all four gates in one matrix.

Letters: T time steps, N batch, H hidden units, D input features.
Layout is time-major and batch-major, (T, N, ...), so that every per-step array
is contiguous and every all-steps product is one matrix product with no copies.

The four gates sit side by side in the last axis, in the order [o, i, f, g]:
the output, input and forget gates (sigmoid) first, so one slice holds every
sigmoid, then the candidate cell value g (tanh); i, f and g, the gates whose
gradients are all proportional to the cell gradient, are neighbours too.
The input projection of every time step (`xg`, with the bias) is computed by
the caller in one product before the loop.

Per step:  z = xg[t] + h[t-1] @ Wh            (N, 4H)
           o, i, f = sigmoid(z[:3H]), g = tanh(z[3H:])
           c[t] = f * c[t-1] + i * g
           h[t] = o * tanh(c[t])

Speed notes (measured, see benchmarks/bench_lstm.py): at small batches the cost
is the number of NumPy calls per step, at large ones the passes over memory.
So sigmoid is computed as (1 + tanh(z / 2)) / 2 with the halving folded into the
weights, which makes one tanh call cover all four gates; the backward pass
computes the gates' derivative factors for a chunk of steps at once, so its
per-step loop is six NumPy calls and one matrix product; and buffers can
be reused between calls (`Workspace`) to avoid faulting in fresh pages.
"""

from __future__ import annotations

import numpy as np

CHUNK_BYTES = 1 << 20  # the backward pass prepares derivative factors this much at a time


class Workspace:
    """Arrays reused from one call to the next when their shape is unchanged.

    Arrays handed out are overwritten by the next call that asks for the same
    name: use one Workspace per training loop, where each step's forward and
    backward pass finish before the next step starts.
    """

    def __init__(self):
        self._arrays = {}

    def empty(self, name, shape, dtype):
        array = self._arrays.get(name)
        if array is None or array.shape != tuple(shape) or array.dtype != dtype:
            array = self._arrays[name] = np.empty(shape, dtype)
        return array

    def rows(self, name, count, row_shape, dtype):
        """The first `count` rows of an array that only grows: for sizes that vary a little."""
        array = self._arrays.get(name)
        if (array is None or len(array) < count or array.shape[1:] != tuple(row_shape)
                or array.dtype != dtype):
            array = self._arrays[name] = np.empty((count, *row_shape), dtype)
        return array[:count]


def workspace_array(workspace, name, shape, dtype):
    """A new array, or the workspace's array of that name."""
    return np.empty(shape, dtype) if workspace is None else workspace.empty(name, shape, dtype)


def workspace_rows(workspace, name, count, row_shape, dtype):
    """A new (count, *row_shape) array, or the first count rows of the workspace's one."""
    if workspace is None:
        return np.empty((count, *row_shape), dtype)
    return workspace.rows(name, count, row_shape, dtype)


def sigmoid_(x):
    """In-place logistic sigmoid via tanh: sigmoid(x) = (1 + tanh(x / 2)) / 2.

    One tanh pass is both faster than exp + reciprocal and never overflows.
    """
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def half_sigmoid_columns(W):
    """W with the o, i, f columns halved: then tanh of the product is tanh(z / 2) there."""
    H = W.shape[-1] // 4
    halved = W.copy()
    halved[..., : 3 * H] *= 0.5
    return halved


def lstm_layer_forward(xg, h0, c0, Wh, workspace=None, name="layer"):
    """One LSTM layer over T steps.

    xg: (T, N, 4H) input projection x @ Wx + b of every step; it is overwritten
        with the gate activations, which the backward pass needs.
    h0, c0: (N, H) initial states. Wh: (H, 4H) recurrent weights.
    Returns hs (T, N, H) and cache; the final states are hs[-1] and cache["cs"][-1].
    """
    T, N, G = xg.shape
    H = G // 4
    hs = workspace_array(workspace, name + ".hs", (T + 1, N, H), xg.dtype)  # hs[t + 1] = h_t
    cs = workspace_array(workspace, name + ".cs", (T + 1, N, H), xg.dtype)
    tanh_cs = workspace_array(workspace, name + ".tanh_cs", (T, N, H), xg.dtype)
    hs[0], cs[0] = h0, c0
    Wh_half = half_sigmoid_columns(Wh)  # so one tanh gives tanh(z / 2) for o, i, f
    recurrent = np.empty((N, G), dtype=xg.dtype)
    candidate = np.empty((N, H), dtype=xg.dtype)
    # per-gate views made once, and explicit out= calls: at small batches the cost
    # is per NumPy call, and in-place operators (z += r) cost 3x a ufunc call with out=
    sigs = _gate_views(xg)[0]
    chunk = _chunk_steps(xg)
    steps = zip(xg, *_gate_views(xg)[1:], hs[:-1], hs[1:], cs[:-1], cs[1:], tanh_cs,
                strict=True)
    for t, (z, o, i, f, g, h_prev, h, c_prev, c, tanh_c) in enumerate(steps):
        if t % chunk == 0:  # halve the sigmoid gates' inputs a chunk of steps at a time
            np.multiply(sigs[t : t + chunk], 0.5, out=sigs[t : t + chunk])
        np.matmul(h_prev, Wh_half, out=recurrent)
        np.add(z, recurrent, out=z)  # z becomes the activations in place
        np.tanh(z, out=z)  # tanh(z / 2) for o, i, f; tanh(z) for g
        sig = sigs[t]
        np.multiply(sig, 0.5, out=sig)
        np.add(sig, 0.5, out=sig)  # sigmoid = (1 + tanh(z / 2)) / 2
        np.multiply(f, c_prev, out=c)
        np.multiply(i, g, out=candidate)
        np.add(c, candidate, out=c)  # c = f * c_prev + i * g
        np.tanh(c, out=tanh_c)
        np.multiply(o, tanh_c, out=h)  # h = o * tanh(c)
    cache = {"gates": xg, "hs": hs, "cs": cs, "tanh_cs": tanh_cs, "Wh": Wh,
             "workspace": workspace, "name": name}
    return hs[1:], cache


def lstm_layer_backward(dhs, dhT, dcT, cache):
    """Backpropagation through time for one layer.

    dhs: (T, N, H) gradient of the loss with respect to each output h_t (None for zeros);
    dhT, dcT: (N, H) gradients flowing into the final states from later windows
    (None for zeros). Returns dxg (T, N, 4H), dh0 (N, H), dc0 (N, H), dWh (H, 4H).
    """
    gates, hs, cs, Wh = cache["gates"], cache["hs"], cache["cs"], cache["Wh"]
    T, N, G = gates.shape
    H = G // 4
    dtype = gates.dtype
    dxg = workspace_array(cache["workspace"], cache["name"] + ".dxg", gates.shape, dtype)
    dh = np.zeros((N, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    dc = np.zeros((N, H), dtype) if dcT is None else dcT.astype(dtype, copy=True)
    # (4H, H): OpenBLAS multiplies a contiguous copy faster at large batches (-20% at
    # N=64) but the transposed view faster at tiny ones (-10% at N=1)
    Wh_t = Wh.T if N < 16 else np.ascontiguousarray(Wh.T)
    tmp = np.empty((N, H), dtype)
    chunk = _chunk_steps(gates)
    factors = np.empty((min(chunk, T), N, G), dtype)  # dz = factors * [dh, dc, dc, dc]
    dc_from_h = np.empty((min(chunk, T), N, H), dtype)  # d c_t / d h_t = o * tanh'(c_t)
    factor_o, factor_ifg = factors[..., :H], factors[..., H:].reshape(-1, N, 3, H)
    dz_o, dz_ifg = dxg[..., :H], dxg[..., H:].reshape(T, N, 3, H)
    forgets = _gate_views(gates)[3]
    dc_wide = dc[:, None, :]  # (N, 1, H): dc broadcast over i, f and g
    for stop in range(T, 0, -chunk):
        start = max(0, stop - chunk)
        _derivative_factors(gates[start:stop], cs[start:stop], cache["tanh_cs"][start:stop],
                            factors, dc_from_h)
        for t in reversed(range(start, stop)):
            k = t - start
            if dhs is not None:
                np.add(dh, dhs[t], out=dh)  # h_t feeds the layer above and the next step
            np.multiply(dh, dc_from_h[k], out=tmp)
            np.add(dc, tmp, out=dc)  # gradient of c_t: from c_{t+1} and via h_t = o tanh(c_t)
            np.multiply(dh, factor_o[k], out=dz_o[t])
            np.multiply(factor_ifg[k], dc_wide, out=dz_ifg[t])  # i, f, g: dc times a factor
            np.multiply(dc, forgets[t], out=dc)  # c_{t-1} reaches c_t through f
            np.matmul(dxg[t], Wh_t, out=dh)  # backprop through the recurrent product
    hs_prev = hs[:-1].reshape(T * N, H)
    dWh = hs_prev.T @ dxg.reshape(T * N, G)  # all steps' weight gradient in one product
    return dxg, dh, dc, dWh


def _chunk_steps(gates):
    """Steps whose gates (and a copy) fit in CHUNK_BYTES: work done a chunk at a time."""
    return max(1, CHUNK_BYTES // (gates[0].nbytes * 2))


def _gate_views(gates):
    """Views of (T, N, 4H) gates: the sigmoid block (T, N, 3H), then o, i, f, g (T, N, H)."""
    H = gates.shape[-1] // 4
    return (gates[..., : 3 * H],) + tuple(gates[..., k * H : (k + 1) * H] for k in range(4))


def _derivative_factors(gates, c_prev, tanh_cs, factors, dc_from_h):
    """For the K steps of one chunk, fill the factors that turn dh and dc into dz.

    gates: (K, N, 4H) activations [o, i, f, g]; c_prev, tanh_cs: (K, N, H).
    factors (>= K, N, 4H) gets [tanh(c) o', g i', c_prev f', i g'] and dc_from_h
    (>= K, N, H) gets o tanh'(c), with sigmoid' = s (1 - s) and tanh' = 1 - t^2:
        do = dh * tanh(c) * o'       di = dc * g * i'
        df = dc * c_prev * f'        dg = dc * i * g'
    """
    K, H = len(gates), tanh_cs.shape[-1]
    out, dc_from_h = factors[:K], dc_from_h[:K]
    o, i, f, g = (gates[..., k * H : (k + 1) * H] for k in range(4))
    np.subtract(1, gates[..., : 3 * H], out=out[..., : 3 * H])
    out[..., : 3 * H] *= gates[..., : 3 * H]  # sigmoid' of o, i, f
    out[..., :H] *= tanh_cs
    out[..., H : 2 * H] *= g
    out[..., 2 * H : 3 * H] *= c_prev
    np.multiply(g, g, out=out[..., 3 * H :])
    np.subtract(1, out[..., 3 * H :], out=out[..., 3 * H :])  # tanh' of g
    out[..., 3 * H :] *= i
    np.multiply(tanh_cs, tanh_cs, out=dc_from_h)
    np.subtract(1, dc_from_h, out=dc_from_h)
    dc_from_h *= o
