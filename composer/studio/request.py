"""The JSON of a "make a take" request, checked field by field before any work starts.

POST /api/takes sends an object with these fields (all optional but `model`):

    model        a model id from GET /api/models (never a path)
    bars         bars of new music, 1..STUDIO_MAX_BARS (default 16); or
    length       tokens to draw instead, as `composer sample --length` (not both); the
                 take is cut at STUDIO_MAX_TAKE_BEATS
    metre        "6/8"; "" or null: the primer's, else 4/4
    key          "D major", "A dorian"; "" or null: none (only for models that hear keys)
    chords       "Am F C G", one chord a bar, repeated; "" or null: none (same)
    scale_lock   true/false: only notes of the key's scale (needs a key)
    form         the parts in playing order, "AABB", "ABAB", ...; "none": no form; "" or
                 null: what `composer sample` plays (AABB from 8 bars on); melody models,
                 without a primer (composer.music.form)
    part_bars    bars in a part, 1..STUDIO_MAX_BARS; null: 8, fewer to fit the form
    temperature  0..MAX_TEMPERATURE (0: always the likeliest token), default 1
    top_p        (0, 1], default 1
    seed         0..2**32-1, or null for a fresh random seed
    qpm          tempo, MIN_QPM..MAX_QPM quarter notes per minute; null: the primer's or 120
    program      General MIDI program 0..127 of the written notes, default 0 (piano)
    primer       a take id: the new music continues that take; null: start afresh

Anything else, a wrong type or a value out of range raises RequestError naming the field.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass

from composer.constants import (
    DEFAULT_PROGRAM,
    STUDIO_MAX_BARS,
    STUDIO_MAX_TAKES,
    STUDIO_MAX_TOKENS,
    STUDIO_MAX_UPLOAD_BYTES,
)
from composer.errors import ComposerError
from composer.studio.conditioning import (
    Chord,
    ConditioningError,
    Key,
    Metre,
    parse_chords,
    parse_form,
    parse_key,
    parse_metre,
)

DEFAULT_BARS = 16
MAX_TEMPERATURE = 5.0
MIN_QPM, MAX_QPM = 20.0, 400.0  # as `composer sample --qpm` allows at most
MAX_SEED = 2**32 - 1
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # model and take ids
FIELDS = ("model", "bars", "length", "metre", "key", "chords", "scale_lock", "form",
          "part_bars", "temperature", "top_p", "seed", "qpm", "program", "primer")


class RequestError(ComposerError):
    """A request the studio refuses; `field` names the culprit, `status` is the HTTP code."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class TakeRequest:
    model: str
    bars: int | None = DEFAULT_BARS  # None when `length` is given
    length: int | None = None  # tokens, instead of bars
    metre: Metre | None = None
    key: Key | None = None
    chords: tuple[Chord, ...] = ()
    scale_lock: bool = False
    form: str | None = None  # "AABB", "none", or None for the default
    part_bars: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    qpm: float | None = None
    program: int = DEFAULT_PROGRAM
    primer: str | None = None

    def settings(self) -> dict:
        """The request as the page shows it again (JSON-able, texts as written)."""
        return {"model": self.model, "bars": self.bars, "length": self.length,
                "metre": str(self.metre) if self.metre else None,
                "key": self.key.name if self.key else None,
                "chords": " ".join(c.symbol for c in self.chords) or None,
                "scale_lock": self.scale_lock, "form": self.form,
                "part_bars": self.part_bars, "temperature": self.temperature,
                "top_p": self.top_p, "seed": self.seed, "qpm": self.qpm,
                "program": self.program, "primer": self.primer}


def check_id(value, field: str) -> str:
    """A model or take id: a short name of letters, digits, ".", "_" and "-", never a path."""
    if not isinstance(value, str):
        raise RequestError(f"{field} must be an id (a string), not {value!r}", field)
    if not ID_PATTERN.fullmatch(value) or ".." in value:
        raise RequestError(f"{field} {value!r} is not an id: use a name from the list the "
                           f"studio gives, never a path", field)
    return value


