"""Screenshots of composer studio for the README, taken in headless Chromium.

    python tools/studio_screenshots.py            # writes docs/studio*.png

Runs a studio on a free local port with the models of this folder (./models, else the
shipped one), drives the page as a musician would and saves PNGs of 1400 x 900 pixels:

- docs/studio.png: a reel in 4/4, continued by a second take (the primer in blue),
  paused mid-way with the playhead and the sounding note lit;
- docs/studio-jig.png: a 32-bar jig in 6/8, D major, in the default form (AABB: the parts
  shaded and lettered in the roll), with its statistics;
- docs/studio-chords.png: a melody over "Am F C G" in 4/4, the chords in the roll's ruler;
- docs/studio-score.png: the jig as a score (the Score view, engraved by Verovio).

Needs the studio and test extras (selenium) and Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the shared headless-Chromium helper

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from studio_browser import chromium, missing  # noqa: E402

from composer.studio.server import start_in_thread  # noqa: E402
from composer.studio.service import StudioService  # noqa: E402

WAIT = 30  # seconds


def fill(driver, element_id: str, text: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def take(driver, count: int) -> None:
    """Click Generate and wait until take number `count` is drawn and has sound."""
    driver.find_element(By.ID, "generate").click()
    WebDriverWait(driver, WAIT).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#take-list button")) == count)
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "return document.getElementById('audio').duration > 0 "
        "&& !document.getElementById('play').disabled"))


def play_for(driver, seconds: float) -> None:
    driver.find_element(By.ID, "play").click()
    time.sleep(seconds)
    driver.find_element(By.ID, "play").click()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the PNGs")
    args = parser.parse_args()
    if missing():
        sys.exit(f"cannot take screenshots: {missing()}")
    args.out.mkdir(parents=True, exist_ok=True)
    with start_in_thread(StudioService()) as url, chromium(1400, 900) as driver:
        driver.get(url)
        WebDriverWait(driver, WAIT).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
        fill(driver, "metre", "6/8")
        fill(driver, "key", "D major")
        fill(driver, "seed", "4")
        fill(driver, "bars", "32")
        take(driver, 1)
        driver.save_screenshot(str(args.out / "studio-jig.png"))
        driver.find_element(By.ID, "view-score").click()
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
            "const i = document.getElementById('score'); return !i.hidden && i.naturalWidth"))
        driver.save_screenshot(str(args.out / "studio-score.png"))
        driver.find_element(By.ID, "view-roll").click()
        fill(driver, "metre", "4/4")
        fill(driver, "key", "G major")
        fill(driver, "seed", "7")
        fill(driver, "bars", "8")
        fill(driver, "form", "none")
        take(driver, 2)
        driver.find_element(By.ID, "continue").click()
        fill(driver, "seed", "8")
        take(driver, 3)
        play_for(driver, 9.0)
        driver.save_screenshot(str(args.out / "studio.png"))
        driver.find_element(By.ID, "clear-primer").click()  # a take of its own
        fill(driver, "key", "C major")
        fill(driver, "chords", "Am F C G")
        fill(driver, "form", "")
        fill(driver, "seed", "5")
        take(driver, 4)
        driver.save_screenshot(str(args.out / "studio-chords.png"))
    print(f"wrote studio.png, studio-jig.png, studio-score.png and studio-chords.png in "
          f"{args.out}")


if __name__ == "__main__":
    main()
