"""The dashboard's HTML: one self-contained ``index.html`` (SPEC 8, dashboard).

The Vega, Vega-Lite and vega-embed JavaScript (``vl_convert.javascript_bundle``) is inlined, and a
Content-Security-Policy forbids every network request (``default-src 'none'``), so the page opens from
the file system, offline, and cannot fetch anything. Per chart: a title, a reading aid, the chart (SVG,
``aria-label`` = alt text), the data as a table beneath (collapsed), the definition from the indicator
registry, the as-of date and the suppression rule. Each chart's rows are also embedded as JSON
(``<script type="application/json" class="chart-data">``) for the browser test and for readers.
"""
from __future__ import annotations

import html
import json
from collections.abc import Iterable

from orchestration.dashboard.data import IndicatorData
from orchestration.dashboard.registry import SECTIONS, Registry

_CSS = """
:root { --ink: #1a1a1a; --muted: #555; --rule: #d0d0d0; --accent: #0072B2; }
* { box-sizing: border-box; }
body { font-family: Arial, Helvetica, sans-serif; color: var(--ink); margin: 0; line-height: 1.45; }
header, main { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; }
h1 { font-size: 1.7rem; margin: 20px 0 6px; } h2 { font-size: 1.35rem; margin: 34px 0 4px; }
h3 { font-size: 1.05rem; margin: 0 0 4px; }
nav a { margin-right: 16px; color: var(--accent); }
.asof, .rule, .intro, .reading, .note { color: var(--muted); font-size: 0.95rem; margin: 4px 0; }
figure { margin: 18px 0 26px; padding: 14px 16px; border: 1px solid var(--rule); border-radius: 6px;
         break-inside: avoid; page-break-inside: avoid; }
.chart { min-height: 60px; overflow-x: auto; }
.vega-bindings { margin: 8px 0; font-size: 0.9rem; } .vega-bind { display: inline-block; margin-right: 18px; }
details { margin-top: 8px; } summary { cursor: pointer; color: var(--accent); }
table { border-collapse: collapse; font-size: 0.82rem; margin-top: 6px; }
th, td { border: 1px solid var(--rule); padding: 2px 6px; text-align: left; } td.num { text-align: right; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 0.9rem; margin: 6px 0; }
dt { font-weight: bold; } .empty { color: var(--muted); font-style: italic; }
@media print { nav, .vega-bindings { display: none; } body { font-size: 10pt; } figure { border: none; } }
"""

_SCRIPT = """
window.addEventListener('beforeprint', function () {
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
});
var specs = JSON.parse(document.getElementById('chart-specs').textContent);
Object.keys(specs).forEach(function (id) {
  vegaEmbed('#chart-' + id, specs[id], {actions: false, renderer: 'svg'})
    .then(function (result) { document.getElementById('chart-' + id).setAttribute('data-rendered', 'true'); })
    .catch(function (error) { console.error('chart ' + id + ': ' + error); });
});
"""

