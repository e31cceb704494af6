"""Comparative case research (SPEC 9.2): the practice exposures of ``data/evaluation.yaml``, written to ``raw``.

The file (env ``SOFS_EVALUATION_FILE``; default ``data/evaluation.yaml``)::

    exposures:
      safety_plan_90d: {event_type: safety_plan, within_days: 90}     # name [a-z0-9_]+
      network_meeting_90d: {event_type: network_meeting, within_days: 90}
      mapping_30d: {event_type: mapping, within_days: 30}

``event_type`` is a practice event type of SPEC 3.4 (:data:`orchestration.contracts.dossier_extract.EVENT_TYPES`,
as are the regions of the roll-out dates); ``within_days`` (1..3650) is the landmark: only dossiers
still open on that day after registration enter the comparison, the exposure is whether such an event was
recorded by then, and outcomes are counted from the landmark on (marts.outcome_by_exposure).

:func:`sync_exposures` validates the file and replaces ``raw.evaluation_exposures`` (exposure, event_type,
within_days) before every dbt build. A bad exposure is refused with file, key and reason (a warning) and the
others load; an unreadable file loads none. A missing file means no exposures.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from orchestration import settings
from orchestration.contracts.dossier_extract import EVENT_TYPES, REGIONS

NAME = re.compile(r"^[a-z0-9_]+$")

DDL = """
create schema if not exists raw;
create table if not exists raw.evaluation_exposures (
    exposure varchar not null, event_type varchar not null, within_days integer not null
);
"""


def evaluation_file() -> Path:
    """``SOFS_EVALUATION_FILE``, default ``data/evaluation.yaml`` (SPEC 9.2)."""
    value = os.environ.get("SOFS_EVALUATION_FILE", "").strip()
    return Path(value).expanduser().resolve() if value else settings.PROJECT_ROOT / "data" / "evaluation.yaml"


class EvaluationError(ValueError):
    """A refused exposure definition: ``file``, ``key`` (dotted path, ``-`` for the whole file), ``reason``."""

    def __init__(self, file: Path, key: str, reason: str):
        self.file, self.key, self.reason = Path(file), key, reason
        super().__init__(f"evaluation file {Path(file).name}: key {key}: {reason}; refused")


@dataclass(frozen=True)
class Exposure:
    """One practice exposure: a recorded ``event_type`` by day ``within_days`` after registration."""

    exposure: str
    event_type: str
    within_days: int


def load_exposures(path: Path | None = None) -> tuple[list[Exposure], list[EvaluationError]]:
    """Parse ``path`` (default :func:`evaluation_file`). Returns ``(exposures sorted by name, errors)``."""
    path = Path(path) if path else evaluation_file()
    if not path.is_file():
        return [], []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], [EvaluationError(path, "-", f"not readable as UTF-8 YAML ({type(exc).__name__})")]
    if not isinstance(doc, dict) or not isinstance(doc.get("exposures"), dict):
        return [], [EvaluationError(path, "exposures", "expected a mapping exposures: {name: {event_type, within_days}}")]
    out, errors = [], []
    for name, spec in doc["exposures"].items():
        key = f"exposures.{name}"
        if not isinstance(name, str) or not NAME.match(name):
            errors.append(EvaluationError(path, key, "expected a name of lower-case letters, digits and _"))
            continue
        if not isinstance(spec, dict) or set(spec) != {"event_type", "within_days"}:
            errors.append(EvaluationError(path, key, "expected {event_type: ..., within_days: ...}"))
            continue
        if spec["event_type"] not in EVENT_TYPES:
            errors.append(EvaluationError(path, f"{key}.event_type", f"unknown event type (allowed: {', '.join(EVENT_TYPES)})"))
            continue
        days = spec["within_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            errors.append(EvaluationError(path, f"{key}.within_days", "expected a whole number of days from 1 to 3650"))
            continue
        out.append(Exposure(name, spec["event_type"], days))
    return sorted(out, key=lambda e: e.exposure), errors


def write_exposures(con, exposures: list[Exposure]) -> None:
    """Replace ``raw.evaluation_exposures`` with ``exposures`` (one transaction on the read-write ``con``)."""
    con.execute(DDL)
    frame = pd.DataFrame([e.__dict__ for e in exposures], columns=["exposure", "event_type", "within_days"])
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.evaluation_exposures")
        if len(frame):
            con.register("_exposure_rows", frame)
            try:
                con.execute("insert into raw.evaluation_exposures select exposure, event_type, within_days "
                            "from _exposure_rows")
            finally:
                con.unregister("_exposure_rows")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def sync_exposures(con, path: Path | None = None, warn=print) -> tuple[list[Exposure], list[EvaluationError]]:
    """Load the evaluation file and write its valid exposures to ``raw`` (before each dbt build); every refused
    exposure is passed to ``warn`` as one line."""
    exposures, errors = load_exposures(path)
    for exc in errors:
        warn(f"WARNING: {exc}")
    write_exposures(con, exposures)
    return exposures, errors


# ----------------------------------------------------------------------- roll-out dates (SPEC 9.3)

ROLLOUT_DDL = """
create schema if not exists raw;
create table if not exists raw.implementation_rollout (region varchar not null, rollout_date date not null);
"""


def implementation_file() -> Path:
    """``SOFS_IMPLEMENTATION_FILE``, default ``data/implementation.yaml`` (SPEC 9.3)."""
    value = os.environ.get("SOFS_IMPLEMENTATION_FILE", "").strip()
    return Path(value).expanduser().resolve() if value else settings.PROJECT_ROOT / "data" / "implementation.yaml"


def load_rollout(path: Path | None = None) -> tuple[dict[str, "dt.date"], list[EvaluationError]]:
    """``rollout: {region: YYYY-MM-DD}`` of the implementation file: the date Signs of Safety was rolled out in each
    region. Returns ``(region -> date, errors)``; an unknown region or a value that is not a date is refused (file,
    key, reason) and the others load. A missing file gives no dates."""
    import datetime as dt

    path = Path(path) if path else implementation_file()
    if not path.is_file():
        return {}, []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        return {}, [EvaluationError(path, "-", f"not readable as UTF-8 YAML ({type(exc).__name__})")]
    if not isinstance(doc, dict) or not isinstance(doc.get("rollout"), dict):
        return {}, [EvaluationError(path, "rollout", "expected a mapping rollout: {region: YYYY-MM-DD}")]
    out, errors = {}, []
    for region, value in doc["rollout"].items():
        key = f"rollout.{region}"
        if region not in REGIONS:
            errors.append(EvaluationError(path, key, f"unknown region (allowed: {', '.join(REGIONS)})"))
            continue
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                pass
        if not isinstance(value, dt.date):
            errors.append(EvaluationError(path, key, "expected a date YYYY-MM-DD"))
            continue
        out[region] = value
    return out, errors


def write_rollout(con, rollout: dict) -> None:
    """Replace ``raw.implementation_rollout`` (region, rollout_date) with ``rollout``."""
    con.execute(ROLLOUT_DDL)
    frame = pd.DataFrame(sorted(rollout.items()), columns=["region", "rollout_date"])
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.implementation_rollout")
        if len(frame):
            con.register("_rollout_rows", frame)
            try:
                con.execute("insert into raw.implementation_rollout select region, cast(rollout_date as date) "
                            "from _rollout_rows")
            finally:
                con.unregister("_rollout_rows")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def sync_rollout(con, path: Path | None = None, warn=print) -> dict:
    """Load the implementation file and write its valid roll-out dates to ``raw`` (before each dbt build)."""
    rollout, errors = load_rollout(path)
    for exc in errors:
        warn(f"WARNING: {exc}")
    write_rollout(con, rollout)
    return rollout
