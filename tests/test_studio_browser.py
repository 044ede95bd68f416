"""The studio in a real browser: headless Chromium (Debian's, through Selenium) loads the
page, sets a metre and a seed, generates, sees the piano roll, gets sound, downloads the
MIDI file. Skipped with the reason where Chromium or the studio extra is missing."""

import time

import pytest
from studio_browser import chromium, missing

pytest.importorskip("uvicorn", reason="the studio extra is not installed")
if missing():
    pytest.skip(missing(), allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from composer.music.midi import parse_midi  # noqa: E402
from composer.studio.catalog import Catalog  # noqa: E402
from composer.studio.server import start_in_thread  # noqa: E402
from composer.studio.service import StudioService  # noqa: E402

WAIT = 20  # seconds at most for anything the page does


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    with chromium(downloads=str(downloads)) as driver:
        driver.downloads = downloads
        yield driver


@pytest.fixture
def studio(studio_models, browser):
    """The page of a fresh studio (server audio when FluidSynth is here) in the browser."""
    service = StudioService(Catalog(studio_models, shipped=None))
    with start_in_thread(service) as url:
        yield open_page(browser, url), service


@pytest.fixture
def studio_without_audio(studio_models, browser):
    service = StudioService(Catalog(studio_models, shipped=None), audio=False)
    with start_in_thread(service) as url:
        yield open_page(browser, url), service


def open_page(driver, url):
    driver.get(url)
    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    return driver


def fill(driver, element_id, text):
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def generate_and_wait(driver, takes_before=0):
    driver.find_element(By.ID, "generate").click()
    wait_for_take(driver, takes_before + 1)


def wait_for_take(driver, count):
    WebDriverWait(driver, WAIT).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#take-list button")) == count
        and d.find_element(By.ID, "roll").get_attribute("data-take"))
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "return document.getElementById('audio').duration > 0"))


def browser_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_generate_see_hear_and_download(studio):
    driver, service = studio
    fill(driver, "metre", "3/4")
    fill(driver, "seed", "11")
    fill(driver, "bars", "4")
    generate_and_wait(driver)
    roll = driver.find_element(By.ID, "roll")
    take = service.store.get(roll.get_attribute("data-take"))
    assert int(roll.get_attribute("data-notes")) == len(take.notes) > 0
    assert (str(take.metre), take.settings["seed"], take.end) == ("3/4", 11, 12.0)
    duration = driver.execute_script("return document.getElementById('audio').duration")
    assert duration >= 12.0 * 60 / 120  # the take's 6 seconds (FluidSynth adds a tail)
    source = driver.find_element(By.ID, "audio-source").text
    assert source == ("FluidSynth on the server" if service.audio else "synthesised in this page")
    assert "4 bars of 3/4" in driver.find_element(By.ID, "take-meta").text
    driver.find_element(By.ID, "download-midi").click()
    midi = wait_for_file(driver.downloads / "composer-take-1.mid")
    piece = parse_midi(midi.read_bytes(), midi.name)[0]
    assert piece.time_signature == (3, 4)
    assert [(n.start, n.pitch) for n in piece.notes] == [(n.start, n.pitch) for n in take.notes]
    assert browser_errors(driver) == []


def wait_for_file(path, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.stat().st_size > 0:
            return path
        time.sleep(0.05)
    raise AssertionError(f"{path} was not downloaded")


def test_without_fluidsynth_the_page_synthesises_the_sound(studio_without_audio):
    driver, service = studio_without_audio
    fill(driver, "seed", "5")
    fill(driver, "bars", "2")
    generate_and_wait(driver)
    assert driver.find_element(By.ID, "audio-source").text == "synthesised in this page"
    duration = driver.execute_script("return document.getElementById('audio').duration")
    assert 4.0 < duration <= 4.0 + 1.1  # 8 beats at 120 qpm and a 1 s tail
    wav = driver.find_element(By.ID, "download-wav").get_attribute("href")
    assert wav.startswith("blob:")


def test_play_moves_the_playhead(studio_without_audio):
    driver, _ = studio_without_audio
    fill(driver, "bars", "2")
    generate_and_wait(driver)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.SPACE)
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "return document.getElementById('audio').currentTime > 0.3"))
    assert driver.find_element(By.ID, "play").get_attribute("aria-label") == "Pause"
    assert driver.find_element(By.ID, "clock").text.startswith("0:0")


def test_a_bad_metre_is_explained_next_to_the_button(studio_without_audio):
    driver, service = studio_without_audio
    fill(driver, "metre", "7/0")
    driver.find_element(By.ID, "generate").click()
    message = driver.find_element(By.ID, "message")
    WebDriverWait(driver, WAIT).until(lambda d: message.text)
    assert message.text == "bad metre '7/0': the denominator must be one of 1, 2, 4, 8, 16, " \
                           "32, 64"
    assert driver.switch_to.active_element.get_attribute("id") == "metre"
    assert service.store.all() == []


