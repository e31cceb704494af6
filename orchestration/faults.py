"""Faults a run must survive and explain (SPEC 7, 8): killed runs, readers holding the file,
damaged warehouse files, a disk too full for the load, and consistent backups.

- :func:`recover_dead_runs` finds Dagster runs whose process is gone (killed, out of memory) and that
  still hold a slot of the ``duckdb`` concurrency pool; it marks them failed and frees their slots.
- :class:`PoolWatch` watches a run while Dagster waits for a pool slot: progress lines, recovery of a
  holder that dies meanwhile, the ``--wait`` deadline and Ctrl-C/SIGTERM (Dagster's own wait loop
  swallows both).
- :func:`lock_conflict` tells a reader (read-only connection) from a writer holding the DuckDB file,
  and :func:`end_orphaned_dbt` stops a dbt build left behind by a killed run.
- :func:`verify_warehouse` reads every stored table (DuckDB checks block checksums on read) and raises
  :class:`WarehouseDamaged` naming the file and the way back (a backup or a release).
- :func:`check_free_space` refuses a load the disk cannot hold, before any work.
- :func:`backup` writes a consistent, verified copy of the warehouse under the writer lock.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration import settings

POOL = "duckdb"
Log = Callable[[str], None]


def _say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------------------- processes

def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields after "(comm)": state is [0], starttime is [19]


def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def process_alive(pid: int | None, started_by: float | None = None) -> bool:
    """True when process ``pid`` exists, is not a zombie and (where ``/proc`` tells) had started by
    ``started_by`` (a UNIX time, plus 2 s): a newer process with a reused pid is not the one asked about."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc: trust kill(0)
    if stat[0] in ("Z", "X"):
        return False
    boot = _boot_time()
    if started_by is not None and boot is not None:
        began = boot + int(stat[19]) / os.sysconf("SC_CLK_TCK")
        if began > started_by + 2:
            return False
    return True


def threads_exited(pid: int) -> bool:
    """True when no thread of process ``pid`` still runs. A killed process's main thread turns zombie
    first; its other threads (DuckDB's workers) may still be finishing I/O, and the open files and
    their locks are released only when the last one exits. Falls back to :func:`process_alive` where
    ``/proc`` cannot be read."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        entries = list(tasks.iterdir())
    except FileNotFoundError:
        return True
    except OSError:
        return not process_alive(pid)
    for task in entries:
        try:
            raw = (task / "stat").read_text()
        except OSError:
            continue  # that thread is gone
        if raw[raw.rindex(")") + 2:].split()[0] not in ("Z", "X"):
            return False
    return True


def process_command(pid: int) -> str:
    """The command line of ``pid`` (``?`` when it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part) or "?"


# ------------------------------------------------------------------------- Dagster runs, pool

def run_process(instance, run_id: str) -> tuple[int | None, float | None]:
    """``(pid, start time)`` of the process that started Dagster run ``run_id`` (from its RUN_START
    event; Dagster records the pid of every event), or ``(None, None)`` when it never started."""
    from dagster import DagsterEventType

    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_START, limit=1).records
    if not records:
        return None, None
    entry = records[0].event_log_entry
    return getattr(entry.dagster_event, "pid", None) or entry.pid, entry.timestamp


def _slot_holders(instance) -> dict[str, list[str]]:
    """run id -> step keys of every claimed slot and pending claim in the pool (the instance's index db)."""
    info = instance.event_log_storage.get_concurrency_info(POOL)
    holders: dict[str, list[str]] = {}
    for slot in info.claimed_slots:
        holders.setdefault(slot.run_id, []).append(slot.step_key)
    for step in info.pending_steps:
        holders.setdefault(step.run_id, [])
    return holders


