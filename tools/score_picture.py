"""A PNG of what `composer score` draws, for the README, taken in headless Chromium.

    python tools/score_picture.py MUSIC_FILE OUT.png [--title TITLE] [--width 1100]

Runs `composer score` (Verovio) into a temporary SVG and screenshots it at the SVG's own
height. Needs the score and test extras and Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the shared headless-Chromium helper

from studio_browser import chromium, missing  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("music_file", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--title", default=None)
    parser.add_argument("--width", type=int, default=1100, help="picture width in pixels")
    args = parser.parse_args()
    if missing():
        sys.exit(f"cannot take the picture: {missing()}")
    with tempfile.TemporaryDirectory() as folder:
        svg = Path(folder) / "score.svg"
        title = ["--title", args.title] if args.title else []
        subprocess.run([sys.executable, "-m", "composer.cli", "score", str(args.music_file),
                        "-o", str(svg), *title], check=True)
        height = int(float(re.search(r'height="([\d.]+)px"', svg.read_text()).group(1)))
        page = Path(folder) / "page.html"
        page.write_text(f'<body style="margin:0;background:#fff"><img src="score.svg" '
                        f'style="width:{args.width}px"></body>')
        with chromium(args.width, 40 + height * args.width // 800) as driver:
            driver.get(page.as_uri())
            driver.save_screenshot(str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
