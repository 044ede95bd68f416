"""A take as sheet music: ABC text and an engraved score (SVG, by Verovio).

A generated take is laid out in the bars it was drawn in (from beat 0, its metre) and its
key (the one asked for, else the one its notes choose); an uploaded file's bars are found
as `composer export` finds them. The score is engraved once per take and kept with it.
"""

from __future__ import annotations

from composer.errors import ComposerError
from composer.music.abc.writer import abc_text
from composer.music.keys import key_signature
from composer.music.meter import single_meter
from composer.music.notation.musicxml import musicxml_text
from composer.music.notes import ChordSymbol, Piece, TimeSignature
from composer.studio.request import RequestError
from composer.studio.takes import Take


def verovio_available() -> bool:
    try:
        import verovio  # noqa: F401
    except ImportError:
        return False
    return True


def take_piece(take: Take) -> Piece:
    signature = (take.metre.numerator, take.metre.denominator)
    keys = [key_signature(take.key)] if take.key else []
    return Piece(take.title, take.notes, qpm=take.qpm, time_signature=signature,
                 time_signatures=[TimeSignature(0.0, *signature)], key_signatures=keys,
                 chords=[ChordSymbol(beat, symbol) for beat, symbol in take.chord_symbols()],
                 parts=list(take.parts))


def _layout_options(take: Take) -> dict:
    if take.source == "upload":
        return {}
    meter = single_meter((take.metre.numerator, take.metre.denominator))
    keys = [(0.0, take.key)] if take.key else None
    return {"meter": meter, "keys": keys}


def take_abc(take: Take) -> str:
    """The take as ABC notation."""
    return abc_text(take_piece(take), take.title, **_layout_options(take))


def take_score_svg(take: Take) -> str:
    """The take engraved as staff notation (SVG); kept on the take after the first call."""
    if not take.score_svg:
        if not take.notes:
            raise RequestError(f"take {take.title} has no notes to engrave", "take", 409)
        from composer.listen.engrave import engrave_svg

        try:
            xml = musicxml_text(take_piece(take), take.title, **_layout_options(take))
            take.score_svg = engrave_svg(xml, width=1800, scale=45, breaks="auto")
        except ComposerError as error:
            raise RequestError(f"no score: {error}", "take", 409) from error
    return take.score_svg
