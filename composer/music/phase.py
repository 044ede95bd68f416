"""Bar phase: where bar 1 beat 1 falls in a piece, estimated from its notes.

Many tunes open with a pickup (anacrusis), so a file's own grid (bar lines from time 0) is
often wrong: on the bundled corpus it is right for 23% of the tunes. The phase is the length
of the pickup in beats; composer.music.meter.MeterMap draws the bar lines from it.

**Method.** On a sixteenth-note grid: the distinct onsets of the notes before the first
change of time signature (at most MAX_ONSETS of them), each with its inter-onset interval
(to the next onset; the last one its own length) in one of 8 classes (IOI_EDGES). Every
candidate phase p, a sixteenth within the first bar, gets the log-likelihood

    score(p) = sum_i onset[(o_i - p) mod bar, class_i]        where the onsets fall in the bar
             + pickup[p]                                      how long pickups are
             + last[(o_last - p) mod bar] + end[(e - p) mod bar]   where the tune ends

(o_i: onsets, e: where the last note ends, all in sixteenths). The tables are log
probabilities counted with add-one smoothing on tunes whose true bar lines are known
(fit_profiles; tools/fit_phase.py fits them on the bundled corpus, whose ABC sources have the
bar lines, and writes composer.music.phase_profiles). The best score wins (ties: the
smaller phase). A metre without a table gets the hand-made metrical-weight score
sum_i weight[(o_i - p) mod bar] * ioi_i, where the weight of a position is the number of
metrical levels (bar, half bar, beat, halves or thirds of the beat, ...) that start on it.
tools/fit_phase.py prints the accuracy of both against the true pickups.

**Bar lines that shift.** A tune whose repeat replays its pickup, or whose second part
opens with a pickup of another length, shifts its bar lines halfway through: one phase
cannot get both parts right (18% of the bundled tunes). `estimate_bar_lines` lets the
phase change between two onsets at a cost of SWITCH_COST nats: the best path of phases
(Viterbi, the same onset scores) starts with the pickup and ends with the ending terms,
and each change is written as the same time signature again at the new phase's first
bar line after the last onset of the old one (MeterMap starts a bar at every time
signature, so the bar before is cut short). On data/ it marks 88.2% of the true bar
lines where one phase marks 84.9% (85.3% and 82.2% with tables fitted on the other half
of the tunes; tools/fit_phase.py), and its first phase is right for 88.1% of the tunes
(83.5%).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from composer.music.encoding import round_half_up
from composer.music.meter import MeterMap, beat_beats, is_compound
from composer.music.notes import Note, TimeSignature

GRID = 4  # the estimator's steps per quarter note: sixteenths
IOI_EDGES = (1, 2, 3, 4, 6, 8, 12)  # sixteenths: the IOI classes 0 (<1), 1, 2, 3, 4-5, ..., 12+
IOI_CLASSES = len(IOI_EDGES) + 1
SWITCH_COST = 8.0  # nats for the phase to change between two onsets (chosen on O'Neill's)
MAX_ONSETS = 4096  # onsets looked at per piece (bounds the work on hostile files)


def meter_name(meter: tuple[int, int]) -> str:
    return f"{meter[0]}/{meter[1]}"


def bar_sixteenths(meter: tuple[int, int]) -> int | None:
    """Sixteenths in a bar of `meter`, or None when that is not a whole number (3/32)."""
    length = meter[0] * 16 / meter[1]
    return int(length) if length == int(length) else None


def onset_classes(notes: Sequence[Note], until: float = np.inf):
    """(onsets (N,), IOI classes (N,), end) in sixteenths of the notes starting before `until`."""
    starts = np.array([n.start for n in notes if n.start < until], dtype=np.float64)
    ends = np.array([n.end for n in notes if n.start < until], dtype=np.float64)
    if starts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    onsets = np.unique(round_half_up(starts * GRID))[:MAX_ONSETS]
    end = int(round_half_up(np.array([ends.max()]) * GRID)[0])
    ioi = np.diff(onsets, append=max(end, int(onsets[-1]) + 1))
    return onsets, np.searchsorted(IOI_EDGES, ioi, side="right"), end


def metrical_weights(meter: tuple[int, int]) -> np.ndarray:
    """(bar,) float: how many metrical levels start at each sixteenth of the bar."""
    bar = bar_sixteenths(meter)
    beat = max(1, round(beat_beats(meter) * GRID))
    periods = {bar, beat}
    if (bar // beat) % 2 == 0 and bar // beat > 2:
        periods.add(bar // 2)  # half bar: 4/4, 12/8
    sub = beat // 3 if is_compound(meter) else beat // 2
    while sub >= 1:
        periods.add(sub)
        sub //= 2
    position = np.arange(bar)
    return sum((position % q == 0).astype(np.float64) for q in periods)


def phase_scores(onsets, classes, end: int, meter: tuple[int, int], profile: dict | None,
                 ending: bool = True) -> np.ndarray:
    """(bar,) the score of every candidate phase (module docstring), in sixteenths.

    ending: whether the tune ends in this metre (else the last and end terms are left out).
    """
    bar = bar_sixteenths(meter)
    candidates = np.arange(bar)[:, None]  # (bar, 1)
    position = (onsets[None, :] - candidates) % bar  # (bar, N)
    if profile is None:
        ioi = np.diff(onsets, append=max(end, int(onsets[-1]) + 1))
        return (metrical_weights(meter)[position] * ioi).sum(axis=1)
    tables = _arrays(profile)
    scores = tables["onsets"][position, classes].sum(axis=1) + tables["pickup"]
    if ending:
        scores += _ending_scores(tables, onsets[-1], end, bar)
    return scores


def _arrays(profile: dict) -> dict[str, np.ndarray]:
    """A metre's tables (fit_profiles) as arrays."""
    return {k: np.asarray(v) for k, v in profile.items() if k != "tunes"}


