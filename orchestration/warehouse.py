"""DuckDB connection handling and the layout of the ``raw``, ``audit`` and ``restricted`` schemas (SPEC 4).

DuckDB takes one read-write process at a time. Writers open a short-lived connection through
:func:`write_connection` (which also takes the project's writer lock, so a second writer gets a clear
"warehouse busy" message instead of a lock error deep in DuckDB); readers use :func:`read_connection`
(``read_only=True``). dbt runs as its own process and needs the file free: never hold a connection
open across a dbt call.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from orchestration import settings
from orchestration.evaluation import DDL as _EVALUATION_DDL
from orchestration.evaluation import ROLLOUT_DDL as _ROLLOUT_DDL
from orchestration.history import DDL as _HISTORY_DDL
from orchestration.studies import DDL as _STUDY_DDL

RAW_DDL = """
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists restricted;

-- one row per survey response of a loaded partition (instrument x wave)
create table if not exists raw.survey_responses (
    partition_key varchar not null, instrument varchar not null, wave varchar not null,
    response_key varchar not null,           -- HMAC of instrument|wave|response id
    respondent_key varchar,                  -- HMAC of the token (domain respondent); null when not linkable
    dossier_key varchar,                     -- HMAC of the dossier id (domain dossier), client/child instruments
    is_complete boolean not null, lastpage integer, submitted_at timestamp, started_at timestamp,
    startlanguage varchar, is_superseded boolean not null default false,
    source_line bigint not null, load_id varchar not null
);
-- one row per response x item (non-text items)
create table if not exists raw.survey_answers (
    partition_key varchar not null, instrument varchar not null, wave varchar not null,
    response_key varchar not null, item varchar not null, source_column varchar not null,
    raw_code varchar, value double, missing_reason varchar,
    source_line bigint not null, load_id varchar not null
);
-- the instrument definition as it applied to this wave (the crosswalk and the answer schemes)
create table if not exists raw.survey_items (
    partition_key varchar not null, instrument varchar not null, wave varchar not null,
    item varchar not null, item_text varchar, role varchar not null, construct varchar,
    reverse boolean not null, scheme varchar not null, scheme_signature varchar not null,
    scheme_min double, scheme_max double, is_nominal boolean not null, is_text boolean not null,
    source_column varchar, instrument_version varchar, load_id varchar not null,
    scheme_fingerprint varchar, coding_fingerprint varchar, scheme_coding varchar, scheme_labels varchar
);
-- the answer-scheme version each loaded wave was decoded with (SPEC 3.3), also in warehouses made earlier
alter table raw.survey_items add column if not exists scheme_fingerprint varchar;  -- sha256: codes, values, labels, missing
alter table raw.survey_items add column if not exists coding_fingerprint varchar;  -- sha256: codes, values, missing codes
alter table raw.survey_items add column if not exists scheme_coding varchar;       -- JSON of AnswerScheme.coding()
alter table raw.survey_items add column if not exists scheme_labels varchar;       -- JSON of AnswerScheme.label_texts()
create table if not exists raw.survey_value_labels (
    partition_key varchar not null, instrument varchar not null, wave varchar not null,
    item varchar not null, value double not null, label varchar not null, load_id varchar not null
);
create table if not exists raw.survey_constructs (
    partition_key varchar not null, instrument varchar not null, wave varchar not null,
    construct varchar not null, label varchar, min_valid_share double not null, load_id varchar not null
);
create table if not exists raw.survey_waves (
    partition_key varchar not null, instrument varchar not null, wave varchar not null,
    population varchar not null, title varchar, fieldwork_start date, fieldwork_end date,
    anonymised boolean, source_file varchar not null, load_id varchar not null
);
-- who answered and where (SPEC 3.3: respondent_group, region of the instrument definition), per loaded wave
alter table raw.survey_waves add column if not exists respondent_group_item varchar;  -- attribute item: its value label is the group
alter table raw.survey_waves add column if not exists respondent_group_codes varchar; -- JSON {value: code} (optional)
alter table raw.survey_waves add column if not exists respondent_group_label varchar; -- label of the population group (no item)
alter table raw.survey_waves add column if not exists region_item varchar;            -- attribute item: its value label is the region
alter table raw.survey_waves add column if not exists region_from_dossier boolean;    -- region of the linked dossier (latest extract)
alter table raw.survey_waves add column if not exists has_dossier_key boolean;        -- responses are linked to a dossier
-- scaling questions (SPEC 3.3): the item's kind (scaling or null) and the anchors of its scheme (JSON)
alter table raw.survey_items add column if not exists item_kind varchar;
alter table raw.survey_items add column if not exists scheme_anchors varchar;

