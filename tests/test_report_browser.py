"""Report pages as a reader sees them: rendered by headless Chromium (Debian's chromium + chromium-driver).

The browser tests skip, with the reason, where the browser is not installed; the escaping test
runs everywhere.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from PIL import Image

from rnnlab.errors import ConfigError
from rnnlab.report import browser_available, check_page, provenance, write_page

_NO_BROWSER = browser_available()
needs_browser = pytest.mark.skipif(_NO_BROWSER is not None, reason=_NO_BROWSER or "")

# (run, score, status): text order of the names and of the scores differs from their natural order
_RUNS = [("run-2", 0.5, "pass"), ("run-10", 12.0, "fail"), ("run-1", 3.25, "inconclusive"),
         ("run-3", 1e-3, "pass"), ("run-20", 7.0, "fail")]


def _png(path: Path, size: tuple[float, float]) -> Path:
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1, 2, 3], [0, 1, 4, 9], "o-")
    ax.set(xlabel="step", ylabel="loss", title=path.stem)
    fig.savefig(path, dpi=100)
    return path


def _sections(tmp_path: Path) -> list[dict]:
    """Two sections: a summary, a sortable table with a link and a status column, two real PNGs."""
    figs = tmp_path / "figures"
    figs.mkdir()
    return [
        {"heading": "training", "intro": "Loss and accuracy of every run.",
         "summary": {"networks": len(_RUNS), "mean score": sum(r[1] for r in _RUNS) / len(_RUNS), "status": "converged"},
         "figures": [(_png(figs / "loss.png", (5, 3.6)), "loss against step"),
                     (_png(figs / "accuracy.png", (5, 3.6)), "accuracy against step")]},
        {"heading": "runs", "intro": "One row per run; click a header to sort.",
         "tables": [{"caption": "every run", "columns": ["run", "score", "status"], "sortable": True,
                     "links": {"run": "href"},
                     "rows": [{"run": n, "score": s, "status": st, "href": f"runs/{n}/index.html"}
                              for n, s, st in _RUNS]}],
         "links": [("https://doi.org/10.1038/nature12742", "Mante et al. 2013")]},
    ]


def _column(driver, index: int) -> list[str]:
    return driver.execute_script(
        "var i = arguments[0]; return Array.from(document.querySelectorAll('table.sortable tbody tr'))"
        ".map(function (r) { return r.cells[i].textContent.trim(); });", index)


@needs_browser
def test_page_renders_in_browser_images_toc_table_and_sorting(tmp_path):
    from selenium.webdriver.common.by import By

    page = write_page(tmp_path / "report" / "index.html", "template check", _sections(tmp_path),
                      provenance=provenance({"study": "browser test"}))
    seen: dict = {}

    def actions(driver):
        seen["toc"] = [(a.get_dom_attribute("href"), a.text) for a in driver.find_elements(By.CSS_SELECTOR, "nav.toc a")]
        seen["targets"] = {h: driver.execute_script(
            "var s = document.getElementById(arguments[0]); return s ? s.querySelector('h2').textContent : null;",
            h[1:]) for h, _ in seen["toc"]}
        seen["links"] = {a.text: a.get_dom_attribute("href")
                         for a in driver.find_elements(By.CSS_SELECTOR, "table.sortable tbody a")}
        seen["badges"] = [(e.text, e.get_attribute("class"))
                          for e in driver.find_elements(By.CSS_SELECTOR, "table.sortable .status")]
        header = {th.text.strip(): th for th in driver.find_elements(By.CSS_SELECTOR, "table.sortable thead th")}
        header["score"].click()
        seen["score up"] = _column(driver, 0)
        header["score"].click()
        seen["score down"] = _column(driver, 0)
        header["run"].click()
        seen["run up"] = _column(driver, 0)

    check = check_page(page, screenshot=tmp_path / "page.png", actions=actions)
    assert check.ok, (check.broken_images, check.console_errors)
    assert check.images == 2 and check.broken_images == [] and check.console_errors == []
    assert check.title == "template check"
    # the table of contents links to each section, whose heading it names
    assert seen["toc"] == [("#training", "training"), ("#runs", "runs")]
    assert seen["targets"] == {"#training": "training", "#runs": "runs"}
    # table text, links and badges, as given
    for name, score, status in _RUNS:
        assert re.search(rf"{name}\s+{score:.4g}\s+{status}", check.text), name
    assert seen["links"] == {n: f"runs/{n}/index.html" for n, _, _ in _RUNS}
    expected_class = {"pass": "status-good", "fail": "status-bad", "inconclusive": "status-neutral"}
    assert all(expected_class[text] in cls.split() for text, cls in seen["badges"])
    # sorting: by value for numbers, naturally (run-2 before run-10) for text; Python's order as reference
    by_score = [n for n, _, _ in sorted(_RUNS, key=lambda r: r[1])]
    assert seen["score up"] == by_score and seen["score down"] == by_score[::-1]
    assert seen["run up"] == [n for n, _, _ in sorted(_RUNS, key=lambda r: int(r[0].split("-")[1]))]
    # the provenance box and the section text
    assert "browser test" in check.text and metadata.version("jax") in check.text
    assert "Loss and accuracy of every run." in check.text and "Mante et al. 2013" in check.text
    # the screenshot is the whole page at the window's width, taller than the 900-pixel window
    with Image.open(check.screenshot) as shot:
        assert shot.format == "PNG" and shot.width == 1280 and shot.height > 900


@needs_browser
def test_missing_image_is_reported_broken(tmp_path):
    good = _png(tmp_path / "good.png", (3, 2))
    page = write_page(tmp_path / "index.html", "missing", [
        {"heading": "figures", "figures": [(good, "present"), (tmp_path / "gone.png", "missing")]}])
    check = check_page(page)
    assert check.images == 2 and check.broken_images == ["gone.png"]
    assert not check.ok and any("gone.png" in e for e in check.console_errors)


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [v for _, v in attrs if v is not None]

    def handle_data(self, data):
        self.text.append(data)


def test_special_characters_are_escaped(tmp_path):
    evil = "<script>alert('x')</script> & \"q\" <b>bold</b>"
    png = _png(tmp_path / "f.png", (3, 2))
    page = write_page(tmp_path / "index.html", f"title {evil}", [
        {"heading": f"head {evil}", "intro": f"intro {evil}", "summary": {f"key {evil}": f"value {evil}"},
         "figures": [(png, f"caption {evil}")],
         "tables": [{"caption": f"table {evil}", "columns": [f"col {evil}"], "rows": [[f"cell {evil}"]]}],
         "links": [("x.html", f"link {evil}")]}],
        provenance={f"prov {evil}": f"val {evil}"})
    source = page.read_text()
    assert "<b>" not in source and "alert('x')" not in source and "&lt;script&gt;" in source
    parsed = _Collect()
    parsed.feed(source)
    # no tag came from the text (the table is not sortable: no script at all) and every text is intact
    assert "script" not in parsed.tags and "b" not in parsed.tags
    text = "".join(parsed.text)
    for where in ("title", "head", "intro", "key", "value", "table", "col", "cell", "link", "prov", "val"):
        assert f"{where} {evil}" in text, where
    assert f"caption {evil}" in text and f"caption {evil}" in parsed.attrs  # figcaption and alt


def test_numbers_to_four_significant_digits_and_bad_sections(tmp_path):
    page = write_page(tmp_path / "index.html", "n", [
        {"heading": "s", "summary": {"a": 0.123456, "b": 123456.7, "c": [1.0 / 3, 7], "d": 12},
         "tables": [{"columns": ["x"], "rows": [[2.0 / 3]], "sortable": True}]}])
    text = page.read_text()
    for shown in ("0.1235", "1.235e+05", "[0.3333, 7]", ">12<", ">0.6667<"):
        assert shown in text, shown
    assert f'data-v="{2.0 / 3!r}"' in text  # sorting uses the full value
    with pytest.raises(ConfigError, match=r"sections\[0\]: unknown key"):
        write_page(tmp_path / "x.html", "x", [{"heading": "h", "figure": []}])
    with pytest.raises(ConfigError, match=r"sections\[0\]\.tables\[0\]\.rows\[0\]"):
        write_page(tmp_path / "x.html", "x", [{"heading": "h", "tables": [{"columns": ["a", "b"], "rows": [[1]]}]}])
