"""Vega-Lite charts (through altair) for the dashboard's chart kinds (SPEC 8, dashboard).

Each builder takes an :class:`~orchestration.dashboard.data.IndicatorData` and the registry and returns
a Vega-Lite specification (a dict) whose only data are the indicator's embedded rows. Selectors (region
or team, period, indicator) are Vega-Lite parameters bound to form fields, so the page filters without
a server. Colours: the Okabe-Ito palette, safe for the common forms of colour blindness.
"""
from __future__ import annotations

from collections.abc import Callable

import altair as alt

from orchestration.dashboard.data import IndicatorData
from orchestration.dashboard.registry import Registry

#: Okabe & Ito (2008), "Color Universal Design": distinguishable under protanopia, deuteranopia, tritanopia.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
WIDTH, HEIGHT = 760, 300


def _values(data: IndicatorData, column: str, shown_only: bool = False) -> list:
    """Distinct values of ``column``; ``shown_only``: of rows whose drawn value (``encode.y``) is published,
    so a selector never offers a region or team whose every cell is withheld."""
    y = data.indicator.encode.get("y") if shown_only else None
    return list(dict.fromkeys(r[column] for r in data.rows
                              if r.get(column) is not None and (y is None or r.get(y) is not None)))


def _shown(data: IndicatorData, column: str) -> str:
    """The column a chart draws for ``column``: its Dutch display column ``_<column>`` when the rows have one."""
    return f"_{column}" if any(f"_{column}" in r for r in data.rows) else column


def _selectors(chart, data: IndicatorData, registry: Registry):
    """The chart with a region / team selector (``encode.unit``), a from-year slider (``encode.year``) and
    one selector per ``encode.select`` column, each filtering the rows."""
    enc = data.indicator.encode
    if enc.get("unit"):
        units = sorted(_values(data, "_unit", shown_only=True), key=lambda u: (u != registry.value("region", "all"), u))
        if units:
            unit = alt.param(name="unit", value=units[0],
                             bind=alt.binding_select(options=units, name=registry.ui.get("unit", "unit ")
                                                     if len(enc["unit"]) > 1 else registry.ui.get("region", "region ")))
            chart = chart.add_params(unit).transform_filter(alt.datum._unit == unit)
    if enc.get("year"):
        years = sorted({int(y) for y in _values(data, "_year")})
        if len(years) > 1:
            first = alt.param(name="from_year", value=years[0],
                              bind=alt.binding_range(min=years[0], max=years[-1], step=1,
                                                     name=registry.ui.get("from_year", "from ")))
            chart = chart.add_params(first).transform_filter(
                f"datum._year === null || toNumber(datum._year) >= from_year")
    for n, column in enumerate(enc.get("select", ())):
        shown = _shown(data, column)
        total = registry.value(column, "all")
        options = sorted(_values(data, shown), key=lambda v: (v != total, str(v)))  # the overall row first
        if options:
            param = alt.param(name=f"select_{n}", value=options[0],
                              bind=alt.binding_select(options=options, name=registry.column(column) + " "))
            chart = chart.add_params(param).transform_filter(alt.datum[shown] == param)
    return chart


def _color(data: IndicatorData, registry: Registry, column: str | None, columns: int = 3, symbol: str = "stroke"):
    """The colour channel of ``column`` (its Dutch labels, the palette in order) with a legend below the chart:
    ``symbol`` "stroke" for lines, "square" for bars."""
    if not column:
        return alt.value(PALETTE[0])
    shown = _shown(data, column)
    swatch = {"symbolType": "stroke", "symbolStrokeWidth": 4} if symbol == "stroke" else {"symbolType": symbol}
    return alt.Color(f"{shown}:N", title=registry.column(column), scale=alt.Scale(range=PALETTE),
                     legend=alt.Legend(orient="bottom", columns=columns, labelLimit=360 if columns == 1 else 240,
                                       symbolOpacity=1, **swatch))


def _band(base, data: IndicatorData, column: str | None, low: str, high: str, **mark):
    """An interval band (``low``-``high``) filled like its line: the same palette in the same sorted order,
    through a copy of the colour field made in the browser, so that Vega-Lite does not merge the band's faint
    fill into the lines' legend."""
    if not column:
        return base.mark_area(**mark).encode(y=f"{low}:Q", y2=f"{high}:Q", fill=alt.value(PALETTE[0]))
    shown = _shown(data, column)
    return base.transform_calculate(_band=f"datum['{shown}']").mark_area(**mark).encode(
        y=f"{low}:Q", y2=f"{high}:Q", fill=alt.Fill("_band:N", scale=alt.Scale(range=PALETTE), legend=None))


def _tooltip(data: IndicatorData, registry: Registry) -> list:
    skip = {"scale_min", "scale_max", "wave_order"}
    shown = [c for c in data.columns if c not in skip][:10]
    return [alt.Tooltip(f"{c}:N" if not _numeric(data, c) else f"{c}:Q", title=registry.column(c)) for c in shown]


