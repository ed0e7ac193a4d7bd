"""legato-serve's page in a real headless Chromium, driven by Selenium (chromium-driver).

A checkpoint is trained for a moment on the default corpus; the page composes from it, shows
the piano roll, loads the sound, downloads the MIDI file (read back with miditool) and shows
the message for a damaged upload. A screenshot of the page after composing is saved as
serve-page.png in the build folder. Skips, saying why, where Chromium, its driver or Selenium
is missing (tools/setup.sh installs them)."""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

BIN = Path(os.environ.get("LEGATO_BIN_DIR", "build/bin"))
BUILD = Path(os.environ.get("LEGATO_BUILD_DIR", BIN.parent))
CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    webdriver = None

pytestmark = pytest.mark.skipif(
    webdriver is None or not CHROMIUM or not DRIVER,
    reason="needs chromium, chromium-driver and python3-selenium (tools/setup.sh installs them)")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    subprocess.run([str(BIN / "trainer"), "--preset", "tiny", "--epochs", "1", "--hidden", "16", "--layers", "1",
                    "--seq-len", "20", "--embedding", "8", "--eval-pieces", "2", "--out", str(root / "run")],
                   check=True, capture_output=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return root


@pytest.fixture(scope="module")
def server(models, tmp_path_factory):
    out = tmp_path_factory.mktemp("pieces")
    process = subprocess.Popen([str(BIN / "legato-serve"), "--port", "0", "--models", str(models), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        found = re.search(r"open (http://\S+)", line)
        if found:
            break
    else:
        pytest.fail("legato-serve did not start")
    yield found.group(1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100",
                 "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.downloads = downloads
    yield driver
    driver.quit()


def wait_for(driver, condition, seconds=60):
    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(lambda d: condition())


def notes_in(midi_file):
    info = subprocess.run([str(BIN / "miditool"), "info", str(midi_file)], check=True, capture_output=True,
                          text=True).stdout
    return int(re.search(r"^notes\s+(\d+)", info, re.M).group(1))


def test_compose_show_play_download(browser, server):
    browser.get(server)
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#model option[value='run/best.safetensors']"))
    Select(browser.find_element(By.ID, "model")).select_by_value("run/best.safetensors")
    assert "trained" in browser.find_element(By.ID, "model-info").text
    browser.execute_script("const l = document.getElementById('length'); l.value = 300;"
                           "l.dispatchEvent(new Event('input'));")
    browser.find_element(By.ID, "seed").send_keys("7")
    browser.find_element(By.ID, "compose").click()
    roll = browser.find_element(By.ID, "roll")
    wait_for(browser, lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", roll))
    summary = browser.find_element(By.ID, "summary").text
    notes = int(re.search(r"(\d+) notes", summary).group(1))
    assert notes > 0 and "seed 7" in summary
    assert browser.find_element(By.ID, "error").text == ""
    # The sound: FluidSynth's WAV, decoded by the browser, with a length.
    audio = browser.find_element(By.ID, "audio")
    duration = wait_for(browser, lambda: browser.execute_script(
        "const a = arguments[0]; return a.readyState >= 1 && a.duration > 0 && a.duration", audio))
    assert duration > 0.2
    browser.save_screenshot(str(BUILD / "serve-page.png"))
    # The MIDI file as the browser downloads it, read back: the notes the summary says.
    browser.find_element(By.ID, "download-mid").click()
    name = browser.find_element(By.ID, "download-mid").get_attribute("download")
    downloaded = browser.downloads / name
    wait_for(browser, lambda: downloaded.exists() and downloaded.stat().st_size > 0)
    time.sleep(0.2)  # the browser renames the finished file into place; let it settle
    assert notes_in(downloaded) == notes
    assert browser.find_elements(By.CSS_SELECTOR, "#pieces li")


def test_damaged_upload_shows_its_message(browser, server, tmp_path):
    browser.get(server)
    damaged = tmp_path / "damaged.mid"
    damaged.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\xff\xff garbage")
    browser.find_element(By.ID, "primer-file").send_keys(str(damaged))
    error = browser.find_element(By.ID, "error")
    wait_for(browser, lambda: error.text)
    assert error.text.startswith("damaged.mid: ")
    assert "byte" in error.text  # the reader's line: where in the file it went wrong
