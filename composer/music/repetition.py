"""Form as a listener hears it: bars that come back, parts played twice, the last note.

Definitions (composer.music.structure pools them over pieces and composer stats prints
them; the melody is the top line of stats.top_line, on a sixteenth-note grid):

- **bar content**: the melody's onsets in a bar, each as (sixteenth in the bar, pitch,
  length in sixteenths up to the bar line). Bars are those of the piece's MeterMap
  (numbered as meter.bar_numbers), from the first bar with an onset to the last.
- **bars with an onset** are those judged below; a bar without one (a note held through
  it, or silence) is an **empty bar**: the share of empty bars among all bars is what a
  degenerate repeat (the same held note bar after bar) would raise.
- **repeated bars**: bars whose content equals that of an earlier bar of the piece.
- **bars a part back**: bars whose content equals that of the bar PART_BARS (8) before it,
  among the bars with an onset that have a bar 8 before them (one with an onset or not).
- **distinct bars**: the number of different contents, as a share of bars with an onset.
- **self-similarity**: for each bar with an onset after the first, the highest share of its
  sixteenth steps that sound the same as the same step of an earlier bar (the same pitch
  struck, the same pitch held, or silence); the mean over those bars. 1 when every bar
  repeats an earlier one, lower the more the bars differ; near repeats count in part.
- **ends on the tonic**: the piece's last melody note's pitch class is the tonic of the key
  sounding where it starts (composer.music.keys.piece_keys).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from composer.music.lookback import bar_lines
from composer.music.meter import MeterMap
from composer.music.notes import Note

GRID = 4  # sixteenths a quarter note
PART_BARS = 8  # the bars of a part, for "bars a part back"
SILENT, HELD = -1, 1000  # step states: silence; a held pitch p is HELD + p


@dataclass
class BarCounts:
    """Raw repetition counts of one or more pieces."""

    bars: int = 0  # bars with an onset
    empty: int = 0  # bars without one, between the first and the last with one
    repeated: int = 0
    part_back_judged: int = 0
    part_back: int = 0
    distinct: int = 0
    similarity: float = 0.0  # summed over the judged bars
    similarity_bars: int = 0
    endings: int = 0  # pieces with a last note
    tonic_endings: int = 0

    def __add__(self, other: BarCounts) -> BarCounts:
        return BarCounts(*(a + b for a, b in zip(vars(self).values(), vars(other).values(),
                                                 strict=True)))


def bar_counts(line: list[Note], bars: MeterMap, tonic_at_end: int | None) -> BarCounts:
    """The counts of one piece's melody `line` in its `bars`; `tonic_at_end` the tonic's pitch
    class where its last note starts (None to leave endings out)."""
    if not line:
        return BarCounts()
    starts = np.array([round(n.start * GRID) for n in line], dtype=np.int64)
    ends = np.array([round(n.end * GRID) for n in line], dtype=np.int64)
    numbers = bars.bar_numbers(starts, GRID)
    position, length, _, _ = bars.positions(starts, GRID)
    contents: dict[int, tuple] = {}
    for k, (number, pos, bar) in enumerate(zip(numbers.tolist(), position.tolist(),
                                               length.tolist(), strict=True)):
        held = min(int(ends[k] - starts[k]), bar - pos)
        contents[number] = contents.get(number, ()) + ((pos, line[k].pitch, held),)
    first, last = min(contents), max(contents)
    grids = _step_grids(line, starts, ends, bars, first, last)
    counts = BarCounts(bars=len(contents), empty=(last - first + 1) - len(contents),
                       distinct=len(set(contents.values())))
    seen: set[tuple] = set()
    for number in sorted(contents):
        content = contents[number]
        counts.repeated += content in seen
        seen.add(content)
        if number - PART_BARS >= first:
            counts.part_back_judged += 1
            counts.part_back += contents.get(number - PART_BARS) == content
        if number > first:
            counts.similarity += _best_match(grids, number - first)
            counts.similarity_bars += 1
    if tonic_at_end is not None:
        counts.endings, counts.tonic_endings = 1, int(line[-1].pitch % 12 == tonic_at_end)
    return counts


def _step_grids(line, starts, ends, bars: MeterMap, first: int, last: int) -> list[np.ndarray]:
    """Per bar first..last, its sixteenth steps' states: SILENT, a pitch struck, HELD + pitch."""
    lines = bar_lines(bars, GRID, int(ends.max()))[first + 1 : last + 3]  # bar b: b + 1
    song = np.full(int(lines[-1] - lines[0]), SILENT, dtype=np.int64)
    for note, start, end in zip(line, starts.tolist(), ends.tolist(), strict=True):
        a, b = max(start - lines[0], 0), min(end - lines[0], len(song))
        song[a:b] = HELD + note.pitch
        if a < len(song):
            song[a] = note.pitch  # struck, even if it rounds to no length
    return [song[lines[k] - lines[0] : lines[k + 1] - lines[0]] for k in range(len(lines) - 1)]


def _best_match(grids: list[np.ndarray], k: int) -> float:
    """The highest share of bar k's steps equal to an earlier bar's (aligned from the bar
    line; a shorter bar matches only its length)."""
    bar = grids[k]
    best = 0.0
    for other in grids[:k]:
        n = min(len(bar), len(other))
        if len(bar):
            best = max(best, float(np.count_nonzero(bar[:n] == other[:n])) / len(bar))
    return best
