"""The HTML report in a real headless Chromium: diagram and map drawn, tables sort and filter, no request leaves.

Needs Debian's ``chromium`` and Playwright for Python (never its own browser download). Also writes
docs/report.png, the screenshot of the sample review shown in the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appvet.report.html import build_graph, render_html
from appvet.report.world import reach
from tests.report.test_html import hostile, sample

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                               "(pip install playwright; do not run 'playwright install')")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_page(browser: Any, html: str, tmp_path: Path, js: bool = True) -> tuple[Any, list[str], list[str]]:
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=js)
    page = ctx.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, errors


def test_renders_sorts_filters_and_stays_offline(browser: Any, tmp_path: Path) -> None:
    r = sample()
    g = build_graph(r)
    page, requests, errors = open_page(browser, render_html(r), tmp_path)
    assert page.locator("svg.flow g.node").count() == len(g.nodes)
    assert page.locator("svg.flow path.edge").count() == len(g.edges)
    assert page.locator("svg.flow").bounding_box()["height"] > 200
    countries = reach(r)
    assert page.locator("svg.world .reached").count() == len(countries)
    assert page.locator("svg.world path").count() > 150
    assert page.locator("svg.world").bounding_box()["width"] > 400

    rows = page.locator("#t-data tbody tr")
    first = lambda: rows.nth(0).locator("td").nth(0).inner_text()  # noqa: E731
    assert first() == "camera"
    page.locator("#t-data thead th").nth(0).locator("button").click()
    page.locator("#t-data thead th").nth(0).locator("button").click()
    assert first() == "wifi_network"
    assert page.locator("#t-data thead th").nth(0).get_attribute("aria-sort") == "descending"
    page.locator("#t-data thead th").nth(3).locator("button").click()
    assert rows.nth(0).locator("td").nth(3).inner_text() == "present"
    assert rows.nth(rows.count() - 1).locator("td").nth(3).inner_text() == "observed"

    page.locator("input.filter[aria-controls=t-sdks]").fill("umeng")
    visible = page.locator("#t-sdks tbody tr:visible")
    assert visible.count() == 2
    page.locator("input.filter[aria-controls=t-sdks]").fill("")
    assert page.locator("#t-sdks tbody tr:visible").count() == len(r.sdks)

    details = page.locator("#t-data details").first
    assert not details.evaluate("d => d.open")
    details.locator("summary").click()
    assert details.evaluate("d => d.open")

    assert errors == []
    assert requests == [(tmp_path / "report.html").as_uri()]

    # APPVET_SCREENSHOT=1 refreshes the README's picture; otherwise the screenshot only has to work.
    shot = DOCS / "report.png" if os.environ.get("APPVET_SCREENSHOT") else tmp_path / "report.png"
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 50_000


def test_hostile_review_runs_no_script_and_loads_nothing(browser: Any, tmp_path: Path) -> None:
    page, requests, errors = open_page(browser, render_html(hostile()), tmp_path)
    assert page.evaluate("document.querySelectorAll('img, script[src]').length") == 0
    assert page.evaluate("document.scripts.length") == 1
    assert "<script>" in page.locator("h1").inner_text()
    assert requests == [(tmp_path / "report.html").as_uri()]
    assert errors == []


def test_static_content_without_javascript(browser: Any, tmp_path: Path) -> None:
    page, requests, _ = open_page(browser, render_html(sample()), tmp_path, js=False)
    assert page.locator("input.filter").count() == 0
    assert page.locator("svg.flow g.node").count() == len(build_graph(sample()).nodes)
    assert page.locator("#t-data tbody tr").count() == len(sample().capabilities)
    page.locator("#t-data details summary").first.click()
    assert page.locator("#t-data details").first.evaluate("d => d.open") is True
    assert len(requests) == 1


def test_print_expands_evidence(browser: Any, tmp_path: Path) -> None:
    page, _, _ = open_page(browser, render_html(sample()), tmp_path)
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("nav.toc").is_hidden()
    assert page.evaluate("[...document.querySelectorAll('details')].every(d => d.open)")
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
