"""Quality gate of a dossier extract: the rules of SPEC 3.4, built from the extract contract.

:func:`check_dossier_extract` takes the pseudonymised frames of one extract (``raw.dossiers``,
``raw.placements``, ``raw.practice_events``, as the dossier reader's ``pseudonymise_extract`` returns
them, each with ``source_line``) and returns one :class:`~orchestration.quality.results.RuleResult` per
rule in :data:`DOSSIER_RULES`, passed or not, so ``audit.check_results`` holds every rule's outcome.

The rules are data. :data:`CONTRACT` is SPEC 3.4 as a table (files, columns, which are required or
unique, the code lists), declared in :mod:`orchestration.contracts.dossier_extract`; the stage-1 rules (required values, uniqueness, code lists, ranges) and the
"no date after the extract date" rules are generated from it, the relational, temporal and
cross-extract rules are small named functions below it. Each rule is an
:class:`~orchestration.quality.engine.Rule` (run by :func:`~orchestration.quality.engine.run_rules`): a
:class:`~orchestration.quality.results.RuleSpec` (code, stage, severity, message, columns) plus either
Great Expectations expectations (value sets, nulls, uniqueness, ranges, the order or equality of two
columns; run by :mod:`orchestration.quality.gx`) or a small pandas check for set operations between
frames (a placement of an unknown dossier, a dossier of the previous extract missing).

What the dossier reader (:mod:`orchestration.readers.dossiers`) refuses before this gate, raising a
:class:`~orchestration.readers.base.ReaderError` the ingest reports as a failed rule (a missing file, a
required column missing from the header, a bad date or number, a malformed record, a binary file), is
registered with its code in :data:`orchestration.quality.rules.FILE_RULES`. A required column absent
from a frame handed to this gate counts as empty on every row.

Two kinds of rule (the cost of Great Expectations at scale: :mod:`orchestration.quality.gx`):

- **Row rules** judge a row by its own values (required values, code lists, ranges, date order, dates
  after the extract date, scaling fields, and the cross-file and cross-extract comparisons once the
  other file's values are joined onto the row). They run in Great Expectations, on one representative
  row per class of rows that must get the same verdict (:mod:`orchestration.quality.gx`), and only on
  the rows the caller selects with ``changed`` (new rows and rows whose content differs from the version
  the warehouse holds, :func:`check_dossier_extract`).
- **Whole-file rules** depend on other rows or the whole file: the file is not empty, ids are unique,
  a placement's or event's dossier is in dossiers.csv, the previous extract's dossiers are still there,
  and the reader's findings. They run over every row, as DuckDB SQL (hash aggregates and anti-joins
  over Arrow, both cores), and give the same :class:`RuleResult` records as the row rules.

Measured: ``bench/results.md`` (first load of 1,000,000 dossiers), ``bench/results_history.md``
(quarterly snapshots) and ``tests/unit/test_quality_dossiers.py::test_benchmark_scale`` (``SOFS_BENCH=1``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from orchestration.contracts.dossier_extract import (
    BY_TABLE, CODE, CONTRACT, DATE, DOSSIERS, EVENTS, ID, NUMBER, PLACEMENTS, SCALING, TEXT)
from orchestration.privacy import shown_value
from orchestration.quality.engine import Evidence, Found, Frame, Rule, run_rules
from orchestration.quality.gx import A_GE_B, BETWEEN, EQUAL, IN_SET, NOT_NULL, NULL, Expect
from orchestration.quality.results import ERROR, WARNING, RuleResult, RuleSpec

# --- the extract contract (SPEC 3.4): orchestration/contracts/dossier_extract.py -----------------

#: A placement may start this many days before the dossier's registration without a warning.
PLACEMENT_GRACE_DAYS = 30

# Working frames the rules read. Derived frames have one row per row of the file they report on.
PLACEMENTS_IN_DOSSIERS = "placements_in_dossiers"   # placements with their dossier's dates
DOSSIERS_VS_PREVIOUS = "dossiers_vs_previous"       # dossiers with the previous extract's values
PREVIOUS = "previous"                               # the previous extract's dossiers (no source lines)
_REPORTS_ON = {DOSSIERS: DOSSIERS, PLACEMENTS: PLACEMENTS, EVENTS: EVENTS,
               PLACEMENTS_IN_DOSSIERS: PLACEMENTS, DOSSIERS_VS_PREVIOUS: DOSSIERS, PREVIOUS: DOSSIERS}


# --- what the rules see ---------------------------------------------------------------------------

@dataclass
class Extract:
    """One extract as the rules see it.

    ``frames``: the working frames of the row rules, one row per *selected* row of the file they report
    on (0-based index); ``positions[name]`` maps their rows to positions in the whole file (int64 array).
    ``keys``: per file the id columns of *every* row (``dossier_key``, ``placement_key``, ``event_key``
    as in the frame handed in), which the whole-file rules read; ``lines`` the source lines of every row.
    ``previous``: the previous extract's dossiers (``dossier_key``, ``child_key``, ``registration_date``)
    or None.
    """

    frames: dict[str, pd.DataFrame]
    extract_date: dt.date
    previous: pd.DataFrame | None
    present: dict[str, bool]
    findings: pd.DataFrame | None = None
    positions: dict[str, np.ndarray] | None = None
    keys: dict[str, pd.DataFrame] | None = None
    lines: dict[str, np.ndarray] | None = None


# --- rules --------------------------------------------------------------------------------------
# Each rule is a :class:`~orchestration.quality.engine.Rule`: its spec, the working frame it judges and
# reports on, and a named function building its expectations from the extract (or checking the extract
# as a whole). The stage-1 rules of the contract are generated; the rest are written by hand below.

# kinds of finding the dossier reader records (``DossierRead.findings``, SPEC 3.4)
IDENTIFIER, SCIENTIFIC, CHECK_DIGITS = "identifier", "scientific", "check_digits"


def _finding(table: str, finding: str) -> Callable[[Extract], Found]:
    """A check reading the reader's findings of one kind in one file: lines, columns, what was found."""
    def check(ex: Extract) -> Found:
        f = ex.findings
        if f is None or not len(f):
            return Found(failing_rows=0)
        mine = f[(f["table"] == table) & (f["finding"] == finding)].sort_values(["source_line", "column"])
        if not len(mine):
            return Found(failing_rows=0)
        lines = tuple(int(v) for v in pd.unique(mine["source_line"]))
        columns = tuple(str(c) for c in pd.unique(mine["column"]))
        parts = [f"{r.what} in {r.column} (line {int(r.source_line)})" if r.what else f"{r.column} (line {int(r.source_line)})"
                 for r in mine.head(5).itertuples()]
        more = f" and {len(mine) - 5} more" if len(mine) > 5 else ""
        return Found(failing_rows=len(lines), lines=lines, columns=columns,
                     detail=f"Found {', '.join(parts)}{more}.")
    return check


