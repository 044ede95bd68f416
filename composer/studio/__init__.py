"""composer studio: a local web page to compose, see and hear (the `studio` extra).

- `conditioning`: metre, key, chords and scale lock as the page writes them, and which
  of them a model hears (the seam for issue 9);
- `request`: the JSON of a "make a take" request, checked field by field;
- `compose`: the one place that calls composer's generation;
- `figures`: the statistics shown under a take;
- `takes`: takes in memory (capped) with their MIDI bytes and WAV renders;
- `catalog`: the models on offer, by id, never by path;
- `service`: what the routes do, without HTTP;
- `guard`, `app`, `server`: the Host/Origin check, the Starlette routes, uvicorn;
- `static/`: the page (HTML, CSS, plain JavaScript; no build step, no CDN).

Only this package imports the web framework and server (tests/test_architecture.py),
and importing it alone needs none of them: `missing_packages` says what is absent.
"""

from __future__ import annotations

import importlib.util

REQUIRED = ("starlette", "uvicorn")  # what the `studio` extra installs
INSTALL_COMMAND = "pip install 'numpy-lstm-composer[studio]'"  # from a clone: ".[studio]"


def missing_packages() -> list[str]:
    """The packages of the `studio` extra that are not installed."""
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]
