"""Edits of conditioning features (composer.music.conditioning): what to hide, and how
they move with the music.

- `hide_chords`: every chord column set to no chord (N.C.), as chord dropout trains a
  model to play without chords and chord guidance asks it how it would play without them.
- `hide_leaks`: what was computed from the notes a model predicts put out of sight (the
  chords, the end of the piece): what validation and `composer evaluate` score with.
- `transpose_features`: the features of the same music moved by some semitones, as
  training's transposition moves the tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from composer.music.conditioning import FAR, NO_QUALITY, NO_ROOT, check_parts, fields
from composer.music.encoding import Encoding
from composer.music.lookback import HISTORY, HISTORY_TOKENS


def hide_chords(feats: np.ndarray, parts: Iterable[str] | str) -> np.ndarray:
    """The features (..., F) with every chord column set to no chord (N.C.), as chord
    dropout trains a model to play without chords; a new array."""
    names = [f.name for f in fields(parts)]
    hidden = np.array(feats, copy=True)
    if "chord_root" in names:
        hidden[..., names.index("chord_root")] = NO_ROOT
        hidden[..., names.index("chord_quality")] = NO_QUALITY
        first = names.index("chord_tone_0")
        hidden[..., first:first + 12] = 0  # no chord holds no tones
    return hidden


def hide_leaks(feats: np.ndarray, parts: Iterable[str] | str) -> np.ndarray:
    """The features (..., F) without what was computed from the notes a model predicts: the
    chords hidden (hide_chords) and the end out of sight (bars_left FAR, as before any end
    is known). What validation and evaluate score with, to compare with models that do not
    hear these; a new array."""
    hidden = hide_chords(feats, parts)
    names = [f.name for f in fields(parts)]
    if "bars_left" in names:
        hidden[..., names.index("bars_left")] = FAR
    return hidden


def transpose_features(feats: np.ndarray, parts: Iterable[str] | str, shift,
                       encoding: Encoding | None = None) -> np.ndarray:
    """The features (..., F) of the same music moved by `shift` semitones (an int, or an
    array that broadcasts against feats[..., 0], e.g. (N, 1, 1) per lane for (N, T, F)):
    key tonic and chord root move mod 12, no chord stays no chord, the chord-tone flags
    rotate with the root, the history's tokens move as `encoding` moves token ids (it is
    needed then); the metre and form columns are unchanged. A new array."""
    names = [f.name for f in fields(parts)]
    if feats.ndim < 2 or feats.shape[-1] != len(names):
        raise ValueError(f"features of parts {check_parts(parts)} need {len(names)} columns, "
                         f"got shape {feats.shape}")
    shift = np.asarray(shift, dtype=np.int64)
    step = shift[..., 0] if shift.ndim else shift  # broadcasts against one column
    moved = feats.copy()
    if "key_tonic" in names:
        column = names.index("key_tonic")
        moved[..., column] = (feats[..., column].astype(np.int64) + step) % 12
    if "chord_root" in names:
        column = names.index("chord_root")
        roots = feats[..., column].astype(np.int64)
        moved[..., column] = np.where(roots == NO_ROOT, NO_ROOT, (roots + step) % 12)
    if "chord_tone_0" in names:
        first = names.index("chord_tone_0")  # pitch class pc moves to (pc + shift) % 12
        tones = feats[..., first:first + 12]
        source = (np.arange(12) - shift) % 12  # the new column pc holds old (pc - shift)
        moved[..., first:first + 12] = np.take_along_axis(
            tones, np.broadcast_to(source, tones.shape[:-1] + (12,)), axis=-1)
    tokens = [names.index(name) for name, kind, _ in HISTORY if kind == "back" and name in names]
    if tokens:  # the history's token columns
        block = moved[..., tokens]
        _move_tokens(block, np.broadcast_to(step, feats.shape[:-1]), encoding)
        moved[..., tokens] = block
    return moved


def _move_tokens(block: np.ndarray, shifts: np.ndarray, encoding: Encoding | None) -> None:
    """Move the token ids of block (..., B) in place by shifts (...), NOTHING staying."""
    if encoding is None:
        raise ValueError("moving the history fields needs the encoding of their tokens")
    vocab = np.arange(encoding.vocab_size)
    for value in np.unique(shifts).tolist():
        if value:
            table = np.arange(HISTORY_TOKENS)  # NOTHING (and ids past the vocabulary) stay
            table[: len(vocab)] = encoding.transpose_ids(vocab, value)
            rows = shifts == value
            block[rows] = table[block[rows]]