def store_codes(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Replace codes outside a list that tolerates them by the list's stand-in (SPEC 3.4), in place.

    For every :class:`~orchestration.contracts.dossier_extract.Field` with ``unknown_as`` (``closure_reason``): a value that is not one of
    ``codes`` becomes ``unknown_as`` (``other``); empty stays empty. Called after the quality gate (which
    warns about them) and before the frames are written, so the delivered text never reaches ``raw``.
    Returns ``frames``.
    """
    for fc in CONTRACT:
        frame = frames.get(fc.table)
        if frame is None:
            continue
        for f in fc.fields:
            if f.unknown_as and f.raw in frame.columns:
                col = frame[f.raw]
                known = col.isna() | col.isin(list(f.codes))
                frame[f.raw] = col.where(known, f.unknown_as)
    return frames


# --- reporting hooks ------------------------------------------------------------------------------

def _found_values(_ex: Extract, ev: Evidence) -> str:
    """``Found a, b, ...``: the values outside a code list (as :func:`orchestration.privacy.shown_value`
    shows them, at most five named); empty when nothing failed."""
    bad: list[str] = []
    for v, e in zip(ev.verdicts, ev.expects):
        if e.kind == IN_SET and len(v.failing):
            for value in v.result.get("unexpected_list") or []:
                text = shown_value(value)
                if text not in bad:
                    bad.append(text)
    if not bad:
        return ""
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return f"Found {', '.join(bad[:5])}{more}."


def _extract_date(ex: Extract, ev: Evidence) -> str:
    """``Extract date YYYY-MM-DD.`` when a date failed; empty otherwise."""
    return f"Extract date {ex.extract_date.isoformat()}." if len(ev.failing) else ""


# --- rules generated from the contract ------------------------------------------------------------

def _required(column: str) -> Callable[[Extract], tuple[Expect, ...]]:
    """``D_<FILE>_<FIELD>_REQUIRED``: ``column`` is not null."""
    return lambda _ex: (Expect(NOT_NULL, column),)


def _in_list(column: str, codes: tuple[str, ...]) -> Callable[[Extract], tuple[Expect, ...]]:
    """``D_<FILE>_<FIELD>_IN_LIST``: ``column`` is one of ``codes`` (nulls are not judged)."""
    return lambda _ex: (Expect(IN_SET, column, values=codes),)


def _in_range(column: str, bounds: tuple[float, float]) -> Callable[[Extract], tuple[Expect, ...]]:
    """``D_<FILE>_<FIELD>_IN_RANGE``: ``column`` within ``bounds`` (inclusive; nulls are not judged)."""
    return lambda _ex: (Expect(BETWEEN, column, min_value=bounds[0], max_value=bounds[1]),)


def _dates_not_after_extract(columns: tuple[str, ...]) -> Callable[[Extract], tuple[Expect, ...]]:
    """``D_<FILE>_DATES_NOT_AFTER_EXTRACT`` (stage 2): no date of ``columns`` is after the extract date."""
    return lambda ex: tuple(Expect(BETWEEN, c, max_value=ex.extract_date) for c in columns)


def _contract_rules() -> tuple[list[Rule[Extract]], list[Rule[Extract]]]:
    """Stage-1 rules and the date-after-extract rules, generated from :data:`CONTRACT`."""
    stage1: list[Rule[Extract]] = []
    dates: list[Rule[Extract]] = []
    for fc in CONTRACT:
        if fc.not_empty:
            stage1.append(Rule(
                RuleSpec(f"D_{fc.tag}_NOT_EMPTY", 1, ERROR, f"{fc.file} must hold at least one row: a full "
                         "snapshot of the case system is never empty (SPEC 3.4).", ()),
                fc.table, check=_not_empty(fc.table)))
        for f in fc.fields:
            base = f"D_{fc.tag}_{f.source.upper()}"
            if f.required:
                stage1.append(Rule(
                    RuleSpec(f"{base}_REQUIRED", 1, ERROR, f"{f.source} must not be empty in {fc.file} (SPEC 3.4).",
                             (f.source,)),
                    fc.table, expects=_required(f.raw)))
            if f.unique:
                stage1.append(Rule(
                    RuleSpec(f"{base}_UNIQUE", 1, ERROR, f"{f.source} must be unique in {fc.file}: every row "
                             "carrying a repeated id fails (SPEC 3.4).", (f.source,)),
                    fc.table, check=_unique(fc.table, f.raw)))
            if f.codes and f.unknown_as:
                stage1.append(Rule(
                    RuleSpec(f"{base}_IN_LIST", 1, WARNING, f"{f.source} should be one of {', '.join(f.codes)} "
                             f"or empty; any other code is stored as {f.unknown_as} (SPEC 3.4).", (f.source,)),
                    fc.table, expects=_in_list(f.raw, f.codes), detail=_found_values))
            elif f.codes:
                empty = "" if f.required else " or empty"
                stage1.append(Rule(
                    RuleSpec(f"{base}_IN_LIST", 1, ERROR, f"{f.source} must be one of "
                             f"{', '.join(f.codes)}{empty} (SPEC 3.4).", (f.source,)),
                    fc.table, expects=_in_list(f.raw, f.codes), detail=_found_values))
            if f.bounds:
                lo, hi = f.bounds
                stage1.append(Rule(
                    RuleSpec(f"{base}_IN_RANGE", 1, ERROR, f"{f.source} must be between {lo:g} and {hi:g} "
                             "or empty (SPEC 3.4).", (f.source,)),
                    fc.table, expects=_in_range(f.raw, f.bounds)))
        ids = tuple(f.source for f in fc.fields if f.kind == ID)
        stage1.append(Rule(
            RuleSpec(f"D_{fc.tag}_ID_NOT_SCIENTIFIC", 1, ERROR,
                     f"ids in {fc.file} must be written as delivered by the case system, not as a number in "
                     "scientific notation (such as 1,2E+10): the file went through Excel, which rounds long numbers "
                     "and can make several children one. Export again, or import the column as Text in Excel "
                     "(SPEC 3.4).", ids),
            fc.table, check=_finding(fc.table, SCIENTIFIC)))
        texts = tuple(f.source for f in fc.fields if f.kind in (TEXT, CODE))
        stage1.append(Rule(
            RuleSpec(f"D_{fc.tag}_NO_IDENTIFIER", 1, ERROR,
                     f"text and code fields of {fc.file} must not hold an e-mail address, a phone number or a "
                     "national register number; the value is not shown anywhere: open the file at the line and "
                     "column named (SPEC 3.4, 6).", texts),
            fc.table, check=_finding(fc.table, IDENTIFIER)))
        date_fields = [f for f in fc.fields if f.kind == DATE]
        dates.append(Rule(
            RuleSpec(f"D_{fc.tag}_DATES_NOT_AFTER_EXTRACT", 2, ERROR,
                     f"{' and '.join(f.source for f in date_fields)} in {fc.file} must not be after the "
                     "extract date (SPEC 3.4).", tuple(f.source for f in date_fields)),
            fc.table, expects=_dates_not_after_extract(tuple(f.raw for f in date_fields)), detail=_extract_date))
    return stage1, dates


# --- whole-file rules, as DuckDB SQL over every row ------------------------------------------------

def _not_empty(table: str) -> Callable[[Extract], Found]:
    """The file holds at least one row; an empty file fails as a whole (line 1, one failing row)."""
    def check(ex: Extract) -> Found:
        if len(ex.lines[table]):
            return Found(failing_rows=0)
        return Found(failing_rows=1, lines=(1,))
    return check


def _unique(table: str, column: str) -> Callable[[Extract], Found]:
    """Every row whose (non-empty) ``column`` value occurs more than once in the file fails, as
    Great Expectations' ``ExpectColumnValuesToBeUnique`` judges it (empty values are not judged)."""
    def check(ex: Extract) -> Found:
        keys = ex.keys[table]
        if column not in keys.columns or not len(keys):
            return Found(failing_rows=0)
        with _duck() as con:
            con.register("_k", _arrow({"pos": np.arange(len(keys), dtype=np.int64), "key": keys[column]}))
            pos = con.execute("""
                select pos from _k where key in (
                    select key from _k where key is not null group by key having count(*) > 1)
                order by pos""").fetchnumpy()["pos"]
        return Found(np.asarray(pos, dtype=np.int64))
    return check


def _unknown_dossier(ex: Extract, table: str) -> Found:
    """The rows of ``table`` whose (non-empty) dossier_key is no dossier_key of dossiers.csv."""
    keys = ex.keys[table]
    if "dossier_key" not in keys.columns or not len(keys):
        return Found()
    known = ex.keys[DOSSIERS]["dossier_key"] if "dossier_key" in ex.keys[DOSSIERS].columns else None
    with _duck() as con:
        con.register("_c", _arrow({"pos": np.arange(len(keys), dtype=np.int64), "key": keys["dossier_key"]}))
        con.register("_p", _arrow({"key": known if known is not None else pd.Series([], dtype="object")}))
        pos = con.execute("""
            select pos from _c where key is not null and key not in (select key from _p where key is not null)
            order by pos""").fetchnumpy()["pos"]
    return Found(np.asarray(pos, dtype=np.int64))


class _duck:
    """A short-lived in-memory DuckDB connection (both cores, no progress bar) as a context manager."""

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.con = duckdb.connect()
        self.con.execute("set enable_progress_bar = false")
        return self.con

    def __exit__(self, *exc) -> None:
        self.con.close()


def _arrow(columns: dict[str, object]) -> pa.Table:
    """An Arrow table of the given columns: ``pos`` as given (int64 positions), every other column as
    Arrow strings (pandas' Arrow-backed strings are not copied; numbers, nulls and mixed Python objects
    are compared as text)."""
    arrays = {}
    for name, values in columns.items():
        if name == "pos":
            arrays[name] = pa.array(values)
            continue
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype="object")
        try:
            arr = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array([None if pd.isna(v) else str(v) for v in series], type=pa.string())
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.string())
        arrays[name] = arr
    return pa.table(arrays)


