"""The self-contained HTML report opened in a real headless Chromium from a ``file://`` URL, the network blocked.

The report is built by :func:`benchlib.report_html.build_report` from the figures the report notebooks draw
over the two committed runs of ``tests/fixtures/runs/``. The browser (:mod:`benchlib.testing.browser`) must
see no console error, every image loaded, the decision headline, a table that sorts on a click, and no
request leave the machine. A small hand-written page checks first that the checks themselves catch a broken
image, a console error, an external request and a sort.

The screenshot goes to ``docs/images/report.png`` (the README shows it) when ``BENCHLIB_UPDATE_SCREENSHOT=1``,
else to a temporary folder. Skipped when chromium, chromedriver or selenium is missing (``make browser-tools``),
unless ``BENCHLIB_REQUIRE_BROWSER=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import base64
import os
import struct
from pathlib import Path

import pytest

from benchlib.notebook_runner import run_report_notebook
from benchlib.paths import reference_csv
from benchlib.testing.browser import headless_browser, page_checks, require_browser, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.notebook]

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "tests" / "fixtures" / "runs"
README_SCREENSHOT = ROOT / "docs" / "images" / "report.png"
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

_COLUMN = "return Array.from(arguments[0].tBodies[0].rows, row => (row.cells[arguments[1]]?.textContent ?? '').trim());"
_FETCH = """const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => done('fetched ' + r.status), e => done('rejected: ' + e));"""


@pytest.fixture(scope="module")
def driver():
    require_browser()  # skips, or fails under BENCHLIB_REQUIRE_BROWSER=1, when the browser is missing
    with headless_browser() as browser:
        browser.set_script_timeout(30)
        yield browser


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """``report.html`` over the figures of the report notebooks run on the committed fixture runs."""
    from benchlib.report_html import build_report

    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCHLIB_CACHE_DIR", str(folder / "cache"))
        run_report_notebook(RUNS, folder / "figures", reference_csv(), folder / "notebooks")
    output = folder / "report.html"
    build_report(folder / "figures", RUNS, output)
    assert output.is_file()
    return output


def _open(driver, path: Path) -> dict[str, list[str]]:
    """Load ``path`` (the console read before, so only this page's messages count); :func:`page_checks` of it."""
    driver.get_log("browser")
    driver.get(path.resolve().as_uri())
    return page_checks(driver)


def _sortable_column(driver) -> tuple[list[list[str]], list[str | None]]:
    """The values of the first column of a ``table.sortable`` holding two distinct ones (the first such column of
    the first such table: a report table's first column can hold one run id throughout), before a click on its
    header, after one and after two; and the header's ``aria-sort`` after each click."""
    from selenium.webdriver.common.by import By

    for table in driver.find_elements(By.CSS_SELECTOR, "table.sortable"):
        headers = table.find_elements(By.CSS_SELECTOR, "thead th")
        for column, header in enumerate(headers):
            orders = [driver.execute_script(_COLUMN, table, column)]
            if len(set(orders[0])) < 2:
                continue
            aria = []
            for _ in range(2):
                header.click()
                orders.append(driver.execute_script(_COLUMN, table, column))
                aria.append(header.get_attribute("aria-sort"))
            return orders, aria
    raise AssertionError("no table.sortable has a column holding two distinct values")


def _assert_sorts(driver) -> None:
    (before, once, twice), aria = _sortable_column(driver)
    assert sorted(once) == sorted(before) == sorted(twice), "a click lost or duplicated rows"
    assert once != twice, f"a second click on the header did not reorder the rows: {once}"
    if aria[0] is not None:  # the report's script sets it; ties and empty cells (kept last) make exact reversal moot
        assert {aria[0], aria[1]} == {"ascending", "descending"}, f"aria-sort did not toggle: {aria}"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_checks_catch_what_they_look_for(driver, tmp_path):
    """A control page: a broken image, a console error, an external request and a sortable table are all seen."""
    page = tmp_path / "control.html"
    pixel = base64.b64encode(PIXEL_PNG).decode()
    page.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>control</title></head><body>
<img id="ok" src="data:image/png;base64,{pixel}"><img src="missing.png"><img src="https://example.com/x.png">
<table class="sortable"><thead><tr><th>name</th><th>n</th></tr></thead>
<tbody><tr><td>b</td><td>2</td></tr><tr><td>c</td><td>3</td></tr><tr><td>a</td><td>1</td></tr></tbody></table>
<script>
document.querySelectorAll('table.sortable th').forEach((th, i) => th.addEventListener('click', () => {{
  const body = th.closest('table').tBodies[0], up = th.getAttribute('aria-sort') !== 'ascending';
  const rows = Array.from(body.rows).sort((x, y) => x.cells[i].textContent.localeCompare(y.cells[i].textContent));
  (up ? rows : rows.reverse()).forEach(row => body.appendChild(row));
  th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
}}));
console.error('control error');
</script></body></html>""")
    checks = _open(driver, page)
    assert any("control error" in message for message in checks["severe"])
    assert any("missing.png" in message for message in checks["severe"])
    assert [src.rsplit("/", 1)[-1] for src in checks["broken_images"]] == ["missing.png", "x.png"]
    assert checks["broken_images"][0] == (tmp_path / "missing.png").as_uri()
    assert checks["network_requests"] == ["https://example.com/x.png"]
    assert driver.execute_script("return document.getElementById('ok').naturalWidth") == 1
    assert driver.execute_async_script(_FETCH, "https://example.com/").startswith("rejected")
    _assert_sorts(driver)


def test_report_loads_clean_offline(driver, report):
    checks = _open(driver, report)
    assert checks == {"severe": [], "broken_images": [], "network_requests": []}
    assert driver.execute_script("return document.images.length") > 0, "the report shows no figure"
    assert driver.execute_script("return Array.from(document.images).every(img => img.naturalWidth > 0)")


def test_report_opens_with_the_decision(driver, report):
    from selenium.webdriver.common.by import By

    _open(driver, report)
    sections = driver.find_elements(By.CSS_SELECTOR, "section#decision")
    assert sections, "the report has no <section id=decision>"
    headline = sections[0].find_elements(By.CSS_SELECTOR, "#headline")
    assert headline and headline[0].text.strip(), f"no decision headline: {sections[0].text[:300]!r}"
    first = driver.execute_script("return document.querySelector('main section').id")
    assert first == "decision", f"the report opens with #{first}, not the decision"


def test_report_table_sorts_on_click(driver, report):
    _open(driver, report)
    _assert_sorts(driver)


def test_report_page_cannot_reach_the_network(driver, report):
    _open(driver, report)
    assert driver.execute_async_script(_FETCH, "https://example.com/").startswith("rejected")
    assert driver.execute_async_script(_FETCH, "http://example.com/").startswith("rejected")


def test_report_screenshot(driver, report, tmp_path):
    """The whole page, and the top of it (the decision first), which the README shows with
    ``BENCHLIB_UPDATE_SCREENSHOT=1`` (``make docs-images``)."""
    _open(driver, report)
    width, height = _png_size(screenshot(driver, tmp_path / "report-full.png"))
    assert width > 1000 and height > 1600
    top = README_SCREENSHOT if os.environ.get("BENCHLIB_UPDATE_SCREENSHOT") == "1" else tmp_path / "report.png"
    width, height = _png_size(screenshot(driver, top, max_height=1600))
    assert width > 1000 and height == 1600
