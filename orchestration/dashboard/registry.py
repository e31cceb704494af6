"""The indicator registry: ``data/indicators.yaml`` read into typed objects (SPEC 8, dashboard).

One file holds every indicator the dashboard shows (its table, chart, rows, columns and definition) and
every Dutch text its users read (section titles, column names, code labels). The codebook lists the same
definitions (:func:`orchestration.research.codebook.write_codebook`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestration import settings

#: Sections in the order the page shows them.
SECTIONS = ("breadth", "depth", "outcomes", "experience", "studies")
#: Chart kinds :mod:`orchestration.dashboard.charts` draws.
CHARTS = ("trend", "rate_over_cohorts", "km_curve", "funnel", "means_over_waves", "flow", "participation")
#: What an indicator's ``encode`` may name (see the head of data/indicators.yaml).
_ENCODINGS = ("x", "y", "low", "high", "color", "facet", "order", "n", "running", "fold", "unit", "label", "year",
              "select")
_TEXTS = ("title", "reading", "alt", "numerator", "denominator", "exclusions", "spec")


class RegistryError(settings.ConfigurationError):
    """The indicator registry is missing or invalid; names the file, the key and the reason (exit 2)."""


@dataclass(frozen=True)
class Indicator:
    """One indicator of the dashboard.

    Attributes:
        id: the registry key (``[a-z0-9_]+``), also the chart's element id.
        section: one of :data:`SECTIONS`.
        table: the ``reporting`` table it reads.
        chart: one of :data:`CHARTS`.
        encode: what the chart draws -> column(s) (``x``, ``y``, ``low``/``high``, ``color``, ``unit`` ...).
        where: column -> allowed values (rows shown).
        columns: the table's columns it embeds; empty = every column but the ``*_suppressed`` flags.
        title, reading, alt: what it shows, one sentence on how to read it, alt text.
        numerator, denominator, exclusions: its definition.
        spec: the docs/SPEC.md section that defines it (e.g. ``"5"``).
        needs: the sentence shown while the table has no rows (or is not built).
    """

    id: str
    section: str
    table: str
    chart: str
    title: str
    reading: str
    alt: str
    numerator: str
    denominator: str
    exclusions: str
    spec: str
    encode: dict[str, Any] = field(default_factory=dict)
    where: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    needs: str = ""


@dataclass(frozen=True)
class Registry:
    """The whole registry: indicators in file order, sections, and the Dutch labels.

    Attributes:
        indicators: :class:`Indicator` in the order of the file.
        sections: section id -> ``{"title": str, "intro": str}``.
        ui: interface texts (``table``, ``withheld`` ...).
        columns: column name -> Dutch heading.
        values: column name -> code -> Dutch label, plus ``all`` (the label of a margin row).
        path: the file it was read from.
    """

    indicators: tuple[Indicator, ...]
    sections: dict[str, dict[str, str]]
    ui: dict[str, str]
    columns: dict[str, str]
    values: dict[str, Any]
    path: Path

    def column(self, name: str) -> str:
        """The Dutch heading of a column (the column name when the registry has none)."""
        return self.columns.get(name, name)

    def value(self, column: str, code: Any) -> str:
        """The Dutch label of a code of ``column``: its own label, else ``all`` for a margin row, else the code."""
        labels = self.values.get(column) or {}
        text = str(code)
        if isinstance(labels, dict) and text in labels:
            return str(labels[text])
        if text == "all":
            return str(self.values.get("all", "all"))
        return text

    def in_section(self, section: str) -> list[Indicator]:
        """The indicators of one section, in file order."""
        return [i for i in self.indicators if i.section == section]


def _fail(path: Path, key: str, reason: str) -> RegistryError:
    return RegistryError(f"{path}: {key}: {reason}. Fix the indicator registry (README: dashboard) and run again.")


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, (str, int, float)) or not str(value).strip():
        raise _fail(path, key, "needs a non-empty text")
    return str(value).strip()


def _indicator(path: Path, ident: str, body: Any) -> Indicator:
    key = f"indicators.{ident}"
    if not isinstance(ident, str) or not ident.replace("_", "").isalnum() or ident != ident.lower():
        raise _fail(path, key, "an indicator id is lower-case letters, digits and _")
    if not isinstance(body, dict):
        raise _fail(path, key, "needs a mapping with section, table, chart and the definition texts")
    unknown = set(body) - {"section", "table", "chart", "encode", "where", "columns", "needs", *_TEXTS}
    if unknown:
        raise _fail(path, f"{key}.{sorted(unknown)[0]}", "unknown key")
    if body.get("section") not in SECTIONS:
        raise _fail(path, f"{key}.section", f"must be one of {', '.join(SECTIONS)}")
    if body.get("chart") not in CHARTS:
        raise _fail(path, f"{key}.chart", f"must be one of {', '.join(CHARTS)}")
    table = _text(path, f"{key}.table", body.get("table"))
    where_raw = body.get("where") or {}
    if not isinstance(where_raw, dict):
        raise _fail(path, f"{key}.where", "needs a mapping column: value or [values]")
    where = {str(c): tuple(v) if isinstance(v, list) else (v,) for c, v in where_raw.items()}
    columns = body.get("columns") or []
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise _fail(path, f"{key}.columns", "needs a list of column names")
    encode = body.get("encode") or {}
    if not isinstance(encode, dict) or set(encode) - set(_ENCODINGS):
        raise _fail(path, f"{key}.encode", f"needs a mapping with some of {', '.join(_ENCODINGS)}")
    texts = {t: _text(path, f"{key}.{t}", body.get(t)) for t in _TEXTS}
    return Indicator(id=ident, section=body["section"], table=table, chart=body["chart"], where=where,
                     columns=tuple(columns), needs=str(body.get("needs") or ""),
                     encode={k: tuple(v) if isinstance(v, list) else v for k, v in encode.items()}, **texts)


def load_registry(path: Path | None = None) -> Registry:
    """Read and validate the indicator registry (default :func:`orchestration.settings.indicators_file`).

    Raises:
        RegistryError: the file is missing, is not YAML, or a key is missing or invalid (file, key, reason).
    """
    path = Path(path or settings.indicators_file())
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(path, "(file)", "not found") from None
    except yaml.YAMLError as exc:
        raise _fail(path, "(file)", f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise _fail(path, "(file)", "needs a mapping with sections, labels and indicators")
    sections = doc.get("sections") or {}
    for name in SECTIONS:
        body = sections.get(name)
        if not isinstance(body, dict):
            raise _fail(path, f"sections.{name}", "missing (every section needs a title and an intro)")
        for t in ("title", "intro"):
            _text(path, f"sections.{name}.{t}", body.get(t))
    labels = doc.get("labels") or {}
    if not isinstance(labels, dict):
        raise _fail(path, "labels", "needs a mapping with ui, columns and values")
    indicators = doc.get("indicators") or {}
    if not isinstance(indicators, dict) or not indicators:
        raise _fail(path, "indicators", "needs at least one indicator")
    return Registry(indicators=tuple(_indicator(path, k, v) for k, v in indicators.items()),
                    sections={k: {t: str(sections[k][t]) for t in ("title", "intro")} for k in SECTIONS},
                    ui={str(k): str(v) for k, v in (labels.get("ui") or {}).items()},
                    columns={str(k): str(v) for k, v in (labels.get("columns") or {}).items()},
                    values=dict(labels.get("values") or {}), path=path)