#: No request of any kind leaves the page: scripts and styles are inline, nothing else may load.
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _json_script(obj) -> str:
    """JSON safe inside ``<script>`` (no ``</`` sequence)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")


def _cell(value, withheld: bool, registry: Registry) -> str:
    if value is None:
        return f'<td>{_e(registry.ui.get("withheld", "withheld") if withheld else "–")}</td>'
    if isinstance(value, bool):
        return f"<td>{'ja' if value else 'nee'}</td>"
    if isinstance(value, float):
        return f'<td class="num">{value:.3f}'.replace(".", ",") + "</td>"
    if isinstance(value, int):
        return f'<td class="num">{value}</td>'
    return f"<td>{_e(value)}</td>"


def data_table(data: IndicatorData, registry: Registry) -> str:
    """The chart's rows as an accessible HTML table (Dutch headings; withheld cells say so)."""
    head = "".join(f'<th scope="col">{_e(registry.column(c))}</th>' for c in data.columns)
    body = []
    for row in data.rows:
        cells = []
        for c in data.columns:
            value = row.get(f"_{c}", row.get(c)) if isinstance(row.get(c), str) else row.get(c)
            cells.append(_cell(value, bool(row.get(f"{c}_suppressed")), registry))
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{_e(data.indicator.title)}</caption>"
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _definition(data: IndicatorData, registry: Registry) -> str:
    ind, ui = data.indicator, registry.ui
    items = [(ui.get("numerator", "numerator"), ind.numerator), (ui.get("denominator", "denominator"), ind.denominator),
             (ui.get("exclusions", "exclusions"), ind.exclusions),
             (ui.get("source", "source"), f"{ui.get('spec_section', 'docs/SPEC.md')} {ind.spec}; reporting.{ind.table}")]
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def figure(data: IndicatorData, registry: Registry, footnote: str, has_chart: bool) -> str:
    """One chart's ``<figure>``: title, reading aid, chart (or the ``needs`` sentence), table, definition."""
    ind, ui = data.indicator, registry.ui
    if has_chart:
        chart = (f'<div class="chart" id="chart-{ind.id}" role="img" aria-label="{_e(ind.alt)}"></div>'
                 f'<script type="application/json" class="chart-data" data-indicator="{ind.id}" '
                 f'data-table="reporting.{ind.table}">'
                 + _json_script({"table": f"reporting.{ind.table}", "columns": list(data.columns), "rows": data.rows})
                 + "</script>"
                 f'<details><summary>{_e(ui.get("table", "table"))}</summary>{data_table(data, registry)}</details>')
    else:
        chart = f'<p class="empty">{_e(ind.needs or ui.get("no_data", "no data"))}</p>'
    return (f'<figure id="{ind.id}" aria-labelledby="title-{ind.id}">'
            f'<h3 id="title-{ind.id}">{_e(ind.title)}</h3>'
            f'<p class="reading"><strong>{_e(ui.get("reading", "reading"))}:</strong> {_e(ind.reading)}</p>'
            f"{chart}"
            f'<details><summary>{_e(ui.get("definition", "definition"))}</summary>{_definition(data, registry)}</details>'
            f'<p class="note">{_e(footnote)}</p></figure>')


def render(registry: Registry, charts: Iterable[tuple[IndicatorData, dict | None]], as_of: str, rule: str,
           min_cell: int, bundle: str) -> str:
    """The whole page. ``charts``: (rows, Vega-Lite spec or None) per indicator; ``as_of``: the as-of
    line; ``rule``: the suppression rule in words (``reporting.suppression_rule``) with its ``min_cell``;
    ``bundle``: the Vega JavaScript inlined."""
    ui = registry.ui
    charts = list(charts)
    short = ui.get("suppression_short", "counts from 1 to {largest} are withheld").format(largest=min_cell - 1)
    footnote = f"{ui.get('as_of', 'as of')} {as_of}. {ui.get('suppression', 'suppression')}: {short}"
    nav = "".join(f'<a href="#section-{s}">{_e(registry.sections[s]["title"])}</a>' for s in SECTIONS)
    sections = []
    for s in SECTIONS:
        figures = [figure(d, registry, footnote, spec is not None) for d, spec in charts if d.indicator.section == s]
        sections.append(f'<section id="section-{s}" aria-labelledby="h-{s}"><h2 id="h-{s}">'
                        f'{_e(registry.sections[s]["title"])}</h2><p class="intro">{_e(registry.sections[s]["intro"])}</p>'
                        + "".join(figures) + "</section>")
    specs = {d.indicator.id: spec for d, spec in charts if spec is not None}
    return ("<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(ui.get('page_title', 'Dashboard'))}</title><style>{_CSS}</style>"
            f"<script>{bundle}</script></head><body>"
            f"<header><h1>{_e(ui.get('page_title', 'Dashboard'))}</h1><p class=\"intro\">{_e(ui.get('page_intro', ''))}</p>"
            f"<p class=\"asof\">{_e(ui.get('as_of', 'as of'))} {_e(as_of)}</p>"
            f"<p class=\"rule\">{_e(ui.get('suppression', 'suppression'))}: {_e(short)}</p>"
            f"<details class=\"rule\"><summary>{_e(ui.get('rule_in_full', 'rule'))}</summary><p lang=\"en\">{_e(rule)}</p>"
            f"</details><nav>{nav}</nav></header>"
            f"<main>{''.join(sections)}</main>"
            f'<script type="application/json" id="chart-specs">{_json_script(specs)}</script>'
            f"<script>{_SCRIPT}</script></body></html>\n")
