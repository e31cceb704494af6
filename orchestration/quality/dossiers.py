"""Quality gate of a dossier extract: the rules of SPEC 3.4, built from the extract contract.

:func:`check_dossier_extract` takes the pseudonymised frames of one extract (``raw.dossiers``,
``raw.placements``, ``raw.practice_events``, as the dossier reader's ``pseudonymise_extract`` returns
them, each with ``source_line``) and returns one :class:`~orchestration.quality.results.RuleResult` per
rule in :data:`DOSSIER_RULES`, passed or not, so ``audit.check_results`` holds every rule's outcome.

The rules are data. :data:`CONTRACT` is SPEC 3.4 as a table (files, columns, which are required or
unique, the code lists); the stage-1 rules (required values, uniqueness, code lists, ranges) and the
"no date after the extract date" rules are generated from it, the relational, temporal and
cross-extract rules are listed by hand below it. Each rule is a :class:`DossierRule`: a
:class:`~orchestration.quality.results.RuleSpec` (code, stage, severity, message, columns) plus either
Great Expectations expectations (value sets, nulls, uniqueness, ranges, the order or equality of two
columns; run by :mod:`orchestration.quality.gx`) or a small pandas check for set operations between
frames (a placement of an unknown dossier, a dossier of the previous extract missing).

Rules the dossier reader (:mod:`orchestration.readers.dossiers`) enforces before this gate, raising a
:class:`~orchestration.readers.base.ReaderError` the ingest reports as a failed rule: a missing file
(``D_FILE_MISSING``), a required column missing from the header (``D_REQUIRED_COLUMN``), a bad or
impossible date (``D_DATE_FORMAT``), a non-numeric number (``D_NUMBER``), a malformed record
(``D_CSV_STRUCTURE``), a binary file (``FILE_NOT_TEXT``). A required column absent from a frame
handed to this gate counts as empty on every row.

Cost (STACK_NOTES "Great Expectations at scale"): value rules run on one representative row per
class of rows that must get the same verdict (see :mod:`orchestration.quality.gx`); uniqueness runs
on the full key columns; the reference and cross-extract set operations use Arrow hash lookups.
Measured on 1,000,000 dossiers / 150,000 placements / 5,000,000 events: see `bench/results.md`
and ``tests/unit/test_quality_dossiers.py::test_benchmark_scale`` (run with ``SOFS_BENCH=1``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.privacy import shown_value
from orchestration.quality import gx
from orchestration.quality.gx import A_GE_B, BETWEEN, EQUAL, IN_SET, MIN_ROWS, NOT_NULL, NULL, UNIQUE, Expect
from orchestration.quality.results import ERROR, WARNING, RuleResult, RuleSpec

# --- the extract contract (SPEC 3.4) -----------------------------------------------------------

SERVICES = ("OCJ", "SDJ")
REGIONS = ("Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant en Brussel", "West-Vlaanderen")
SEXES = ("M", "V", "X")
PLACEMENT_TYPES = ("foster_family", "kinship_foster", "residential", "independent_living", "other")
EVENT_TYPES = ("mapping", "three_houses", "words_and_pictures", "network_meeting", "safety_plan",
               "scaling_question")
RATERS = ("worker", "parent", "child", "network")
#: Closure reasons (SPEC 3.4): the case system's codes. Any other code is a warning and stored as ``other``,
#: never as delivered (it is free text in some systems and may carry a name).
OTHER = "other"
CLOSURE_REASONS = ("doelen_bereikt", "doorverwijzing", "verhuis", "meerderjarig", "weigering_hulp", OTHER)
SCALING = "scaling_question"
SCALE_MIN, SCALE_MAX = 0, 10
#: A placement may start this many days before the dossier's registration without a warning.
PLACEMENT_GRACE_DAYS = 30

ID, TEXT, CODE, DATE, NUMBER = "id", "text", "code", "date", "number"


@dataclass(frozen=True)
class Field:
    """One column of an extract file (SPEC 3.4).

    ``raw`` is the column in the pseudonymised frame (``dossier_key``), ``source`` the column in the
    CSV (``dossier_id``), which is what rules report. ``kind`` is id, text, code, date or number.
    ``unknown_as``: a code outside ``codes`` is a warning (not an error) and stored as this code.
    """

    raw: str
    source: str
    kind: str
    required: bool = False
    unique: bool = False
    codes: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    unknown_as: str | None = None


@dataclass(frozen=True)
class FileContract:
    """One file of an extract: its raw table, its file name, the tag used in rule codes, its columns."""

    table: str
    file: str
    tag: str
    fields: tuple[Field, ...]
    not_empty: bool = False

    def field(self, raw: str) -> Field:
        return next(f for f in self.fields if f.raw == raw)


DOSSIERS, PLACEMENTS, EVENTS = "raw.dossiers", "raw.placements", "raw.practice_events"

CONTRACT: tuple[FileContract, ...] = (
    FileContract(DOSSIERS, "dossiers.csv", "DOSSIERS", (
        Field("dossier_key", "dossier_id", ID, required=True, unique=True),
        Field("child_key", "child_id", ID, required=True),
        Field("service", "service", CODE, required=True, codes=SERVICES),
        Field("region", "region", CODE, required=True, codes=REGIONS),
        Field("team", "team", TEXT),            # raw: team_key (HMAC) and team (published label, SPEC 3.4)
        Field("registration_date", "registration_date", DATE, required=True),
        Field("closure_date", "closure_date", DATE),
        Field("closure_reason", "closure_reason", CODE, codes=CLOSURE_REASONS, unknown_as=OTHER),
        Field("birth_year", "birth_year", NUMBER),
        Field("sex", "sex", CODE, codes=SEXES),
    ), not_empty=True),
    FileContract(PLACEMENTS, "placements.csv", "PLACEMENTS", (
        Field("placement_key", "placement_id", ID, required=True, unique=True),
        Field("dossier_key", "dossier_id", ID, required=True),
        Field("start_date", "start_date", DATE, required=True),
        Field("end_date", "end_date", DATE),
        Field("placement_type", "placement_type", CODE, required=True, codes=PLACEMENT_TYPES),
    )),
    FileContract(EVENTS, "practice_events.csv", "EVENTS", (
        Field("event_key", "event_id", ID, required=True, unique=True),
        Field("dossier_key", "dossier_id", ID, required=True),
        Field("event_date", "event_date", DATE, required=True),
        Field("event_type", "event_type", CODE, required=True, codes=EVENT_TYPES),
        Field("value", "value", NUMBER, bounds=(SCALE_MIN, SCALE_MAX)),
        Field("rated_by", "rated_by", CODE, codes=RATERS),
    )),
)
_BY_TABLE = {fc.table: fc for fc in CONTRACT}

# Working frames the rules read. Derived frames have one row per row of the file they report on.
PLACEMENTS_IN_DOSSIERS = "placements_in_dossiers"   # placements with their dossier's dates
DOSSIERS_VS_PREVIOUS = "dossiers_vs_previous"       # dossiers with the previous extract's values
PREVIOUS = "previous"                               # the previous extract's dossiers (no source lines)
_REPORTS_ON = {DOSSIERS: DOSSIERS, PLACEMENTS: PLACEMENTS, EVENTS: EVENTS,
               PLACEMENTS_IN_DOSSIERS: PLACEMENTS, DOSSIERS_VS_PREVIOUS: DOSSIERS, PREVIOUS: DOSSIERS}


# --- rules --------------------------------------------------------------------------------------

@dataclass
class Extract:
    """One extract as the rules see it: working frames (0-based index), extract date, previous extract."""

    frames: dict[str, pd.DataFrame]
    extract_date: dt.date
    previous: pd.DataFrame | None
    present: dict[str, bool]
    findings: pd.DataFrame | None = None


@dataclass(frozen=True)
class Found:
    """What a rule found: failing positions in its frame, or a count (and lines) not tied to rows."""

    positions: np.ndarray
    failing_rows: int | None = None
    detail: str = ""
    lines: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class DossierRule:
    """One rule: its spec, the working frame it judges, and how.

    Exactly one of ``expects`` (Great Expectations expectations, built for the extract date) and
    ``check`` (a pandas check) is set. A rule fails on the union of its expectations' failing rows.
    """

    spec: RuleSpec
    frame: str
    expects: Callable[[dt.date], tuple[Expect, ...]] | None = None
    check: Callable[[Extract], Found] | None = None


# kinds of finding the dossier reader records (``DossierRead.findings``, SPEC 3.4)
IDENTIFIER, SCIENTIFIC, CHECK_DIGITS = "identifier", "scientific", "check_digits"


def _finding(table: str, finding: str) -> Callable[[Extract], Found]:
    """A check reading the reader's findings of one kind in one file: lines, columns, what was found."""
    def check(ex: Extract) -> Found:
        f = ex.findings
        if f is None or not len(f):
            return Found(np.empty(0, dtype=np.int64), failing_rows=0)
        mine = f[(f["table"] == table) & (f["finding"] == finding)].sort_values(["source_line", "column"])
        if not len(mine):
            return Found(np.empty(0, dtype=np.int64), failing_rows=0)
        lines = tuple(int(v) for v in pd.unique(mine["source_line"]))
        columns = tuple(str(c) for c in pd.unique(mine["column"]))
        parts = [f"{r.what} in {r.column} (line {int(r.source_line)})" if r.what else f"{r.column} (line {int(r.source_line)})"
                 for r in mine.head(5).itertuples()]
        more = f" and {len(mine) - 5} more" if len(mine) > 5 else ""
        return Found(np.empty(0, dtype=np.int64), failing_rows=len(lines), lines=lines, columns=columns,
                     detail=f"Found {', '.join(parts)}{more}.")
    return check