def recover_dead_runs(instance, log: Log = _say, exclude: set[str] | frozenset = frozenset()) -> list[str]:
    """Mark failed every unfinished Dagster run whose process is gone and free its pool slots.

    A run killed with ``kill -9`` (or by the out-of-memory killer) stays ``STARTED`` in the instance and
    keeps its slot of the ``duckdb`` pool, so every later run waits for it forever. Call this while
    holding the warehouse writer lock (:func:`orchestration.warehouse.writer_lock`): then no
    sofs-warehouse process writes, and a run whose recorded process no longer exists is dead. Runs
    without a recorded process (queued, not started) are left alone unless they are finished and still
    hold slots. Returns the run ids recovered; says what it did through ``log``.
    """
    from dagster import DagsterRunStatus, RunsFilter

    unfinished = {DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING}
    runs = {r.run_id: r for r in instance.get_runs(filters=RunsFilter(statuses=list(unfinished)))}
    holders = _slot_holders(instance)
    recovered = []
    for run_id in sorted(set(runs) | set(holders)):
        if run_id in exclude:
            continue
        run = runs.get(run_id) or instance.get_run_by_id(run_id)
        pid, started = run_process(instance, run_id) if run is not None else (None, None)
        if run is not None and run.status in unfinished:
            if pid is None or process_alive(pid, started):
                continue
            job = run.job_name
            when = datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S") if started else "?"
            instance.report_run_failed(run, f"the process of this run (pid {pid}) is gone (killed or out of "
                                            "memory); marked failed by sofs-warehouse, pool slots freed")
            what = f"run {run_id[:8]} ({job}, started {when}, pid {pid}) ended without finishing (its process is gone)"
        else:
            what = f"run {run_id[:8]} ({run.job_name if run else 'no longer in the instance'}) had finished"
        if run_id in holders:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            what += f" but held the '{POOL}' pool slot: slot freed"
        elif run is None or run.status not in unfinished:
            continue
        else:
            what += ": marked failed"
        log(f"NOTE: {what}. The warehouse kept only what was committed; partitions it was loading load again.")
        recovered.append(run_id)
    return recovered


class PoolWatch:
    """Watch one Dagster run (``execute_in_process``) while it waits for the ``duckdb`` pool slot.

    Dagster's in-process executor waits for a pool slot in a loop that prints nothing and swallows
    SIGINT/SIGTERM. This thread, started before and stopped after the execution, prints a line every
    ``every`` seconds while the run waits (naming the holder), recovers a holder whose process dies
    (:func:`recover_dead_runs`), and when the wait exceeds ``wait_seconds`` or Ctrl-C/SIGTERM arrives
    while the run still waits, it cancels the run, frees its claim and ends the process (exit code 2,
    or 130 after an interrupt). Nothing was written by then: the run had not started its step.
    """

    #: seconds a run waits for the slot even with ``--wait 0``: a slot being handed over is no conflict
    grace = 3.0

    def __init__(self, instance, run_id: str, wait_seconds: float, log: Log = _say, every: float = 10.0):
        self.instance, self.run_id, self.wait_seconds, self.log, self.every = instance, run_id, wait_seconds, log, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sofs-pool-watch", daemon=True)

    def __enter__(self) -> "PoolWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _waiting_for(self) -> list[str] | None:
        """Run ids holding the pool while this run has a pending claim; None when it does not wait."""
        info = self.instance.event_log_storage.get_concurrency_info(POOL)
        mine_claimed = any(s.run_id == self.run_id for s in info.claimed_slots)
        mine_pending = any(p.run_id == self.run_id and p.assigned_timestamp is None for p in info.pending_steps)
        if mine_claimed or not mine_pending:
            return None
        return sorted({s.run_id for s in info.claimed_slots if s.run_id != self.run_id})

    def _loop(self) -> None:
        from dagster._utils.interrupts import check_captured_interrupt

        waited_since: float | None = None
        last_said = 0.0
        while not self._stop.wait(0.5):
            try:
                holders = self._waiting_for()
            except Exception:  # the instance is busy (sqlite lock): look again shortly
                continue
            if holders is None:
                waited_since = None
                continue
            now = time.monotonic()
            if waited_since is None:
                waited_since = now
            if check_captured_interrupt():
                self._give_up("interrupted while waiting for the warehouse pool slot; nothing was written", 130)
            if recover_dead_runs(self.instance, self.log, exclude={self.run_id}):
                continue
            if not holders:
                continue  # the slot is being handed over: not a wait yet
            who = ", ".join(self._describe(h) for h in holders)
            if now - waited_since >= max(self.wait_seconds, self.grace):
                self._give_up(f"warehouse busy: the '{POOL}' pool slot is held by {who}. Wait for it to finish "
                              "(or run with --wait SECONDS) and run again; nothing was written", 2)
            if now - last_said >= self.every:
                last_said = now
                self.log(f"      waiting for the '{POOL}' pool slot held by {who} ({now - waited_since:.0f} s of "
                         f"{self.wait_seconds:.0f} s; Ctrl-C stops)")

    def _describe(self, run_id: str) -> str:
        run = self.instance.get_run_by_id(run_id)
        pid, _ = run_process(self.instance, run_id)
        return f"run {run_id[:8]} ({run.job_name if run else '?'}, pid {pid or '?'})"

    def _give_up(self, message: str, code: int) -> None:
        try:
            run = self.instance.get_run_by_id(self.run_id)
            if run is not None:
                self.instance.report_run_canceled(run, message)
            self.instance.event_log_storage.free_concurrency_slots_for_run(self.run_id)
        finally:
            self.log(("error: " if code == 2 else "") + message)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