# --- hand-written rules ---------------------------------------------------------------------------

def scaling_fields(_ex: Extract) -> tuple[Expect, ...]:
    """``D_EVENTS_SCALING_FIELDS``: an event that is not a ``scaling_question`` has no ``value`` and no
    ``rated_by`` (nulls included in "not a scaling question"); a ``scaling_question`` has a ``value``
    (SPEC 3.4)."""
    return (Expect(NULL, "value", when=("event_type", (SCALING,)), when_not=True),
            Expect(NULL, "rated_by", when=("event_type", (SCALING,)), when_not=True),
            Expect(NOT_NULL, "value", when=("event_type", (SCALING,))))


def closure_after_registration(_ex: Extract) -> tuple[Expect, ...]:
    """``D_CLOSURE_AFTER_REGISTRATION`` (stage 2): ``closure_date >= registration_date`` in dossiers.csv
    where both are given; the same day is fine (SPEC 3.4)."""
    return (Expect(A_GE_B, "closure_date", column_b="registration_date"),)


def placement_end_after_start(_ex: Extract) -> tuple[Expect, ...]:
    """``D_PLACEMENT_END_AFTER_START`` (stage 2): ``end_date >= start_date`` in placements.csv where both
    are given (SPEC 3.4)."""
    return (Expect(A_GE_B, "end_date", column_b="start_date"),)