def _numeric(data: IndicatorData, column: str) -> bool:
    values = [r.get(column) for r in data.rows if r.get(column) is not None]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _x(data: IndicatorData, registry: Registry, column: str, kind: str = "O", **kw):
    return alt.X(f"{column}:{kind}", title=registry.column(column), **kw)


def trend(data: IndicatorData, registry: Registry) -> alt.TopLevelMixin:
    """A line per ``color`` over ``x`` with its interval ``low``-``high`` as a band (breadth, depth)."""
    enc = data.indicator.encode
    is_date = enc["x"] in ("quarter_end",)
    x = _x(data, registry, enc["x"], "T" if is_date else "O", **({"axis": alt.Axis(format="%Y-%m")} if is_date else {}))
    y_is_share = enc["y"].startswith("share")
    y = alt.Y(f"{enc['y']}:Q", title=registry.column(enc["y"]),
              axis=alt.Axis(format="%") if y_is_share else alt.Axis(),
              scale=alt.Scale(domain=[0, 1]) if y_is_share else alt.Scale(zero=False))
    color = _color(data, registry, enc.get("color"))
    base = alt.Chart(alt.Data(values=data.rows)).encode(x=x)
    layers = []
    if enc.get("low"):  # the band filled in the line's colour, without a legend of its own
        layers.append(_band(base, data, enc.get("color"), enc["low"], enc["high"], opacity=0.15))
    layers.append(base.mark_line(point=True).encode(y=y, color=color, tooltip=_tooltip(data, registry)))
    return alt.layer(*layers)


def rate_over_cohorts(data: IndicatorData, registry: Registry) -> alt.TopLevelMixin:
    """A rate per cohort with its Wilson interval; open points where windows still run, and cohorts without
    any complete window written as "not yet observable" (SPEC 5)."""
    enc = data.indicator.encode
    rows = [dict(r, _window=registry.value("window", "none" if not r.get(enc["n"]) else
                                            "partial" if r.get(enc["running"]) else "complete"))
            for r in data.rows if r.get(enc["x"]) != "all"]
    x = _x(data, registry, enc["x"])
    base = alt.Chart(alt.Data(values=rows)).encode(x=x)
    y = alt.Y(f"{enc['y']}:Q", title=registry.column(enc["y"]), axis=alt.Axis(format="%"))
    window = alt.Color("_window:N", title="", scale=alt.Scale(range=PALETTE[:3]),
                       legend=alt.Legend(orient="bottom"))
    errors = base.mark_rule(strokeWidth=2).encode(y=f"{enc['low']}:Q", y2=f"{enc['high']}:Q", color=window)
    points = base.mark_point(size=80, filled=True).encode(
        y=y, color=window, shape=alt.Shape("_window:N", legend=None), tooltip=_tooltip(data, registry))
    unobservable = base.transform_filter(f"datum.{enc['y']} === null").mark_text(
        angle=270, align="left", dy=0, fontSize=11, color="#555").encode(
        y=alt.value(HEIGHT - 6), text="_window:N")
    return alt.layer(errors, points, unobservable)


def km_curve(data: IndicatorData, registry: Registry) -> alt.TopLevelMixin:
    """Kaplan-Meier step curves (``y`` over ``x`` days) per cohort (``color``) with their 95 % bands."""
    enc = data.indicator.encode
    rows = [r for r in data.rows if r.get(enc["color"]) != "all"]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X(f"{enc['x']}:Q", title=registry.column(enc["x"]), scale=alt.Scale(nice=False)))
    band = _band(base, data, enc["color"], enc["low"], enc["high"], opacity=0.12, interpolate="step-after")
    line = base.mark_line(interpolate="step-after").encode(
        y=alt.Y(f"{enc['y']}:Q", title=registry.column(enc["y"]), axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])), color=_color(data, registry, enc["color"]),
        tooltip=_tooltip(data, registry))
    return alt.layer(band, line)


def funnel(data: IndicatorData, registry: Registry) -> alt.TopLevelMixin:
    """O/E per unit against its expected events, with the 95 % and 99.8 % control limits (SPEC 9.3)."""
    enc = data.indicator.encode
    base = alt.Chart(alt.Data(values=data.rows))
    x = alt.X(f"{enc['x']}:Q", title=registry.column(enc["x"]), scale=alt.Scale(type="sqrt"))
    limits = []
    for column, dash in (("limit95_low", [4, 2]), ("limit95_high", [4, 2]), ("limit998_low", [1, 0]),
                         ("limit998_high", [1, 0])):
        limits.append(base.mark_line(color="#777", strokeDash=dash, interpolate="step-after").encode(
            x=x, y=alt.Y(f"{column}:Q"), order=f"{enc['x']}:Q"))
    one = base.mark_rule(color="#000", strokeWidth=1).encode(y=alt.datum(1))
    points = base.mark_point(size=90, filled=True).encode(
        x=x, y=alt.Y(f"{enc['y']}:Q", title=registry.column(enc["y"])),
        color=alt.Color("_flag:N", title=registry.column("flag"), scale=alt.Scale(range=PALETTE),
                        legend=alt.Legend(orient="bottom")),
        shape=alt.Shape("_flag:N", legend=None),
        tooltip=[alt.Tooltip("_unit:N", title=registry.ui.get("unit", "unit").strip()), *_tooltip(data, registry)])
    return alt.layer(*limits, one, points)


