"""Open a written page in a real headless browser and report what a reader would see.

Debian's ``chromium`` and ``chromium-driver`` packages (``apt-get install chromium
chromium-driver``; ``.ci/run`` installs them) driven through Selenium. The driver's path is always
given explicitly and ``SE_OFFLINE`` is set, so Selenium Manager never downloads a browser or driver.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

_INSTALL = "Debian's chromium/chromium-driver not installed (apt-get install chromium chromium-driver)"
_WAIT_S = 15.0  # how long to wait for the page's images to finish loading (or failing)

# Every <img>: its src attribute and whether it loaded (a broken image is complete with no width).
_IMAGES_JS = """return Array.from(document.images).map(function (img) {
  return [img.getAttribute('src'), img.complete && img.naturalWidth > 0];
});"""


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw on one page.

    ``images``: how many ``<img>`` it has; ``broken_images``: the ``src`` of each that did not load
    (``img.complete && img.naturalWidth > 0`` false); ``console_errors``: the SEVERE browser console
    messages (a failed resource, a script error); ``title``; ``text``: ``document.body.innerText``;
    ``screenshot``: the full-page PNG written, or None.
    """

    title: str
    text: str
    images: int
    broken_images: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        """Every image loaded and the console shows no error."""
        return not self.broken_images and not self.console_errors


def browser_available() -> str | None:
    """None when a headless Chromium can be driven here, else why not (a line for ``pytest.skip``)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[test]')"
    if _chromium() is None or not Path(_chromedriver()).is_file():
        return _INSTALL
    return None


def check_page(path: str | os.PathLike, screenshot: str | os.PathLike | None = None, width: int = 1280,
               height: int = 900, actions: Callable[[Any], None] | None = None) -> PageCheck:
    """Load ``path`` (a local HTML file) in headless Chromium with a ``width`` x ``height`` window.

    Waits until every image has loaded or failed, then calls ``actions(driver)`` if given (a
    Selenium WebDriver: click a header, read the DOM) before reading the console, so errors the
    actions cause are reported too. With ``screenshot`` a full-page PNG (the whole document, not
    just the window) is written there.
    """
    reason = browser_available()
    if reason is not None:
        raise RuntimeError(reason)
    from selenium.webdriver.support.ui import WebDriverWait

    page = Path(path).resolve()
    if not page.is_file():
        raise FileNotFoundError(page)
    driver = _driver(width, height)
    try:
        driver.get(page.as_uri())
        WebDriverWait(driver, _WAIT_S).until(
            lambda d: d.execute_script("return document.readyState === 'complete' && "
                                       "Array.from(document.images).every(function (i) { return i.complete; });"))
        if actions is not None:
            actions(driver)
        images = driver.execute_script(_IMAGES_JS)
        shot = _full_page_screenshot(driver, Path(screenshot)) if screenshot is not None else None
        return PageCheck(
            title=driver.title,
            text=driver.execute_script("return document.body ? document.body.innerText : '';"),
            images=len(images),
            broken_images=[src for src, loaded in images if not loaded],
            console_errors=[e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"],
            screenshot=shot,
        )
    finally:
        driver.quit()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _chromedriver() -> str:
    return shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _driver(width: int, height: int):
    """A headless Chromium WebDriver that keeps the browser console log; never touches the network."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager, if ever reached, may not download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=_chromedriver()), options=options)


def _full_page_screenshot(driver, out: Path) -> Path:
    """The whole document (beyond the window) as a PNG, through the DevTools protocol."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
    })
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(shot["data"]))
    return out
