"""The course's recurrent networks, step by step, in plain NumPy.

These are the functions of the classic "Building your Recurrent Neural Network -
Step by Step" exercise, with the course's exact signatures, shapes, caches and
gradient dictionaries, so learners can read composer beside the course. They are
the readable reference that the fast fused layer (`composer.nn.lstm`) is tested
against; training uses the fused layer. Import it as `from composer.nn import rnn`.

Shapes (the course's letters):
    n_x  input size         xt: (n_x, m)         x: (n_x, m, T_x)
    n_a  hidden size        a_prev, c_prev: (n_a, m)
    n_y  output size        yt_pred: (n_y, m)
    m    batch size         biases: (n, 1)
Every gate reads the concatenation `[a_prev; xt]` of shape (n_a + n_x, m).
"""

import numpy as np


def softmax(x):
    """Softmax over axis 0 (the classes), for x of shape (n_y, m)."""
    e_x = np.exp(x - np.max(x, axis=0, keepdims=True))  # shift for stability
    return e_x / e_x.sum(axis=0, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# --- Basic RNN ---------------------------------------------------------------


def rnn_cell_forward(xt, a_prev, parameters):
    """One step of a basic RNN cell.

    parameters: Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), ba (n_a, 1), by (n_y, 1).
    Returns a_next (n_a, m), yt_pred (n_y, m), cache = (a_next, a_prev, xt, parameters).
    """
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    ba, by = parameters["ba"], parameters["by"]
    a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)
    yt_pred = softmax(Wya @ a_next + by)
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache


def rnn_forward(x, a0, parameters):
    """A basic RNN over T_x steps.

    x: (n_x, m, T_x), a0: (n_a, m). Returns a (n_a, m, T_x), y_pred (n_y, m, T_x),
    and caches = (list of T_x cell caches, x).
    """
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    a_next = a0
    for t in range(T_x):
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next  # the classic slip is to store a_prev here
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    return a, y_pred, (caches, x)


def rnn_cell_backward(da_next, cache):
    """Backward through one RNN cell.

    da_next: (n_a, m), the gradient of the loss with respect to a_next.
    Returns {dxt (n_x, m), da_prev (n_a, m), dWax, dWaa, dba}.
    """
    (a_next, a_prev, xt, parameters) = cache
    Wax, Waa = parameters["Wax"], parameters["Waa"]
    dtanh = (1 - a_next**2) * da_next  # backprop through tanh: tanh' = 1 - tanh^2
    dxt = Wax.T @ dtanh
    dWax = dtanh @ xt.T
    da_prev = Waa.T @ dtanh
    dWaa = dtanh @ a_prev.T
    dba = np.sum(dtanh, axis=1, keepdims=True)  # the bias is shared by the batch
    return {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}


def rnn_backward(da, caches):
    """Backpropagation through time for the basic RNN.

    da: (n_a, m, T_x), the upstream gradient of every hidden state.
    Returns {dx (n_x, m, T_x), da0 (n_a, m), dWax, dWaa, dba}.
    """
    (caches, x) = caches
    (a1, a0, x1, parameters) = caches[0]
    n_a, m, T_x = da.shape
    n_x, m = x1.shape
    dx = np.zeros((n_x, m, T_x))
    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dba = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        # a_t feeds both the loss at t and the next step: the two gradients add
        gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
        da_prevt = gradients["da_prev"]
        dx[:, :, t] = gradients["dxt"]
        dWax += gradients["dWax"]
        dWaa += gradients["dWaa"]
        dba += gradients["dba"]
    da0 = da_prevt
    return {"dx": dx, "da0": da0, "dWax": dWax, "dWaa": dWaa, "dba": dba}


