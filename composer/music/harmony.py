"""Chords in time: a progression laid over a metre, and chords inferred from a melody.

Chord **spans** are (beat, Chord) pairs sorted by beat, each chord sounding until the next
one (as Piece.chords, whose symbols `symbol_spans` reads).

**Progressions** (progression_spans): the chords of composer.music.chords.parse_progression
one after the other from the first downbeat, each lasting its number of bars (of the time
signature where it starts), the progression repeated until the end; before the first
downbeat (a pickup) the progression's last chord sounds, as a pickup leads back in.

**Inference** (infer_chords): template matching per window, a bar or half a bar (bars with
an even number of beats split in two; others stay whole), in the spirit of Pardo and
Birmingham (2002):
1. Weights: every note adds to its pitch class the beats it sounds within the window, times
   an accent: 2 if it starts on the window's first beat, 1.5 if it starts on another beat,
   1 otherwise (off the beat, or held over from before the window).
2. Candidates: the major and minor triads and the dominant 7th chords on all 12 roots.
   Each scores  (weight on its tones) - (weight off its tones)
              + ROOT_BONUS * (weight on its root)
              + KEY_BONUS * total, if its tones lie in the key's scale (a minor key also
                allows its raised 7th, for the dominant), when a key is given
              - SEVENTH_COST * total for a 7th chord (it must explain clearly more).
3. The best score wins; ties go to the window's previous chord, then to the order above.
   A window without notes keeps the previous chord (N.C. at the very start).
Consecutive windows with the same chord merge into one span.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np

from composer.music.chords import NO_CHORD, Chord, read_symbol
from composer.music.keys import Key, estimate_key
from composer.music.meter import MeterMap, bar_beats, beat_beats
from composer.music.notes import ChordSymbol, Note

INFERRED_QUALITIES = ("major", "minor", "dominant7")  # what infer_chords chooses from
# Chosen on data/ (tools/measure_corpus.py chords): with them 94% of the inferred chords are
# in the key and 10% are 7th chords (KEY_BONUS = SEVENTH_COST = 0.1 gave 82% and 29%).
ROOT_BONUS = 0.25  # share of the root's weight added to a chord's score
KEY_BONUS = 0.2  # share of the window's weight added to a chord in the key
SEVENTH_COST = 0.3  # share of the window's weight a 7th chord must overcome
STRONG, ON_BEAT, OFF_BEAT = 2.0, 1.5, 1.0  # accents of a note by where it starts
MAX_SPANS = 65_536  # progression_spans stops after this many chords

Spans = list[tuple[float, Chord]]


def symbol_spans(chords: Iterable[ChordSymbol]) -> Spans:
    """Spans of a piece's chord symbols (unreadable symbols are skipped)."""
    spans = [(c.beat, read_symbol(c.symbol)) for c in chords]
    return [(beat, chord) for beat, chord in spans if chord is not None]


def progression_spans(progression: Sequence[tuple[Chord, float]], meter_map: MeterMap,
                      end_beat: float) -> Spans:
    """Spans of a (chord, bars) progression repeated over beats 0..end_beat (module docstring)."""
    if not progression:
        return []
    spans: Spans = []
    if meter_map.phase > 0:
        spans.append((0.0, progression[-1][0]))
    beat, k = meter_map.phase, 0
    while beat < end_beat and len(spans) < MAX_SPANS:
        chord, bars = progression[k % len(progression)]
        spans.append((beat, chord))
        beat += bars * bar_beats(meter_map.meter_at(beat))
        k += 1
    return spans


def chord_at(spans: Spans, beats: np.ndarray) -> list[Chord]:
    """The chord sounding at each beat (N.C. before the first span)."""
    starts = np.array([beat for beat, _ in spans])
    index = np.searchsorted(starts, np.asarray(beats, dtype=float), side="right") - 1
    return [spans[i][1] if i >= 0 else NO_CHORD for i in index.tolist()]


# --- Inference -----------------------------------------------------------------------


def windows(meter_map: MeterMap, end_beat: float, per: str = "bar") -> np.ndarray:
    """(W, 2) start and end beats of each window: a bar, or half a bar where it has an even
    number of beats (per="half"); the pickup before the first downbeat is a window too."""
    if per not in ("bar", "half"):
        raise ValueError(f"per must be 'bar' or 'half', got {per!r}")
    edges = np.unique(np.concatenate([[0.0, end_beat], meter_map.downbeats(end_beat)]))
    found = []
    for start, stop in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        meter = meter_map.meter_at(start)
        half = bar_beats(meter) / 2
        even = round(bar_beats(meter) / beat_beats(meter)) % 2 == 0
        if per == "half" and even and stop - start > half + 1e-9:
            found += [(start, start + half), (start + half, stop)]
        else:
            found.append((start, stop))
    return np.array(found, dtype=np.float64).reshape(-1, 2)