# --------------------------------------------------------------------------- the DuckDB lock

_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def is_lock_error(exc: BaseException) -> bool:
    """True when a DuckDB error says another process holds the file ("Could not set lock on file")."""
    text = str(exc).lower()
    return "could not set lock" in text or "conflicting lock" in text


def lock_conflict(db: Path, exc: BaseException) -> tuple[str, int | None] | None:
    """Who holds the DuckDB file when opening it for writing failed with ``exc``.

    Returns ``("reader", pid)`` when another process has it open read-only (a read-only connection
    still succeeds), ``("writer", pid)`` when another process writes it, or None when ``exc`` is not a
    lock conflict.
    """
    text = str(exc)
    if not is_lock_error(exc):
        return None
    match = _LOCK_PID.search(text)
    pid = int(match.group(1)) if match else None
    try:
        duckdb.connect(str(db), read_only=True).close()
        return "reader", pid
    except duckdb.Error:
        return "writer", pid


def describe_holder(kind: str, pid: int | None) -> str:
    """A sentence naming the process that holds the warehouse file."""
    cmd = process_command(pid) if pid else "?"
    who = f"process {pid} ({cmd[:120]})" if pid else "another process"
    if kind == "reader":
        return (f"a reader holds the warehouse open: {who} has a read-only connection. A writer must wait until "
                "it closes; researchers should read a release or a `sofs-warehouse backup` copy during loads, "
                "or keep connections short (README)")
    return f"the warehouse is open for writing by {who}"


def end_orphaned_dbt(db: Path, pid: int | None, log: Log = _say) -> bool:
    """Stop a dbt process left writing the warehouse by a killed run; True when one was stopped.

    Only call this while holding the writer lock: every dbt build runs under that lock in its parent
    process, so a dbt process holding the DuckDB file while the lock is free for us is an orphan. Its
    work is of no use (the next run rebuilds the marts, ``audit.dbt_builds`` has no row for it).
    """
    if not pid or pid == os.getpid():
        return False
    cmd = process_command(pid)
    if not any(Path(part).name == "dbt" for part in cmd.split(" ")[:3]):
        return False
    log(f"NOTE: a dbt build left by a killed run (pid {pid}: {cmd[:100]}) still holds {db}; stopping it "
        "(its marts are rebuilt by this run)")
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 60.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if threads_exited(pid):  # not just its main thread: the file lock goes with the last thread
                return True
            time.sleep(0.2)
    return threads_exited(pid)


def orphaned_dbt_pids(db: Path) -> list[int]:
    """dbt processes building ``db`` (their environment's ``SOFS_WAREHOUSE_PATH`` names it) other than
    this process's children. Only meaningful while holding the writer lock: every genuine dbt build runs
    under that lock in its parent process, so such a dbt was left by a killed run. dbt may close the file
    between nodes, so waiting for a lock conflict to find it is not enough. Empty where ``/proc`` cannot
    be read."""
    target = f"SOFS_WAREHOUSE_PATH={Path(db).resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        cmd = process_command(pid)
        if not any(Path(part).name == "dbt" for part in cmd.split(" ")[:3]):
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            stat = _proc_stat(pid)
        except OSError:
            continue
        parent = int(stat[1]) if stat and len(stat) > 1 and str(stat[1]).isdigit() else None
        if target in env and parent != os.getpid() and process_alive(pid):
            found.append(pid)
    return sorted(found)


def end_orphaned_dbt_builds(db: Path, log: Log = _say) -> int:
    """Stop every dbt left building ``db`` by a killed run (see :func:`orphaned_dbt_pids`); call with the
    writer lock held. Returns how many were stopped."""
    return sum(1 for pid in orphaned_dbt_pids(db) if end_orphaned_dbt(db, pid, log))


# ----------------------------------------------------------------------------- damaged files

