"""Prospective study cohorts (SPEC 9.1): study definitions, read from YAML and written to ``raw`` for dbt.

A study is one file ``data/studies/<study>.yaml`` (folder: env ``SOFS_STUDIES_DIR``)::

    study: family_followup_2024                      # [a-z0-9_]+, equal to the file name without .yaml
    title: Gezinnen gevolgd na aanmelding 2024
    enrolment: {from: 2024-01-01, to: 2024-06-30}    # registration_date in [from, to] (ISO dates)
    include: {service: [OCJ, SDJ]}                   # optional: service, region, team (lists), age_at_registration [min, max]
    follow_up_months: [6, 12, 24]                    # whole calendar months after registration_date (1..600)
    feedback_window_days: 60                         # optional, default 60: responses within +-N days of a follow-up date

:func:`load_studies` parses and validates every file of the folder: a bad file is refused with its file,
key and reason (:class:`StudyError`) and the others still load. :func:`write_definitions` replaces the three
raw tables the dbt models read (``models/staging/studies``) in one transaction:

===============================  ===============================================================================
``raw.study_definitions``        one row per study: study, title, enrolment_from, enrolment_to (dates),
                                 age_min, age_max (whole years or null), feedback_window_days (days),
                                 source_file, definition_sha256 (SHA-256 of the file's bytes)
``raw.study_follow_up_months``   one row per study x follow-up month (study, follow_up_month)
``raw.study_filters``            one row per study x filter value (study, dimension ``service``/``region``/
                                 ``team``, value); a study without a filter on a dimension has no rows for it
===============================  ===============================================================================

The tables are written by :func:`sync_definitions` before every dbt build (``orchestration/assets/dbt.py``),
so they always hold the folder's valid definitions at the time of the build; a changed study file takes
effect with the next build (``sofs-warehouse run --rebuild`` when nothing new was loaded).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from orchestration import settings
from orchestration.contracts.dossier_extract import REGIONS, SERVICES

STUDY_NAME = re.compile(r"^[a-z0-9_]+$")
KEYS = {"study", "title", "enrolment", "include", "follow_up_months", "feedback_window_days"}
INCLUDE_KEYS = ("service", "region", "team", "age_at_registration")
DEFAULT_FEEDBACK_WINDOW_DAYS = 60

DDL = """
create schema if not exists raw;
create table if not exists raw.study_definitions (
    study varchar not null, title varchar not null, enrolment_from date not null, enrolment_to date not null,
    age_min integer, age_max integer, feedback_window_days integer not null,
    source_file varchar not null, definition_sha256 varchar not null
);
create table if not exists raw.study_follow_up_months (study varchar not null, follow_up_month integer not null);
create table if not exists raw.study_filters (study varchar not null, dimension varchar not null, value varchar not null);
"""
TABLES = ("raw.study_definitions", "raw.study_follow_up_months", "raw.study_filters")


def studies_dir() -> Path:
    """The study definitions folder: env ``SOFS_STUDIES_DIR``, default ``data/studies`` (SPEC 9.1)."""
    import os

    value = os.environ.get("SOFS_STUDIES_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else settings.PROJECT_ROOT / "data" / "studies"


class StudyError(ValueError):
    """A study file that is refused: ``file``, ``key`` (dotted path in the YAML, ``-`` for the whole file)
    and ``reason``."""

    def __init__(self, file: Path, key: str, reason: str):
        self.file, self.key, self.reason = Path(file), key, reason
        super().__init__(f"study file {Path(file).name}: key {key}: {reason}; refused (the other studies load)")


@dataclass(frozen=True)
class Study:
    """One validated study definition (see the module docstring for the YAML)."""

    study: str
    title: str
    enrolment_from: dt.date
    enrolment_to: dt.date
    follow_up_months: tuple[int, ...]
    feedback_window_days: int = DEFAULT_FEEDBACK_WINDOW_DAYS
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    age_min: int | None = None
    age_max: int | None = None
    source_file: str = ""
    sha256: str = ""


def _date(path: Path, key: str, value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise StudyError(path, key, "expected a date YYYY-MM-DD")


def _int(path: Path, key: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise StudyError(path, key, f"expected a whole number from {lo} to {hi}")
    return value


def parse_study(path: Path) -> Study:
    """Parse and validate one study file.

    Returns the :class:`Study`. Raises :class:`StudyError` (file, key, reason) for unreadable YAML, a
    missing or unknown key, a name that is not ``[a-z0-9_]+`` or not the file name, an empty title, an
    enrolment window that is not two dates with from <= to, unknown filter keys or codes (service OCJ/SDJ,
    the five regions), an age range that is not ``[min, max]`` whole years with min <= max, follow-up months
    that are not a non-empty list of distinct whole numbers 1..600, or a negative feedback window.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StudyError(path, "-", f"not readable as UTF-8 YAML ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise StudyError(path, "-", "expected a mapping of keys (study, title, enrolment, follow_up_months ...)")
    unknown = sorted(str(k) for k in doc if k not in KEYS)
    if unknown:
        raise StudyError(path, unknown[0], f"unknown key (allowed: {', '.join(sorted(KEYS))})")
    for required in ("study", "title", "enrolment", "follow_up_months"):
        if required not in doc:
            raise StudyError(path, required, "required key missing")
    name = doc["study"]
    if not isinstance(name, str) or not STUDY_NAME.match(name):
        raise StudyError(path, "study", "expected a name of lower-case letters, digits and _")
    if name != path.stem:
        raise StudyError(path, "study", f"the file must be named {name}.yaml")
    title = doc["title"]
    if not isinstance(title, str) or not title.strip():
        raise StudyError(path, "title", "expected a non-empty text")
    enrolment = doc["enrolment"]
    if not isinstance(enrolment, dict) or set(enrolment) != {"from", "to"}:
        raise StudyError(path, "enrolment", "expected {from: YYYY-MM-DD, to: YYYY-MM-DD}")
    start = _date(path, "enrolment.from", enrolment["from"])
    end = _date(path, "enrolment.to", enrolment["to"])
    if start > end:
        raise StudyError(path, "enrolment", "from is after to")
    include = doc.get("include") or {}
    if not isinstance(include, dict):
        raise StudyError(path, "include", f"expected a mapping with keys among {', '.join(INCLUDE_KEYS)}")
    filters: dict[str, tuple[str, ...]] = {}
    age_min = age_max = None
    for key, value in include.items():
        if key not in INCLUDE_KEYS:
            raise StudyError(path, f"include.{key}", f"unknown filter (allowed: {', '.join(INCLUDE_KEYS)})")
        if key == "age_at_registration":
            if not isinstance(value, list) or len(value) != 2:
                raise StudyError(path, "include.age_at_registration", "expected [min, max] in whole years")
            age_min = _int(path, "include.age_at_registration", value[0], 0, 30)
            age_max = _int(path, "include.age_at_registration", value[1], 0, 30)
            if age_min > age_max:
                raise StudyError(path, "include.age_at_registration", "min is above max")
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise StudyError(path, f"include.{key}", "expected a non-empty list of texts")
        allowed = {"service": SERVICES, "region": REGIONS}.get(key)
        for v in values:
            if allowed and v not in allowed:
                raise StudyError(path, f"include.{key}", f"unknown code (allowed: {', '.join(allowed)})")
        filters[key] = tuple(dict.fromkeys(v.strip() for v in values))
    months = doc["follow_up_months"]
    if not isinstance(months, list) or not months:
        raise StudyError(path, "follow_up_months", "expected a non-empty list of whole months")
    months = [_int(path, "follow_up_months", m, 1, 600) for m in months]
    if len(set(months)) != len(months):
        raise StudyError(path, "follow_up_months", "a month is listed twice")
    window = doc.get("feedback_window_days", DEFAULT_FEEDBACK_WINDOW_DAYS)
    window = _int(path, "feedback_window_days", window, 0, 3650)
    return Study(study=name, title=title.strip(), enrolment_from=start, enrolment_to=end,
                 follow_up_months=tuple(sorted(months)), feedback_window_days=window, filters=filters,
                 age_min=age_min, age_max=age_max, source_file=path.name,
                 sha256=hashlib.sha256(data).hexdigest())


def load_studies(folder: Path | None = None) -> tuple[list[Study], list[StudyError]]:
    """Every ``*.yaml`` / ``*.yml`` file of ``folder`` (default :func:`studies_dir`; hidden files skipped).

    Returns ``(studies sorted by name, errors)``: a bad file is one :class:`StudyError` and is left out;
    nothing else stops. A missing folder gives no studies and no errors.
    """
    folder = Path(folder) if folder else studies_dir()
    studies: list[Study] = []
    errors: list[StudyError] = []
    if not folder.is_dir():
        return studies, errors
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix in (".yaml", ".yml") and not p.name.startswith("."))
    seen: set[str] = set()
    for path in files:
        try:
            study = parse_study(path)
        except StudyError as exc:
            errors.append(exc)
            continue
        if study.study in seen:
            errors.append(StudyError(path, "study", f"a study named {study.study} is defined in another file too"))
            continue
        seen.add(study.study)
        studies.append(study)
    return sorted(studies, key=lambda s: s.study), errors