def _ending_scores(tables: dict, last_onset: int, end: int, bar: int) -> np.ndarray:
    """(bar,) the last and end terms of every candidate phase (module docstring)."""
    phases = np.arange(bar)
    return tables["last"][(last_onset - phases) % bar] + tables["end"][(end - phases) % bar]


def estimate_phase(notes: Sequence[Note], changes: Sequence[TimeSignature],
                   profiles: dict | None = None) -> float:
    """The bar phase in beats (0 <= phase < one bar of the first time signature).

    changes: the piece's time signatures, the first at beat 0 (meter.time_signatures gives
    them). profiles: tables as fit_profiles makes them (default: the bundled corpus's).
    """
    if profiles is None:
        from composer.music.phase_profiles import PROFILES as profiles
    meter = (changes[0].numerator, changes[0].denominator)
    until = changes[1].beat if len(changes) > 1 else np.inf
    onsets, classes, end = onset_classes(notes, until)
    if onsets.size == 0 or bar_sixteenths(meter) is None:
        return 0.0
    profile = profiles.get(meter_name(meter))
    scores = phase_scores(onsets, classes, end, meter, profile, ending=len(changes) == 1)
    return int(np.argmax(scores)) / GRID


def estimate_bar_lines(notes: Sequence[Note], changes: Sequence[TimeSignature],
                       profiles: dict | None = None,
                       switch_cost: float = SWITCH_COST) -> MeterMap:
    """The piece's MeterMap: its phase, and the time signature written again where its bar
    lines shift (module docstring). A piece with changes of time signature, or a metre
    without a table, gets one phase (estimate_phase)."""
    if profiles is None:
        from composer.music.phase_profiles import PROFILES as profiles
    changes = tuple(changes)
    meter = (changes[0].numerator, changes[0].denominator)
    profile = profiles.get(meter_name(meter))
    if len(changes) > 1 or profile is None or bar_sixteenths(meter) is None:
        return MeterMap(changes, estimate_phase(notes, changes, profiles))
    onsets, classes, end = onset_classes(notes)
    if not onsets.size:
        return MeterMap(changes, 0.0)  # as estimate_phase: nothing to place
    path = _best_phases(onsets, classes, end, bar_sixteenths(meter), profile, switch_cost)
    return MeterMap(_shifts(changes[0], onsets, path), path[0] / GRID)


