"""A real headless Chromium driven by Selenium, with the network blocked, for testing the HTML report.

:func:`headless_browser` starts Debian's ``chromium`` through Debian's ``chromedriver`` (both found on
``PATH``: Selenium never downloads a driver or a browser here). Every ``http``, ``https``, ``ws`` and ``wss``
request the page makes fails, so a test sees exactly what a reader without network access sees;
``file://`` and ``data:`` URLs still load. :func:`page_checks` reports the console errors and the images
that did not load; :func:`screenshot` saves the whole page as a PNG.

Install both on Debian with ``apt-get install chromium chromium-driver`` (``make browser-tools`` does that).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchlib.testing.required_tools import find_program, skip_or_fail

__all__ = [
    "BLOCKED_URLS", "BROWSER_PROGRAMS", "DRIVER_PROGRAMS", "REQUIRE_BROWSER_ENV", "BrowserMissing",
    "find_browser", "headless_browser", "page_checks", "require_browser", "screenshot",
]  # fmt: skip

BROWSER_PROGRAMS = ("chromium", "chromium-browser")
DRIVER_PROGRAMS = ("chromedriver",)
BLOCKED_URLS = ["http://*", "https://*", "ws://*", "wss://*"]
"""URL patterns Chromium refuses (DevTools ``Network.setBlockedURLs``): the network; file: and data: URLs load."""

REQUIRE_BROWSER_ENV = "BENCHLIB_REQUIRE_BROWSER"
"""Set to 1 (CI does) to fail, not skip, a test whose chromium, chromedriver or selenium is missing."""

WIDTH = 1280
"""Window width, CSS pixels, of the browser and of its screenshots."""


class BrowserMissing(FileNotFoundError):
    """chromium, chromedriver or the selenium package is not installed; the message says how to install it."""


def find_browser() -> tuple[str, str]:
    """The paths of ``chromium`` and ``chromedriver``; :class:`BrowserMissing` if either or selenium is missing."""
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install selenium; the dev extra has it)")
    browser, driver = find_program(BROWSER_PROGRAMS), find_program(DRIVER_PROGRAMS)
    missing += ["chromium"] * (browser is None) + ["chromedriver"] * (driver is None)
    if missing:
        raise BrowserMissing(
            f"{', '.join(missing)} not installed: `make browser-tools` installs Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver)"
        )
    return browser, driver  # type: ignore[return-value]


def require_browser() -> tuple[str, str]:
    """:func:`find_browser`; when something is missing skip the test, or fail it when ``BENCHLIB_REQUIRE_BROWSER=1``."""
    try:
        return find_browser()
    except BrowserMissing as exc:
        skip_or_fail(str(exc), REQUIRE_BROWSER_ENV)


@contextlib.contextmanager
def headless_browser(*, height: int = 900) -> Iterator[Any]:
    """A headless Chromium (a Selenium ``webdriver.Chrome``) with the network blocked and its console logged.

    Read the console with ``driver.get_log("browser")`` (or :func:`page_checks`); the browser quits on exit.

    Raises:
        BrowserMissing: chromium, chromedriver or selenium is not installed (``make browser-tools``).
    """
    browser, driver_path = find_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        f"--window-size={WIDTH},{height}", "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": BLOCKED_URLS})
        yield driver
    finally:
        driver.quit()


_BROKEN_IMAGES = """
return Array.from(document.images)
    .filter(img => !img.complete || img.naturalWidth === 0)
    .map(img => img.currentSrc || img.src || '').map(src => src.startsWith('data:') ? src.slice(0, 80) : src);
"""
_NETWORK_REQUESTS = """
return performance.getEntriesByType('resource').map(e => e.name).filter(n => /^(https?|wss?):/i.test(n));
"""


def page_checks(driver: Any) -> dict[str, list[str]]:
    """What is wrong with the page loaded in ``driver``.

    Returns:
        ``{"severe": [...], "broken_images": [...], "network_requests": [...]}``: the console messages of level
        SEVERE (errors, failed loads) since the last read of the console; the ``src`` of every image that did
        not load (``naturalWidth == 0``; a ``data:`` URL cut to 80 characters); and the URL of every resource
        the page asked of the network (Resource Timing), which the block made fail. Chromium logs no console error for a
        blocked request, so only the last list shows a stylesheet or script a page tried to fetch. All three
        empty for a sound, self-contained page.
    """
    severe = [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    return {
        "severe": severe,
        "broken_images": list(driver.execute_script(_BROKEN_IMAGES)),
        "network_requests": sorted(set(driver.execute_script(_NETWORK_REQUESTS))),
    }


def screenshot(driver: Any, path: Path, *, max_height: int | None = None) -> Path:
    """Save the whole page (its top ``max_height`` pixels if given) as a PNG at ``path``, :data:`WIDTH` pixels wide.

    The window is made as tall as the document plus what headless Chromium keeps outside the viewport
    (``outerHeight - innerHeight``, about 140 px), so the screenshot is the whole page, not its top.
    """
    height, frame = driver.execute_script(
        "const b = document.body, d = document.documentElement;"
        "return [Math.max(b.scrollHeight, d.scrollHeight, b.offsetHeight, d.offsetHeight),"
        " Math.max(window.outerHeight - window.innerHeight, 0)];"
    )
    driver.set_window_size(WIDTH, max(min(int(height), max_height or int(height)), 100) + int(frame))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(path)):
        raise RuntimeError(f"the browser did not save a screenshot to {path}")
    return path