def window_weights(notes: Sequence[Note], spans: np.ndarray, meter_map: MeterMap) -> np.ndarray:
    """(W, 12) accented beats per pitch class of the notes sounding in each window (W, 2)."""
    start = np.array([n.start for n in notes], dtype=np.float64)
    end = np.array([n.end for n in notes], dtype=np.float64)
    pitch_class = np.array([n.pitch % 12 for n in notes], dtype=np.int64)
    weights = np.zeros((len(spans), 12))
    for pc in np.unique(pitch_class).tolist():  # accent 1 for every beat a note sounds
        mine = pitch_class == pc
        area = _sounding_area(start[mine], end[mine], spans.ravel()).reshape(-1, 2)
        weights[:, pc] = area[:, 1] - area[:, 0]
    window = np.searchsorted(spans[:, 0], start, side="right") - 1  # where each note starts
    inside = (window >= 0) & (start < spans[np.maximum(window, 0), 1])
    window, first = window[inside], spans[window[inside], 0]
    offset = start[inside] - first
    window_beat = np.array([beat_beats(meter_map.meter_at(b)) for b in spans[:, 0].tolist()])
    beat = window_beat[window]  # the beat of the window each note starts in
    on_beat = np.abs(offset / beat - np.round(offset / beat)) < 1e-9
    extra = np.where(offset < 1e-9, STRONG - 1, np.where(on_beat, ON_BEAT - 1, 0.0))
    held = np.minimum(end[inside], spans[window, 1]) - start[inside]
    np.add.at(weights, (window, pitch_class[inside]), extra * held)
    return weights


def _sounding_area(start: np.ndarray, end: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each time in `at`: the integral from 0 of the number of notes sounding (beats)."""
    times = np.concatenate([start, end])
    change = np.concatenate([np.ones(start.size), -np.ones(end.size)])
    order = np.argsort(times, kind="stable")
    times, count = times[order], np.cumsum(change[order])  # notes sounding after each event
    area = np.concatenate([[0.0], np.cumsum(count[:-1] * np.diff(times))])  # at each event
    k = np.searchsorted(times, at, side="right") - 1
    inside = k >= 0
    found = np.zeros(at.size)
    found[inside] = area[k[inside]] + count[k[inside]] * (at[inside] - times[k[inside]])
    return found


@functools.lru_cache(maxsize=128)  # per key: training infers the chords of every piece
def _templates(key: Key | None) -> tuple[list[Chord], np.ndarray, np.ndarray]:
    """(chords (C,), their tones as a (C, 12) 0/1 matrix, (C,) bool: in the key); shared,
    not to be changed."""
    allowed = None
    if key is not None:
        allowed = set(key.pitch_classes)
        if key.mode == "minor":
            allowed.add((key.tonic + 11) % 12)  # the raised 7th of the dominant
    chords = [Chord(root, quality) for quality in INFERRED_QUALITIES for root in range(12)]
    tones = np.zeros((len(chords), 12))
    for row, chord in zip(tones, chords, strict=True):
        row[list(chord.pitch_classes)] = 1
    fits = np.array([allowed is not None and chord.pitch_classes <= allowed for chord in chords])
    return chords, tones, fits


def chord_scores(weights: np.ndarray, key: Key | None = None):
    """(chords (C,), scores (W, C)) of every inferable chord for (W, 12) window weights."""
    chords, tones, fits = _templates(key)
    total = weights.sum(axis=1, keepdims=True)  # (W, 1)
    roots = np.array([chord.root for chord in chords])
    scores = weights @ tones.T - weights @ (1 - tones).T + ROOT_BONUS * weights[:, roots]
    scores += KEY_BONUS * total * fits - SEVENTH_COST * total * (tones.sum(axis=1) > 3)
    return chords, scores


def _pick(chords: list[Chord], scores: np.ndarray, previous: Chord | None) -> Chord:
    """The best-scoring chord; ties: `previous`, then the first in `chords`."""
    best = np.flatnonzero(scores >= scores.max() - 1e-9)
    tied = [chords[i] for i in best.tolist()]
    return previous if previous in tied else tied[0]


def best_chord(weights: np.ndarray, key: Key | None = None, previous: Chord | None = None):
    """The chord whose template fits the (12,) weights best (module docstring, steps 2-3)."""
    chords, scores = chord_scores(np.asarray(weights, dtype=float)[None, :], key)
    return _pick(chords, scores[0], previous)


def infer_chords(notes: Sequence[Note], meter_map: MeterMap, key: Key | None = None,
                 per: str = "bar") -> Spans:
    """Chord spans inferred from the notes, one chord per bar or half bar (module docstring)."""
    end = max((n.end for n in notes), default=0.0)
    spans_in_beats = windows(meter_map, end, per)
    weights = window_weights(notes, spans_in_beats, meter_map)  # (W, 12)
    chords, scores = chord_scores(weights, key)  # (W, C)
    spans: Spans = []
    previous = NO_CHORD
    for (start, _), window, score in zip(spans_in_beats.tolist(), weights, scores, strict=True):
        chord = _pick(chords, score, previous) if window.sum() > 0 else previous
        if not spans or chord != spans[-1][1]:
            spans.append((start, chord))
        previous = chord
    return spans


def progression_key(progression: Sequence[tuple[Chord, float]]) -> Key | None:
    """The key a progression of (chord, bars) implies: Krumhansl-Schmuckler on its chords'
    tones, each weighted by the chord's bars, the roots and the last chord (the cadence)
    twice; C major for "Am F C G" or "Dm G7 C", A minor for "Am Dm E Am". None without a
    chord."""
    notes, beat = [], 0.0
    for k, (chord, bars) in enumerate(progression):
        weight = bars * (2 if k == len(progression) - 1 else 1)
        notes += [Note(beat, beat + weight * (2 if pc == chord.root else 1), 60 + pc)
                  for pc in sorted(chord.tones)]
        beat += weight
    return estimate_key(notes)
