"""Written values: a bar's notes and rests (spans, in grid steps) as plain and dotted notes,
tied, with triplets where the music has them (the rules: composer.music.notation.score).

Steps here are those of composer.music.notation.score.GRID (24 a quarter note): a
thirty-second is 3 steps, a sixteenth 6, a triplet eighth 8, a triplet sixteenth 4.
"""

from __future__ import annotations

PLAIN = (144, 96, 72, 48, 36, 24, 18, 12, 9, 6, 3)  # dotted whole .. dotted 16th, 16th, 32nd
FINEST = 3  # a thirty-second: times off this grid and outside triplets are moved onto it
REGIONS = (48, 24, 12)  # triplets are looked for in half notes, quarters, then eighths


def cut_spans(spans: list[list], steps) -> list[list]:
    """Spans [start, end, pitch, tied] cut at `steps`; a note cut is tied to its rest."""
    out = []
    for a, b, pitch, tied in spans:
        cuts = sorted(s for s in set(steps) if a < s < b)
        for x, y in zip([a, *cuts], [*cuts, b], strict=True):
            out.append([x, y, pitch, tied if y == b else pitch is not None])
    return out


def triplet_regions(spans: list[list], origin: int, start: int, stop: int) -> list[tuple]:
    """(start, end) of the regions of the bar to write as triplets: half notes, quarter notes
    or eighths from `origin` whose inner times fall on sixths of them, some not on
    thirty-seconds, none on their middle (then each half is looked at)."""
    bounds = {a for a, _, _, _ in spans} | {b for _, b, _, _ in spans}
    found = []
    for size in REGIONS:
        first = origin + ((start - origin) // size) * size
        for a in range(first, stop, size):
            b = a + size
            if a < start or b > stop or any(x < b and a < y for x, y in found):
                continue
            inner = [t - a for t in bounds if a < t < b]
            if inner and all(t % (size // 6) == 0 for t in inner) and \
                    any(t % FINEST for t in inner) and _crosses_halves(size, inner):
                found.append((a, b))
    return sorted(found)


def _crosses_halves(size: int, inner: list[int]) -> bool:
    """A region is a triplet of its own only if no time falls on its middle (then its two
    halves are)."""
    return size == REGIONS[-1] or size // 2 not in inner


def snap(t: int, regions: list[tuple]) -> int:
    """`t` moved to a neighbouring thirty-second unless it lies in a triplet region: the
    nearer of the two that falls in the same sixteenth as `t` when rounded to sixteenths
    (as the melody encoding rounds), so the written notes keep their sixteenth grid."""
    if t % FINEST == 0 or any(a <= t <= b for a, b in regions):
        return t
    below, above = FINEST * (t // FINEST), FINEST * (t // FINEST + 1)
    same = [c for c in (below, above) if _sixteenth(c) == _sixteenth(t)]
    return min(same or (below, above), key=lambda c: (abs(c - t), c))


def _sixteenth(t: int) -> int:
    """The sixteenth `t` (steps) rounds to, halves up."""
    return (t + 2 * FINEST // 2) // (2 * FINEST)


def snapped(spans: list[list], regions: list[tuple]) -> list[list]:
    """Spans with the times off the thirty-second grid and outside triplets moved to the
    nearest thirty-second (spans left empty are dropped)."""
    out = []
    for a, b, pitch, tied in spans:
        a, b = snap(a, regions), snap(b, regions)
        if b > a:
            out.append([a, b, pitch, tied])
        elif out and pitch is None:
            continue
    return out


def written_values(length: int, position: int, beat: int, tuplet: bool) -> list[int]:
    """The written values (steps) a note of `length` steps at `position` (steps from the
    bar's origin) is written as, tied: to the next beat first when it starts off the beat
    and goes past it; in a triplet, values of 3/2 its sounding length."""
    if tuplet:
        return _greedy(length * 3 // 2)
    offset = position % beat
    if offset and length > beat - offset:
        head = beat - offset
        return _greedy(head) + written_values(length - head, position + head, beat, False)
    return _greedy(length)


def _greedy(length: int) -> list[int]:
    values = []
    while length > 0:
        value = next((v for v in PLAIN if v <= length), length)
        values.append(value)
        length -= value
    return values