def placement_dossier_known(ex: Extract) -> Found:
    """``D_PLACEMENT_DOSSIER_KNOWN`` (stage 2): the placements (every row, DuckDB anti-join) whose
    non-empty dossier_key is no dossier_key of dossiers.csv in the same extract (SPEC 3.4)."""
    return _unknown_dossier(ex, PLACEMENTS)


def event_dossier_known(ex: Extract) -> Found:
    """``D_EVENT_DOSSIER_KNOWN`` (stage 2): the practice events (every row) whose non-empty dossier_key
    is no dossier_key of dossiers.csv in the same extract (SPEC 3.4)."""
    return _unknown_dossier(ex, EVENTS)


def placement_not_long_before_registration(_ex: Extract) -> tuple[Expect, ...]:
    """``D_PLACEMENT_NOT_LONG_BEFORE_REGISTRATION`` (stage 2): a placement's ``start_date`` is not before
    its dossier's ``registration_date`` minus :data:`PLACEMENT_GRACE_DAYS` days (frame
    ``placements_in_dossiers``: ``registration_grace``; SPEC 3.4)."""
    return (Expect(A_GE_B, "start_date", column_b="registration_grace"),)


def placement_not_after_closure(_ex: Extract) -> tuple[Expect, ...]:
    """``D_PLACEMENT_NOT_AFTER_CLOSURE`` (stage 2): a placement's ``start_date`` is not after its
    dossier's ``closure_date`` (the same day is fine; an open dossier is not judged; SPEC 3.4)."""
    return (Expect(A_GE_B, "closure_date", column_b="start_date"),)