def frames(studies: list[Study]) -> dict[str, pd.DataFrame]:
    """The three raw tables' rows (table name -> DataFrame, columns as in :data:`DDL`)."""
    defs = pd.DataFrame(
        [{"study": s.study, "title": s.title, "enrolment_from": s.enrolment_from, "enrolment_to": s.enrolment_to,
          "age_min": s.age_min, "age_max": s.age_max, "feedback_window_days": s.feedback_window_days,
          "source_file": s.source_file, "definition_sha256": s.sha256} for s in studies],
        columns=["study", "title", "enrolment_from", "enrolment_to", "age_min", "age_max",
                 "feedback_window_days", "source_file", "definition_sha256"])
    months = pd.DataFrame([{"study": s.study, "follow_up_month": m} for s in studies for m in s.follow_up_months],
                          columns=["study", "follow_up_month"])
    filters = pd.DataFrame([{"study": s.study, "dimension": d, "value": v}
                            for s in studies for d, values in s.filters.items() for v in values],
                           columns=["study", "dimension", "value"])
    return {"raw.study_definitions": defs, "raw.study_follow_up_months": months, "raw.study_filters": filters}


def write_definitions(con, studies: list[Study]) -> None:
    """Replace the raw study tables with ``studies`` (one transaction on the read-write ``con``)."""
    con.execute(DDL)
    con.execute("begin transaction")
    try:
        for table, frame in frames(studies).items():
            con.execute(f"delete from {table}")
            if len(frame):
                con.register("_study_rows", frame)
                try:
                    cols = ", ".join(frame.columns)
                    con.execute(f"insert into {table} ({cols}) select {cols} from _study_rows")
                finally:
                    con.unregister("_study_rows")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def sync_definitions(con, folder: Path | None = None, warn=print) -> tuple[list[Study], list[StudyError]]:
    """Load the study folder and write its valid definitions to ``raw`` (called before each dbt build).
    Each refused file is passed to ``warn`` as one line (file, key, reason). Returns ``load_studies``'s result."""
    studies, errors = load_studies(folder)
    for exc in errors:
        warn(f"WARNING: {exc}")
    write_definitions(con, studies)
    return studies, errors