def test_keyboard_continue_a_take(studio_without_audio):
    driver, service = studio_without_audio
    fill(driver, "bars", "2")
    fill(driver, "metre", "6/8")
    generate_and_wait(driver)
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys("c")  # continue this take
    assert "Continuing Take 1" in driver.find_element(By.ID, "primer-status").text
    body.send_keys("g")  # generate
    wait_for_take(driver, 2)
    second = service.store.get("t2")
    assert second.settings["primer"] == "t1" and second.primer_end > 0
    assert second.end == 12.0  # 2 bars of 6/8 after the primer's 2
    assert "continues Take 1" in driver.find_element(By.ID, "take-meta").text


def test_conditioning_controls_follow_what_the_model_hears(studio_without_audio):
    driver, _ = studio_without_audio
    for control in ("key", "chords", "scale-lock", "metre"):  # melody hears them all
        assert driver.find_element(By.ID, control).is_enabled()
    note = driver.find_element(By.ID, "conditioning-note")
    assert note.text == "This model follows the key and chords you give."
    Select(driver.find_element(By.ID, "model")).select_by_value("performance")
    WebDriverWait(driver, WAIT).until(lambda d: note.text.startswith("Off:"))
    for control in ("key", "chords", "scale-lock"):
        assert not driver.find_element(By.ID, control).is_enabled()
    assert driver.find_element(By.ID, "metre").is_enabled()
    assert note.text.startswith("Off: performance was trained without key or chords "
                                "conditioning.")


def test_a_take_over_chords_in_a_key(studio_without_audio):
    driver, service = studio_without_audio
    fill(driver, "bars", "4")
    fill(driver, "key", "D dorian")
    fill(driver, "chords", "Dm C")
    driver.find_element(By.ID, "scale-lock").click()
    generate_and_wait(driver)
    take = service.store.get("t1")
    assert take.settings["key"] == "D dorian" and take.settings["chords"] == "Dm C"
    assert {n.pitch % 12 for n in take.notes} <= {2, 4, 5, 7, 9, 11, 0}
    assert [symbol for _, symbol in take.chord_symbols()] == ["Dm", "C", "Dm", "C"]


def test_without_any_model_the_page_says_how_to_get_one(browser, tmp_path):
    service = StudioService(Catalog(tmp_path, shipped=None), audio=False)
    with start_in_thread(service) as url:
        browser.get(url)
        about = browser.find_element(By.ID, "model-about")
        WebDriverWait(browser, WAIT).until(lambda d: about.text)
        assert about.text.startswith("No model here: train one with `composer train DATA_DIR`")
        assert not browser.find_element(By.ID, "generate").is_enabled()


def test_upload_a_midi_file_as_the_primer(studio_without_audio, tmp_path):
    from composer.music.midi import write_midi
    from composer.music.notes import Note

    driver, service = studio_without_audio
    tune = tmp_path / "my tune.mid"
    write_midi(tune, [Note(i / 2, i / 2 + 0.5, 62 + i % 5) for i in range(12)],
               time_signature=(2, 4))
    driver.find_element(By.ID, "upload").send_keys(str(tune))
    wait_for_take(driver, 1)
    assert driver.find_element(By.ID, "take-title").text == "my tune.mid"
    assert driver.find_element(By.ID, "primer-status").text.startswith(
        "Continuing my tune.mid (3 bars of 2/4)")
    fill(driver, "bars", "1")
    generate_and_wait(driver, takes_before=1)
    continued = service.store.get("t2")
    assert continued.primer_end == 6.0 and continued.end == 8.0 and str(continued.metre) == "2/4"


def test_the_score_view_shows_the_take_as_staff_notation(studio_without_audio):
    pytest.importorskip("verovio")
    driver, service = studio_without_audio
    driver.get_log("browser")  # what earlier tests left
    fill(driver, "metre", "6/8")
    fill(driver, "seed", "2")
    fill(driver, "bars", "4")
    generate_and_wait(driver)
    assert driver.find_element(By.ID, "score-wrap").get_attribute("hidden") is not None
    driver.find_element(By.ID, "view-score").click()
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "const i = document.getElementById('score'); return !i.hidden && i.naturalWidth > 0"))
    assert driver.find_element(By.ID, "roll-wrap").get_attribute("hidden") is not None
    assert driver.find_element(By.ID, "view-score").get_attribute("aria-pressed") == "true"
    take = service.store.get(driver.find_element(By.ID, "score").get_attribute("data-take"))
    assert "<svg" in take.score_svg  # engraved once, kept with the take
    generate_and_wait(driver, 1)  # a new take is engraved while the score is shown
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "const i = document.getElementById('score');"
        "return i.dataset.take === 't2' && !i.hidden && i.naturalWidth > 0"))
    driver.find_element(By.TAG_NAME, "body").send_keys("s")  # S goes back to the roll
    assert driver.find_element(By.ID, "roll-wrap").get_attribute("hidden") is None
    abc = driver.execute_script(
        "return fetch(document.getElementById('download-abc').href).then(r => r.text())")
    assert abc.startswith("X:1\nT:Take 2\nM:6/8")
    assert browser_errors(driver) == []
