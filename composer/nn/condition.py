"""Layer 0's input: the token's row plus the rows of the conditioning fields, and their gradients.

Letters: T time steps, N batch, F fields, C conditioning rows, V vocabulary, G = 4H gates.

Conditioning is F categorical fields per step (position in the bar, metre, key,
chord, ...; the network never knows which): small ints, field f taking values
0 .. size_f - 1. Each field is a one-hot vector times its own block of rows of one
stacked table Wc0 (C, G), C = sum of the sizes, so it is realised as a lookup of
row offset_f + value, and layer 0's input gates are a sum of rows:

    xg[t, n] = Wx0[ids[t, n]] + b0 + sum_f Wc0[offset_f + cond[t, n, f]]

The sizes (`cond_sizes`: a sequence of ints, or a mapping of field names to ints
whose names then appear in error messages) are passed by the caller with every
call: the parameter dict stays a dict of weights that the optimiser updates, and
the training settings keep the sizes. Wc0 alone cannot tell them (only their sum).

Speed (measured, benchmarks/bench_lstm.py --only condition): passes over the
(T, N, G) gates are what conditioning costs, so the work follows the data, exactly:
- forward: a step sums at most three rows, each from a table of sums over the
  combinations present in the window: its slow fields' (metre, key, chord: a few
  per piece), its fast fields' (position in the bar, beat: functions of each
  other) and its token's (merged with the fast fields' when the pairs are few),
  a chunk of steps at a time, in cache;
- backward: the gate gradients are summed per token and per fast combination by
  sorting the steps (`grouped_sums`), and per run of a lane's steps over which the
  slow fields hold (`lane_run_sums`), in one pass; those few sums then go to the
  rows that each combination names, by a small matrix product.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from composer.nn.lstm import workspace_array, workspace_rows

CHUNK_BYTES = 1 << 17  # gates summed this much at a time, so that it stays in cache
GATHER_BYTES = 1 << 20  # rows gathered this much at a time to be summed, in cache
ONE_HOT_BYTES = 1 << 19  # rows summed per group by a one-hot product up to this much (measured:
# 2x faster at T=100, N=1, H=128, as fast at 280 rows of 4H=512 and slower past them)
SLOW_RUN = 8  # steps: a field that keeps its value this long on average is "slow"
GROUP_SHARE = 4  # a group of fields is summed by combination if at most 1/4 as many as steps
FAST_SHARE = 4  # the token merged with the fast fields if at most 1/4 as many pairs as
# steps (measured: -8% of the forward pass at H=256, N=64, T=100; more pairs cost more)


@dataclass(frozen=True, eq=False)
class Fields:
    """The conditioning fields: labels for messages, sizes, first row of each in Wc0."""

    labels: tuple[str, ...]  # 'metre' for a mapping's names, 0, 1, ... for a sequence
    sizes: tuple[int, ...]
    offsets: np.ndarray  # (F,) intp
    limits: np.ndarray  # (F,) the sizes as an array, to compare values with

    @property
    def rows(self) -> int:
        return int(sum(self.sizes))  # C


def condition_fields(cond_sizes) -> Fields:
    """Fields from cond_sizes: a sequence of sizes, or a mapping {name: size}.

    Parsed once per distinct cond_sizes (sampling calls `step` for every token).
    """
    named = isinstance(cond_sizes, Mapping)
    key = tuple(cond_sizes.items()) if named else tuple(cond_sizes)
    try:
        return _parsed_fields(key, named)
    except TypeError:  # unhashable sizes: parse again uncached, for the clear error
        return _parsed_fields.__wrapped__(key, named)


@lru_cache(maxsize=64)
def _parsed_fields(key, named) -> Fields:
    labels = tuple(repr(str(k)) for k, _ in key) if named else tuple(map(str, range(len(key))))
    sizes = tuple(size for _, size in key) if named else key
    if not sizes:
        raise ValueError("cond_sizes is empty: a conditioned model needs at least one field")
    for label, size in zip(labels, sizes, strict=True):
        if isinstance(size, bool) or not isinstance(size, int | np.integer):
            raise TypeError(f"cond_sizes: field {label} has size {size!r}, not an integer")
        if size < 1:
            raise ValueError(f"cond_sizes: field {label} has size {size}, it must be at least 1")
    sizes = tuple(int(s) for s in sizes)
    return Fields(labels, sizes, np.cumsum((0,) + sizes[:-1]).astype(np.intp), np.array(sizes))


def condition_rows(Wc0, cond, cond_sizes, lead_shape):  # noqa: N803 (the weight's name)
    """Rows of Wc0 that each step looks up, (*lead_shape, F), or None without conditioning.

    Wc0: the model's table or None (an unconditioned model); cond: field values of
    shape (*lead_shape, F), ints; lead_shape: (T, N) for forward, (N,) for step.
    Raises TypeError/ValueError naming the problem, and the field for a bad value.
    """
    if Wc0 is None:
        if cond is not None:
            raise ValueError("cond was given, but the model has no conditioning table Wc0 "
                             "(it was made without cond_sizes)")
        return None
    if cond is None or cond_sizes is None:
        raise ValueError(f"the model is conditioned (Wc0 has {Wc0.shape[0]} rows): "
                         "pass cond and cond_sizes")
    fields = condition_fields(cond_sizes)
    if fields.rows != Wc0.shape[0]:
        raise ValueError(f"cond_sizes {fields.sizes} add up to {fields.rows} rows, "
                         f"but Wc0 has {Wc0.shape[0]}")
    return _checked(np.asarray(cond), fields, tuple(lead_shape)) + fields.offsets


def _checked(cond, fields: Fields, lead_shape):
    """cond as intp after checking its dtype, shape and every field's range."""
    if cond.dtype.kind not in "iu":
        raise TypeError(f"cond must hold integers, not {cond.dtype}")
    expected = lead_shape + (len(fields.sizes),)
    if cond.shape != expected:
        raise ValueError(f"cond has shape {cond.shape}, expected {expected} "
                         f"({'steps, lanes' if len(lead_shape) == 2 else 'lanes'}, fields "
                         f"{', '.join(fields.labels)})")
    if cond.size and (cond.min() < 0 or np.any(cond >= fields.limits)):  # (..., F) vs (F,)
        where = np.argwhere((cond < 0) | (cond >= fields.limits))[0]  # the first bad value
        place = ", ".join(f"{axis} {i}" for axis, i in zip(("step", "lane")[-len(lead_shape):],
                                                            where[:-1].tolist(), strict=True))
        f = where[-1]
        raise ValueError(f"cond field {fields.labels[f]} has value {cond[tuple(where)]} at "
                         f"{place}, outside its range 0..{fields.sizes[f] - 1}")
    return cond.astype(np.intp)


