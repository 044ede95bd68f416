"""Staff notation as SVG, engraved by Verovio (the optional `score` extra).

`engrave_svg(musicxml)` gives one SVG picture of the whole score (one tall page: the lines
as the layout broke them, four bars or a part a line). Verovio (PyPI `verovio`, LGPL) is a
well-kept engraver of the music-encoding community; composer imports it only here, when
asked to engrave.
"""

from __future__ import annotations

from pathlib import Path

from composer.errors import ComposerError

INSTALL = "engraving needs Verovio: pip install 'numpy-lstm-composer[score]'"
PAGE_WIDTH = 2100  # Verovio page width in its units (at SCALE, about 800 pixels of SVG)
SCALE = 40  # per cent


def require_verovio():
    """The verovio module, or a ComposerError saying how to install it."""
    try:
        import verovio
    except ImportError as error:
        raise ComposerError(INSTALL) from error
    return verovio


def engrave_svg(musicxml: str, width: int = PAGE_WIDTH, scale: int = SCALE,
                breaks: str = "encoded") -> str:
    """The SVG of a MusicXML document, all its lines on one page; breaks: "encoded" keeps
    the document's lines (a part or four bars a line), "auto" fills the width."""
    verovio = require_verovio()
    verovio.enableLog(verovio.LOG_OFF)
    toolkit = verovio.toolkit(False)  # its fonts found by path: the default fails off the
    toolkit.setResourcePath(str(Path(verovio.__file__).parent / "data"))  # main thread
    toolkit.setOptions({"pageWidth": width, "pageHeight": 60000, "adjustPageHeight": True,
                        "scale": scale, "breaks": breaks, "footer": "none",
                        "header": "auto"})
    if not toolkit.loadData(musicxml):
        raise ComposerError("Verovio could not read the score")
    return toolkit.renderToSVG(1)