class WarehouseDamaged(RuntimeError):
    """The warehouse file is damaged (truncated, overwritten, a block failing its checksum); exit code 2."""

    def __init__(self, db: Path, detail: str):
        self.db = Path(db)
        super().__init__(
            f"the warehouse file {db} is damaged and cannot be read ({detail}). Nothing was changed. Restore "
            f"the last backup (`sofs-warehouse backup` copies, default folder {default_backup_dir(db)}) or rebuild "
            "it from the landing zone: move the damaged file aside, put the backup in its place (or no file at "
            "all), and run `sofs-warehouse run`, which loads again every partition the restored copy lacks. "
            "Researchers can keep using the last release meanwhile (README: backup and restore).")


_DAMAGE = ("not a valid duckdb database file", "could not read enough bytes", "checksum", "corrupt",
           "serialization error", "internal error", "failed to read", "invalid block", "database file")


def is_damage(exc: BaseException) -> bool:
    """True when a DuckDB error reads as a damaged file (not a lock, not a missing file)."""
    text = str(exc).lower()
    if is_lock_error(exc) or "no such file" in text or "read-only file system" in text or "permission" in text:
        return False
    return isinstance(exc, (duckdb.InternalException, duckdb.SerializationException)) or any(
        marker in text for marker in _DAMAGE)


def stored_tables(con) -> list[tuple[str, str]]:
    """``(schema, table)`` of every base table in the open warehouse."""
    return con.execute("select table_schema, table_name from information_schema.tables "
                       "where table_type = 'BASE TABLE' and table_catalog = current_database() "
                       "order by 1, 2").fetchall()


def verify_tables(con, db: Path, schemas: tuple[str, ...] | None = None) -> int:
    """Read every column of every table (``schemas`` only, when given) so that DuckDB checks the
    checksum of every block; returns the number of tables read.

    Raises:
        WarehouseDamaged: a block cannot be read or fails its checksum (names the table).
    """
    n = 0
    for schema, table in stored_tables(con):
        if schemas is not None and schema not in schemas:
            continue
        try:
            con.execute(f'select count(*), sum(hash(columns(*))) from "{schema}"."{table}"').fetchall()
        except duckdb.Error as exc:
            raise WarehouseDamaged(db, f"table {schema}.{table}: {str(exc).splitlines()[0][:300]}") from exc
        n += 1
    return n


def verify_warehouse(db: Path | None = None, schemas: tuple[str, ...] | None = ("raw", "audit", "restricted")) -> int:
    """Open the warehouse read-only and read every table of ``schemas`` (all with None); returns the
    number of tables read. The raw, audit and restricted tables are the ones nothing rebuilds.

    Raises:
        WarehouseDamaged: the file is not a DuckDB database, is cut short, or a block fails its checksum.
        FileNotFoundError: no warehouse yet.
        duckdb.IOException: a writer holds the file (a lock conflict, not damage).
    """
    db = Path(db or settings.warehouse_path())
    if not db.exists():
        raise FileNotFoundError(f"no warehouse at {db}")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        if is_damage(exc):
            raise WarehouseDamaged(db, str(exc).splitlines()[0][:300]) from exc
        raise
    try:
        return verify_tables(con, db, schemas)
    finally:
        con.close()


# -------------------------------------------------------------------------------- free space

class DiskSpaceLow(settings.ConfigurationError):
    """The warehouse's file system has too little free space for the files to load (exit code 2)."""


#: free space needed per byte of landing files to load (DuckDB data, its WAL, dbt's rebuilt marts)
SPACE_FACTOR = 3


def disk_reserve_bytes() -> int:
    """Free space kept in reserve beyond the load: env ``SOFS_DISK_RESERVE_MB`` (default 256 MB)."""
    raw = os.environ.get("SOFS_DISK_RESERVE_MB", "256")
    value = settings.non_negative_number(raw)
    if value is None:
        raise settings.ConfigurationError(f"SOFS_DISK_RESERVE_MB must be a number of megabytes, 0 or more; got {raw!r}")
    return int(value * 1024 * 1024)