def store_codes(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Replace codes outside a list that tolerates them by the list's stand-in (SPEC 3.4), in place.

    For every :class:`Field` with ``unknown_as`` (``closure_reason``): a value that is not one of
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


def _contract_rules() -> tuple[list[DossierRule], list[DossierRule]]:
    """Stage-1 rules and the date-after-extract rules, generated from :data:`CONTRACT`."""
    stage1: list[DossierRule] = []
    dates: list[DossierRule] = []
    for fc in CONTRACT:
        if fc.not_empty:
            stage1.append(DossierRule(
                RuleSpec(f"D_{fc.tag}_NOT_EMPTY", 1, ERROR, f"{fc.file} must hold at least one row: a full "
                         "snapshot of the case system is never empty (SPEC 3.4).", ()),
                fc.table, expects=lambda _d: (Expect(MIN_ROWS, min_value=1),)))
        for f in fc.fields:
            base = f"D_{fc.tag}_{f.source.upper()}"
            if f.required:
                stage1.append(DossierRule(
                    RuleSpec(f"{base}_REQUIRED", 1, ERROR, f"{f.source} must not be empty in {fc.file} (SPEC 3.4).",
                             (f.source,)),
                    fc.table, expects=lambda _d, c=f.raw: (Expect(NOT_NULL, c),)))
            if f.unique:
                stage1.append(DossierRule(
                    RuleSpec(f"{base}_UNIQUE", 1, ERROR, f"{f.source} must be unique in {fc.file}: every row "
                             "carrying a repeated id fails (SPEC 3.4).", (f.source,)),
                    fc.table, expects=lambda _d, c=f.raw: (Expect(UNIQUE, c),)))
            if f.codes and f.unknown_as:
                stage1.append(DossierRule(
                    RuleSpec(f"{base}_IN_LIST", 1, WARNING, f"{f.source} should be one of {', '.join(f.codes)} "
                             f"or empty; any other code is stored as {f.unknown_as} (SPEC 3.4).", (f.source,)),
                    fc.table, expects=lambda _d, c=f.raw, v=f.codes: (Expect(IN_SET, c, values=v),)))
            elif f.codes:
                empty = "" if f.required else " or empty"
                stage1.append(DossierRule(
                    RuleSpec(f"{base}_IN_LIST", 1, ERROR, f"{f.source} must be one of "
                             f"{', '.join(f.codes)}{empty} (SPEC 3.4).", (f.source,)),
                    fc.table, expects=lambda _d, c=f.raw, v=f.codes: (Expect(IN_SET, c, values=v),)))
            if f.bounds:
                lo, hi = f.bounds
                stage1.append(DossierRule(
                    RuleSpec(f"{base}_IN_RANGE", 1, ERROR, f"{f.source} must be between {lo:g} and {hi:g} "
                             "or empty (SPEC 3.4).", (f.source,)),
                    fc.table, expects=lambda _d, c=f.raw, b=f.bounds: (
                        Expect(BETWEEN, c, min_value=b[0], max_value=b[1]),)))
        ids = tuple(f.source for f in fc.fields if f.kind == ID)
        stage1.append(DossierRule(
            RuleSpec(f"D_{fc.tag}_ID_NOT_SCIENTIFIC", 1, ERROR,
                     f"ids in {fc.file} must be written as delivered by the case system, not as a number in "
                     "scientific notation (such as 1,2E+10): the file went through Excel, which rounds long numbers "
                     "and can make several children one. Export again, or import the column as Text in Excel "
                     "(SPEC 3.4).", ids),
            fc.table, check=_finding(fc.table, SCIENTIFIC)))
        texts = tuple(f.source for f in fc.fields if f.kind in (TEXT, CODE))
        stage1.append(DossierRule(
            RuleSpec(f"D_{fc.tag}_NO_IDENTIFIER", 1, ERROR,
                     f"text and code fields of {fc.file} must not hold an e-mail address, a phone number or a "
                     "national register number; the value is not shown anywhere: open the file at the line and "
                     "column named (SPEC 3.4, 6).", texts),
            fc.table, check=_finding(fc.table, IDENTIFIER)))
        date_fields = [f for f in fc.fields if f.kind == DATE]
        dates.append(DossierRule(
            RuleSpec(f"D_{fc.tag}_DATES_NOT_AFTER_EXTRACT", 2, ERROR,
                     f"{' and '.join(f.source for f in date_fields)} in {fc.file} must not be after the "
                     "extract date (SPEC 3.4).", tuple(f.source for f in date_fields)),
            fc.table, expects=lambda d, cols=tuple(f.raw for f in date_fields): tuple(
                Expect(BETWEEN, c, max_value=d) for c in cols)))
    return stage1, dates


def _scaling_fields(_d: dt.date) -> tuple[Expect, ...]:
    return (Expect(NULL, "value", when=("event_type", (SCALING,)), when_not=True),
            Expect(NULL, "rated_by", when=("event_type", (SCALING,)), when_not=True),
            Expect(NOT_NULL, "value", when=("event_type", (SCALING,))))


def _unknown_dossier(table: str) -> Callable[[Extract], Found]:
    def check(ex: Extract) -> Found:
        keys = ex.frames[table]["dossier_key"]
        known = ex.frames[DOSSIERS]["dossier_key"]
        return Found(np.flatnonzero(keys.notna().to_numpy() & ~_is_in(keys, known)))
    return check


def _previous_missing(ex: Extract) -> Found:
    if ex.previous is None:
        return Found(np.empty(0, dtype=np.int64), detail="(first extract: nothing to compare.)")
    prev = ex.previous["dossier_key"].dropna().drop_duplicates()
    missing = int((~_is_in(prev, ex.frames[DOSSIERS]["dossier_key"])).sum())
    detail = (f"({missing} of {len(prev)} dossiers of the previous extract are not in this one; they have "
              "no line in this file.)") if missing else ""
    return Found(np.empty(0, dtype=np.int64), failing_rows=missing, detail=detail)


_STAGE1, _DATE_RULES = _contract_rules()

#: Every dossier-extract rule, in the order the results are returned (stage 1, then stage 2).
DOSSIER_RULES: tuple[DossierRule, ...] = (
    *_STAGE1,
    DossierRule(RuleSpec("D_EVENTS_SCALING_FIELDS", 1, WARNING,
                         "value and rated_by belong to scaling questions: a scaling_question event has a value, "
                         "other events have neither (SPEC 3.4).", ("event_type", "value", "rated_by")),
                EVENTS, expects=_scaling_fields),
    DossierRule(RuleSpec("D_DOSSIERS_REGISTER_NUMBER_CHECK", 1, WARNING,
                         "a dossier_id or child_id written as a national register number (11 digits, dots and "
                         "dashes allowed) should have valid check digits: 97 - (first 9 digits mod 97), for "
                         "births from 2000 with 2 before the 9 digits. It is loaded (under the pseudonym of its "
                         "11 digits) but may be mistyped (SPEC 3.4, 6).", ("dossier_id", "child_id")),
                DOSSIERS, check=_finding(DOSSIERS, CHECK_DIGITS)),
    *_DATE_RULES,
    DossierRule(RuleSpec("D_CLOSURE_AFTER_REGISTRATION", 2, ERROR,
                         "closure_date must not be before registration_date (SPEC 3.4).",
                         ("registration_date", "closure_date")),
                DOSSIERS, expects=lambda _d: (Expect(A_GE_B, "closure_date", column_b="registration_date"),)),
    DossierRule(RuleSpec("D_PLACEMENT_END_AFTER_START", 2, ERROR,
                         "a placement's end_date must not be before its start_date (SPEC 3.4).",
                         ("start_date", "end_date")),
                PLACEMENTS, expects=lambda _d: (Expect(A_GE_B, "end_date", column_b="start_date"),)),
    DossierRule(RuleSpec("D_PLACEMENT_DOSSIER_KNOWN", 2, ERROR,
                         "a placement's dossier_id must be a dossier_id of dossiers.csv in the same extract "
                         "(SPEC 3.4).", ("dossier_id",)),
                PLACEMENTS, check=_unknown_dossier(PLACEMENTS)),
    DossierRule(RuleSpec("D_EVENT_DOSSIER_KNOWN", 2, ERROR,
                         "a practice event's dossier_id must be a dossier_id of dossiers.csv in the same extract "
                         "(SPEC 3.4).", ("dossier_id",)),
                EVENTS, check=_unknown_dossier(EVENTS)),
    DossierRule(RuleSpec("D_PLACEMENT_NOT_LONG_BEFORE_REGISTRATION", 2, WARNING,
                         f"a placement should not start more than {PLACEMENT_GRACE_DAYS} days before its dossier's "
                         "registration_date (SPEC 3.4).", ("dossier_id", "start_date", "registration_date")),
                PLACEMENTS_IN_DOSSIERS,
                expects=lambda _d: (Expect(A_GE_B, "start_date", column_b="registration_grace"),)),
    DossierRule(RuleSpec("D_PLACEMENT_NOT_AFTER_CLOSURE", 2, WARNING,
                         "a placement should not start after its dossier's closure_date (SPEC 3.4).",
                         ("dossier_id", "start_date", "closure_date")),
                PLACEMENTS_IN_DOSSIERS, expects=lambda _d: (Expect(A_GE_B, "closure_date", column_b="start_date"),)),
    DossierRule(RuleSpec("D_PREVIOUS_DOSSIERS_PRESENT", 2, WARNING,
                         "every dossier of the previous extract should still be in this snapshot (SPEC 3.4).",
                         ("dossier_id",)),
                PREVIOUS, check=_previous_missing),
    DossierRule(RuleSpec("D_REGISTRATION_DATE_UNCHANGED", 2, WARNING,
                         "a dossier's registration_date should be the same as in the previous extract (SPEC 3.4).",
                         ("dossier_id", "registration_date")),
                DOSSIERS_VS_PREVIOUS,
                expects=lambda _d: (Expect(EQUAL, "registration_date", column_b="previous_registration_date"),)),
    DossierRule(RuleSpec("D_CHILD_ID_UNCHANGED", 2, WARNING,
                         "a dossier's child_id should be the same as in the previous extract (SPEC 3.4).",
                         ("dossier_id", "child_id")),
                DOSSIERS_VS_PREVIOUS, expects=lambda _d: (Expect(EQUAL, "child_key", column_b="previous_child_key"),)),
)


def check_dossier_extract(frames: dict[str, pd.DataFrame], extract_date: dt.date,
                          previous: pd.DataFrame | None, source_files: dict[str, str], *,
                          findings: pd.DataFrame | None = None) -> list[RuleResult]:
    """Run every rule of :data:`DOSSIER_RULES` on one extract (SPEC 3.4).

    Args:
        frames: the pseudonymised frames keyed ``raw.dossiers``, ``raw.placements`` and (optional file)
            ``raw.practice_events``, with the raw tables' columns (``dossier_key``, ``child_key``,
            ``registration_date`` ... as in :mod:`orchestration.warehouse`) and ``source_line`` (the
            physical line of the record in its CSV). Dates may be datetime64 or ``datetime.date``
            objects; a missing frame counts as an empty file.
        extract_date: the as-of date of the snapshot (the partition key).
        previous: the previous extract's ``raw.dossiers`` rows (``dossier_key``, ``child_key``,
            ``registration_date``), or None for the first extract.
        source_files: table name -> landing file (``dossiers/2024-03-31/dossiers.csv``), reported with
            each result.
        findings: what the reader found in the values as delivered (``DossierRead.findings``: columns
            ``table``, ``column``, ``source_line``, ``finding`` = identifier / scientific / check_digits,
            ``what``), for the rules on identifiers in text, ids in scientific notation and register
            number check digits; None: those rules pass.

    Returns:
        One :class:`RuleResult` per rule, in :data:`DOSSIER_RULES` order. Sample lines are the first
        source lines (ascending) of the failing rows in the file the rule reports on.

    Raises:
        ValueError: a frame has no ``source_line`` column.
        orchestration.quality.gx.GXRunError: Great Expectations could not evaluate an expectation.
    """
    extract = _prepare(frames, extract_date, previous)
    extract.findings = findings
    found: dict[int, Found] = {}
    by_frame: dict[str, list[tuple[int, DossierRule]]] = {}
    for k, rule in enumerate(DOSSIER_RULES):
        if rule.check is not None:
            found[k] = rule.check(extract)
        else:
            by_frame.setdefault(rule.frame, []).append((k, rule))
    for name, rules in by_frame.items():
        expects = [(k, e) for k, rule in rules for e in rule.expects(extract_date)]
        verdicts = gx.validate(extract.frames[name], [e for _, e in expects], name=f"dossiers-{name}")
        for k, rule in rules:
            mine = [v for (kk, _), v in zip(expects, verdicts) if kk == k]
            positions = gx.failing_union(mine)
            if not len(positions) and not all(v.success for v in mine):  # a table verdict: the file fails
                found[k] = Found(positions, failing_rows=1, detail=_detail(rule, mine, extract), lines=(1,))
            else:
                found[k] = Found(positions, detail=_detail(rule, mine, extract))

    results = []
    for k, rule in enumerate(DOSSIER_RULES):
        f = found[k]
        table = _REPORTS_ON[rule.frame]
        lines = (extract.frames[rule.frame]["source_line"].to_numpy()[f.positions]
                 if len(f.positions) else np.asarray(f.lines, dtype=np.int64))
        detail = f.detail
        if not extract.present[table] and not detail:
            detail = f"({_BY_TABLE[table].file} is not in this extract.)"
        if rule.frame == DOSSIERS_VS_PREVIOUS and previous is None:
            detail = "(first extract: nothing to compare.)"
        results.append(rule.spec.outcome(lines, source_files.get(table, ""), failing_rows=f.failing_rows,
                                         detail=detail, columns=list(f.columns) if f.columns else None))
    return results


def _detail(rule: DossierRule, verdicts: list[gx.Verdict], ex: Extract) -> str:
    """A short account of what failed: the values outside a code list, the extract date."""
    if not any(len(v.failing) for v in verdicts):
        return ""
    bad: list[str] = []
    for v, e in zip(verdicts, rule.expects(ex.extract_date)):
        if e.kind == IN_SET and len(v.failing):
            for value in v.result.get("unexpected_list") or []:
                text = shown_value(value)
                if text not in bad:
                    bad.append(text)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        return f"Found {', '.join(bad[:5])}{more}."
    if rule.spec.code.endswith("_DATES_NOT_AFTER_EXTRACT"):
        return f"Extract date {ex.extract_date.isoformat()}."
    return ""


# --- working frames -----------------------------------------------------------------------------

def _prepare(frames: dict[str, pd.DataFrame], extract_date: dt.date, previous: pd.DataFrame | None) -> Extract:
    """Slim, typed copies of the frames (0-based index) and the derived frames the rules read."""
    work: dict[str, pd.DataFrame] = {}
    present: dict[str, bool] = {}
    for fc in CONTRACT:
        frame = frames.get(fc.table)
        present[fc.table] = frame is not None
        if frame is None:
            frame = pd.DataFrame({"source_line": pd.Series([], dtype="int64")})
        if "source_line" not in frame.columns:
            raise ValueError(f"frame {fc.table} has no source_line column: the reader must keep the line numbers")
        cols = {"source_line": pd.to_numeric(frame["source_line"]).to_numpy()}
        for f in fc.fields:
            cols[f.raw] = _typed(frame[f.raw] if f.raw in frame.columns else None, f.kind, len(frame))
        work[fc.table] = pd.DataFrame(cols)

    dossiers, placements = work[DOSSIERS], work[PLACEMENTS]
    lookup = (dossiers.loc[dossiers["dossier_key"].notna(), ["dossier_key", "registration_date", "closure_date"]]
              .drop_duplicates("dossier_key").set_index("dossier_key"))
    joined = lookup.reindex(placements["dossier_key"].to_numpy())
    work[PLACEMENTS_IN_DOSSIERS] = pd.DataFrame({
        "source_line": placements["source_line"].to_numpy(),
        "start_date": placements["start_date"].to_numpy(),
        "registration_grace": (joined["registration_date"] - pd.Timedelta(days=PLACEMENT_GRACE_DAYS)).to_numpy(),
        "closure_date": joined["closure_date"].to_numpy(),
    })

    prev = None
    if previous is not None:
        prev = pd.DataFrame({
            "dossier_key": _typed(previous["dossier_key"], ID, len(previous)),
            "child_key": _typed(previous.get("child_key"), ID, len(previous)),
            "registration_date": _typed(previous.get("registration_date"), DATE, len(previous)),
        })
        known = prev.loc[prev["dossier_key"].notna()].drop_duplicates("dossier_key", keep="last").set_index("dossier_key")
        before = known.reindex(dossiers["dossier_key"].to_numpy())
        work[DOSSIERS_VS_PREVIOUS] = pd.DataFrame({
            "source_line": dossiers["source_line"].to_numpy(),
            "registration_date": dossiers["registration_date"].to_numpy(),
            "previous_registration_date": before["registration_date"].to_numpy(),
            "child_key": dossiers["child_key"].to_numpy(),
            "previous_child_key": before["child_key"].to_numpy(),
        })
    else:
        work[DOSSIERS_VS_PREVIOUS] = pd.DataFrame({
            "source_line": pd.Series([], dtype="int64"),
            "registration_date": pd.Series([], dtype="datetime64[us]"),
            "previous_registration_date": pd.Series([], dtype="datetime64[us]"),
            "child_key": pd.Series([], dtype="object"), "previous_child_key": pd.Series([], dtype="object")})
    work[PREVIOUS] = pd.DataFrame({"source_line": pd.Series([], dtype="int64")})
    return Extract(frames=work, extract_date=extract_date, previous=prev, present=present)


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
