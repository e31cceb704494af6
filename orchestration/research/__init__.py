"""Researchers' access: labelled exports, the wide survey file, the codebook and frozen releases
(SPEC 4, 6, 8).

Everything here reads the warehouse through :func:`orchestration.warehouse.read_connection`
(read-only); nothing writes it. Entry points, called by the CLI subcommands ``export``, ``codebook`` and
``release``:

- :func:`export_table` (:mod:`.writers`) writes one table as CSV, Parquet, SPSS ``.sav`` or Stata
  ``.dta``. Tables come from the disclosure-controlled ``reporting`` schema (SPEC 6); a ``marts`` table
  only when the caller names it (``marts.<table>``) and passes ``allow_marts=True``, and never a table
  that holds restricted data. ``restricted``, ``raw``, ``audit``, ``staging`` and ``intermediate`` are
  refused (:mod:`.tables`).
- :func:`export_survey` (:mod:`.survey`) writes the wide respondent x item file of one instrument (one
  wave or all): respondent-level microdata, not disclosure-controlled, only with explicit permission.
- :func:`build_codebook` (:mod:`.codebook`) writes ``codebook.md`` and DDI-Codebook-shaped
  ``codebook.json``.
- :func:`release` (:mod:`.release`) freezes the reporting tables (and the marts when asked) as Parquet
  and as a DuckDB file older clients can open, plus the codebook and a ``manifest.json``.

Labels, names and codes for ``.sav``/``.dta`` live in :mod:`.labels`; the Python reference of the
first-pass suppression rule in :mod:`.suppression`.

Errors are :class:`ValueError` with a message that says what to do (unknown or refused table, bad
format, an extension that contradicts the format, bad date, non-empty release folder);
:class:`FileNotFoundError` for a missing warehouse or output folder; ``warehouse.WarehouseBusy`` while
a writer holds the file; ``DisclosureAuditFailed`` when a release is refused.
"""
from __future__ import annotations

from orchestration.research.codebook import build_codebook, export_conventions
from orchestration.research.labels import (BOOL_LABELS, CODE_LISTS, TOTAL, TOTAL_CODE, TOTAL_LABEL, fit_label,
                                           safe_names, stata_abbreviation)
from orchestration.research.release import COMPAT_FILE, COMPAT_STORAGE_VERSION, file_digests, product_version, release
from orchestration.research.suppression import secondary_suppression
from orchestration.research.survey import build_wide, export_survey
from orchestration.research.tables import (FLOAT_DECIMALS, FORMATS, PARQUET_OPTIONS, column_labels, resolve_table)
from orchestration.research.writers import export_table, output_path

__all__ = ["FORMATS", "FLOAT_DECIMALS", "PARQUET_OPTIONS", "CODE_LISTS", "BOOL_LABELS", "TOTAL", "TOTAL_CODE",
           "TOTAL_LABEL", "COMPAT_FILE", "COMPAT_STORAGE_VERSION", "export_table", "export_survey", "build_wide",
           "build_codebook", "export_conventions", "release", "file_digests", "product_version", "resolve_table",
           "column_labels", "secondary_suppression", "fit_label", "safe_names", "stata_abbreviation",
           "output_path"]