def previous_dossiers_present(ex: Extract) -> Found:
    """``D_PREVIOUS_DOSSIERS_PRESENT`` (stage 2): the dossiers of the previous extract (distinct keys)
    that are not in this one: a count with no lines, since they have none in this file (SPEC 3.4)."""
    if ex.previous is None:
        return Found(detail="(first extract: nothing to compare.)")
    current = ex.keys[DOSSIERS]["dossier_key"] if "dossier_key" in ex.keys[DOSSIERS].columns else None
    with _duck() as con:
        con.register("_prev", _arrow({"key": ex.previous["dossier_key"]}))
        con.register("_cur", _arrow({"key": current if current is not None else pd.Series([], dtype="object")}))
        total, missing = con.execute("""
            select count(*), count(*) filter (where key not in (select key from _cur where key is not null))
            from (select distinct key from _prev where key is not null)""").fetchone()
    detail = (f"({missing} of {total} dossiers of the previous extract are not in this one; they have "
              "no line in this file.)") if missing else ""
    return Found(failing_rows=int(missing), detail=detail)


def registration_date_unchanged(_ex: Extract) -> tuple[Expect, ...]:
    """``D_REGISTRATION_DATE_UNCHANGED`` (stage 2): a dossier's ``registration_date`` equals the previous
    extract's (frame ``dossiers_vs_previous``; a new dossier or an empty date is not judged; SPEC 3.4)."""
    return (Expect(EQUAL, "registration_date", column_b="previous_registration_date"),)


def child_id_unchanged(_ex: Extract) -> tuple[Expect, ...]:
    """``D_CHILD_ID_UNCHANGED`` (stage 2): a dossier's ``child_key`` (the pseudonym of child_id) equals the
    previous extract's (a new dossier is not judged; SPEC 3.4)."""
    return (Expect(EQUAL, "child_key", column_b="previous_child_key"),)


_STAGE1, _DATE_RULES = _contract_rules()