def check_free_space(files: list[Path], db: Path | None = None) -> tuple[int, int]:
    """Refuse to start a load the disk cannot hold: free space on the warehouse's file system must be at
    least :data:`SPACE_FACTOR` x the size of ``files`` plus :func:`disk_reserve_bytes`.

    Returns ``(needed, free)`` in bytes.

    Raises:
        DiskSpaceLow: with both figures, the file system and the fix.
    """
    db = Path(db or settings.warehouse_path())
    size = sum(f.stat().st_size for f in files if f.is_file())
    needed = SPACE_FACTOR * size + disk_reserve_bytes()
    free = shutil.disk_usage(db.parent if db.parent.exists() else Path.cwd()).free
    if free < needed:
        raise DiskSpaceLow(
            f"not enough free disk space for this load: {_mb(free)} free on the file system of {db}, "
            f"{_mb(needed)} needed ({SPACE_FACTOR} x {_mb(size)} of landing files to load, plus a reserve of "
            f"{_mb(disk_reserve_bytes())}, SOFS_DISK_RESERVE_MB). Free space there (or move the warehouse: "
            "SOFS_WAREHOUSE_PATH) and run again; nothing was loaded.")
    return needed, free


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MB"


DISK_FULL = ("no space left", "file too large", "disk full", "errno 28", "errno 27", "could not write")


def is_disk_full(exc: BaseException | str) -> bool:
    """True when an error (or its message) reads as a full disk (ENOSPC, a file-size limit, DuckDB's write
    failures)."""
    if isinstance(exc, OSError) and exc.errno in (28, 27):
        return True
    text = str(exc).lower()
    return any(marker in text for marker in DISK_FULL)


# ------------------------------------------------------------------------------------ backup

def default_backup_dir(db: Path | None = None) -> Path:
    """``backups/`` beside the warehouse file."""
    db = Path(db or settings.warehouse_path())
    return db.parent / "backups"


