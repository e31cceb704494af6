"""What the dashboard embeds: rows of the ``reporting`` tables, nothing else (SPEC 6, SPEC 8 dashboard).

Each indicator reads its table's rows (``where``) and columns (``columns``) as they are, plus the
``<column>_suppressed`` flags of those columns, so the page can say "afgeschermd" where a count was
withheld. Display columns the charts need (a region / team label, a year for the period filter) are
text derived from key columns and start with ``_``; no number is computed here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from orchestration.dashboard.registry import Indicator, Registry, RegistryError
from orchestration.research.tables import column_types


class SmallCountInReporting(RuntimeError):
    """A reporting table shows a count below ``min_cell``: the dashboard is not written (SPEC 6)."""


@dataclass(frozen=True)
class IndicatorData:
    """The rows one chart embeds.

    Attributes:
        indicator: the registry entry.
        rows: one dict per row: reporting columns (values as stored; dates as ISO text), their
            ``*_suppressed`` flags, and text display columns starting with ``_``.
        columns: the reporting columns embedded, in registry order (flags and display columns excluded).
        available: False when the table is not built yet (the page shows ``indicator.needs``).
    """

    indicator: Indicator
    rows: list[dict]
    columns: tuple[str, ...]
    available: bool


def _plain(value):
    """A JSON-ready value: ISO text for dates, None for NaN, Python numbers for numpy ones."""
    if value is None:
        return None
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _year(value) -> str | None:
    text = str(value) if value is not None else ""
    return text[:4] if text[:4].isdigit() else None


def _unit(row: dict, columns: tuple[str, ...], registry: Registry) -> str:
    """The selector label of a row's region (and team): ``Vlaanderen (alle regio's)``, ``Limburg``,
    ``Limburg · Hasselt``."""
    region = row.get(columns[0])
    if len(columns) > 1 and row.get(columns[1]) not in (None, "all"):
        return f"{registry.value('region', region)} · {row[columns[1]]}"
    return registry.value("region", region)


def count_columns(types: dict[str, str]) -> list[str]:
    """The whole-number columns of a reporting table that count people or dossiers: integer columns other
    than calendar keys (``*_year``, ``*_month``, ``*_order``, ``days``, ``scheme_version``) and
    ``n_waves`` (an instrument's number of waves, ``panel_participation``)."""
    keys = ("_year", "_month", "_order")
    return [c for c, t in types.items()
            if t.upper() in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT")
            and not c.endswith(keys) and c not in ("days", "scheme_version", "within_days", "n_waves")]


def read_indicator(con: duckdb.DuckDBPyConnection, indicator: Indicator, registry: Registry,
                   min_cell: int) -> IndicatorData:
    """The rows of ``reporting.<indicator.table>`` the indicator embeds.

    Raises:
        RegistryError: a column of ``columns``, ``where`` or ``encode`` is not in the table.
        SmallCountInReporting: a count column holds a value 0 < c < ``min_cell`` (reporting is not
            under disclosure control: rebuild it).
    """
    types = dict(column_types(con, "reporting", indicator.table))
    if not types:
        return IndicatorData(indicator, [], indicator.columns, available=False)
    columns = indicator.columns or tuple(c for c in types if not c.endswith("suppressed"))
    named = list(columns) + list(indicator.where)
    for key, value in indicator.encode.items():
        named += [v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, str)]
    missing = [c for c in dict.fromkeys(named) if c not in types]
    if missing:
        raise RegistryError(f"{registry.path}: indicators.{indicator.id}: reporting.{indicator.table} has no "
                            f"column {missing[0]!r} (its columns: {', '.join(types)}). Fix the registry.")
    flags = [f"{c}_suppressed" for c in columns if f"{c}_suppressed" in types]
    conditions, params = [], []
    for column, allowed in indicator.where.items():
        conditions.append(f'cast("{column}" as varchar) in ({", ".join("?" for _ in allowed)})')
        params += [str(v) for v in allowed]
    sql = (f'select {", ".join(chr(34) + c + chr(34) for c in (*columns, *flags))} from reporting."{indicator.table}"'
           + (f" where {' and '.join(conditions)}" if conditions else "") + " order by all")
    frame = con.execute(sql, params).fetchdf()
    counts = [c for c in count_columns(types) if c in columns]
    for column in counts:
        small = frame[column].dropna()
        small = small[(small > 0) & (small < min_cell)]
        if len(small):
            raise SmallCountInReporting(
                f"reporting.{indicator.table}.{column} shows {len(small)} count(s) below min_cell = {min_cell}: "
                "the reporting tables are not under disclosure control. Nothing was written; rebuild them "
                "(`sofs-warehouse run --rebuild`) and build the dashboard again.")
    rows = []
    for record in frame.to_dict("records"):
        row = {k: _plain(v) for k, v in record.items()}
        unit = indicator.encode.get("unit") or indicator.encode.get("label")
        if unit:
            row["_unit"] = _unit(row, unit, registry)
        year = indicator.encode.get("year")
        if year:
            row["_year"] = _year(row.get(year))
        labelled = {indicator.encode.get(k) for k in ("color", "facet", "x")} | set(indicator.encode.get("select", ()))
        labelled |= {c for c in columns if isinstance(registry.values.get(c), dict)}
        for column in columns:
            if column in labelled and isinstance(row.get(column), str):
                row[f"_{column}"] = registry.value(column, row[column])
        rows.append(row)
    return IndicatorData(indicator, rows, tuple(columns), available=True)
