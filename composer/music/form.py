"""Form: the parts of a tune (A, B, ...), how they follow each other, and a plan to draw them.

A **form** names the parts in the order they are played, each letter a part of the same
length: "AABB" (a reel or a jig: two parts, each played twice), "ABAB", "AABA", "AB".
Letters come in order of first appearance (A, then B, ...): "XYZ" or "ABD" is refused.

A **plan** lays a form over a piece of `bars` bars, from bar 0 (the first full bar):

- The form is played through part by part, from its start again when it ends (the tune
  played once more), while a whole part still fits; bars left over (fewer than a part)
  lengthen the last part played. A form longer than the piece is cut where the piece
  ends. So 32 bars of "AABB" in parts of 8 are A A B B; 48 bars are A A B B A A.
- A part played for the first time is drawn afresh. A part played again **replays** the
  first time it was played, except its last `endings` bars, which are drawn again (first
  and second endings): 1 bar, or 2 (one time in three, as data/'s repeated parts differ in
  their last bar twice as often as in their last two) when the part has 4 bars or more.
- Every part ends with a **cadence** in its last bar; the last part's is the piece's end,
  which comes to rest on the tonic (composer.generation.shaping says how).

`sample_plan` is what `composer sample` plays: unless told otherwise "AABB" from 8 bars on
(none below, unless a part's length is given); parts of 8 bars, or shorter where the form
would not fit once (a quarter of a 16-bar piece for AABB), unless the part's length is
given; over a chord progression, in whole turns of it, so that a part played again has
its chords again ("Am F C G" over 8 bars: AA in parts of 4).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from composer.errors import MusicError

DEFAULT_FORM = "AABB"
DEFAULT_PART_BARS = 8  # bars in a part: the 8-bar strains of reels, jigs and hornpipes
MAX_FORM_PARTS = 64  # letters a form may have
MIN_FORM_BARS = 8  # shorter pieces get no default form, only an ending
TWO_BAR_ENDINGS = 1 / 3  # share of replays whose last two bars are drawn again
_FORM = re.compile(r"^[A-Z]+$")


def parse_form(text: str) -> str:
    """The form "AABB" of a text such as "aabb" or "A A B B"; MusicError if it is not one."""
    if not isinstance(text, str):
        raise TypeError(f"a form must be a string such as 'AABB', got {text!r}")
    form = re.sub(r"[\s-]+", "", text).upper()
    if not _FORM.match(form):
        raise MusicError(f"bad form {text!r}: write the parts as letters, e.g. AABB, ABAB, AABA")
    if len(form) > MAX_FORM_PARTS:
        raise MusicError(f"bad form {text!r}: at most {MAX_FORM_PARTS} parts")
    seen = ""
    for letter in form:
        if letter not in seen:
            expected = chr(ord("A") + len(seen))
            if letter != expected:
                raise MusicError(f"bad form {text!r}: name the parts in the order they first "
                                 f"appear, A, then B, ... ({letter} where {expected} comes "
                                 f"next), e.g. AABB, ABAB, AABA")
            seen += letter
    return form


@dataclass(frozen=True)
class Section:
    """One part as played once: bars first_bar .. first_bar + bars - 1."""

    letter: str  # "A"
    first_bar: int
    bars: int
    source: int | None = None  # index of the section this one replays; None when drawn afresh
    endings: int = 0  # bars at its end drawn again when it replays (0 when drawn afresh)

    @property
    def end_bar(self) -> int:
        return self.first_bar + self.bars

    @property
    def replayed_bars(self) -> int:
        """Bars copied from the source (the rest are drawn)."""
        return 0 if self.source is None else self.bars - self.endings


@dataclass(frozen=True)
class FormPlan:
    """The sections of a piece (module docstring), in playing order, covering its bars."""

    form: str
    part_bars: int
    sections: tuple[Section, ...]

    @property
    def bars(self) -> int:
        return self.sections[-1].end_bar

    @property
    def label(self) -> str:
        """What a musician would call it: "AABB, 32 bars"."""
        return f"{''.join(s.letter for s in self.sections)}, {self.bars} bars"

    def section_of(self, bars: np.ndarray) -> np.ndarray:
        """(M,) index of the section of each bar number (M,); bars outside go to the nearest."""
        ends = np.array([s.end_bar for s in self.sections])
        return np.minimum(np.searchsorted(ends, bars, side="right"), len(ends) - 1)

    def to_json(self) -> dict:
        return {"form": self.form, "part_bars": self.part_bars,
                "sections": [[s.letter, s.first_bar, s.bars, s.source, s.endings]
                             for s in self.sections]}

    @classmethod
    def from_json(cls, data: dict) -> FormPlan:
        return cls(str(data["form"]), int(data["part_bars"]),
                   tuple(Section(str(letter), int(first), int(bars),
                                 None if source is None else int(source), int(endings))
                         for letter, first, bars, source, endings in data["sections"]))


def plan_form(form: str, part_bars: int, bars: float,
              rng: np.random.Generator | None = None) -> FormPlan:
    """The plan of `form` in parts of `part_bars` bars over a piece of `bars` bars (a partial
    last bar counts as one); `rng` draws the length of the endings. MusicError when a part
    is longer than the piece."""
    form = parse_form(form)
    total = math.ceil(bars - 1e-9)
    if part_bars < 1:
        raise MusicError(f"a part must last at least 1 bar, not {part_bars}")
    if part_bars > total:
        raise MusicError(f"a part of {part_bars} bars is longer than the piece ({total} "
                         f"bar{'s' if total != 1 else ''}): ask for more bars or shorter parts")
    rng = rng or np.random.default_rng(0)
    sections: list[Section] = []
    first_of: dict[str, int] = {}
    while total - len(sections) * part_bars >= part_bars:
        letter = form[len(sections) % len(form)]
        source = first_of.setdefault(letter, len(sections))
        replay = source != len(sections)
        endings = _endings(part_bars, rng) if replay else 0
        sections.append(Section(letter, len(sections) * part_bars, part_bars,
                                source if replay else None, endings))
    last, extra = sections[-1], total - len(sections) * part_bars
    if extra:  # the bars left over lengthen the last part; a replay draws them afresh
        sections[-1] = Section(last.letter, last.first_bar, last.bars + extra, last.source,
                               last.endings + extra if last.source is not None else 0)
    return FormPlan(form, part_bars, tuple(sections))


def _endings(part_bars: int, rng: np.random.Generator) -> int:
    """Bars drawn again at the end of a replayed part: 1, or 2 one time in three."""
    if part_bars < 4:
        return 1
    return 2 if rng.random() < TWO_BAR_ENDINGS else 1


def fitted_part_bars(form: str, bars: float) -> int:
    """DEFAULT_PART_BARS, or fewer so that the form fits the bars once (at least 1)."""
    return max(1, min(DEFAULT_PART_BARS, int(bars + 1e-9) // len(form)))


def sample_plan(form: str | None, part_bars: int | None, bars: float,
                rng: np.random.Generator | None = None, *,
                cycle: float | None = None) -> FormPlan | None:
    """The plan of a sample of `bars` bars: `form` None for the default (module docstring),
    "none" for no form, else a form such as "ABAB"; part_bars None to fit them, in whole
    turns of a chord progression of `cycle` bars when one is given (a part played again
    then comes round over the same chords)."""
    if form is not None and form.strip().lower() == "none":
        return None
    if form is None:
        if bars < MIN_FORM_BARS and part_bars is None:
            return None
        form = DEFAULT_FORM
    form = parse_form(form)
    if part_bars is None:
        part_bars = fitted_part_bars(form, bars)
        if cycle and float(cycle).is_integer() and cycle <= bars:
            part_bars = max(int(cycle), part_bars // int(cycle) * int(cycle))
    return plan_form(form, part_bars, bars, rng)