def means_over_waves(data: IndicatorData, registry: Registry) -> alt.TopLevelMixin:
    """Means per wave (``x``, ordered by ``order``) with their 95 % intervals, a panel per instrument."""
    enc = data.indicator.encode
    base = alt.Chart().encode(
        x=alt.X(f"{enc['x']}:O", title=registry.column(enc["x"]), sort=alt.SortField(enc["order"])),
        color=_color(data, registry, enc["color"], columns=1))
    errors = base.mark_rule(strokeWidth=2).encode(y=f"{enc['low']}:Q", y2=f"{enc['high']}:Q")
    points = base.mark_line(point=True).encode(
        y=alt.Y(f"{enc['y']}:Q", title=registry.column(enc["y"]), scale=alt.Scale(zero=False)),
        tooltip=_tooltip(data, registry))
    facet = _shown(data, enc["facet"])
    return alt.layer(errors, points, data=alt.Data(values=data.rows)).properties(
        width=WIDTH // 2 - 40, height=220).facet(
        facet=alt.Facet(f"{facet}:N", title=registry.column(enc["facet"])), columns=2).resolve_scale(
        x="independent", y="independent", color="independent")


def flow(data: IndicatorData, registry: Registry) -> alt.TopLevelMixin:
    """Bars side by side per follow-up point: the ``fold`` columns (enrolled, due, observed, lost)."""
    enc = data.indicator.encode
    folded = list(enc["fold"])
    labels = {c: registry.value("flow", c) for c in folded}
    return alt.Chart(alt.Data(values=data.rows)).transform_fold(folded, as_=["_measure", "_count"]).transform_calculate(
        _status=" : ".join(f"datum._measure === '{c}' ? '{labels[c]}'" for c in folded) + " : datum._measure"
    ).mark_bar().encode(
        x=alt.X(f"{enc['x']}:O", title=registry.column(enc["x"])),
        xOffset=alt.XOffset("_status:N", sort=[labels[c] for c in folded]),
        y=alt.Y("_count:Q", title="Dossiers"),
        color=alt.Color("_status:N", title="", sort=[labels[c] for c in folded], scale=alt.Scale(range=PALETTE),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip(f"{enc['x']}:O", title=registry.column(enc["x"])),
                 alt.Tooltip("_status:N", title=""), alt.Tooltip("_count:Q", title="Dossiers")])


def participation(data: IndicatorData, registry: Registry) -> alt.TopLevelMixin:
    """Bars of respondents (``y``) per ``x`` (e.g. number of waves taken part in, in the order of ``order``), side by
    side per ``color`` (e.g. the instrument; never stacked: different populations do not add up)."""
    enc = data.indicator.encode
    sort = alt.EncodingSortField(field=enc["order"], op="min") if enc.get("order") else "ascending"
    offset = {"xOffset": alt.XOffset(f"{_shown(data, enc['color'])}:N")} if enc.get("color") else {}
    rows = [r for r in data.rows if r.get(enc["x"]) != "all"]   # the total is in the table beneath, not a bar
    return alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        x=alt.X(f"{enc['x']}:O", title=registry.column(enc["x"]), sort=sort, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{enc['y']}:Q", title=registry.column(enc["y"])),
        color=_color(data, registry, enc.get("color"), symbol="square"),
        tooltip=_tooltip(data, registry), **offset)


BUILDERS: dict[str, Callable[[IndicatorData, Registry], alt.TopLevelMixin]] = {
    "trend": trend, "rate_over_cohorts": rate_over_cohorts, "km_curve": km_curve, "funnel": funnel,
    "means_over_waves": means_over_waves, "flow": flow, "participation": participation}


def chart_spec(data: IndicatorData, registry: Registry) -> dict:
    """The Vega-Lite specification of one indicator's chart (data inline, palette and fonts set, the alt
    text as its ``description``, which Vega writes into the SVG's ``aria-label``)."""
    chart = BUILDERS[data.indicator.chart](data, registry)
    if data.indicator.chart != "means_over_waves":
        chart = chart.properties(width=WIDTH, height=HEIGHT)
    chart = _selectors(chart, data, registry)
    chart = chart.properties(description=data.indicator.alt).configure(
        font="Arial, Helvetica, sans-serif").configure_range(category=PALETTE).configure_axis(
        labelFontSize=12, titleFontSize=12).configure_legend(labelFontSize=12, titleFontSize=12)
    return chart.to_dict(validate=True)