#: Every dossier-extract rule, in the order the results are returned (stage 1, then stage 2).
DOSSIER_RULES: tuple[Rule[Extract], ...] = (
    *_STAGE1,
    Rule(RuleSpec("D_EVENTS_SCALING_FIELDS", 1, WARNING,
                  "value and rated_by belong to scaling questions: a scaling_question event has a value, "
                  "other events have neither (SPEC 3.4).", ("event_type", "value", "rated_by")),
         EVENTS, expects=scaling_fields),
    Rule(RuleSpec("D_DOSSIERS_REGISTER_NUMBER_CHECK", 1, WARNING,
                  "a dossier_id or child_id written as a national register number (11 digits, dots and "
                  "dashes allowed) should have valid check digits: 97 - (first 9 digits mod 97), for "
                  "births from 2000 with 2 before the 9 digits. It is loaded (under the pseudonym of its "
                  "11 digits) but may be mistyped (SPEC 3.4, 6).",
                  tuple(f.source for f in BY_TABLE[DOSSIERS].fields if f.check_digits)),
         DOSSIERS, check=_finding(DOSSIERS, CHECK_DIGITS)),
    *_DATE_RULES,
    Rule(RuleSpec("D_CLOSURE_AFTER_REGISTRATION", 2, ERROR,
                  "closure_date must not be before registration_date (SPEC 3.4).",
                  ("registration_date", "closure_date")),
         DOSSIERS, expects=closure_after_registration),
    Rule(RuleSpec("D_PLACEMENT_END_AFTER_START", 2, ERROR,
                  "a placement's end_date must not be before its start_date (SPEC 3.4).",
                  ("start_date", "end_date")),
         PLACEMENTS, expects=placement_end_after_start),
    Rule(RuleSpec("D_PLACEMENT_DOSSIER_KNOWN", 2, ERROR,
                  "a placement's dossier_id must be a dossier_id of dossiers.csv in the same extract "
                  "(SPEC 3.4).", ("dossier_id",)),
         PLACEMENTS, check=placement_dossier_known),
    Rule(RuleSpec("D_EVENT_DOSSIER_KNOWN", 2, ERROR,
                  "a practice event's dossier_id must be a dossier_id of dossiers.csv in the same extract "
                  "(SPEC 3.4).", ("dossier_id",)),
         EVENTS, check=event_dossier_known),
    Rule(RuleSpec("D_PLACEMENT_NOT_LONG_BEFORE_REGISTRATION", 2, WARNING,
                  f"a placement should not start more than {PLACEMENT_GRACE_DAYS} days before its dossier's "
                  "registration_date (SPEC 3.4).", ("dossier_id", "start_date", "registration_date")),
         PLACEMENTS_IN_DOSSIERS, expects=placement_not_long_before_registration),
    Rule(RuleSpec("D_PLACEMENT_NOT_AFTER_CLOSURE", 2, WARNING,
                  "a placement should not start after its dossier's closure_date (SPEC 3.4).",
                  ("dossier_id", "start_date", "closure_date")),
         PLACEMENTS_IN_DOSSIERS, expects=placement_not_after_closure),
    Rule(RuleSpec("D_PREVIOUS_DOSSIERS_PRESENT", 2, WARNING,
                  "every dossier of the previous extract should still be in this snapshot (SPEC 3.4).",
                  ("dossier_id",)),
         PREVIOUS, check=previous_dossiers_present),
    Rule(RuleSpec("D_REGISTRATION_DATE_UNCHANGED", 2, WARNING,
                  "a dossier's registration_date should be the same as in the previous extract (SPEC 3.4).",
                  ("dossier_id", "registration_date")),
         DOSSIERS_VS_PREVIOUS, expects=registration_date_unchanged),
    Rule(RuleSpec("D_CHILD_ID_UNCHANGED", 2, WARNING,
                  "a dossier's child_id should be the same as in the previous extract (SPEC 3.4).",
                  ("dossier_id", "child_id")),
         DOSSIERS_VS_PREVIOUS, expects=child_id_unchanged),
)


def check_dossier_extract(frames: dict[str, pd.DataFrame], extract_date: dt.date,
                          previous: pd.DataFrame | None, source_files: dict[str, str], *,
                          findings: pd.DataFrame | None = None,
                          changed: Mapping[str, object] | None = None) -> list[RuleResult]:
    """Run every rule of :data:`DOSSIER_RULES` on one extract (SPEC 3.4).

    Args:
        frames: the pseudonymised frames keyed ``raw.dossiers``, ``raw.placements`` and (optional file)
            ``raw.practice_events``, with the raw tables' columns (``dossier_key``, ``child_key``,
            ``registration_date`` ... as in :mod:`orchestration.warehouse`) and ``source_line`` (the
            physical line of the record in its CSV). Dates may be datetime64 or ``datetime.date``
            objects; a missing frame counts as an empty file.
        extract_date: the as-of date of the snapshot (the partition key).
        previous: the previous extract's dossier rows (``dossier_key``, ``child_key``,
            ``registration_date``), or None for the first extract.
        source_files: table name -> landing file (``dossiers/2024-03-31/dossiers.csv``), reported with
            each result.
        findings: what the reader found in the values as delivered (``DossierRead.findings``: columns
            ``table``, ``column``, ``source_line``, ``finding`` = identifier / scientific / check_digits,
            ``what``), for the rules on identifiers in text, ids in scientific notation and register
            number check digits; None: those rules pass.
        changed: the rows the row rules (Great Expectations) judge, per frame name: a boolean array-like
            aligned with the frame's rows, True for a row that is new or whose content differs from the
            version of its entity the warehouse holds (:func:`orchestration.history.unchanged_mask`,
            negated). A frame not named (or ``changed=None``) is judged whole. The whole-file rules
            (not empty, unique ids, known dossiers, previous dossiers present, the reader's findings)
            always read every row. A placement is judged against its dossier when either changed.
            Pass masks only when the extract is newer than every loaded one and those versions passed
            these rules when they were loaded: an unchanged row then gets the same verdict of every
            error rule as its version did (dates only move forward), and equals the previous extract's
            row, so the cross-extract comparisons pass for it. Warnings of unchanged rows (e.g.
            ``D_EVENTS_SCALING_FIELDS``) were reported when their version was loaded and are not repeated.

    Returns:
        One :class:`RuleResult` per rule, in :data:`DOSSIER_RULES` order. Sample lines are the first
        source lines (ascending) of the failing rows in the file the rule reports on.

    Raises:
        ValueError: a frame has no ``source_line`` column, or a ``changed`` mask has another length than
            its frame.
        orchestration.quality.gx.GXRunError: Great Expectations could not evaluate an expectation.
    """
    extract = _prepare(frames, extract_date, previous, changed)
    extract.findings = findings
    return run_rules(DOSSIER_RULES, extract, _frames(extract, source_files), suite="dossiers")