@dataclass
class Group:
    """Fields looked up and differentiated together: their distinct combinations.

    fields (F,) bool: the fields of the group; first (K,): a position (of the T * N
    steps) where each combination of their rows occurs, and index (T * N,): each
    step's combination; both None when there are too many combinations (more than a
    quarter of the steps), and the group is then taken field by field.
    """

    fields: np.ndarray
    first: np.ndarray | None
    index: np.ndarray | None


@dataclass
class Plan:
    """A window's conditioning rows and how they are looked up and differentiated.

    rows (T, N, F): the row of Wc0 each step looks up for each field; table_rows: C.
    slow: the fields that change every SLOW_RUN steps or more rarely on average
    (metre, key, chords: a few combinations per piece); fast: the others (position
    in the bar, beat, ...: functions of each other, so few combinations too).
    """

    rows: np.ndarray
    table_rows: int
    slow: Group
    fast: Group


def plan_rows(rows, table_rows) -> Plan:
    """The plan of (T, N, F) rows: which fields are slow or fast, and their combinations."""
    T, N, _ = rows.shape
    changes = np.count_nonzero(rows[1:] != rows[:-1], axis=(0, 1))  # (F,) along time
    slow = changes * SLOW_RUN <= T * N
    return Plan(rows, table_rows, _group(rows, slow, table_rows), _group(rows, ~slow, table_rows))


def _group(rows, fields, table_rows) -> Group:
    """The group of these fields (F,) of rows (T, N, F): combinations if at most T*N/4."""
    columns = rows.reshape(-1, rows.shape[-1])[:, fields]  # (T * N, F')
    if columns.shape[1] == 0:
        return Group(fields, None, None)
    first, index = _combinations(list(columns.T), table_rows)
    if len(first) * GROUP_SHARE > len(columns):
        return Group(fields, None, None)
    return Group(fields, first, index)


