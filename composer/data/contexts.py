"""Conditioning features for training and scoring: per-piece contexts in the token store.

When a folder is encoded (composer.data.tokens), each piece's metadata JSON gains
two encoding-dependent entries:

    "first_step"   the grid step of the piece where its tokens start (leading
                   silence is trimmed by the encodings)
    "phase"        the estimated bar phase (beats to the first downbeat)
    "keys"         its keys, [[beat, "D major"], ...] (composer.music.keys.piece_keys)
    "bar_lines"    only where the estimated bar lines shift mid-tune: its time signatures
                   with the same one written again at each shift, [[beat, 6, 8], ...]
                   (composer.music.phase.estimate_bar_lines)

With the time signatures and chord symbols piece_metadata already holds, they make the
piece's Context (`context_of`), at about 50 bytes a piece; empty lists and a list of
time signatures that only repeats the first are left out (restore_metadata's defaults).
Chords inferred per bar would have cost as much again as the tokens: they are inferred
from the piece's tokens when its features are first asked for
(composer.music.conditioning.token_context), and kept, packed, for every piece
(`InferredChords`: features leave an LRU cache, the chords do not).

`ConditionFeatures` turns them into the per-step field values a conditioned model
takes: for a whole piece (`piece_features`, (L, F) uint8: input t gets the features
of the step of token t + 1, composer.music.conditioning's alignment) and, as the
training windows' features hook, for a Batch ({"cond": (N, T, F)}), moved with
each lane's transposition. Chord dropout hides the chords (N.C.) of a whole
(piece, shift) sequence with a given probability, decided by a hash of the run's
seed, the epoch and the sequence, so that a model also learns to play without
chords and a resumed run hides the same ones.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from dataclasses import replace

import numpy as np

from composer.data.cache import unit_hash
from composer.data.shards import ParsedPiece, to_piece
from composer.data.store import TokenStore
from composer.data.windows import Batch
from composer.music.chords import Chord
from composer.music.conditioning import (
    Context,
    check_parts,
    fields,
    piece_context,
    sequence_features,
    token_context,
)
from composer.music.encoding import Encoding
from composer.music.feature_edits import hide_chords, hide_leaks, transpose_features
from composer.music.harmony import symbol_spans
from composer.music.keys import parse_key
from composer.music.meter import MeterMap, time_signatures
from composer.music.notes import Piece, TimeSignature, restore_metadata

CACHED_PIECES = 4096  # pieces whose features are kept between batches (least recently used go)


def meta_with_context(parsed: ParsedPiece, encoding: Encoding) -> str:
    """The piece's metadata JSON with its first step and its context (module docstring)."""
    meta = json.loads(parsed.meta)
    piece = to_piece(parsed)
    context = piece_context(piece, encoding.steps_per_quarter, infer=False)
    meta["first_step"] = int(encoding.first_step(parsed.cols))
    meta["phase"] = context.meter.phase
    meta["keys"] = [[beat, key.name] for beat, key in context.keys]
    if len(context.meter.changes) > len(time_signatures(piece)):
        meta["bar_lines"] = [[c.beat, c.numerator, c.denominator] for c in context.meter.changes]
    if meta.get("time_signatures") == [[0.0, *meta.get("time_signature", (4, 4))]]:
        del meta["time_signatures"]  # the same as time_signature alone
    compact = {name: value for name, value in meta.items() if value != []}  # empty lists:
    return json.dumps(compact, separators=(",", ":"))  # what restore_metadata assumes


def context_of(meta: dict, steps_per_quarter: int) -> tuple[Context, int]:
    """(context, first step) of a piece from its metadata (module docstring)."""
    header = restore_metadata(Piece(""), meta)
    chords = tuple(symbol_spans(header.chords))
    changes = (tuple(TimeSignature(float(b), int(n), int(d)) for b, n, d in meta["bar_lines"])
               if "bar_lines" in meta else time_signatures(header))
    context = Context(steps_per_quarter, MeterMap(changes, meta["phase"]),
                      tuple((float(beat), parse_key(name)) for beat, name in meta["keys"]),
                      chords, "file" if chords else "none")
    return context, int(meta["first_step"])


def meter_key_counts(store: TokenStore, rows) -> dict[str, int]:
    """{"6/8 G major": pieces} over the store rows: each piece's first metre and key."""
    found: Counter = Counter()
    for row in np.asarray(rows).tolist():
        meta = store.metadata(row)
        numerator, denominator = meta.get("time_signature", (4, 4))
        found[f"{numerator}/{denominator} {meta['keys'][0][1]}"] += 1
    return dict(found.most_common())