"""

# dossier extracts as a change history (SPEC 4): raw.dossier_extracts, one row per loaded extract, and per
# extract file one row per version of an entity with the extract dates it was valid from and until
# (valid_to: the first later extract in which it changed or was absent; null while in the latest). The
# CREATE TABLE statements are generated from the extract contract (orchestration/contracts/dossier_extract.py)
# by orchestration/history.py. team: the published label of the organisation's team list (or null);
# team_key: HMAC of the team as delivered (domain team). The team text of the extract is never stored
# (SPEC 3.4, 6).
RAW_DDL += _HISTORY_DDL

RAW_DDL += """
-- open answers: masked, restricted access (SPEC 6)
create table if not exists restricted.open_answers (
    partition_key varchar not null, instrument varchar not null, wave varchar not null,
    response_key varchar not null, item varchar not null, answer_masked varchar,
    load_id varchar not null
);

create table if not exists audit.loads (
    load_id varchar not null, partition_kind varchar not null, partition_key varchar not null,
    source_file varchar not null, sha256 varchar not null, status varchar not null,
    rows bigint, started_at timestamp not null, finished_at timestamp, message varchar,
    encoding varchar
);
create table if not exists audit.check_results (
    load_id varchar not null, partition_key varchar not null, stage integer not null,
    "check" varchar not null, severity varchar not null, passed boolean not null,
    failing_rows bigint not null, sample_lines varchar, source_file varchar, columns varchar,
    message varchar, checked_at timestamp not null
);
-- every dbt build (the marts are stale while a load or retraction is newer than the last successful one)
-- with dbt's counts from run_results.json (orchestration/dbt_runs.py); rows written before the columns
-- existed are successes without counts
create table if not exists audit.dbt_builds (finished_at timestamp not null, n_models bigint);
alter table audit.dbt_builds add column if not exists succeeded boolean;  -- dbt and the disclosure control after it
alter table audit.dbt_builds add column if not exists n_pass bigint;      -- nodes passed (success, pass)
alter table audit.dbt_builds add column if not exists n_warn bigint;
alter table audit.dbt_builds add column if not exists n_error bigint;     -- error, fail, runtime error
alter table audit.dbt_builds add column if not exists n_skip bigint;
alter table audit.dbt_builds add column if not exists n_noop bigint;
-- labels-only edits of an answer scheme that loaded waves use (SPEC 3.3): allowed, and recorded here
-- when the wave is loaded again with the new labels (an edit of codes, values or missing codes is refused)
create table if not exists audit.scheme_changes (
    load_id varchar not null, partition_key varchar not null, instrument varchar not null, wave varchar not null,
    scheme varchar not null, new_scheme varchar not null, items varchar not null, change varchar not null,
    detail varchar not null, changed_at timestamp not null
);
create table if not exists audit.load_notes (
    load_id varchar not null, partition_key varchar not null, source_file varchar,
    note varchar not null
);
"""

# the study definitions and evaluation settings (SPEC 9), written from their YAML files before every dbt
# build; created empty with the rest of raw, so that every model builds in any warehouse
RAW_DDL += _STUDY_DDL + _EVALUATION_DDL + _ROLLOUT_DDL

#: raw tables of survey partitions; a reload deletes and inserts all of them in one transaction. Dossier
#: extracts go into a change history instead (:mod:`orchestration.history`).
RAW_TABLES = {
    "survey": ["raw.survey_responses", "raw.survey_answers", "raw.survey_items",
               "raw.survey_value_labels", "raw.survey_constructs", "raw.survey_waves",
               "restricted.open_answers"],
}


class WarehouseBusy(RuntimeError):
    """Another process is writing the warehouse (SPEC 7: one writer at a time)."""


class WarehouseUnwritable(RuntimeError):
    """The warehouse file or its folder cannot be written (read-only file system, full disk, rights)."""

    def __init__(self, db: Path, exc: BaseException):
        super().__init__(f"cannot write the warehouse {db}: {exc}. Is the disk full or the file system "
                         "read-only? Nothing was loaded.")


def _lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".writer.lock")


@contextlib.contextmanager
def writer_lock(wait_seconds: float = 0.0, db: Path | None = None) -> Iterator[None]:
    """Hold the project's single-writer lock on the warehouse (an ``flock`` beside the file).

    The lock is released by the operating system when the process dies, so a killed run never leaves
    a stale lock. Raises :class:`WarehouseBusy` when another process holds it after ``wait_seconds``.
    Re-entrant within a process.
    """
    db = Path(db or settings.warehouse_path())
    key = str(db)
    if _HELD.get(key, 0):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        fh = open(_lock_path(db), "a+")
    except OSError as exc:
        raise WarehouseUnwritable(db, exc) from exc
    deadline = time.monotonic() + wait_seconds
    last_said = None
    stopped: set[int] = set()  # dbt builds stopped here: their lock may outlive them by a moment
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            now = time.monotonic()
            holder = _lock_holder(fh)
            if now >= deadline:
                fh.close()
                raise WarehouseBusy(
                    f"warehouse busy: another sofs-warehouse process{holder} is writing {db}. "
                    "Wait for it to finish (see `sofs-warehouse status`) and run again, or wait for it with "
                    "`run --wait SECONDS`.") from None
            if last_said is None or now - last_said >= 10:  # progress while waiting
                last_said = now
                print(f"waiting for another sofs-warehouse process{holder} writing {db} "
                      f"({deadline - now:.0f} s left of --wait; Ctrl-C stops)", flush=True)
            time.sleep(0.5)
    _HELD[key] = 1
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        _HELD[key] = 0
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


_HELD: dict[str, int] = {}


def _lock_holder(fh) -> str:
    """`` (pid N)`` of the writer that holds the lock, as it wrote into the lock file, else ``""``."""
    try:
        fh.seek(0)
        pid = fh.read().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def write_connection(db: Path | None = None, wait_seconds: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection under the writer lock, with the raw/audit layout created.

    ``wait_seconds`` also bounds the wait for a process that holds the DuckDB file itself (a researcher's
    read-only connection, a dbt build left by a killed run): see :func:`_connect_for_writing`.

    Raises:
        WarehouseBusy: another process writes the warehouse, or a reader holds it past ``wait_seconds``.
        faults.WarehouseDamaged: the file is damaged (not a DuckDB file, cut short, failing checksums).
        OSError / duckdb.IOException: the file cannot be created or written (read-only or full disk).
    """
    db = Path(db or settings.warehouse_path())
    with writer_lock(wait_seconds, db):
        con = _connect_for_writing(db, wait_seconds)
        try:
            con.execute(RAW_DDL)
            _migrate_dossier_snapshots(con)
            yield con
        finally:
            con.close()