# --- LSTM --------------------------------------------------------------------


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    """One step of an LSTM cell.

    parameters: Wf, Wi, Wc, Wo (n_a, n_a + n_x); bf, bi, bc, bo (n_a, 1);
    Wy (n_y, n_a); by (n_y, 1). Returns a_next, c_next (n_a, m), yt_pred (n_y, m)
    and cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters).
    """
    Wf, bf = parameters["Wf"], parameters["bf"]
    Wi, bi = parameters["Wi"], parameters["bi"]
    Wc, bc = parameters["Wc"], parameters["bc"]
    Wo, bo = parameters["Wo"], parameters["bo"]
    Wy, by = parameters["Wy"], parameters["by"]
    concat = np.concatenate((a_prev, xt), axis=0)  # (n_a + n_x, m)
    ft = sigmoid(Wf @ concat + bf)  # forget gate
    it = sigmoid(Wi @ concat + bi)  # update (input) gate
    cct = np.tanh(Wc @ concat + bc)  # candidate value c~
    c_next = ft * c_prev + it * cct
    ot = sigmoid(Wo @ concat + bo)  # output gate
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(Wy @ a_next + by)
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_forward(x, a0, parameters):
    """An LSTM over T_x steps; the first cell state is zero, as in the course.

    x: (n_x, m, T_x), a0: (n_a, m). Returns a (n_a, m, T_x), y (n_y, m, T_x),
    c (n_a, m, T_x) and caches = (list of T_x cell caches, x).
    """
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    a_next = a0
    c_next = np.zeros((n_a, m))
    for t in range(T_x):
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t] = a_next
        c[:, :, t] = c_next
        y[:, :, t] = yt
        caches.append(cache)
    return a, y, c, (caches, x)


def lstm_cell_backward(da_next, dc_next, cache):
    """Backward through one LSTM cell.

    da_next, dc_next: (n_a, m). Returns {dxt (n_x, m), da_prev (n_a, m),
    dc_prev (n_a, m), dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo}.
    """
    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
    n_a, m = a_next.shape
    tanh_c = np.tanh(c_next)
    # the cell state gets gradient from c_next directly and through a_next = ot * tanh(c_next)
    dc = dc_next + da_next * ot * (1 - tanh_c**2)
    # gate gradients before their nonlinearities (sigmoid' = s (1 - s), tanh' = 1 - t^2)
    dot = da_next * tanh_c * ot * (1 - ot)
    dcct = dc * it * (1 - cct**2)
    dit = dc * cct * it * (1 - it)
    dft = dc * c_prev * ft * (1 - ft)
    concat = np.concatenate((a_prev, xt), axis=0)  # (n_a + n_x, m)
    gradients = {
        "dWf": dft @ concat.T,
        "dbf": np.sum(dft, axis=1, keepdims=True),
        "dWi": dit @ concat.T,
        "dbi": np.sum(dit, axis=1, keepdims=True),
        "dWc": dcct @ concat.T,
        "dbc": np.sum(dcct, axis=1, keepdims=True),
        "dWo": dot @ concat.T,
        "dbo": np.sum(dot, axis=1, keepdims=True),
    }
    # every gate read [a_prev; xt]: route each gate's gradient back through its weights
    dconcat = sum(
        parameters[w].T @ d for w, d in (("Wf", dft), ("Wi", dit), ("Wc", dcct), ("Wo", dot))
    )
    gradients["da_prev"] = dconcat[:n_a]
    gradients["dc_prev"] = dc * ft  # (n_a, m)
    gradients["dxt"] = dconcat[n_a:]
    return gradients


def lstm_backward(da, caches):
    """Backpropagation through time for the LSTM.

    da: (n_a, m, T_x), the upstream gradient of every hidden state; T_x is taken
    from da. Returns {dx (n_x, m, T_x), da0 (n_a, m), dWf, dbf, dWi, dbi, dWc,
    dbc, dWo, dbo}.
    """
    (caches, x) = caches
    (a1, c1, a0, c0, f1, i1, cc1, o1, x1, parameters) = caches[0]
    n_a, m, T_x = da.shape
    n_x, m = x1.shape
    dx = np.zeros((n_x, m, T_x))
    sums = {name: np.zeros_like(parameters[name[1:]]) for name in _LSTM_PARAM_GRADS}
    da_prevt = np.zeros((n_a, m))
    dc_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        # exact BPTT: the state gradients flow from step t+1 into step t
        gradients = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])
        da_prevt = gradients["da_prev"]
        dc_prevt = gradients["dc_prev"]
        dx[:, :, t] = gradients["dxt"]
        for name in _LSTM_PARAM_GRADS:
            sums[name] += gradients[name]
    return {"dx": dx, "da0": da_prevt, **sums}


_LSTM_PARAM_GRADS = ("dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")
