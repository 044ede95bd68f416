"""Repeats played out: the order in which a tune's bars sound, by abc2midi's rules.

ABC marks repeats with bar lines (`|:` and `:|`, `::` for both) and endings with `[1` and
`[2` (or `|1`, `:|2`). `play_order` takes, for each bar (the notes between two bar lines),
whether a repeat starts before it, ends after it, whether a section bar line (`||`, `|]`,
`[|`) follows it, and the numbers of the ending it belongs to, and gives the order in which
the bars are played:

* `:|` goes back to the last `|:`, or, when there is none since the last section end, to
  just after the previous `:|` or section bar line (or to the start of the tune);
* an ending is played on the passes its numbers name (`[1` on the first, `[2` on the
  second) and skipped on the others; a bar past the last ending taken starts a new section;
* each `:|` is taken once, so the order is finite; an order longer than MAX_REPEAT_FACTOR
  times the written bars means the marks contradict each other, and the bars are played
  as written instead (None).

D.C., D.S. and Fine are not followed. tools/build_corpus.py builds data/ with this function
(on music21's measures), so composer's ABC reader plays a tune as data/ does.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_REPEAT_FACTOR = 4  # a tune played out is at most this many times its written bars


def play_order(starts: Sequence[bool], ends: Sequence[bool], section_end: Sequence[bool],
               endings: dict[int, set[int]]) -> list[int] | None:
    """Bar indices in playing order (see the module docstring); None = as written.

    starts[i]: a repeat starts before bar i; ends[i]: one ends after it; section_end[i]: a
    section bar line follows it; endings: {bar index: the pass numbers of its ending}."""
    count = len(starts)
    order: list[int] = []
    taken: set[int] = set()  # end repeats already jumped back from
    last_taken = -1  # the latest of them
    start, explicit, pass_no, i = 0, False, 1, 0
    while i < count:
        if len(order) > MAX_REPEAT_FACTOR * count:
            return None
        if pass_no > 1 and i > last_taken and i not in endings:
            pass_no, start, explicit = 1, i, False  # past the last ending: a new section
        if starts[i] and pass_no == 1:
            start, explicit = i, True
        if i in endings and pass_no not in endings[i]:
            i += 1
            continue
        order.append(i)
        if ends[i] and i not in taken:
            taken.add(i)
            last_taken = max(last_taken, i)
            pass_no += 1
            i = start
            continue
        if ends[i] or (section_end[i] and not explicit and pass_no == 1):
            start, explicit = i + 1, False
        i += 1
    return order
