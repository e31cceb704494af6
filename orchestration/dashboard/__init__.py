"""The case-management dashboard: a static, offline page built from ``reporting`` only (SPEC 8, dashboard).

:func:`build_dashboard` reads the indicator registry (``data/indicators.yaml``), audits the reporting
tables (the LP disclosure audit of SPEC 6, as before a release), reads each indicator's rows, draws its
Vega-Lite chart (:mod:`.charts`) and writes one self-contained ``index.html`` (:mod:`.page`).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestration import settings, warehouse
from orchestration.dashboard.charts import chart_spec
from orchestration.dashboard.data import IndicatorData, SmallCountInReporting, read_indicator
from orchestration.dashboard.registry import Indicator, Registry, RegistryError, load_registry
from orchestration.dashboard.page import render

__all__ = ["DashboardResult", "Indicator", "Registry", "RegistryError", "SmallCountInReporting", "build_dashboard",
           "load_registry"]


@dataclass(frozen=True)
class DashboardResult:
    """What :func:`build_dashboard` wrote.

    Attributes:
        index: the page (``<out_dir>/index.html``).
        charts: ids of the indicators drawn.
        waiting: ids of the indicators whose table is not built or has no rows yet (their ``needs`` shown).
        seconds: wall time.
    """

    index: Path
    charts: tuple[str, ...]
    waiting: tuple[str, ...]
    seconds: float


def _as_of(con) -> str:
    from orchestration.research.release import latest_data_dates

    dates = latest_data_dates(con)
    waves = [w["data_until"] for w in dates["survey_waves"] if w["data_until"]]
    parts = []
    if dates["dossier_extract"]:
        parts.append(f"{dates['dossier_extract']} (laatste dossierextract)")
    if waves:
        parts.append(f"{max(waves)} (laatste bevragingsgolf)")
    return ", ".join(parts) or "–"


def _rule(con) -> tuple[int, str]:
    from orchestration.research.tables import suppression_rule

    rule = suppression_rule(con)
    return int(rule.get("min_cell") or settings.min_cell()), str(rule.get("rule_text") or "")


def _require_build_audit(con) -> None:
    """The audit the build's protection step recorded (``audit.disclosure_audit``, SPEC 6) passed."""
    from orchestration.disclosure.protect import DisclosureAuditFailed, latest_build_audit

    audit = latest_build_audit(con)
    if audit is None or audit.unprotected:
        why = "no disclosure audit recorded" if audit is None else f"{audit.unprotected} withheld cell(s) unprotected"
        raise DisclosureAuditFailed(f"dashboard refused: {why} after the last build of the reporting tables. "
                                    "Rebuild them (`sofs-warehouse run --rebuild`); the previous page stays.")


def build_dashboard(out_dir: Path, db: Path | None = None, registry_path: Path | None = None,
                    progress: Callable[[str], None] = print, after_build: bool = False) -> DashboardResult:
    """Write ``out_dir/index.html``: the five sections of SPEC 8 (breadth, depth, hard outcomes,
    experience, prospective studies) from the ``reporting`` tables of ``db`` (default the warehouse).

    The page embeds only rows of ``reporting`` tables (plus Dutch labels and display text); it is written
    to a temporary file and renamed, so a failed build leaves the previous page. Before reading, the LP
    audit of the reporting tables runs as before a release; ``after_build=True`` (the Dagster asset, right
    after the build's own protection step) reads that step's recorded audit instead of repeating it.

    Raises:
        FileNotFoundError: no warehouse yet.
        RegistryError: the indicator registry is invalid or names a column its table lacks (exit 2).
        orchestration.disclosure.protect.DisclosureAuditFailed: the LP audit of the reporting tables fails
            (nothing written; rebuild them).
        SmallCountInReporting: a reporting count is below min_cell (nothing written).
    """
    import vl_convert

    from orchestration.disclosure.protect import require_protected

    started = time.monotonic()
    registry = load_registry(registry_path)
    out_dir = Path(out_dir)
    with warehouse.read_connection(db) as con:
        min_cell, rule = _rule(con)
        if after_build:
            _require_build_audit(con)
        else:
            progress(f"dashboard: auditing the reporting tables (disclosure control, min_cell = {min_cell})")
            require_protected(con, min_cell, "dashboard")
        as_of = _as_of(con)
        datas: list[IndicatorData] = []
        for indicator in registry.indicators:
            datas.append(read_indicator(con, indicator, registry, min_cell))
    charts, drawn, waiting = [], [], []
    for data in datas:
        if data.rows:
            charts.append((data, chart_spec(data, registry)))
            drawn.append(data.indicator.id)
        else:
            charts.append((data, None))
            waiting.append(data.indicator.id)
    progress(f"dashboard: {len(drawn)} chart(s) drawn" + (f", {len(waiting)} waiting for data ({', '.join(waiting)})"
                                                         if waiting else ""))
    bundle = vl_convert.javascript_bundle().replace("</script", "<\\/script")
    page = render(registry, charts, as_of, rule, min_cell, bundle)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    partial = out_dir / f".index.html.{os.getpid()}.part"
    partial.write_text(page, encoding="utf-8")
    partial.replace(index)
    return DashboardResult(index, tuple(drawn), tuple(waiting), time.monotonic() - started)
