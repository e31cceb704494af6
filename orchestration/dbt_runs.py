"""What a dbt build did, from dbt's own record of it (SPEC 4, 8).

dbt writes ``run_results.json`` into the target folder of every invocation (dagster-dbt gives each build
its own folder under ``dbt_project/target``); one entry per model, test or seed with its ``status``. This
module turns that file into the counts of dbt's closing summary line (``PASS=506 WARN=0 ERROR=0 SKIP=0
NO-OP=0 TOTAL=506``), records them with the build's outcome in ``audit.dbt_builds`` and reads them back for
``sofs-warehouse run``, so the command line does not read dbt's log to learn what happened. It also keeps
the target folder from growing by one build (about 27 MB of compiled SQL) per run, for years.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

#: dbt's node statuses (``results[].status`` in ``run_results.json``) by the count of dbt's summary line
#: they fall in, as dbt's own printer sorts them (dbt-core ``task/printer.py``, ``interpret_run_result``).
STATUS_COUNT = {
    "success": "n_pass", "pass": "n_pass",
    "warn": "n_warn",
    "error": "n_error", "fail": "n_error", "partial success": "n_error", "runtime error": "n_error",
    "skipped": "n_skip",
    "no-op": "n_noop",
}

#: how many build folders (the newest) stay in the dbt target folder, for reading a recent build's SQL
KEEP_BUILD_FOLDERS = 5


@dataclass(frozen=True)
class BuildCounts:
    """Models, tests and seeds of one dbt build by outcome (counts of nodes; dbt's summary line)."""

    n_pass: int = 0
    n_warn: int = 0
    n_error: int = 0
    n_skip: int = 0
    n_noop: int = 0

    @property
    def total(self) -> int:
        """Every node the build ran or skipped."""
        return self.n_pass + self.n_warn + self.n_error + self.n_skip + self.n_noop

    def summary(self) -> str:
        """dbt's closing line without its ``Done.``: ``PASS=.. WARN=.. ERROR=.. SKIP=.. NO-OP=.. TOTAL=..``."""
        return (f"PASS={self.n_pass} WARN={self.n_warn} ERROR={self.n_error} SKIP={self.n_skip} "
                f"NO-OP={self.n_noop} TOTAL={self.total}")


def counts_from_run_results(run_results: dict) -> BuildCounts:
    """The :class:`BuildCounts` of a parsed ``run_results.json`` (``{"results": [{"status": ...}, ...]}``).

    Raises:
        ValueError: a status dbt does not write (not in :data:`STATUS_COUNT`): the file is not dbt's.
    """
    counts = dict.fromkeys(("n_pass", "n_warn", "n_error", "n_skip", "n_noop"), 0)
    for result in run_results.get("results") or []:
        status = str(result.get("status", "")).lower()
        if status not in STATUS_COUNT:
            raise ValueError(f"run_results.json: unknown dbt node status {status!r} "
                             f"(known: {', '.join(sorted(STATUS_COUNT))})")
        counts[STATUS_COUNT[status]] += 1
    return BuildCounts(**counts)


def read_counts(target_path: Path | None) -> BuildCounts | None:
    """The counts of the build whose target folder is ``target_path``, or None when dbt wrote no
    ``run_results.json`` there (it stopped before running a node: a project or profile error, a kill)."""
    if target_path is None:
        return None
    try:
        data = json.loads((Path(target_path) / "run_results.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return counts_from_run_results(data)


def record_build(con, *, succeeded: bool, n_models: int, counts: BuildCounts | None,
                 finished_at: datetime | None = None) -> None:
    """Add one row to ``audit.dbt_builds``: when the build ended, the models selected, whether it succeeded
    (dbt and the disclosure control after it) and dbt's counts (null when dbt wrote none).

    A build that did not succeed leaves the marts stale (:func:`last_success`), so the next run rebuilds them.
    """
    c = counts or BuildCounts()
    values = [finished_at or datetime.now(), n_models, succeeded]
    values += [c.n_pass, c.n_warn, c.n_error, c.n_skip, c.n_noop] if counts else [None] * 5
    con.execute("""insert into audit.dbt_builds (finished_at, n_models, succeeded, n_pass, n_warn, n_error,
                                                 n_skip, n_noop) values (?, ?, ?, ?, ?, ?, ?, ?)""", values)


def last_success(con) -> datetime | None:
    """When the last successful dbt build ended (a row recorded before ``succeeded`` existed counts as
    one: only successes were recorded then), or None."""
    return con.execute("select max(finished_at) from audit.dbt_builds where succeeded is not false").fetchone()[0]


def summary_since(con, since: datetime) -> str | None:
    """dbt's summary line of the last build that ended at or after ``since``, or None (no build recorded
    since, or dbt wrote no counts)."""
    row = con.execute("""select n_pass, n_warn, n_error, n_skip, n_noop from audit.dbt_builds
                         where finished_at >= ? and n_pass is not null
                         order by finished_at desc limit 1""", [since]).fetchone()
    return BuildCounts(*row).summary() if row else None


def prune_build_folders(target_dir: Path, prefix: str, keep: int = KEEP_BUILD_FOLDERS,
                        min_age_seconds: float = 3600.0) -> list[Path]:
    """Remove the folders named ``prefix*`` in ``target_dir`` (dagster-dbt's per-build target folders:
    compiled SQL, logs, ``run_results.json``) except the ``keep`` newest and any changed in the last
    ``min_age_seconds`` (a build of another warehouse from the same project may still be writing one);
    returns the folders removed. Files and other folders are left alone; a folder that cannot be removed
    is skipped."""
    now = time.time()
    folders = sorted((p for p in Path(target_dir).glob(f"{prefix}*") if p.is_dir()),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for folder in folders[keep:]:
        if now - folder.stat().st_mtime < min_age_seconds:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed
