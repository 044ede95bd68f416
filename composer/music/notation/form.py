"""Repeats found in the bars themselves: a tune played out, folded back into `|: :|`.

`fold(bars)` takes the bars of a piece as comparable values (their notes, chords and marks)
and finds, from the left, a run of bars that the run just after it repeats: written once
between repeat signs. When the second run equals the first except in its last one or two
bars, those become first and second endings. Runs of MAX_PART_BARS bars and shorter are
tried, the longest first (a part of 8 bars is found before two phrases of 4), down to
MIN_REPEAT_BARS bars, or MIN_ENDING_BARS for a run with endings. A run never starts on the
first bar when that bar is a pickup (shorter than the next), so the pickup stays in front.

`hints` (optional): bar indices where parts start (from part markers, as
`composer sample --form` writes them); a run is only tried from such a bar when any are
given, so the written parts follow the sampled form. Nothing depends on them.

The result is checked by playing it out with composer.music.abc.repeats.play_order, the
rules every reader of the written file follows: folds that would not play back the same
bars are dropped.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from composer.music.abc.repeats import play_order

MAX_PART_BARS = 16  # the longest run tried as a repeated part
MIN_REPEAT_BARS = 2  # a repeat holds at least this many bars
MIN_ENDING_BARS = 4  # a repeat with endings covers at least this many bars (endings too)


@dataclass(frozen=True)
class Repeat:
    """Bars [start, start + length) are written once and played twice; with endings, the
    last `ending` of them are the first ending, and the second ending follows them."""

    start: int  # index of the first bar of the run, in the played bars
    length: int  # bars in the run as played the first time (endings included)
    ending: int = 0  # bars in each ending (0: a plain repeat)

    @property
    def played(self) -> int:
        """Played bars the repeat stands for."""
        return 2 * self.length


def fold(bars: Sequence[Hashable], hints: Sequence[int] = (),
         pickup: bool = False) -> list[Repeat]:
    """The repeats to write, in order (see the module docstring)."""
    found, i = [], 1 if pickup else 0
    starts = set(hints)
    while i < len(bars):
        repeat = _repeat_at(bars, i) if not starts or i in starts else None
        if repeat is None:
            i += 1
            continue
        found.append(repeat)
        i += repeat.played - repeat.ending
    return found if plays_back(found, len(bars)) else []


def _repeat_at(bars: Sequence[Hashable], i: int) -> Repeat | None:
    for length in range(min(MAX_PART_BARS, (len(bars) - i) // 2), MIN_REPEAT_BARS - 1, -1):
        first, second = bars[i:i + length], bars[i + length:i + 2 * length]
        if first == second:
            return Repeat(i, length)
        if length < MIN_ENDING_BARS:
            continue
        for ending in (1, 2):
            if first[:-ending] == second[:-ending] and first[-ending:] != second[-ending:]:
                return Repeat(i, length, ending)
    return None


def written_order(repeats: list[Repeat], count: int) -> list[tuple[int, dict]]:
    """(played bar index, marks) of each written bar; marks: start_repeat, end_repeat,
    ending (1 or 2) and ending_bars (its length) on the first bar of an ending."""
    written, i = [], 0
    for repeat in repeats:
        written += [(k, {}) for k in range(i, repeat.start)]
        body = list(range(repeat.start, repeat.start + repeat.length))
        marks = [{} for _ in body]
        marks[0]["start_repeat"] = True
        marks[-1]["end_repeat"] = True
        if repeat.ending:
            marks[-repeat.ending].update(ending=1, ending_bars=repeat.ending)
            second = repeat.start + 2 * repeat.length - repeat.ending
            body += list(range(second, second + repeat.ending))
            marks += [{"ending": 2, "ending_bars": repeat.ending} if k == 0 else {}
                      for k in range(repeat.ending)]
        written += list(zip(body, marks, strict=True))
        i = repeat.start + repeat.played
    written += [(k, {}) for k in range(i, count)]
    return written


def plays_back(repeats: list[Repeat], count: int) -> bool:
    """Whether the written bars, played by the ABC rules, give the played bars 0..count-1
    (up to equal bars: a repeat plays its first run again in place of the second)."""
    written = written_order(repeats, count)
    endings, open_ending = {}, False
    for k, (_, marks) in enumerate(written):
        if marks.get("ending"):
            open_ending = marks["ending"]
        if open_ending:
            endings[k] = {open_ending}
            if marks.get("end_repeat") or open_ending == 2:
                open_ending = False
    order = play_order([m.get("start_repeat", False) for _, m in written],
                       [m.get("end_repeat", False) for _, m in written],
                       [False] * len(written), endings)
    if order is None:
        return False
    played = [written[k][0] for k in order]
    expected = list(range(count))
    for repeat in repeats:  # the second run is played from the first's bars
        for k in range(repeat.length - repeat.ending):
            expected[repeat.start + repeat.length + k] = repeat.start + k
    return played == expected