def _migrate_dossier_snapshots(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse made before the dossier change history keeps full copies per extract in ``raw.dossiers``,
    ``raw.placements`` and ``raw.practice_events``: turn them into versions once, in one transaction
    (:func:`orchestration.history.migrate_snapshots`)."""
    (old,) = con.execute("""select count(*) from information_schema.tables
                            where table_schema = 'raw' and table_name = 'dossiers'""").fetchone()
    if old:
        from orchestration import history

        with transaction(con):
            if history.migrate_snapshots(con):
                # the marts were built from the copies: rebuild them (sofs-warehouse run sees them stale)
                con.execute("delete from audit.dbt_builds")


def _connect_for_writing(db: Path, wait_seconds: float, log=None) -> duckdb.DuckDBPyConnection:
    """Open ``db`` read-write; call with the writer lock held.

    When another process holds the DuckDB file, say who: a reader (a read-only connection, e.g. a
    researcher's notebook) is waited for until ``wait_seconds`` have passed, with a progress line every
    10 s; a dbt build left writing by a killed run (the writer lock was free, so its parent is gone) is
    stopped (:func:`orchestration.faults.end_orphaned_dbt`).

    Raises:
        WarehouseBusy: the holder still holds the file at the deadline (names it and what to do).
        faults.WarehouseDamaged: the file is damaged.
    """
    from orchestration import faults

    say = log or (lambda m: print(m, flush=True))
    deadline = time.monotonic() + wait_seconds
    last_said = None
    stopped: set[int] = set()  # dbt builds stopped here: their lock may outlive them by a moment
    while True:
        try:
            return duckdb.connect(str(db))
        except duckdb.Error as exc:
            if faults.is_damage(exc):
                raise faults.WarehouseDamaged(db, str(exc).splitlines()[0][:300]) from exc
            conflict = faults.lock_conflict(db, exc)
            if conflict is None:
                raise
            kind, pid = conflict
            if pid in stopped or (kind == "writer" and faults.end_orphaned_dbt(db, pid, say)):
                if pid not in stopped:
                    stopped.add(pid)
                    deadline = max(deadline, time.monotonic() + 30)
                if time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
            now = time.monotonic()
            if now >= deadline:
                raise WarehouseBusy(f"warehouse busy: {faults.describe_holder(kind, pid)}. Nothing was written; run "
                                    "again when it ends, or wait for it with `run --wait SECONDS`.") from exc
            if last_said is None or now - last_said >= 10:
                last_said = now
                say(f"waiting: {faults.describe_holder(kind, pid).split('. ')[0]}; "
                    f"{deadline - now:.0f} s left of --wait")
            time.sleep(min(1.0, max(0.05, deadline - now)))


def ensure_writable(db: Path | None = None, wait_seconds: float = 0.0) -> None:
    """Open the warehouse for writing once (creating it and the raw/audit layout), so that a read-only
    or full disk stops a run before any work, with a message naming the file. Waits up to
    ``wait_seconds`` for a reader that holds the file (:func:`_connect_for_writing`).

    Raises:
        WarehouseUnwritable: the file or its folder cannot be written.
        WarehouseBusy: another process writes it, or a reader holds it past ``wait_seconds``.
        faults.WarehouseDamaged: the file is damaged.
    """
    from orchestration import faults

    db = Path(db or settings.warehouse_path())
    try:
        with write_connection(db, wait_seconds=wait_seconds):
            pass
    except (OSError, duckdb.IOException, duckdb.OutOfRangeException) as exc:
        if faults.is_damage(exc):
            raise faults.WarehouseDamaged(db, str(exc).splitlines()[0][:300]) from exc
        raise WarehouseUnwritable(db, exc) from exc


#: DuckDB settings of a sandboxed reader: no file system or network access beyond the warehouse
#: (no COPY TO, no read_csv of landing files, no ATTACH, no INSTALL), and settings cannot be changed.
SANDBOX_CONFIG = {"enable_external_access": False, "lock_configuration": True}


@contextlib.contextmanager
def read_connection(db: Path | None = None, *, sandboxed: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection (researchers, status, tests). Writes through it fail in DuckDB.

    ``sandboxed=True`` (``sofs-warehouse query``) also cuts file-system and network access
    (:data:`SANDBOX_CONFIG`), so a query cannot copy restricted tables to files or read the raw landing files.

    Raises:
        FileNotFoundError: no warehouse yet (run ``sofs-warehouse run`` first).
        WarehouseBusy: a writer holds the file.
        faults.WarehouseDamaged: the file is damaged.
    """
    db = Path(db or settings.warehouse_path())
    if not db.exists():
        raise FileNotFoundError(f"no warehouse at {db}: run `sofs-warehouse run` (or `make demo`) first")
    try:
        con = duckdb.connect(str(db), read_only=True, config=SANDBOX_CONFIG if sandboxed else {})
    except duckdb.Error as exc:
        from orchestration import faults

        if faults.is_damage(exc):
            raise faults.WarehouseDamaged(db, str(exc).splitlines()[0][:300]) from exc
        if faults.is_lock_error(exc):
            raise WarehouseBusy(f"warehouse busy: {db} is being written; try again when the run ends") from exc
        raise
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back on any error (also KeyboardInterrupt)."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def replace_partition(con: duckdb.DuckDBPyConnection, kind: str, partition_key: str,
                      frames: dict[str, "object"]) -> dict[str, int]:
    """Delete a partition's rows from every raw table of ``kind`` and insert ``frames``.

    Call it inside :func:`transaction` together with the partition's audit rows, so that either all of
    it is committed or none (a killed run leaves the earlier version of the partition).
    ``frames`` maps table name (e.g. ``raw.dossiers``) to a pandas DataFrame whose columns are a subset
    of the table's, by name. Tables of the kind not in ``frames`` are emptied for the partition.
    Returns rows inserted per table.

    Raises:
        ValueError: a kind without such tables (dossier extracts go through
            :func:`orchestration.history.load_extract`), or a table that does not belong to ``kind``.
    """
    if kind not in RAW_TABLES:
        raise ValueError(f"{kind} partitions are not replaced as a whole: use orchestration.history.load_extract")
    counts: dict[str, int] = {}
    for table in RAW_TABLES[kind]:
        con.execute(f"delete from {table} where partition_key = ?", [partition_key])
    for table, frame in frames.items():
        if table not in RAW_TABLES[kind]:
            raise ValueError(f"{table} is not a raw table of {kind} partitions")
        if len(frame) == 0:
            counts[table] = 0
            continue
        con.register("_incoming", frame)
        try:
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            con.execute(f"insert into {table} ({cols}) select {cols} from _incoming")
        finally:
            con.unregister("_incoming")
        counts[table] = len(frame)
    return counts