def _number(body: dict, field: str, low: float, high: float, default, *, integer=False,
            open_low=False):
    """body[field] as a number in low..high (or (low, high] when open_low), else default."""
    value = body.get(field)
    if value is None:
        return default
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise RequestError(f"{field} must be {'an integer' if integer else 'a number'}, "
                           f"not {value!r}", field)
    if not (low < value if open_low else low <= value) or not value <= high:
        allowed = (f"above {_plain(low)} and at most {_plain(high)}" if open_low
                   else f"in {_plain(low)}..{_plain(high)}")
        raise RequestError(f"{field} must be {allowed}, not {value}", field)
    return value


def _plain(x: float) -> str:
    """4294967295 and 0.5 as written, not 4.29497e+09."""
    return str(int(x)) if float(x).is_integer() else str(x)


def _text(body: dict, field: str, parse):
    """body[field] read by `parse`, or None for a missing or blank value."""
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise RequestError(f"{field} must be text, not {value!r}", field)
    try:
        return parse(value)
    except ConditioningError as error:
        raise RequestError(str(error), field) from error


def _length(body: dict) -> tuple[int | None, int | None]:
    """(bars, length): exactly one of them is set."""
    if body.get("bars") is not None and body.get("length") is not None:
        raise RequestError("give bars or length, not both", "length")
    length = _number(body, "length", 1, STUDIO_MAX_TOKENS, None, integer=True)
    bars = _number(body, "bars", 1, STUDIO_MAX_BARS, None if length else DEFAULT_BARS,
                   integer=True)
    return bars, length


def parse_take_request(body) -> TakeRequest:
    """A TakeRequest from the decoded JSON body; RequestError for anything wrong."""
    if not isinstance(body, dict):
        raise RequestError("the request must be a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise RequestError(f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}",
                           unknown[0])
    if "model" not in body:
        raise RequestError("model is missing: choose one from GET /api/models", "model")
    scale_lock = body.get("scale_lock", False)
    if not isinstance(scale_lock, bool):
        raise RequestError(f"scale_lock must be true or false, not {scale_lock!r}",
                           "scale_lock")
    bars, length = _length(body)
    request = TakeRequest(
        model=check_id(body["model"], "model"), bars=bars, length=length,
        metre=_text(body, "metre", parse_metre), key=_text(body, "key", parse_key),
        chords=_text(body, "chords", parse_chords) or (), scale_lock=scale_lock,
        form=_text(body, "form", parse_form),
        part_bars=_number(body, "part_bars", 1, STUDIO_MAX_BARS, None, integer=True),
        temperature=float(_number(body, "temperature", 0, MAX_TEMPERATURE, 1.0)),
        top_p=float(_number(body, "top_p", 0, 1, 1.0, open_low=True)),
        seed=_number(body, "seed", 0, MAX_SEED, None, integer=True),
        qpm=_number(body, "qpm", MIN_QPM, MAX_QPM, None),
        program=_number(body, "program", 0, 127, DEFAULT_PROGRAM, integer=True),
        primer=None if body.get("primer") is None else check_id(body["primer"], "primer"))
    if request.scale_lock and request.key is None:
        raise RequestError("scale_lock needs a key", "scale_lock")
    if request.part_bars is not None and request.bars is not None and \
            request.part_bars > request.bars:
        raise RequestError(f"a part of {request.part_bars} bars is longer than the take "
                           f"({request.bars} bars)", "part_bars")
    if request.form == "none" and request.part_bars is not None:
        raise RequestError("part_bars needs a form; leave it empty with form none", "part_bars")
    return request


# The bounds the page needs to build its controls (GET /api/models gives them).
STUDIO_LIMITS = {"max_bars": STUDIO_MAX_BARS, "default_bars": DEFAULT_BARS,
                 "max_tokens": STUDIO_MAX_TOKENS, "max_temperature": MAX_TEMPERATURE,
                 "min_qpm": MIN_QPM, "max_qpm": MAX_QPM, "max_seed": MAX_SEED,
                 "max_upload_bytes": STUDIO_MAX_UPLOAD_BYTES, "max_takes": STUDIO_MAX_TAKES}