def _frames(ex: Extract, source_files: Mapping[str, str]) -> dict[str, Frame]:
    """The engine's view of each working frame: its rows, the lines and landing file of the file it
    reports on, and the note of a rule that found nothing to say (the file is absent, the first extract)."""
    out = {}
    for name, table in _REPORTS_ON.items():
        note = "" if ex.present[table] else f"({BY_TABLE[table].file} is not in this extract.)"
        if name == DOSSIERS_VS_PREVIOUS and ex.previous is None:
            note = "(first extract: nothing to compare.)"
        out[name] = Frame(ex.frames[name], ex.lines[table], source_files.get(table, ""),
                          positions=ex.positions[name], note=note)
    return out


# --- working frames -----------------------------------------------------------------------------

def _selection(changed: Mapping[str, object] | None, table: str, n: int) -> np.ndarray:
    """Positions (ascending) of the rows of ``table`` the row rules judge: the True rows of its mask,
    every row without one."""
    mask = None if changed is None else changed.get(table)
    if mask is None:
        return np.arange(n, dtype=np.int64)
    mask = np.asarray(mask, dtype=bool)
    if len(mask) != n:
        raise ValueError(f"the changed-rows mask of {table} has {len(mask)} values for {n} rows")
    return np.flatnonzero(mask).astype(np.int64)


