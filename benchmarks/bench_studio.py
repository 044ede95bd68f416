"""How long a musician waits in composer studio: from the click to a take on screen and in
the ears, for a 16-bar take of the shipped model (the issue's target: within 2 seconds).

    python benchmarks/bench_studio.py                 # server side, 9 takes
    python benchmarks/bench_studio.py --browser       # also end to end in headless Chromium
    python benchmarks/bench_studio.py --browser --page-audio   # the page's synthesiser
    python benchmarks/bench_studio.py --runs 15 --json

Server side (composer.studio.service, no HTTP), medians over --runs fresh takes:
- generate: the request checked, the tokens drawn, decoded, cut, the figures computed and
  the MIDI bytes written (StudioService.make_take);
- render:   FluidSynth renders the take to WAV (StudioService.wav), the slow part;
- total:    both, what the server spends on one take.

End to end (--browser): the page in headless Chromium, one take per click, measured by the
page itself (performance.now()): click -> piano roll drawn, and click -> the <audio>
element has loaded the sound (its metadata), i.e. Play would sound. Takes alternate with
short pauses; the model is loaded once before timing (the first page load does that).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the shared headless-Chromium helper

from composer.studio.service import StudioService  # noqa: E402

BARS = 16
PAUSE = 0.2  # seconds between takes


def server_side(service: StudioService, model: str, runs: int) -> dict[str, list[float]]:
    """Milliseconds per phase for `runs` fresh 16-bar takes."""
    times = {"generate": [], "render": [], "total": []}
    for seed in range(runs):
        started = time.perf_counter()
        take = service.make_take({"model": model, "bars": BARS, "metre": "4/4", "seed": seed})
        made = time.perf_counter()
        if service.audio:
            service.wav(take.id)
        done = time.perf_counter()
        times["generate"].append(1000 * (made - started))
        times["render"].append(1000 * (done - made))
        times["total"].append(1000 * (done - started))
        time.sleep(PAUSE)
    return times


def end_to_end(service: StudioService, runs: int) -> dict[str, list[float]]:
    """Milliseconds from the click to the roll and to loaded sound, measured in the page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from studio_browser import chromium, missing

    from composer.studio.server import start_in_thread

    if missing():
        sys.exit(f"cannot run the browser measurement: {missing()}")
    with start_in_thread(service) as url, chromium() as driver:
        driver.get(url)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                                  "#model option"))
        bars = driver.find_element(By.ID, "bars")
        bars.clear()
        bars.send_keys(str(BARS))
        for k in range(runs):
            driver.find_element(By.ID, "generate").click()
            WebDriverWait(driver, 30).until(
                lambda d, n=k + 1: d.execute_script("return window.studioTimings.length") >= n)
            time.sleep(PAUSE)
        timings = driver.execute_script("return window.studioTimings")
    return {"roll": [t["shown"] - t["clicked"] for t in timings],
            "sound": [t["audible"] - t["clicked"] for t in timings]}


def summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {name: {"median_ms": round(statistics.median(v), 1), "max_ms": round(max(v), 1)}
            for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="takes per measurement")
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium")
    parser.add_argument("--page-audio", action="store_true",
                        help="switch FluidSynth off: the page synthesises the sound")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    service = StudioService(audio=False if args.page_audio else None)
    try:
        model = service.catalog.default_id()
        if model is None:
            sys.exit("no model: train one, or run from the repository (models/default)")
        service.make_take({"model": model, "bars": 1})  # load the model before timing
        result = {"model": model, "bars": BARS, "runs": args.runs,
                  "server_audio": service.audio,
                  "server": summary(server_side(service, model, args.runs))}
        if args.browser:
            result["browser"] = summary(end_to_end(service, args.runs))
    finally:
        service.close()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"model {model}, {BARS} bars of 4/4, {args.runs} takes, server audio: "
          f"{'FluidSynth' if service.audio else 'none (the page synthesises)'}")
    for side in ("server", "browser"):
        for name, figures in result.get(side, {}).items():
            print(f"{side:8} {name:9} median {figures['median_ms']:8.1f} ms   "
                  f"max {figures['max_ms']:8.1f} ms")


if __name__ == "__main__":
    main()
