"""Headless Chromium for the studio's browser tests, benchmark and screenshots.

Uses Debian's `chromium` and `chromium-driver` through Selenium, never a downloaded
browser: the driver is given by path, so Selenium Manager fetches nothing. `chromium()`
starts a browser with a fresh profile and the flags that keep it offline and quiet.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator

CHROMIUM_PATHS = ("chromium", "chromium-browser")
DRIVER_PATHS = ("chromedriver", "/usr/lib/chromium/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
         "--mute-audio")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e \".[test]\")"
    if not _find(CHROMIUM_PATHS):
        return "Chromium is not installed (apt-get install chromium chromium-driver)"
    if not _find(DRIVER_PATHS):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


def _find(names) -> str | None:
    return next((shutil.which(n) for n in names if shutil.which(n)), None)


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 900, downloads: str | None = None) -> Iterator:
    """A Selenium driver of headless Chromium (a width x height page, a fresh profile)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="composer-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = _find(CHROMIUM_PATHS)
    for flag in FLAGS + (f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=_find(DRIVER_PATHS)),
                              options=options)
    try:  # the page's own size, whatever the window decorations take
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        if downloads:
            driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                   {"behavior": "allow", "downloadPath": downloads})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