def _best_phases(onsets, classes, end, bar, profile, switch_cost) -> list[int]:
    """The phase (in sixteenths) at each onset on the best path (Viterbi): a path keeps
    its phase, or takes the best path so far's at a cost, whichever scores more."""
    tables = _arrays(profile)
    emit = tables["onsets"][(onsets[:, None] - np.arange(bar)) % bar, classes[:, None]]  # (N, bar)
    scores = np.empty_like(emit)  # (N, bar): the best path to onset i in phase p
    scores[0] = tables["pickup"] + emit[0]
    for i in range(1, len(onsets)):  # three calls an onset: 0.3 ms for a tune
        np.maximum(scores[i - 1], scores[i - 1].max() - switch_cost, out=scores[i])
        scores[i] += emit[i]
    tops, leaders = scores.max(axis=1), scores.argmax(axis=1)  # (N,) each
    path = [int(np.argmax(scores[-1] + _ending_scores(tables, onsets[-1], end, bar)))]
    for i in range(len(onsets) - 1, 0, -1):  # back: did the path switch into onset i?
        switched = scores[i - 1, path[-1]] < tops[i - 1] - switch_cost
        path.append(int(leaders[i - 1]) if switched else path[-1])
    return path[::-1]


def _shifts(first: TimeSignature, onsets, path) -> tuple[TimeSignature, ...]:
    """The time signature at beat 0, and again at each change of phase on the path: at
    the new phase's first bar line after the onset before the change."""
    bar = bar_sixteenths((first.numerator, first.denominator))
    changes = [first]
    for i in np.flatnonzero(np.diff(path)).tolist():  # the phase changes after onset i
        line = int(onsets[i]) + 1
        line += (path[i + 1] - line) % bar
        if line > changes[-1].beat * GRID:
            changes.append(first._replace(beat=line / GRID))
    return tuple(changes)


def fit_profiles(examples: Iterable[tuple[Sequence[Note], tuple[int, int], float]],
                 min_tunes: int = 1) -> dict:
    """Tables for estimate_phase from (notes, metre, true phase in beats) examples.

    Notes are those of the metre (before any change). Metres with fewer than `min_tunes`
    examples get no table. The result is JSON-able: {"6/8": {"tunes": n, "onsets": [[...]],
    "pickup": [...], "last": [...], "end": [...]}}, log probabilities.
    """
    counts: dict[str, dict] = {}
    for notes, meter, phase in examples:
        bar = bar_sixteenths(meter)
        onsets, classes, end = onset_classes(notes)
        if bar is None or onsets.size == 0:
            continue
        table = counts.setdefault(meter_name(meter), _ones(bar))
        p = int(round(phase * GRID)) % bar
        np.add.at(table["onsets"], ((onsets - p) % bar, classes), 1)
        table["pickup"][p] += 1
        table["last"][(onsets[-1] - p) % bar] += 1
        table["end"][(end - p) % bar] += 1
        table["tunes"] += 1
    return {name: _log_probabilities(table) for name, table in counts.items()
            if table["tunes"] >= min_tunes}


def _ones(bar: int) -> dict:
    """Add-one pseudo-counts for one metre's tables."""
    return {"tunes": 0, "onsets": np.ones((bar, IOI_CLASSES)), "pickup": np.ones(bar),
            "last": np.ones(bar), "end": np.ones(bar)}


def _log_probabilities(table: dict) -> dict:
    def log(counts: np.ndarray):
        return np.round(np.log(counts / counts.sum()), 3).tolist()

    return {"tunes": table["tunes"], "onsets": log(table["onsets"]),
            **{k: log(table[k]) for k in ("pickup", "last", "end")}}