def _prepare(frames: dict[str, pd.DataFrame], extract_date: dt.date, previous: pd.DataFrame | None,
             changed: Mapping[str, object] | None = None) -> Extract:
    """The id columns and source lines of every row (whole-file rules), typed working frames of the
    selected rows (0-based index) and the derived frames the row rules read."""
    work: dict[str, pd.DataFrame] = {}
    present: dict[str, bool] = {}
    positions: dict[str, np.ndarray] = {}
    keys: dict[str, pd.DataFrame] = {}
    lines: dict[str, np.ndarray] = {}
    whole: dict[str, pd.DataFrame] = {}
    for fc in CONTRACT:
        frame = frames.get(fc.table)
        present[fc.table] = frame is not None
        if frame is None:
            frame = pd.DataFrame({"source_line": pd.Series([], dtype="int64")})
        if "source_line" not in frame.columns:
            raise ValueError(f"frame {fc.table} has no source_line column: the reader must keep the line numbers")
        frame = frame.reset_index(drop=True)
        whole[fc.table] = frame
        lines[fc.table] = pd.to_numeric(frame["source_line"]).to_numpy()
        keys[fc.table] = pd.DataFrame({f.raw: frame[f.raw] for f in fc.fields if f.kind == ID and f.raw in frame.columns},
                                      index=frame.index)
        sel = _selection(changed, fc.table, len(frame))
        positions[fc.table] = sel
        sub = frame if len(sel) == len(frame) else frame.iloc[sel]
        cols = {"source_line": lines[fc.table][sel]}
        for f in fc.fields:
            cols[f.raw] = _typed(sub[f.raw] if f.raw in sub.columns else None, f.kind, len(sub))
        work[fc.table] = pd.DataFrame(cols)

    # placements with their dossier's dates: the placements selected, and those of a selected dossier
    dossiers, placements = whole[DOSSIERS], whole[PLACEMENTS]
    pl_sel = positions[PLACEMENTS]
    if len(pl_sel) < len(placements) and "dossier_key" in placements.columns and "dossier_key" in dossiers.columns \
            and len(positions[DOSSIERS]):
        touched = dossiers["dossier_key"].iloc[positions[DOSSIERS]]
        extra = np.flatnonzero(_is_in(placements["dossier_key"], touched))
        pl_sel = np.union1d(pl_sel, extra).astype(np.int64)
    n_pl = len(pl_sel)
    pl_keys = (placements["dossier_key"].iloc[pl_sel] if "dossier_key" in placements.columns
               else pd.Series([None] * n_pl, dtype="object"))
    if "dossier_key" in dossiers.columns and n_pl:
        mine = dossiers.loc[_is_in(dossiers["dossier_key"], pl_keys.dropna()) & dossiers["dossier_key"].notna().to_numpy()]
        lookup = pd.DataFrame({
            "dossier_key": mine["dossier_key"].to_numpy(),
            "registration_date": _typed(mine.get("registration_date"), DATE, len(mine)).to_numpy(),
            "closure_date": _typed(mine.get("closure_date"), DATE, len(mine)).to_numpy(),
        }).drop_duplicates("dossier_key").set_index("dossier_key")
        joined = lookup.reindex(pl_keys.to_numpy())
        registration, closure = joined["registration_date"].to_numpy(), joined["closure_date"].to_numpy()
    else:
        registration = closure = np.full(n_pl, np.datetime64("NaT"), dtype="datetime64[us]")
    start = _typed(placements["start_date"].iloc[pl_sel] if "start_date" in placements.columns else None, DATE, n_pl)
    work[PLACEMENTS_IN_DOSSIERS] = pd.DataFrame({
        "source_line": lines[PLACEMENTS][pl_sel],
        "start_date": start.to_numpy(),
        "registration_grace": (pd.Series(registration) - pd.Timedelta(days=PLACEMENT_GRACE_DAYS)).to_numpy(),
        "closure_date": closure,
    })
    positions[PLACEMENTS_IN_DOSSIERS] = pl_sel

    prev = None
    d_work = work[DOSSIERS]
    if previous is not None:
        prev = pd.DataFrame({
            "dossier_key": _typed(previous["dossier_key"], ID, len(previous)),
            "child_key": _typed(previous.get("child_key"), ID, len(previous)),
            "registration_date": _typed(previous.get("registration_date"), DATE, len(previous)),
        })
        wanted = d_work["dossier_key"].dropna()
        known = (prev.loc[prev["dossier_key"].notna() & _is_in(prev["dossier_key"], wanted)]
                 .drop_duplicates("dossier_key", keep="last").set_index("dossier_key"))
        before = known.reindex(d_work["dossier_key"].to_numpy())
        work[DOSSIERS_VS_PREVIOUS] = pd.DataFrame({
            "source_line": d_work["source_line"].to_numpy(),
            "registration_date": d_work["registration_date"].to_numpy(),
            "previous_registration_date": before["registration_date"].to_numpy(),
            "child_key": d_work["child_key"].to_numpy(),
            "previous_child_key": before["child_key"].to_numpy(),
        })
        positions[DOSSIERS_VS_PREVIOUS] = positions[DOSSIERS]
    else:
        work[DOSSIERS_VS_PREVIOUS] = pd.DataFrame({
            "source_line": pd.Series([], dtype="int64"),
            "registration_date": pd.Series([], dtype="datetime64[us]"),
            "previous_registration_date": pd.Series([], dtype="datetime64[us]"),
            "child_key": pd.Series([], dtype="object"), "previous_child_key": pd.Series([], dtype="object")})
        positions[DOSSIERS_VS_PREVIOUS] = np.empty(0, dtype=np.int64)
    work[PREVIOUS] = pd.DataFrame({"source_line": pd.Series([], dtype="int64")})
    positions[PREVIOUS] = np.empty(0, dtype=np.int64)
    return Extract(frames=work, extract_date=extract_date, previous=prev, present=present,
                   positions=positions, keys=keys, lines=lines)


def _typed(values: pd.Series | None, kind: str, n: int) -> pd.Series:
    """A column as the rules need it: dates datetime64, numbers float64, the rest as given."""
    if kind == DATE:
        if values is None:
            return pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]")
        values = values.reset_index(drop=True)
        return values if values.dtype.kind == "M" else pd.to_datetime(values, errors="coerce")
    if kind == NUMBER:
        if values is None:
            return pd.Series(np.nan, index=range(n), dtype="float64")
        return pd.to_numeric(values.reset_index(drop=True), errors="coerce").astype("float64")
    if values is None:
        return pd.Series(None, index=range(n), dtype="object")
    return values.reset_index(drop=True)


def _is_in(values: pd.Series, domain: pd.Series) -> np.ndarray:
    """Boolean array: is each value in ``domain`` (hash lookup in Arrow; pandas when Arrow cannot type it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        left = pa.array(values, from_pandas=True)
        right = pa.array(domain.dropna(), from_pandas=True)
        if left.type != right.type:
            right = right.cast(left.type)
        return np.asarray(pc.fill_null(pc.is_in(left, value_set=right), False), dtype=bool)
    except (TypeError, ValueError, NotImplementedError):  # mixed types Arrow cannot hold: plain pandas
        return values.isin(domain.dropna()).to_numpy()
