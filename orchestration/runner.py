"""What a pipeline run does after its loads, decided in one place for ``sofs-warehouse run`` and for the
Dagster sensor that follows an ingest run (SPEC 7, 8: one pipeline, not two).
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from orchestration.jobs import MART_JOBS, build_all_marts


def mart_job(loaded_kinds: Collection[str], *, rebuild: bool = False, stale: bool = False,
             marts_missing: bool | Callable[[], bool] = False) -> str | None:
    """The name of the dbt job to run after loading partitions of ``loaded_kinds`` (``survey``/``dossier``).

    - nothing loaded, no ``rebuild`` and not ``stale``: ``None`` (nothing to build);
    - exactly one kind loaded and the marts exist: that kind's job (``build_survey_marts`` /
      ``build_dossier_marts``: the models downstream of it, SPEC 7);
    - otherwise (both kinds, ``rebuild`` asked for, marts ``stale`` since an unfinished build or a
      retraction, or no marts yet): ``build_all_marts``.

    ``marts_missing`` may be a function, called only when its answer matters (it opens the warehouse).

    Raises:
        KeyError: a kind other than ``survey`` and ``dossier``.
    """
    kinds = set(loaded_kinds)
    unknown = kinds - set(MART_JOBS)
    if unknown:
        raise KeyError(f"unknown partition kind(s) {sorted(unknown)}; known: {sorted(MART_JOBS)}")
    if not kinds and not rebuild and not stale:
        return None
    if len(kinds) != 1 or rebuild or stale or (marts_missing() if callable(marts_missing) else marts_missing):
        return build_all_marts.name
    return MART_JOBS[next(iter(kinds))].name


#: statuses of a partition in the summary of ``sofs-warehouse run`` (SPEC 8)
LOADED, QUARANTINED, UNCHANGED, FAILED = "loaded", "quarantined", "unchanged", "failed"
#: longest message kept per partition (as Dagster metadata and exception messages keep it)
MESSAGE_LIMIT = 4000


def ingest_outcome(con, kind: str, key: str, started: datetime, run_succeeded: bool,
                   failure: str | None = None) -> tuple[str, int, str]:
    """``(status, rows, message)`` of the ingest run of partition ``key`` of ``kind`` that started at
    ``started``, read from ``audit.loads`` (SPEC 4), the record the load itself writes.

    - the run succeeded: the status of the load it recorded (``loaded`` or ``unchanged``), the rows its
      files put into ``raw`` (files that are not tables of rows count nothing) and its message;
    - the run failed and its load recorded ``quarantined``, or ``unchanged`` since a quarantine (the step
      fails after recording its check results, SPEC 8): ``quarantined`` with that message and 0 rows;
    - otherwise (no record since ``started``, or a failure after the load committed, e.g. a full disk at
      DuckDB's checkpoint): ``failed`` with ``failure``, the error the run reported, and 0 rows.

    ``con``: a connection to the warehouse (read-only is enough); a warehouse without ``audit.loads`` counts
    as no record.
    """
    row = None
    has_audit = con.execute("select count(*) from information_schema.tables "
                            "where table_schema = 'audit' and table_name = 'loads'").fetchone()[0]
    if has_audit:
        row = con.execute("""
            select status, coalesce(sum(rows), 0), any_value(message) from audit.loads
            where load_id = (select load_id from audit.loads
                             where partition_kind = ? and partition_key = ? and started_at >= ?
                             order by started_at desc limit 1)
            group by status""", [kind, key, started]).fetchone()
    if row is not None:
        status, rows, message = row[0], int(row[1]), row[2] or ""
        if run_succeeded and status in (LOADED, UNCHANGED):
            return status, rows, message[:MESSAGE_LIMIT]
        if not run_succeeded and status in (QUARANTINED, UNCHANGED):
            prefix = f"{kind} {key} quarantined: "  # the step's exception message is cut at MESSAGE_LIMIT
            return QUARANTINED, 0, message[:MESSAGE_LIMIT - len(prefix)]
    return FAILED, 0, failure or "the ingestion run ended without a result"