def backup(out: Path | None = None, db: Path | None = None, wait_seconds: float = 0.0, log: Log = _say) -> Path:
    """Write a consistent, verified copy of the warehouse (SPEC 8, ``sofs-warehouse backup``).

    Under the writer lock (no run writes meanwhile): check that every table of the warehouse reads,
    checkpoint (fold DuckDB's write-ahead log into the file), copy the file to ``out`` (a file path, or a
    folder that gets ``warehouse-<timestamp>.duckdb``; default :func:`default_backup_dir`), then open the
    copy read-only and read every table again. Returns the path of the copy.

    Raises:
        WarehouseDamaged: the warehouse (or the copy) does not read; a damaged file is never copied.
        warehouse.WarehouseBusy: another process writes the warehouse (after ``wait_seconds``).
        FileNotFoundError: no warehouse; FileExistsError: ``out`` exists as a file.
    """
    from orchestration import warehouse

    db = Path(db or settings.warehouse_path())
    if not db.exists():
        raise FileNotFoundError(f"no warehouse at {db}: nothing to back up")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = Path(out) if out else default_backup_dir(db)
    if target.suffix != ".duckdb" or target.is_dir():
        target = target / f"{db.stem}-{stamp}.duckdb"
    if target.exists():
        raise FileExistsError(f"{target} exists already: choose another --out")
    if target.resolve() == db.resolve():
        raise settings.UsageError("--out must not be the warehouse file itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.writer_lock(wait_seconds=wait_seconds, db=db):
        n = verify_warehouse(db, schemas=None)
        with warehouse.write_connection(db, wait_seconds=wait_seconds) as con:
            con.execute("checkpoint")
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(db, partial)
        try:
            copied = verify_warehouse(partial, schemas=None)
        except WarehouseDamaged:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
    if copied != n:
        raise WarehouseDamaged(target, f"the copy holds {copied} tables, the warehouse {n}")
    log(f"wrote backup {target} ({target.stat().st_size / 1024 / 1024:,.1f} MB, {n} tables, every table read back)")
    return target


# ------------------------------------------------------------------ file-level read failures

#: rule codes of file-level problems found here (stage 1, error), next to the readers' codes (README)
S_LINE_ENDINGS, D_LINE_ENDINGS = "S_LINE_ENDINGS", "D_LINE_ENDINGS"
S_DATE_RANGE = "S_DATE_RANGE"
S_READ_FAILED, D_READ_FAILED = "S_READ_FAILED", "D_READ_FAILED"

#: seconds from SPSS's origin (1582-10-14) to 9999-12-31 23:59:59, the last instant Python can hold
_SPSS_MAX_SECONDS = (datetime(9999, 12, 31, 23, 59, 59) - datetime(1582, 10, 14)).total_seconds()
_SPSS_DATE_FORMATS = ("DATE", "ADATE", "EDATE", "JDATE", "SDATE", "DATETIME", "YMDHMS", "MOYR", "QYR", "WKYR")


def _rule(partition, path: Path, code: str, message: str, line: int | None = None, column: str | None = None):
    from orchestration.quality.results import ERROR, RuleResult

    return RuleResult(code=code, stage=1, severity=ERROR, message=message, columns=[column] if column else [],
                      passed=False, failing_rows=1, sample_lines=[line] if line else [],
                      source_file=partition.relative(path))


def line_ending_failure(partition):
    """A failed ``S_LINE_ENDINGS`` / ``D_LINE_ENDINGS`` rule for the first CSV file of ``partition``
    whose lines end in a bare carriage return (Excel for Mac's "CSV (Macintosh)"), else None.

    Such a file reads as one endless header line. The fix is to save it again as "CSV UTF-8" (or
    export it again): LF or CRLF line ends.
    """
    code = S_LINE_ENDINGS if partition.kind == "survey" else D_LINE_ENDINGS
    for path in sorted(partition.files):
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
        if b"\r" in head and b"\n" not in head:
            n_cr = head.count(b"\r")
            return _rule(partition, path, code,
                         f"lines end in a bare carriage return (CR, {n_cr} of them in the first "
                         f"{len(head):,} bytes, no line feed): old Mac line ends, e.g. Excel's 'CSV (Macintosh)'. "
                         "Save the file again as 'CSV UTF-8' (Windows or Unix line ends) or export it again, and "
                         "drop it in the same folder", line=1)
    return None


def spss_date_failure(partition, path: Path, exc: BaseException):
    """``S_DATE_RANGE`` for a ``.sav`` whose date value lies beyond year 9999 (pyreadstat raises
    ``OverflowError``): finds the variable and the case (line = case number + 1, as the SPSS reader
    numbers them) by reading the file again without date conversion."""
    import pyreadstat

    try:
        df, meta = pyreadstat.read_sav(str(path), disable_datetime_conversion=True, user_missing=True)
    except Exception:  # noqa: BLE001 - the diagnosis is best effort; the rule still names the file
        df, meta = None, None
    if df is not None:
        for var, fmt in meta.original_variable_types.items():
            if not str(fmt).upper().startswith(_SPSS_DATE_FORMATS) or var not in df:
                continue
            values = df[var].astype("float64")
            bad = values.notna() & ((values > _SPSS_MAX_SECONDS) | (values < 0))
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                approx = 1582 + values.iloc[i] / 86400 / 365.2425
                return _rule(partition, path, S_DATE_RANGE,
                             f"date out of range in {int(bad.sum())} case(s): the first lies around year "
                             f"{approx:,.0f} (format {fmt}), beyond 9999; a typing error at the source (e.g. a year "
                             "with six digits). Correct the date in the source file, export it again and drop it in "
                             "the same folder", line=i + 2, column=var)
    return _rule(partition, path, S_DATE_RANGE,
                 f"a date value cannot be read ({exc}): it lies outside the years 1-9999. Correct the date in the "
                 "source file, export it again and drop it in the same folder")


def read_failure(partition, exc: BaseException):
    """A failed stage-1 rule for an error no reader foresaw: ``S_DATE_RANGE`` for an SPSS date past year
    9999, else ``S_READ_FAILED`` / ``D_READ_FAILED`` naming the file, the error and what to do."""
    data = sorted(f for f in partition.files if f.name.startswith(("responses.", "dossiers.")))
    path = data[0] if data else partition.folder
    if isinstance(exc, OverflowError) and path.suffix.lower() == ".sav":
        return spss_date_failure(partition, path, exc)
    code = S_READ_FAILED if partition.kind == "survey" else D_READ_FAILED
    return _rule(partition, path, code,
                 f"the file could not be read: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}. "
                 "Open it to check that it is the export the landing contract asks for (README, SPEC 3), export it "
                 "again and drop it in the same folder; if it looks right, report this message")


class DiskFull(RuntimeError):
    """The disk filled up while a partition was written; the transaction was rolled back."""

    def __init__(self, db: Path, partition, exc: BaseException):
        super().__init__(
            f"disk full while loading {partition.kind} partition {partition.key} into {db} "
            f"({str(exc).splitlines()[0][:200]}). A partition commits with its audit rows as one unit: it is either "
            "loaded whole (audit.loads says loaded) or not at all, never in part. "
            f"Free space on the file system of {db} (the check before the run asks for {SPACE_FACTOR} x the size of "
            "the files plus SOFS_DISK_RESERVE_MB) and run again")