class ConditionFeatures:
    """Field values of the conditioning `parts` for the pieces of a store."""

    def __init__(self, store: TokenStore, encoding: Encoding, parts, *,
                 chord_dropout: float = 0.0, seed: int = 0, epoch: int = 0):
        self.store, self.encoding, self.parts = store, encoding, check_parts(parts)
        self.width = len(fields(self.parts))
        self.chord_dropout, self.seed, self.epoch = chord_dropout, seed, epoch
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._chords = InferredChords()  # every piece's, once: inference is the dear part

    def for_epoch(self, epoch: int) -> ConditionFeatures:
        """The same features, with chord dropout drawn for `epoch` (the cache is shared)."""
        other = ConditionFeatures(self.store, self.encoding, self.parts,
                                  chord_dropout=self.chord_dropout, seed=self.seed, epoch=epoch)
        other._cache, other._chords = self._cache, self._chords
        return other

    def piece_features(self, row: int) -> np.ndarray:
        """(L, F) uint8 features of store row `row`, untransposed, with its own chords."""
        cached = self._cache.get(row)
        if cached is not None:
            self._cache.move_to_end(row)
            return cached
        context, first_step = context_of(self.store.metadata(row),
                                         self.encoding.steps_per_quarter)
        ids = self.store.piece(row)
        if "chords" in self.parts:
            context = self._chords.context(row, context, self.encoding, ids, first_step)
        found = sequence_features(context, self.encoding, ids, first_step, self.parts)
        self._cache[row] = found
        if len(self._cache) > CACHED_PIECES:
            self._cache.popitem(last=False)
        return found

    def comparable_features(self, row: int) -> np.ndarray:
        """(L, F) features of store row `row` with its chords hidden and its end out of sight
        (hide_leaks), as validation scores a piece: its chords are never inferred (0.7-3 ms
        a piece)."""
        context, first_step = context_of(self.store.metadata(row),
                                         self.encoding.steps_per_quarter)
        found = sequence_features(context, self.encoding, self.store.piece(row), first_step,
                                  self.parts)
        return hide_leaks(found, self.parts)

    def __call__(self, batch: Batch) -> dict[str, np.ndarray]:
        """{"cond": (N, T, F) uint8}: each lane's window of its piece's features, moved by its
        shift; padding repeats the last real step, an idle lane is all zeros."""
        N, T = batch.mask.shape
        cond = np.zeros((N, T, self.width), dtype=np.uint8)
        busy = np.flatnonzero(batch.rows >= 0)
        for lane in busy.tolist():
            piece = self.piece_features(int(batch.rows[lane]))
            start = int(batch.positions[lane])
            cond[lane] = piece[np.minimum(np.arange(start, start + T), len(piece) - 1)]
        shifts = batch.shifts[busy]
        if shifts.any():
            cond[busy] = transpose_features(cond[busy], self.parts, shifts[:, None, None],
                                            self.encoding)
        hidden = [lane for lane in busy.tolist()
                  if self._drops_chords(int(batch.rows[lane]), int(batch.shifts[lane]))]
        if hidden:
            cond[hidden] = hide_chords(cond[hidden], self.parts)
        return {"cond": cond}

    def _drops_chords(self, row: int, shift: int) -> bool:
        if self.chord_dropout <= 0 or "chords" not in self.parts:
            return False
        return unit_hash(f"{self.seed}:{self.epoch}:{row}:{shift}") < self.chord_dropout


class InferredChords:
    """The chords inferred from each piece's tokens (token_context), kept for every piece
    of a store: a piece's features are cut again whenever it comes back after leaving the
    features cache (on a large corpus, at almost every (piece, shift) sequence), and
    inferring its chords took most of that (0.74 ms a tune of data/, 0.12 ms with its
    chords kept). A piece's chords are kept packed, a (beat, chord id) record per chord
    change: about 430 bytes a tune of data/ with the dict's entry, 43 MB for 100,000."""

    def __init__(self):
        self._packed: dict[int, np.ndarray] = {}
        self._ids: dict[Chord, int] = {}
        self._chords: list[Chord] = []

    def context(self, row: int, context: Context, encoding: Encoding, ids, first_step: int):
        """The context with the piece's inferred chords, when it has none of its own."""
        if context.chords or context.chord_source == "given":
            return context
        packed = self._packed.get(row)
        if packed is None:
            context = token_context(context, encoding, ids, first_step)
            self._packed[row] = self._pack(context.chords)
            return context
        if not len(packed):
            return context
        chords = tuple((float(beat), self._chords[k])
                       for beat, k in zip(packed["beat"].tolist(), packed["chord"].tolist(),
                                          strict=True))
        return replace(context, chords=chords, chord_source="inferred")

    def _pack(self, spans) -> np.ndarray:
        packed = np.empty(len(spans), dtype=[("beat", np.float64), ("chord", np.uint16)])
        for k, (beat, chord) in enumerate(spans):
            if chord not in self._ids:
                self._ids[chord] = len(self._chords)
                self._chords.append(chord)
            packed[k] = (beat, self._ids[chord])
        return packed