def input_gates(table, ids, Wc0=None, plan=None, workspace=None):  # noqa: N803
    """Layer 0's input gates (T, N, G): table[ids] plus the conditioning rows of each step.

    table: (V, G) token rows with the bias folded in; ids: (T, N) token ids.
    Without a plan this is one lookup, as before conditioning existed. With one,
    passes over the (T, N, G) gates are what costs, so a step sums few rows, each
    looked up in a table of sums over the combinations present in the window: one
    row for all its slow fields (a few combinations per piece), one for its fast
    fields (position in the bar, beat, ...: functions of each other, so few), and
    its token's, merged with the fast fields' when their pairs are few too. A group
    with too many combinations (random fields) is looked up field by field instead.
    The rows are summed a chunk of steps at a time, in cache.
    """
    T, N = ids.shape
    G = table.shape[1]
    _check_ids(ids, len(table))
    xg = workspace_array(workspace, "xg0", (T, N, G), table.dtype)
    if plan is None:  # one-hot @ Wx0 without the waste; (T, N, G)
        np.take(table, ids, axis=0, out=xg, mode="clip")  # "clip": checked, and unbuffered
        return xg
    token = (table, ids.reshape(-1))
    fast = _group_lookups(Wc0, plan, plan.fast, workspace, "cond.fast")
    if len(fast) == 1:  # the token and the fast fields' sum, if their pairs are few
        lookups = _combined([token, *fast], T * N // FAST_SHARE, workspace, "cond.token")
    else:
        lookups = [token, *fast]
    lookups += _group_lookups(Wc0, plan, plan.slow, workspace, "cond.slow")
    _sum_lookups(xg.reshape(T * N, G), lookups, workspace)
    return xg


def _group_lookups(Wc0, plan, group, workspace, name):  # noqa: N803
    """[(rows (K, G), index (T*N,))]: one lookup of the group's summed rows per
    combination, or one lookup per field when it has too many combinations."""
    rows = plan.rows.reshape(-1, plan.rows.shape[-1])[:, group.fields]  # (T * N, F')
    if group.first is None:
        return [(Wc0, column) for column in rows.T]
    summed = workspace_rows(workspace, name, len(group.first), Wc0.shape[1:], Wc0.dtype)
    _sum_lookups(summed, [(Wc0, column) for column in rows[group.first].T], workspace)
    return [(summed, group.index)]


def _combined(lookups, most, workspace, name):
    """[(summed (K, G), index (M,))]: one summed row per combination of the lookups'
    rows present, and each position's combination; the lookups themselves when
    there are more than `most` combinations (building them would cost more).

    lookups: [(table (R, G), index (M,))], the index in range of its table.
    """
    first, combination = _combinations([index for _, index in lookups],
                                       max(len(table) for table, _ in lookups))
    if len(first) > most:
        return lookups
    table = lookups[0][0]
    summed = workspace_rows(workspace, name, len(first), table.shape[1:], table.dtype)
    _sum_lookups(summed, [(rows, index[first]) for rows, index in lookups], workspace)
    return [(summed, combination)]


def _check_ids(ids, vocab_size):
    """ValueError unless every token id is in 0..V-1 (the lookups below do not check)."""
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise ValueError(f"token id {bad} is outside the vocabulary 0..{vocab_size - 1}")


def _sum_lookups(out, lookups, workspace):
    """out (M, G) = the sum over lookups of rows[index], a chunk of steps at a time.

    np.take's mode="clip" (the indices are in range by construction) writes straight
    into out: its default mode, "raise", buffers it, and took 3x as long (measured).
    """
    chunk = max(1, CHUNK_BYTES // out[0].nbytes)  # rows of out at a time, kept in cache
    part = workspace_rows(workspace, "cond.part", min(chunk, len(out)), out.shape[1:], out.dtype)
    (first_rows, first_index), *others = lookups
    for start in range(0, len(out), chunk):
        x, stop = out[start : start + chunk], start + chunk
        first_rows.take(first_index[start:stop], axis=0, out=x, mode="clip")
        for rows, index in others:  # the method: np.take's wrapper costs a call each time
            rows.take(index[start:stop], axis=0, out=part[: len(x)], mode="clip")
            np.add(x, part[: len(x)], out=x)


def _combinations(columns, radix):
    """Distinct combinations of M-long int columns, each in [0, radix).

    Returns first (K,), the position where each combination first occurs, and
    index (M,), each position's combination. A mixed-radix key numbers them,
    renumbered in order before a column would overflow int64.
    """
    key, span = np.zeros(len(columns[0]), np.int64), 1
    for column in columns:
        if span * radix >= 1 << 62:
            _, key = np.unique(key, return_inverse=True)
            span = int(key.max()) + 1
        key = key * radix + column
        span *= radix
    _, first, index = np.unique(key, return_index=True, return_inverse=True)
    return first, index


def input_gradients(dxg, ids, vocab_size, plan=None, workspace=None):
    """Gradients of the looked-up rows: dWx0 (V, G), db0 (G,) and dWc0 (C, G) or None.

    dxg: (T, N, G) gradient of the input gates. A looked-up row enters the gates of
    its step with weight 1 (xg = one-hot @ table), so each row's gradient is the sum
    of dxg over the steps that looked it up, and db0 is the sum over all steps. The
    steps are summed per token, and per combination of each group of fields
    (`grouped_sums`), whose few sums then go to the rows the combination names.
    """
    T, N, G = dxg.shape
    dxg2 = dxg.reshape(T * N, G)
    dWx0 = grouped_sums(ids.reshape(-1), vocab_size, dxg2, workspace)
    if plan is None:  # the token's rows and the bias, as before conditioning existed
        return dWx0, dxg2.sum(axis=0), None
    dWc0 = np.zeros((plan.table_rows, G), dxg.dtype)
    rows = plan.rows.reshape(T * N, -1)
    if plan.slow.first is not None:  # runs of steps in a lane (a bar, a piece)
        sums, last = lane_run_sums(dxg, plan.slow.index.reshape(T, N))  # (R, G), (R,)
        dWc0 += _present_rows_product(rows[last][:, plan.slow.fields], plan.table_rows, sums)
        db0 = sums.sum(axis=0)  # every step is in one run
    else:
        db0 = dxg2.sum(axis=0)
        if plan.slow.fields.any():  # too many combinations: the steps themselves
            dWc0 += _present_rows_product(rows[:, plan.slow.fields], plan.table_rows, dxg2)
    if plan.fast.first is not None:  # few combinations, of steps all over the window
        sums = grouped_sums(plan.fast.index, len(plan.fast.first), dxg2, workspace)  # (K, G)
        dWc0 += _present_rows_product(rows[plan.fast.first][:, plan.fast.fields],
                                      plan.table_rows, sums)
    elif plan.fast.fields.any():  # too many combinations: the steps themselves
        dWc0 += _present_rows_product(rows[:, plan.fast.fields], plan.table_rows, dxg2)
    return dWx0, db0, dWc0


def grouped_sums(keys, groups, values, workspace=None):
    """(groups, G): for each key 0..groups-1, the sum of the rows of values (M, G) at the
    positions where keys (M,) holds it.

    Sorted by key, a group's rows are gathered a chunk at a time into a buffer that
    stays in cache, and summed by one call: for the 50 tokens of a melody at T=100,
    N=64, H=256 this took 2.2 ms where the one-hot matrix product took 7.2 ms,
    gathering all rows first 2.8 ms and np.add.reduceat 46 ms (measured). Up to
    ONE_HOT_BYTES of values (T=100, N=1), a one-hot product of the keys present is 2x
    faster than a gather and a sum for each of them.
    """
    keys = np.asarray(keys).reshape(-1)
    if values.nbytes <= ONE_HOT_BYTES:  # few steps: one small product beats a call per group
        return _present_rows_product(keys[:, None], groups, values)
    counts = np.bincount(keys, minlength=groups)
    order = np.argsort(keys, kind="stable")
    chunk = max(1, GATHER_BYTES // values[0].nbytes)  # rows gathered at a time
    buffer = workspace_rows(workspace, "grouped", min(chunk, len(keys)), values.shape[1:],
                            values.dtype)
    sums = np.zeros((groups, values.shape[1]), values.dtype)
    ends = np.cumsum(counts).tolist()
    for key in np.flatnonzero(counts).tolist():
        for start in range(ends[key] - counts[key], ends[key], chunk):
            part = buffer[: min(chunk, ends[key] - start)]
            values.take(order[start : start + len(part)], axis=0, out=part, mode="clip")
            sums[key] += part.sum(axis=0)
    return sums


def lane_run_sums(values, index):
    """Sums of values (T, N, G) over each lane's runs of steps with the same index (T, N):
    (R, G), and the position t * N + n of each run's last step (R,).

    One pass in time order adds each step to its lane's running sum, which is handed
    over and reset where a run ends (a few lanes a step: slow fields change every few
    steps at most); 2x faster than summing each run's strided rows on its own, and
    than sorting the steps by run, at T=100, N=64, H=256 (measured). Up to
    ONE_HOT_BYTES of values (N=1), one one-hot product of each step's run: 0.45 ms less
    at T=100, H=128.
    """
    T, N, G = values.shape
    ends = np.ones((T, N), bool)  # a run ends at the last step and where the index changes
    ends[:-1] = index[1:] != index[:-1]
    step, lane = np.nonzero(ends)  # runs in the order of their ends
    if values.nbytes <= ONE_HOT_BYTES:  # few steps (N=1): one product, not 4 calls a step
        return _one_hot_product([_run_of_each_step(ends)], len(step),
                                values.reshape(T * N, G)), step * N + lane
    bounds = np.searchsorted(step, np.arange(T + 1)).tolist()  # runs ending at t: a slice
    running = np.zeros((N, G), values.dtype)
    sums = np.empty((len(step), G), values.dtype)
    for t in range(T):
        running += values[t]
        lanes = lane[bounds[t] : bounds[t + 1]]
        sums[bounds[t] : bounds[t + 1]] = running[lanes]
        running[lanes] = 0
    return sums, step * N + lane


def _run_of_each_step(ends):
    """(T * N,) the run of each position, runs numbered in the order of their ends
    (ends (T, N): where a lane's run ends): in its lane, the first run to end at or after it."""
    numbered = np.full(ends.shape, ends.size)
    numbered[ends] = np.arange(np.count_nonzero(ends))
    return np.minimum.accumulate(numbered[::-1], axis=0)[::-1].reshape(-1)


def _present_rows_product(rows, table_rows, values):
    """(table_rows, G): each row's summed values, for rows (M, F) naming F fields' rows
    of each of the M rows of values (M, G); only rows present get a row of the product."""
    present = np.zeros(table_rows, bool)  # (C,)
    present[rows] = True
    compact = np.cumsum(present) - 1  # Wc0 row -> its row in the product
    summed = _one_hot_product([compact[rows[:, f]] for f in range(rows.shape[1])],
                              int(present.sum()), values)
    out = np.zeros((table_rows, values.shape[1]), values.dtype)
    out[present] = summed
    return out


def _one_hot_product(indices, rows, values):
    """Sum each row of values (M, G) into the rows it names: (rows, G).

    indices: arrays of M row numbers each, whose sets of rows never overlap (one per
    field); written as multi-hot(indices).T @ values: for 100 rows at T=100, N=64,
    H=256 the matrix product took 13 ms, np.add.at's scatter 271 ms (measured).
    Up to ONE_HOT_BYTES of values the product is taken in float64: it costs nothing
    there, and a row whose steps nearly cancel then sums to the same float32 however
    the steps are split (among MPI ranks, whose BLAS blocks differ), where a float32
    product's rounding, which Adam scales up to a full step, moved such rows by 2e-5.
    """
    columns = np.arange(values.shape[0])
    exact = values.nbytes <= ONE_HOT_BYTES
    kind = np.float64 if exact else values.dtype
    multi_hot_t = np.zeros((rows, values.shape[0]), kind)  # (rows, M)
    for index in indices:
        multi_hot_t[index.reshape(-1), columns] = 1
    return (multi_hot_t @ values.astype(kind, copy=False)).astype(values.dtype, copy=False)
