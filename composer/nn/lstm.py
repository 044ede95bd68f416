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
At batch 1 (one sequence: T=100, H=128) a step's product takes about 4 us and
each elementwise call 0.3-0.5 us, so the loops avoid everything else a call can
cost: the per-step views are made once and kept by the Workspace with its arrays
(1 us a step otherwise), products go through np.dot (np.matmul costs 1 us more),
outputs are passed positionally and constants as 0-d arrays (a Python float
operand doubles a call's cost).
"""

from __future__ import annotations

import numpy as np

CHUNK_BYTES = 1 << 20  # the backward pass prepares derivative factors this much at a time


class Workspace:
    """Arrays reused from one call to the next when their shape is unchanged.

    Arrays handed out are overwritten by the next call that asks for the same
    name: use one Workspace per training loop, where each step's forward and
    backward pass finish before the next step starts. It also keeps the loops'
    per-step views of its arrays, made again when the arrays change (`views`).
    """

    def __init__(self):
        self._arrays = {}
        self._views = {}

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

    def views(self, name, arrays, make):
        """make()'s result, made again unless `arrays` are the objects of the last call.

        For per-step views of workspace arrays: making them costs 1 us a step at N=1.
        """
        kept = self._views.get(name)
        if kept is None or len(kept[0]) != len(arrays) or any(
                a is not b for a, b in zip(kept[0], arrays, strict=True)):
            kept = self._views[name] = (arrays, make())
        return kept[1]


def step_views(workspace, name, arrays, make):
    """make(), or the workspace's result of it while the arrays it views are the same."""
    return make() if workspace is None else workspace.views(name, arrays, make)


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


def half_sigmoid_columns(W, out=None):
    """W with the o, i, f columns halved: then tanh of the product is tanh(z / 2) there."""
    H = W.shape[-1] // 4
    scale = np.ones(4 * H, W.dtype)
    scale[: 3 * H] = 0.5
    return np.multiply(W, scale, out)


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
    # so that one tanh gives tanh(z / 2) for o, i, f
    Wh_half = half_sigmoid_columns(Wh, workspace_array(workspace, name + ".Wh_half", Wh.shape,
                                                       xg.dtype))
    recurrent = np.empty((N, G), dtype=xg.dtype)
    candidate = np.empty((N, H), dtype=xg.dtype)
    half = np.asarray(0.5, xg.dtype)  # a 0-d array: a Python float costs 2x per call
    # per-step views made once, np.dot, explicit outputs (see the speed notes above):
    # at small batches the cost is per NumPy call; in-place operators (z += r) cost
    # 3x a ufunc call with out
    sigs = _gate_views(xg)[0]
    chunk = _chunk_steps(xg)
    steps = step_views(workspace, name + ".forward", (xg, hs, cs, tanh_cs), lambda: list(zip(
        xg, *_gate_views(xg), hs[:-1], hs[1:], cs[:-1], cs[1:], tanh_cs, strict=True)))
    for t, (z, sig, o, i, f, g, h_prev, h, c_prev, c, tanh_c) in enumerate(steps):
        if t % chunk == 0:  # halve the sigmoid gates' inputs a chunk of steps at a time
            np.multiply(sigs[t : t + chunk], half, sigs[t : t + chunk])
        np.dot(h_prev, Wh_half, recurrent)
        np.add(z, recurrent, z)  # z becomes the activations in place
        np.tanh(z, z)  # tanh(z / 2) for o, i, f; tanh(z) for g
        np.multiply(sig, half, sig)
        np.add(sig, half, sig)  # sigmoid = (1 + tanh(z / 2)) / 2
        np.multiply(f, c_prev, c)
        np.multiply(i, g, candidate)
        np.add(c, candidate, c)  # c = f * c_prev + i * g
        np.tanh(c, tanh_c)
        np.multiply(o, tanh_c, h)  # h = o * tanh(c)
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
    workspace, name = cache["workspace"], cache["name"]
    T, N, G = gates.shape
    H = G // 4
    dtype = gates.dtype
    dxg = workspace_array(workspace, name + ".dxg", gates.shape, dtype)
    Wh = Wh.astype(dtype, copy=False)  # np.dot below takes one dtype
    dh = np.zeros((N, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    dc = np.zeros((N, H), dtype) if dcT is None else dcT.astype(dtype, copy=True)
    # (4H, H): OpenBLAS multiplies a contiguous copy faster at large batches (-20% at
    # N=64) but the transposed view faster at tiny ones (-10% at N=1), where the copy
    # would cost as much as the 100 products
    Wh_t = Wh.T if N < 16 else np.ascontiguousarray(Wh.T)
    tmp = np.empty((N, H), dtype)
    chunk = _chunk_steps(gates)
    # dz = factors * [dh, dc, dc, dc]; dc_from_h = d c_t / d h_t = o * tanh'(c_t)
    factors = workspace_array(workspace, name + ".factors", (min(chunk, T), N, G), dtype)
    dc_from_h = workspace_array(workspace, name + ".dc_from_h", (min(chunk, T), N, H), dtype)
    chunks = step_views(workspace, name + ".backward", (gates, dxg, dhs, factors, dc_from_h),
                        lambda: _backward_steps(gates, dxg, dhs, factors, dc_from_h, chunk))
    dc_wide = dc[:, None, :]  # (N, 1, H): dc broadcast over i, f and g
    for start, stop, steps in chunks:
        _derivative_factors(gates[start:stop], cs[start:stop], cache["tanh_cs"][start:stop],
                            factors, dc_from_h)
        for dh_out, dc_h, factor_o, dz_o, factor_ifg, dz_ifg, forget, dz in steps:
            if dh_out is not None:
                np.add(dh, dh_out, dh)  # h_t feeds the layer above and the next step
            np.multiply(dh, dc_h, tmp)
            np.add(dc, tmp, dc)  # gradient of c_t: from c_{t+1} and via h_t = o tanh(c_t)
            np.multiply(dh, factor_o, dz_o)
            np.multiply(factor_ifg, dc_wide, dz_ifg)  # i, f, g: dc times a factor
            np.multiply(dc, forget, dc)  # c_{t-1} reaches c_t through f
            np.dot(dz, Wh_t, dh)  # backprop through the recurrent product
    hs_prev = hs[:-1].reshape(T * N, H)
    dWh = hs_prev.T @ dxg.reshape(T * N, G)  # all steps' weight gradient in one product
    return dxg, dh, dc, dWh


def _backward_steps(gates, dxg, dhs, factors, dc_from_h, chunk):
    """[(start, stop, steps)] for the chunks of steps from the last, each step (latest
    first) as the views the backward loop reads and writes at that step."""
    T, N, G = gates.shape
    H = G // 4
    factor_o, factor_ifg = factors[..., :H], factors[..., H:].reshape(-1, N, 3, H)
    dz_o, dz_ifg = dxg[..., :H], dxg[..., H:].reshape(T, N, 3, H)
    forgets = _gate_views(gates)[3]
    chunks = []
    for stop in range(T, 0, -chunk):
        start = max(0, stop - chunk)
        chunks.append((start, stop, [
            (None if dhs is None else dhs[t], dc_from_h[t - start], factor_o[t - start],
             dz_o[t], factor_ifg[t - start], dz_ifg[t], forgets[t], dxg[t])
            for t in reversed(range(start, stop))]))
    return chunks


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
