"""The dashboard of the demo, opened in headless Chromium (Debian's ``chromium``, driven by Playwright).

Every chart renders (an SVG of non-zero size), no console error, no request beyond the page's own file;
the data the page embeds are rows of ``reporting`` tables (every value equal to the stored one), with no
count below min_cell; a screenshot of each section lands in the test's output folder.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.dashboard.registry import load_registry

pytestmark = pytest.mark.browser

SECTIONS = ("breadth", "depth", "outcomes", "experience", "studies")
MIN_CELL = 5


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("headless Chromium is missing: install Debian's package (`apt-get install chromium`; .ci/run "
                    "does it when missing). Playwright drives it; its own browser download cannot work offline.")
    return path


def embedded_blocks(html: str) -> list[dict]:
    """The JSON data blocks of every chart (``<script type="application/json" class="chart-data">``)."""
    found = re.findall(r'<script type="application/json" class="chart-data" data-indicator="([a-z0-9_]+)" '
                       r'data-table="reporting\.([a-z0-9_]+)">(.*?)</script>', html, flags=re.S)
    return [dict(json.loads(body.replace("<\\/", "</")), indicator=ind, table_name=table) for ind, table, body in found]


def chart_specs(html: str) -> dict:
    body = re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>', html, flags=re.S).group(1)
    return json.loads(body.replace("<\\/", "</"))


def _norm(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def reporting_rows(con, table: str, columns: list[str]) -> set[tuple]:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return {tuple(_norm(v) for v in row) for row in con.execute(f'select {quoted} from reporting."{table}"').fetchall()}


def flagged_counts(con, table: str) -> set[str]:
    """Columns that reporting protects as counts: whole-number columns with a ``<column>_suppressed`` flag (not a
    withheld share such as ``survival``), and n_* integers (not ``n_waves``, an instrument's number of waves)."""
    cols = dict(con.execute("select column_name, data_type from information_schema.columns where table_schema = "
                            "'reporting' and table_name = ?", [table]).fetchall())
    whole = ("BIGINT", "INTEGER", "HUGEINT")
    return {c for c, t in cols.items() if f"{c}_suppressed" in cols and t in whole} | {
        c for c, t in cols.items() if (c == "n" or c.startswith("n_")) and c != "n_waves"
        and t in whole}


@pytest.fixture(scope="module")
def site(demo_build):
    index = demo_build.dashboard / "index.html"
    assert index.exists(), demo_build.stdout[-3000:]
    return index


def test_make_demo_prints_the_dashboard_path(demo_build, site):
    assert f"dashboard: {site}" in demo_build.stdout


def test_the_page_embeds_only_rows_of_reporting_and_no_small_count(demo_build, site):
    html = site.read_text(encoding="utf-8")
    blocks = embedded_blocks(html)
    assert {b["indicator"] for b in blocks} >= {"placement_rate_365d", "study_flow", "staff_constructs"}
    con = duckdb.connect(str(demo_build.db), read_only=True)
    try:
        checked = 0
        for block in blocks:
            table, rows = block["table_name"], block["rows"]
            assert rows, block["indicator"]
            stored_cols = [c for c in rows[0] if not c.startswith("_")]
            stored = reporting_rows(con, table, stored_cols)
            counts = flagged_counts(con, table)
            for row in rows:
                # every value that is not display text is the stored value of one reporting row
                assert tuple(row[c] for c in stored_cols) in stored, (block["indicator"], row)
                for c, v in row.items():
                    if c.startswith("_"):
                        assert v is None or isinstance(v, str), (block["indicator"], c, v)  # labels, no numbers
                    elif c in counts and v is not None:
                        assert not (0 < v < MIN_CELL), (block["indicator"], c, v)
                checked += 1
        assert checked > 300  # the demo embeds hundreds of rows
        # the charts' own data (Vega-Lite datasets) are the same rows: their stored columns match reporting too
        by_indicator = {b["indicator"]: b for b in blocks}
        for ident, spec in chart_specs(html).items():
            block = by_indicator[ident]
            stored_cols = [c for c in block["rows"][0] if not c.startswith("_")]
            stored = reporting_rows(con, block["table_name"], stored_cols)
            for records in spec.get("datasets", {}).values():
                for rec in records:
                    assert tuple(rec[c] for c in stored_cols) in stored, (ident, rec)
                    assert all(isinstance(v, str) or v is None for c, v in rec.items() if c.startswith("_"))
    finally:
        con.close()
    # nothing is loaded from anywhere: no external script, stylesheet or image, and a policy forbidding it
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "<script></script>", html, flags=re.S)  # the page's own tags
    assert not re.search(r'<(script|img|link|iframe|object|embed)\b[^>]*\b(src|href|data)=', markup)
    assert "default-src 'none'" in html


def test_every_chart_renders_offline_in_chromium(site, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    shots = tmp_path_factory.mktemp("dashboard_screenshots")
    console, requests = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(site.as_uri())
            charts = page.locator("div.chart")
            n = charts.count()
            # every indicator of the registry: the demo fills every reporting table the dashboard reads
            assert n == len(load_registry().indicators) == 10
            page.wait_for_function(f"document.querySelectorAll('div.chart[data-rendered=true]').length === {n}",
                                   timeout=60_000)
            for i in range(n):
                svg = charts.nth(i).locator("svg").first
                box = svg.bounding_box()
                assert box and box["width"] > 100 and box["height"] > 100, (charts.nth(i).get_attribute("id"), box)
                assert (charts.nth(i).get_attribute("aria-label") or "").strip()  # the alt text (role img)
            for section in SECTIONS:
                element = page.locator(f"#section-{section}")
                assert element.locator("h2").inner_text().strip()
                assert element.locator("figure").count() >= 1
                path = shots / f"{section}.png"
                element.screenshot(path=str(path))
                assert path.stat().st_size > 10_000
            # readable at 1280 px: nothing wider than the window
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        finally:
            browser.close()
    assert not [m for m in console if m[0] in ("error", "pageerror")], console
    assert requests == [site.as_uri()], requests  # the page itself, nothing else


def test_every_section_shows_a_chart_with_the_demo_data(site):
    html = site.read_text(encoding="utf-8")
    drawn = set(chart_specs(html))
    for section in SECTIONS:
        part = html.split(f'<section id="section-{section}"', 1)[1].split("</section>", 1)[0]
        ids = set(re.findall(r'<div class="chart" id="chart-([a-z0-9_]+)"', part))
        assert ids & drawn, f"section {section} draws no chart"


def test_the_cli_writes_the_same_page_elsewhere(demo_build, tmp_path):
    env = {"SOFS_WAREHOUSE_PATH": str(demo_build.db), "DAGSTER_HOME": str(demo_build.base / "dagster_home"),
           "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    proc = subprocess.run([str(Path(sys.executable).with_name("sofs-warehouse")), "dashboard", "--out",
                           str(tmp_path / "site")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "auditing the reporting tables" in proc.stdout
    page = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert [b["rows"] for b in embedded_blocks(page)] == [
        b["rows"] for b in embedded_blocks((demo_build.dashboard / "index.html").read_text(encoding="utf-8"))]
