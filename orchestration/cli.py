"""``sofs-warehouse``: the command line of the warehouse (SPEC 8).

Exit codes: 0 everything loaded (or nothing to do); 1 at least one partition quarantined (the rest
still loaded), a load failed, or the dbt build failed; 2 usage or configuration error (missing key,
bad argument, warehouse busy, no warehouse yet, unwritable warehouse, a write statement in
``query``, an unknown or restricted table in ``export``).
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import shutil
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from orchestration import settings

EXIT_OK, EXIT_QUARANTINED, EXIT_USAGE = 0, 1, 2
EXIT_FAILED = 1  # the work failed on the data (e.g. a release refused by the disclosure audit)
DEMO_MARKER = ".sofs-demo-landing"


def _print(*args) -> None:
    print(*args, flush=True)


# ------------------------------------------------------------------------------------ plumbing

def ensure_instance() -> Path:
    """Create ``DAGSTER_HOME`` with the project's ``dagster.yaml`` when missing; return the folder."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    src = settings.PROJECT_ROOT / "dagster.yaml"
    dst = home / "dagster.yaml"
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)
    return home


def manifest_is_stale() -> bool:
    """True when ``dbt_project/target/manifest.json`` is missing or older than any dbt source file."""
    from orchestration.project import dbt_project

    manifest = Path(dbt_project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    root = settings.DBT_PROJECT_DIR
    sources = [root / "dbt_project.yml", root / "profiles.yml",
               *(p for d in ("models", "macros", "tests") for p in (root / d).rglob("*") if p.is_file())]
    return any(p.stat().st_mtime > built for p in sources if p.exists())


def prepare_manifest(force: bool = False) -> None:
    """Build the dbt manifest (``dbt parse``) when it is missing or stale: the Dagster definitions need it."""
    settings.export_environment()
    if force or manifest_is_stale():
        from orchestration.project import dbt_project

        _print("preparing the dbt manifest (dbt parse) ...")
        try:
            dbt_project.preparer.prepare(dbt_project)
        except Exception as exc:  # dagster-dbt raises its own error types; the message is dbt's
            raise settings.ConfigurationError(
                f"dbt parse failed, the dbt project in {settings.DBT_PROJECT_DIR} is broken: {exc}") from exc


def _quiet_run_config() -> dict:
    # the CLI prints its own summary of each step; Dagster's console logger would repeat every failed
    # check as an ERROR with a stack trace. The events stay in the Dagster instance for the UI.
    return {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


# --------------------------------------------------------------------------------------- run

def cmd_run(args: argparse.Namespace) -> int:
    """Ingest every new or changed partition through the Dagster jobs, build the marts, summarise.

    Raises:
        settings.ConfigurationError: no key, bad settings, or an instrument definition that would recode
            a loaded wave (SPEC 3.3; :func:`orchestration.schemes.check_loaded_waves`); exit code 2.
    """
    from orchestration import dbt_runs, faults, ingest, schemes, warehouse
    from orchestration.teams import team_labels

    key = settings.pseudonym_key()  # fail early, with the clear message, before any work
    settings.min_cell()
    settings.instruments_dir()  # missing: exit 2 here, not a quarantine of every survey wave
    team_labels()  # a broken team label list is a configuration error (exit 2) before any work (SPEC 3.4)
    _require_landing()
    ensure_instance()
    prepare_manifest()
    import dagster as dg

    from orchestration.assets.ingestion import DOSSIER_EXTRACTS, SURVEY_WAVES
    from orchestration.definitions import build_defs
    from orchestration.jobs import INGEST_JOBS
    from orchestration.resources import resources_from_settings
    from orchestration.runner import LOADED, mart_job
    from orchestration.sensors import pending_partitions

    resources = resources_from_settings()  # the settings of this moment, as the run's resources
    defs = build_defs(resources)
    db, landing_root = resources["warehouse"].db, resources["landing_zone"].path
    instance = dg.DagsterInstance.get()
    partitions_def = {"survey": SURVEY_WAVES, "dossier": DOSSIER_EXTRACTS}
    started = time.monotonic()
    outcomes: list[tuple[str, str, str, int, str]] = []
    with warehouse.writer_lock(wait_seconds=args.wait, db=db):
        # a dbt left building by a killed run may release the file between nodes: look for it by process
        faults.end_orphaned_dbt_builds(db)
        warehouse.ensure_writable(db, wait_seconds=args.wait)
        # a damaged file stops here, before any work, naming the file and the way back
        faults.verify_warehouse(schemas=None)
        with warehouse.write_connection(db) as con:
            ingest.verify_key(con, key)  # a wrong key is a configuration error, also when nothing is new
        # runs killed earlier (kill -9, out of memory) would hold the duckdb pool slot forever
        faults.recover_dead_runs(instance)
        # loaded waves keep their answer-scheme versions: an edit that would recode one stops here (SPEC 3.3)
        for change in schemes.check_loaded_waves():
            _print(f"NOTE: answer-scheme labels changed, codes and values unchanged (recorded in "
                   f"audit.scheme_changes when the wave loads again): {change.describe()}")
        stale = marts_stale()
        pending, unchanged = pending_partitions(landing_root, db)
        _print(f"landing zone {landing_root}: {len(pending)} partition(s) with new or changed files, "
               f"{unchanged} unchanged (skipped)")
        if pending:  # a load the disk cannot hold is refused before it starts
            faults.check_free_space([f for partition, _fp in pending for f in partition.files])
        for n, (partition, _fp) in enumerate(pending, start=1):
            name = partitions_def[partition.kind].name
            if not instance.has_dynamic_partition(name, partition.key):
                instance.add_dynamic_partitions(name, [partition.key])
            t0 = time.monotonic()
            _print(f"[{n}/{len(pending)}] {partition.kind} {partition.key} ...")
            run_started = datetime.now()
            result = _execute(defs.resolve_job_def(INGEST_JOBS[partition.kind].name), instance, args.wait,
                              partition_key=partition.key)
            status, rows, message = _ingest_outcome(db, partition, run_started, result)
            if status == "failed":
                _record_failure(partition, message)
            outcomes.append((partition.kind, partition.key, status, rows, message))
            warnings = message.split("; warnings: ", 1)[1] if "; warnings: " in message else ""
            head = message.split("; warnings: ", 1)[0] if status == LOADED and message else f"{rows} rows"
            _print(f"      {status}: {head} ({time.monotonic() - t0:.1f} s)"
                   + (f"\n      {message}" if status != LOADED else "")
                   + "".join(f"\n      WARNING (loaded anyway): {w[:400]}" for w in warnings.split(" | ") if w))
        kinds = {k for k, _, s, _, _ in outcomes if s == LOADED}
        dbt_ok = True
        if stale:
            _print("the marts are older than the data in raw (a build that did not finish, a retraction, or a new "
                   "layout of raw): rebuilding every model")
        job_name = mart_job(kinds, rebuild=args.rebuild, stale=stale, marts_missing=_marts_missing)
        if job_name is not None:
            t0 = time.monotonic()
            built_after = datetime.now().replace(microsecond=0)
            log_path = settings.dagster_home() / "last_dbt_build.log"
            _print(f"building dbt models ({job_name}) ... (dbt output: {log_path})")
            with open(log_path, "w", encoding="utf-8", buffering=1) as log, contextlib.redirect_stdout(log), \
                    DbtProgress(log_path, _print_to(sys.__stdout__)):
                result = _execute(defs.resolve_job_def(job_name), instance, args.wait, say=_print_to(sys.__stdout__))
            dbt_ok = result.success
            with warehouse.read_connection(db) as con:
                done = dbt_runs.summary_since(con, built_after)
            _print(f"      {'done' if dbt_ok else 'FAILED'} ({time.monotonic() - t0:.1f} s)"
                   + (f": {done}" if done else ""))
            if not dbt_ok:
                for cause in _step_failures(result):
                    _print("      " + cause[:3000])
                    if faults.is_disk_full(cause):
                        _print(f"      the disk is full: free space on the file system of "
                               f"{db} and run again (the marts are rebuilt)")
                _print(f"      see {log_path} for dbt's full output")
            audit_ok = _print_disclosure_audit(built_after)
            dbt_ok = dbt_ok and audit_ok
            _print_dashboard(built_after)
    _warn_orphans()
    loaded = [o for o in outcomes if o[2] == "loaded"]
    quarantined = [o for o in outcomes if o[2] == "quarantined"]
    failed = [o for o in outcomes if o[2] == "failed"]
    _print(f"\nloaded {len(loaded)}, quarantined {len(quarantined)}, unchanged {unchanged}"
           + (f", FAILED {len(failed)}" if failed else "") + f" in {time.monotonic() - started:.1f} s")
    for kind, key, status, _r, message in quarantined + failed:
        _print(f"  {status.upper()} {kind} {key}: {message}")
    if quarantined:
        _print("  fix the file(s) named above and drop the corrected version in the same folder; "
               "`sofs-warehouse status` lists every file's state")
    _print_still_quarantined({key for _k, key, _s, _r, _m in quarantined})
    if loaded or args.rebuild or stale:
        print_headlines()
    _print(f"\nwarehouse: {settings.warehouse_path()}  (read it with `sofs-warehouse query \"select ...\"`, "
           "`sofs-warehouse status`, or read-only from Python/R: see README)")
    if quarantined or failed or not dbt_ok:
        return EXIT_QUARANTINED
    return EXIT_OK


def _dashboard_index() -> Path:
    return settings.dashboard_dir() / "index.html"


def _print_dashboard(built_after: datetime) -> None:
    """Name the dashboard page the build's ``dashboard`` asset wrote (SPEC 8), when it wrote one."""
    index = _dashboard_index()
    if index.exists() and datetime.fromtimestamp(index.stat().st_mtime) >= built_after:
        _print(f"      dashboard: {index}  (open it in a browser; it needs no server or network)")


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Write the static offline dashboard from the reporting tables (SPEC 8): ``DIR/index.html``."""
    from orchestration.dashboard import build_dashboard

    out = Path(args.out).expanduser().resolve() if args.out else settings.dashboard_dir()
    result = build_dashboard(out, progress=_print)
    _print(f"wrote {result.index} ({len(result.charts)} charts, {result.seconds:.1f} s); open it in a browser, "
           "it needs no server or network")
    return EXIT_OK


_DBT_STEP = re.compile(r"^(?:\S+\s+)?(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP)\b(.*?)(?:\s\.+\s|\s+\[|$)")


def dbt_progress(line: str) -> tuple[int, int, str] | None:
    """Parse one line of dbt's console output: ``(n, total, "model marts.fct_dossier OK")`` for a
    finished node (``12 of 323 OK created sql table model marts.fct_dossier ....``, ``13 of 323 PASS
    not_null_x ...``), else None (``START`` lines included). ``total`` counts models and tests together,
    as dbt numbers them. The project's on-run-start hook (``1 of 1 OK hook: ...``, numbered on its own) is not a
    node of the build: None."""
    m = _DBT_STEP.search(re.sub(r"\x1b\[[0-9;]*m", "", line).strip())
    if not m or m.group(4).lstrip().startswith("hook:"):
        return None
    n, total, result, rest = m.groups()
    words = rest.split()
    name = words[-1] if words else "?"
    kind = "model" if "model" in words else "seed" if "seed" in words else "test"
    return int(n), int(total), f"{kind} {name} {result}"


class DbtProgress:
    """While a dbt build writes its output to ``log_path``, print ``dbt: 12 of 323 done (model
    marts.fct_dossier OK, 35 s)`` at most every ``every`` seconds (and only when it moved), so that a long
    build is not minutes of silence. A context manager running one daemon thread."""

    def __init__(self, log_path: Path, say, every: float = 5.0):
        self.log_path, self.say, self.every = Path(log_path), say, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="dbt-progress", daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> "DbtProgress":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        shown, offset, latest = None, 0, None
        while not self._stop.wait(self.every):
            try:
                with open(self.log_path, encoding="utf-8", errors="replace") as f:
                    f.seek(offset)
                    chunk = f.read()
                    offset = f.tell()
            except OSError:
                continue
            for line in chunk.splitlines():
                latest = dbt_progress(line) or latest
            if latest and latest != shown:
                n, total, what = latest
                self.say(f"      dbt: {n} of {total} models and tests done ({what}, "
                         f"{time.monotonic() - self._started:.0f} s)")
                shown = latest


def _print_still_quarantined(this_run: set[str]) -> None:
    """Name the partitions whose latest load is still a quarantine from an earlier run (the file was not
    replaced), so that a nightly run that has nothing new does not hide them."""
    import duckdb

    from orchestration import warehouse

    try:
        with warehouse.read_connection() as con:
            keys = [r[0] for r in con.execute("""
                select partition_kind || ' ' || partition_key from (
                    select partition_kind, partition_key, status,
                           row_number() over (partition by partition_key order by started_at desc) as rn
                    from audit.loads where status <> 'unchanged')
                where rn = 1 and status = 'quarantined' order by 1""").fetchall()]
    except (duckdb.CatalogException, FileNotFoundError):
        return
    keys = [k for k in keys if k.split(" ", 1)[1] not in this_run]
    if keys:
        _print(f"  still quarantined from an earlier run: {', '.join(keys[:10])}"
               + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
               + " (`sofs-warehouse status --problems`)")


def _print_disclosure_audit(built_after) -> bool:
    """One line on the disclosure audit that followed the build started at ``built_after`` (SPEC 6);
    False when a withheld cell is not protected or when no audit was recorded since (the protection step
    did not finish: the run then exits 1 and exports, the codebook and ``release`` refuse)."""
    from orchestration import warehouse
    from orchestration.disclosure.protect import latest_build_audit

    try:
        with warehouse.read_connection() as con:
            audit = latest_build_audit(con, limit=5)
    except FileNotFoundError:
        return True
    if audit is None:  # no audit table: nothing was built into reporting
        return True
    n, bad, at = audit.withheld, audit.unprotected, audit.audited_at
    names = [f"reporting.{t} [{k}] {c}" for t, k, c in audit.unprotected_cells]
    if n and (at is None or at < built_after):
        _print("      disclosure control did NOT run after this build: reporting may hold dbt's first pass only; "
               "exports, the codebook and release refuse until `sofs-warehouse run --rebuild` succeeds")
        return False
    if bad:
        _print(f"      disclosure audit FAILED: {bad} of {n} withheld cell(s) can be narrowed below "
               f"[0, min_cell]: {'; '.join(names)}; release is refused until a rebuild protects them")
        return False
    _print(f"      disclosure control: {n} withheld cell(s) in reporting, every one protected (LP audit, SPEC 6)")
    return True


def _print_to(stream):
    def say(message: str) -> None:
        print(message, file=stream, flush=True)
    return say


def _execute(job, instance, wait_seconds: float, say=None, **kwargs):
    """``job.execute_in_process`` watched by :class:`orchestration.faults.PoolWatch`: while the run waits
    for the ``duckdb`` pool slot it prints progress, recovers a holder whose process died, and honours
    ``--wait`` and Ctrl-C/SIGTERM. The run is tagged with this process id."""
    import uuid

    from orchestration import faults

    run_id = str(uuid.uuid4())
    with faults.PoolWatch(instance, run_id, wait_seconds, log=say or _print):
        return job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False,
                                      run_config=_quiet_run_config(), tags={"sofs/pid": str(os.getpid())},
                                      **kwargs)


def _error_cause(err) -> str:
    """The error a Dagster step failure wraps (the first one not raised by Dagster itself), as
    ``Type: message``, instead of Dagster's wrapper ("Error occurred while executing op ...")."""
    while (err.cls_name or "").startswith("Dagster") and getattr(err, "cause", None) is not None:
        err = err.cause
    text = err.message.strip()
    return text if ":" in text.split("\n")[0] else f"{err.cls_name}: {text}"


def _record_failure(partition, message: str) -> None:
    """Write a ``failed`` row per file of a partition whose ingest step failed (best effort: with a full
    disk even this may fail), so that ``status`` and ``audit.loads`` say why."""
    import uuid
    from datetime import datetime

    from orchestration import ingest, warehouse

    outcome = ingest.LoadOutcome(partition.kind, partition.key, "failed", uuid.uuid4().hex, message=message[:4000],
                                 files=partition.fingerprint() or {partition.relative(partition.folder): ""})
    try:
        with warehouse.write_connection() as con, warehouse.transaction(con):
            ingest._write_audit(con, outcome, datetime.now())
    except Exception as exc:  # noqa: BLE001 - the run output still carries the message
        _print(f"      (could not record the failure in audit.loads: {str(exc).splitlines()[0][:200]})")


def _warn_orphans() -> None:
    """Say which loaded partitions no longer have a landing folder (they still feed the marts)."""
    from orchestration import ingest, landing, warehouse

    present = {(p.kind, p.key) for p in landing.discover()}
    with warehouse.read_connection() as con:
        orphans = sorted(ingest.loaded_partitions(con) - present)
    for kind, key in orphans:
        _print(f"  NOTE: {kind} partition {key} is in the warehouse but its landing folder is gone; the marts "
               f"still use it. If it was delivered by mistake: sofs-warehouse retract {kind} {key}")


def cmd_retract(args: argparse.Namespace) -> int:
    """Remove a partition whose landing folder was taken away, then rebuild the marts."""
    from orchestration import ingest, warehouse

    settings.export_environment()
    with warehouse.writer_lock(wait_seconds=args.wait):
        rows = ingest.retract_partition(args.kind, args.key)
        _print(f"retracted {args.kind} partition {args.key}: {rows} rows removed from raw")
        return cmd_run(argparse.Namespace(wait=args.wait, rebuild=True))


def _require_landing() -> None:
    root = settings.landing_dir()
    if not root.is_dir():
        raise settings.ConfigurationError(f"the landing zone {root} does not exist (set SOFS_LANDING_DIR, or "
                                          "create it and drop exports under surveys/ and dossiers/)")


def _ingest_outcome(db: Path, partition, started: datetime, result) -> tuple[str, int, str]:
    """``(status, rows, message)`` of the ingest run ``result`` of ``partition`` started at ``started``, from
    ``audit.loads`` (:func:`orchestration.runner.ingest_outcome`); a warehouse that cannot be read after the
    run makes it ``failed`` with the run's error, or with the reason the record could not be read."""
    import duckdb

    from orchestration import faults, warehouse
    from orchestration.runner import ingest_outcome

    failure = _run_failure(result)
    try:
        with warehouse.read_connection(db) as con:
            return ingest_outcome(con, partition.kind, partition.key, started, result.success, failure=failure)
    except (FileNotFoundError, duckdb.Error, warehouse.WarehouseBusy, faults.WarehouseDamaged) as exc:
        return "failed", 0, failure or f"could not read the load's record in audit.loads: {str(exc).splitlines()[0]}"


def _failure_errors(result) -> list:
    """The errors of a finished in-process run's failure events (steps, and the run itself when it failed
    outside a step, e.g. a resource that could not start), in the order they happened."""
    return [event.event_specific_data.error for event in result.all_events
            if event.is_failure and getattr(event.event_specific_data, "error", None) is not None]


def _step_failures(result) -> list[str]:
    """Each failure of a run as ``Type: message`` (:func:`_error_cause`)."""
    return [_error_cause(err) for err in _failure_errors(result)]


def _run_failure(result) -> str | None:
    """The first failure of a run as ``Type: message``, or None when it has none."""
    causes = _step_failures(result)
    return causes[0] if causes else None


def marts_stale() -> bool:
    """True when a partition was loaded or retracted after the last successful dbt build (e.g. the build
    was interrupted): the marts do not show everything in ``raw`` yet."""
    from orchestration import dbt_runs, warehouse

    with warehouse.read_connection() as con:
        (last_load,) = con.execute("select max(finished_at) from audit.loads "
                                   "where status in ('loaded', 'retracted')").fetchone()
        last_build = dbt_runs.last_success(con)
    return last_load is not None and (last_build is None or last_build < last_load)


def _marts_missing() -> bool:
    from orchestration import warehouse

    try:
        with warehouse.read_connection() as con:
            n = con.execute("select count(*) from information_schema.tables where table_schema = 'marts'").fetchone()[0]
    except FileNotFoundError:
        return True
    return n == 0


def print_headlines() -> None:
    """Headline figures from the marts: responses per wave, and per region the hard outcomes, practice
    breadth and depth next to the survey means of every population (``marts.region_period_outcomes``)."""
    from orchestration import warehouse

    with warehouse.read_connection() as con:
        tables = {r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
        _print("\nheadline figures")
        if "marts.fct_survey_response" in tables:
            df = con.execute("""
                select instrument, wave, count(*) as responses, cast(sum(case when is_complete then 1 else 0 end) as integer) as complete,
                       count(distinct respondent_key) as respondents
                from marts.fct_survey_response group by 1, 2 order by 1, min(wave_order)""").df()
            _print("survey responses per wave:\n" + df.to_string(index=False))
        if "marts.outcome_placement" in tables and "marts.outcome_reopening" in tables:
            _print_cohort_rates(con)
        if "marts.region_period_outcomes" in tables:
            _print_region_summary(con)


def _print_cohort_rates(con) -> None:
    """Placement and reopening rates per cohort, all regions and services (SPEC 5): complete 365-day
    windows only; a cohort without a complete window shows "not yet observable", not a rate."""
    import pandas as pd

    df = con.execute("""
        select coalesce(p.registration_year, o.closure_year) as cohort,
               p.n_dossiers as registered, p.n_window_complete as placement_complete, p.n_window_running as placement_running,
               p.placement_rate, o.n_closed as closed, o.n_window_complete as reopening_complete,
               o.n_window_running as reopening_running, o.reopening_rate
        from (select * from marts.outcome_placement where service = 'all' and region = 'all') as p
        full join (select * from marts.outcome_reopening where service = 'all' and region = 'all') as o
          on o.closure_year = p.registration_year
        order by case when coalesce(p.registration_year, o.closure_year) = 'all' then 1 else 0 end, 1""").df()

    def pct(rate, complete):
        if complete is None or pd.isna(complete):
            return "-"
        return "not yet observable" if complete == 0 else f"{100 * rate:.1f}%"

    df["placed_365"] = [pct(r, c) for r, c in zip(df["placement_rate"], df["placement_complete"])]
    df["reopened_365"] = [pct(r, c) for r, c in zip(df["reopening_rate"], df["reopening_complete"])]
    # object first: a nullable integer column (a year without closures) cannot hold "-"
    df = df.drop(columns=["placement_rate", "reopening_rate"]).astype(object).fillna("-")
    _print("\n365-day rates per cohort (registration year for placement, closure year for reopening), over "
           "complete windows only (SPEC 5): a dossier counts once its whole window lies on or before the latest "
           "extract; *_running dossiers are in no rate")
    _print(df.to_string(index=False))


def _print_region_summary(con) -> None:
    """Per region, side by side from ``marts.region_period_outcomes`` (SPEC 4): hard outcomes and practice
    breadth of the latest registration cohort whose 365-day windows are all observable, practice depth
    (case audits) of that year, and the experience of every population (the mean of each construct and
    scaling question of its latest year with responses).

    The survey columns are found in the table (``<population>_n_responses`` names a population, its
    ``<population>_*_mean`` columns its measures), so a new instrument, construct or population is shown
    without a code change. The figures come from ``marts`` (the operator's console, not a publication), but
    a cell is printed as ``<5`` when a count behind it is below ``min_cell`` (SPEC 6's primary rule): a mean
    over fewer respondents or audited dossiers, a rate or share whose numerator or complement is small.
    Published figures are read from ``reporting``. Prints nothing before the first dossier extract."""
    import pandas as pd

    rpo = "marts.region_period_outcomes"
    min_cell = settings.min_cell()
    columns = [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'region_period_outcomes' order by ordinal_position").fetchall()]
    (cohort,) = con.execute(f"select max(year) from {rpo} where region = 'all' and n_dossiers > 0 "
                            "and placement_n_observable = n_dossiers").fetchone()
    if cohort is None:
        return  # no dossier extract loaded yet
    populations = sorted((c[: -len("_n_responses")] for c in columns if c.endswith("_n_responses")),
                         key=len, reverse=True)
    measures: dict[str, list[str]] = {}
    for c in columns:
        if c.endswith("_mean") and not c.startswith("depth_"):
            owner = next((p for p in populations if c.startswith(p + "_")), None)
            if owner is not None:
                measures.setdefault(owner, []).append(c)

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    # (printed column, SQL, SQL of the count behind it, is a rate or share of that count)
    shown = [("dossiers", "h.n_dossiers", "h.n_dossiers", False),
             ("km_median_d", "h.km_median_days", "h.n_dossiers", False),
             ("closed_365_pct", "round(100 * h.km_closed_within_365d, 1)", "h.n_dossiers", True),
             ("placed_365_pct", "round(100 * h.placement_rate, 1)", "h.placement_n_observable", True),
             ("reopened_365_pct", "round(100 * h.reopening_rate, 1)", "h.reopening_n_observable", True),
             ("mapping_pct", "round(100 * h.share_with_mapping, 1)", "h.n_dossiers", True),
             ("safety_plan_pct", "round(100 * h.share_with_safety_plan, 1)", "h.n_dossiers", True),
             ("network_pct", "round(100 * h.share_with_network_meeting, 1)", "h.n_dossiers", True)]
    if "depth_mean" in columns:
        shown += [("depth", "round(h.depth_mean, 2)", "h.depth_n_audited", False),
                  ("depth_std_pct", "round(100 * h.depth_share_meeting_standard, 1)", "h.depth_n_audited", True)]
    joins, params, years = [], [], []
    for n, pop in enumerate(sorted(measures)):
        (year,) = con.execute(f"select max(year) from {rpo} where {q(pop + '_n_responses')} > 0").fetchone()
        if year is None:
            continue
        alias = f"p{n}"
        joins.append(f"left join {rpo} as {alias} on {alias}.region = h.region and {alias}.year = ?")
        params.append(year)
        years.append(f"{pop} {year}")
        shown += [(c[: -len("_mean")], f"round({alias}.{q(c)}, 2)", f"{alias}.{q(pop + '_n_responses')}", False)
                  for c in measures[pop]]
    select = ["h.region"] + [f"{sql} as {q(name)}" for name, sql, _n, _r in shown] + \
        [f"{n_sql} as {q('_n_' + name)}" for name, _sql, n_sql, _r in shown]
    df = con.execute(f"""
        select {', '.join(select)}
        from {rpo} as h
        {' '.join(joins)}
        where h.year = ?
        order by case when h.region = 'all' then 1 else 0 end, h.region""", [*params, cohort]).df()
    df = df.astype(object)
    for name, _sql, _n, is_rate in shown:
        counts = df.pop("_n_" + name)
        for i, (value, n) in enumerate(zip(df[name], counts)):
            if value is None or pd.isna(value) or n is None or pd.isna(n):
                continue
            k = round(float(value) / 100 * float(n)) if is_rate else float(n)
            small = [k, float(n) - k] if is_rate else [k]
            if any(0 < c < min_cell for c in small):
                df.at[i, name] = f"<{min_cell}"
    _print(f"\nper region, side by side: hard outcomes and practice breadth of registration cohort {cohort} (the latest "
           "whose 365-day windows are all observable; reopening: dossiers closed that year), practice depth from case "
           f"audits of {cohort} (null until audited), and the experience means (scales and 0-10 scaling questions; "
           "marts.construct_means) of each population's latest year: " + (", ".join(years) or "none")
           + f". A cell resting on fewer than {min_cell} people or dossiers shows <{min_cell} (SPEC 6); published "
           "figures: reporting.")
    _print(df.fillna("-").to_string(index=False))


# ------------------------------------------------------------------------------------ status

@contextlib.contextmanager
def _damage_is_named():
    """Turn a DuckDB error that reads as a damaged file into :class:`orchestration.faults.WarehouseDamaged`."""
    import duckdb

    from orchestration import faults

    try:
        yield
    except duckdb.Error as exc:
        if faults.is_damage(exc):
            raise faults.WarehouseDamaged(settings.warehouse_path(), str(exc).splitlines()[0][:300]) from exc
        raise


def cmd_status(args: argparse.Namespace) -> int:
    """Every landing file with the state of its latest load attempt (SPEC 8).

    One line per file (``pending`` when never attempted or changed since; ``unchanged`` attempts, which
    load nothing, are not shown in place of the load they repeat), then each failing rule of the
    partition's latest load once per partition: the errors that quarantined it, or the warnings it
    ``loaded anyway`` with. A totals line ends the list. ``args.partition`` keeps one partition (its key,
    e.g. ``staff_survey/2023`` or ``2024-03-31``; an unknown key raises settings.UsageError, exit 2);
    ``args.problems`` keeps partitions that were quarantined or failed or loaded with warnings.
    """
    from orchestration import landing, warehouse

    settings.export_environment()
    _require_landing()
    partitions = landing.discover()
    if getattr(args, "partition", None) is not None:
        keep = [p for p in partitions if p.key == args.partition]
        if not keep:
            raise settings.UsageError(f"no partition {args.partition!r} in the landing zone {settings.landing_dir()}; keys are "
                                      "<instrument>/<wave> or the extract date, e.g. " + ", ".join(
                                 sorted(p.key for p in partitions)[:5]))
        partitions = keep
    latest: dict[str, tuple] = {}
    checks: dict[str, list[tuple]] = {}
    if settings.warehouse_path().exists():  # every block read once: a damaged file is named here
        from orchestration import faults

        faults.verify_warehouse(schemas=None)
    try:
        with warehouse.read_connection() as con, _damage_is_named():
            for row in con.execute("""
                select source_file, sha256, status, rows, finished_at, message, load_id, partition_key from (
                    select *, row_number() over (partition by source_file order by started_at desc) rn
                    from audit.loads where status <> 'unchanged') where rn = 1""").fetchall():
                latest[row[0]] = row
            for row in con.execute("""
                select load_id, "check", severity, failing_rows, sample_lines, columns, message
                from audit.check_results where not passed
                order by stage, severity, "check", source_file""").fetchall():
                checks.setdefault(row[0], []).append(row[1:])
    except FileNotFoundError:
        pass
    lines: list[str] = []
    totals: dict[str, int] = {}
    n_warned = 0
    for p in partitions:
        fp = p.fingerprint() or {p.relative(p.folder): ""}
        block, load_ids, states = [], [], set()
        for f, sha in sorted(fp.items()):
            row = latest.get(f)
            if row is None or (row[1] != sha):
                state, rows, when = "pending", "", ""
            else:
                state, rows, when = row[2], "" if row[3] is None else str(row[3]), str(row[4])[:19]
                if row[6] not in load_ids:
                    load_ids.append(row[6])
            states.add(state)
            totals[state] = totals.get(state, 0) + 1
            block.append(f"{state:<12} {rows:>8}  {when:<19}  {f}")
        rules = {}  # each failing rule once per partition, however many files the load had
        for load_id in load_ids:
            for code, sev, n, sample, cols, message in checks.get(load_id, []):
                rules.setdefault((code, cols, message), (sev, n, sample))
        warned = bool(rules) and states <= {"loaded"}
        n_warned += warned
        for (code, cols, message), (sev, n, sample) in rules.items():
            label = "WARNING (loaded anyway)" if warned else "rule"
            block.append(f"{'':<12} {'':>8}  {label} {code} ({sev}): {n} row(s), column(s) {cols or '-'}, "
                         f"line(s) {sample or '-'}: {message}")
        if getattr(args, "problems", False) and not (warned or states & {"quarantined", "failed"}):
            continue
        lines.extend(block)
    _print(f"landing zone: {settings.landing_dir()}\nwarehouse:    {settings.warehouse_path()}\n")
    _print(f"{'status':<12} {'rows':>8}  {'when':<19}  file")
    for line in lines:
        _print(line)
    n_files = sum(totals.values())
    _print(f"\ntotal: {n_files} file(s) in {len(partitions)} partition(s): "
           + ", ".join(f"{n} {state}" for state, n in sorted(totals.items())) + (", " if totals else "")
           + f"{n_warned} partition(s) loaded with warnings"
           + (" (only partitions with problems listed)" if getattr(args, "problems", False) else ""))
    if not getattr(args, "partition", None) and not getattr(args, "problems", False):
        _print_wave_order()
    return EXIT_OK


def _print_wave_order() -> None:
    """The order of the loaded waves of each instrument, as the marts use it (SPEC 3)."""
    from orchestration import warehouse
    from orchestration.waves import describe_order, wave_order

    try:
        with warehouse.read_connection() as con:
            rows = con.execute("select distinct instrument, wave, fieldwork_start from raw.survey_waves").fetchall()
    except FileNotFoundError:
        return
    except Exception:  # noqa: BLE001 - no raw tables yet: nothing to order
        return
    by_instrument: dict[str, dict] = {}
    for instrument, wave, start in rows:
        by_instrument.setdefault(instrument, {})[wave] = start
    for instrument in sorted(by_instrument):
        order = wave_order(by_instrument[instrument])
        _print(f"\nwave order of {instrument} (fieldwork_start, else a date or year in the wave name, else the name): "
               + "; ".join(f"{n}. {describe_order(*w)}" for n, w in enumerate(order, start=1)))


# ------------------------------------------------------------------------------------- query

def cmd_query(args: argparse.Namespace) -> int:
    """Run one SELECT statement on a read-only, sandboxed connection and print the result.

    Anything else (several statements, COPY, ATTACH, SET, INSTALL, CREATE, writes) is refused with
    exit code 2; the connection has no file-system access, so landing files and paths cannot be read.
    """
    import duckdb

    from orchestration import warehouse

    try:
        statements = duckdb.extract_statements(args.sql)
    except duckdb.Error as exc:
        _print(f"query failed: {exc}")
        return EXIT_USAGE
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kinds = ", ".join(s.type.name for s in statements) or "none"
        _print(f"refused: `query` runs exactly one read-only SELECT statement on the warehouse (got: {kinds}); "
               "writes, COPY, ATTACH, SET and several statements are not allowed")
        return EXIT_USAGE
    try:
        with warehouse.read_connection(sandboxed=True) as con:
            try:
                df = con.sql(args.sql).df()
            except duckdb.Error as exc:
                from orchestration import faults

                if faults.is_damage(exc):  # a block failing its checksum: the file, not the query
                    raise faults.WarehouseDamaged(settings.warehouse_path(), str(exc).splitlines()[0][:300]) from exc
                _print(f"query failed: {exc}")
                return EXIT_USAGE
    except FileNotFoundError as exc:
        _print(str(exc))
        return EXIT_USAGE
    if args.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", args.max_rows, "display.max_columns", 50, "display.width", 200):
            _print(df.to_string(index=False, max_rows=args.max_rows))
            _print(f"({len(df)} rows)")
    return EXIT_OK


# ---------------------------------------------------------------------------------------- demo

def cmd_demo_data(args: argparse.Namespace) -> int:
    """Write the synthetic demo landing data (deterministic)."""
    from orchestration.demo import write_demo_landing

    root = Path(args.landing).resolve() if args.landing else settings.landing_dir()
    marker = root / DEMO_MARKER
    if root.exists() and any(root.iterdir()) and not marker.exists():
        raise settings.ConfigurationError(
            f"{root} already holds files and is not a demo landing zone: demo-data never writes synthetic "
            "exports among real ones. Point SOFS_LANDING_DIR (or --landing) at an empty folder.")
    files = write_demo_landing(root)
    marker.write_text("This landing zone holds synthetic demo data written by `sofs-warehouse demo-data`.\n")
    _print(f"wrote {len(files)} demo files under {root}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """``make demo``: demo key, demo landing data, the whole pipeline, the summary."""
    os.environ["SOFS_PSEUDONYM_KEY"] = settings.DEMO_PSEUDONYM_KEY
    _print("NOTE: using the built-in DEMO pseudonymisation key (synthetic data only). Real runs need "
           "SOFS_PSEUDONYM_KEY from your secret store; to keep working on this demo warehouse: "
           f"export SOFS_PSEUDONYM_KEY={settings.DEMO_PSEUDONYM_KEY}")
    cmd_demo_data(argparse.Namespace(landing=None))
    args.rebuild = False
    code = cmd_run(args)
    from orchestration.evaluation_cli import print_demo_evaluation  # SPEC 9: study flow, exposure comparison
    print_demo_evaluation()
    if _dashboard_index().exists():
        _print(f"\ndashboard: {_dashboard_index()}  (open it in a browser, offline: breadth, depth, hard outcomes, "
               "experience, prospective studies)")
    return code


def cmd_export(args: argparse.Namespace) -> int:
    """Export one table (``reporting`` by default) as csv, parquet, sav or dta with labels (SPEC 6), or
    with ``export survey INSTRUMENT`` the wide respondent x item file (microdata: needs --allow-marts)."""
    from orchestration.research import export_survey, export_table

    if args.table == "survey":
        if not args.instrument:
            raise settings.UsageError("export survey needs an instrument: sofs-warehouse export survey INSTRUMENT "
                                      "[--wave W] --format sav|dta|csv|parquet --allow-marts")
        path = export_survey(args.instrument, args.format, wave=args.wave, out=args.out,
                             allow_microdata=args.allow_marts)
    elif args.instrument or args.wave:
        raise settings.UsageError("an instrument and --wave belong to `export survey INSTRUMENT [--wave W]`")
    else:
        path = export_table(args.table, args.format, args.out, allow_marts=args.allow_marts)  # str keeps a trailing /
    _print(f"wrote {path}")
    return EXIT_OK


def cmd_codebook(args: argparse.Namespace) -> int:
    """Write the codebook as Markdown and DDI-Codebook-shaped JSON."""
    from orchestration.research import build_codebook

    md, js = build_codebook(Path(args.out))
    _print(f"wrote {md}\nwrote {js}")
    return EXIT_OK


def cmd_release(args: argparse.Namespace) -> int:
    """Write a frozen as-of release: parquet of the reporting tables (and the marts with --include-marts),
    codebook, manifest; refused when the disclosure audit fails (exit 1)."""
    from datetime import date

    from orchestration.research import release

    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.as_of):  # fromisoformat takes 20260102 and weeks too
            raise ValueError(args.as_of)
        as_of = date.fromisoformat(args.as_of)
    except ValueError as exc:
        raise settings.UsageError(f"--as-of must be a date YYYY-MM-DD, got {args.as_of!r}") from exc
    manifest = release(as_of, Path(args.out), include_marts=args.include_marts)
    _print(f"wrote release {manifest.parent} (manifest {manifest.name})")
    return EXIT_OK


def cmd_export_raw(args: argparse.Namespace) -> int:
    """Write every raw source table as parquet, one folder per table, for the dbt ``spark`` target
    (SPEC 7; :func:`orchestration.spark_handover.export_raw_parquet`). Pseudonymised rows only: a
    hand-over inside the trust boundary, not for sharing."""
    from orchestration.spark_handover import export_raw_parquet

    settings.export_environment()
    out = Path(args.out)
    _print(f"exporting the raw tables of the dbt sources from {settings.warehouse_path()} (read-only) to {out} ...")
    tables = export_raw_parquet(out, log=_print)
    _print(f"wrote {len(tables)} raw tables ({sum(t.rows for t in tables)} rows) as parquet under {out.resolve()}; "
           f"for dbt on Spark: export SOFS_SPARK_RAW_DIR={out.resolve()} SOFS_DBT_TARGET=spark")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent, verified copy of the warehouse (SPEC 8; :func:`orchestration.faults.backup`)."""
    from orchestration import faults

    settings.export_environment()
    faults.backup(Path(args.out) if args.out else None, wait_seconds=args.wait, log=_print)
    return EXIT_OK


def load_env_file(path: Path | None = None) -> list[str]:
    """Read ``KEY=VALUE`` lines of a ``.env`` file into ``os.environ`` (``make ui``).

    ``path`` defaults to env ``SOFS_ENV_FILE``, else ``.env`` in the project folder (git-ignored: never
    commit it). Blank lines, ``#`` comments and an ``export`` prefix are allowed; single or double quotes
    around a value are removed. A variable already set in the environment wins. Returns the names set
    from the file (never their values); a missing file gives ``[]``.

    Raises:
        settings.ConfigurationError: a line that is not ``KEY=VALUE`` (named by its number, not its text).
    """
    path = Path(path or os.environ.get("SOFS_ENV_FILE") or settings.PROJECT_ROOT / ".env")
    if not path.is_file():
        return []
    names = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise settings.ConfigurationError(f"{path} line {n} is not KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name not in os.environ:
            os.environ[name] = value
            names.append(name)
    return names


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            ppid = int(text.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmd_ui(args: argparse.Namespace) -> int:
    """``make ui``: the Dagster UI (``dagster dev``) over the project's warehouse.

    Reads ``.env`` (:func:`load_env_file`) so that runs launched from the UI have ``SOFS_PSEUDONYM_KEY``;
    builds the manifest; starts ``dagster dev`` in ``DAGSTER_HOME`` (so Dagster uses that instance's
    ``dagster.yaml`` without warning about the project's copy) in a process group of its own. Ctrl-C or
    SIGTERM stops it: SIGINT to its group, then SIGTERM and SIGKILL to every process it started that is
    still there after ``grace`` seconds. Returns dagster's exit code, or 130 when stopped.
    """
    import subprocess

    names = load_env_file()
    if names:
        _print(f"read {', '.join(sorted(names))} from {os.environ.get('SOFS_ENV_FILE') or settings.PROJECT_ROOT / '.env'}")
    settings.export_environment()
    if not os.environ.get("SOFS_PSEUDONYM_KEY"):
        _print("NOTE: SOFS_PSEUDONYM_KEY is not set: runs launched from the UI (sensor, materialisations) will "
               "fail. Set it in the environment or in .env (see README, 'make ui').")
    home = ensure_instance()
    prepare_manifest()
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
    proc = subprocess.Popen(cmd, cwd=home, start_new_session=True)
    seen: set[int] = set()
    try:
        while proc.poll() is None:
            seen |= _descendants(proc.pid)
            time.sleep(1)
        return proc.returncode
    except KeyboardInterrupt:
        _print("stopping the Dagster UI and every process it started ...")
        seen |= _descendants(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + args.grace
        while time.monotonic() < deadline and (proc.poll() is None or any(_alive(p) for p in seen)):
            time.sleep(0.5)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = [p for p in seen | {proc.pid} if _alive(p)]
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            if left:
                time.sleep(2)
            proc.poll()
        return 130


def cmd_tables(args: argparse.Namespace) -> int:
    """One line per researcher table (``reporting``, then ``marts``): name, rows, description from the dbt
    manifest (or the table's DuckDB comment), cut to ``args.width`` characters (SPEC 8).
    Marts that hold restricted data are marked ``restricted``; no warehouse yet is exit 2."""
    from orchestration import warehouse
    from orchestration.research.tables import is_restricted, load_manifest, table_label, tables

    settings.export_environment()
    manifest = load_manifest()
    with warehouse.read_connection() as con, _damage_is_named():
        found = [(schema, name) for schema in ("reporting", "marts") for name in tables(con, schema)]
        if not found:
            _print("no researcher tables yet: run `sofs-warehouse run` first")
            return EXIT_OK
        width = max(len(f"{s}.{n}") for s, n in found)
        _print(f"{'table':<{width}}  {'rows':>9}  description")
        for schema, name in found:
            (rows,) = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
            label = table_label(con, schema, name, manifest)
            if label == f"{schema}.{name}":
                label = "-"
            if schema == "marts" and is_restricted(con, schema, name, manifest):
                label = "[restricted] " + label
            first = label.split(". ")[0].rstrip(".")
            room = max(20, args.width - width - 13)
            _print(f"{schema + '.' + name:<{width}}  {rows:>9}  "
                   + (first if len(first) <= room else first[:room - 3].rsplit(" ", 1)[0] + " ..."))
    _print("\nreporting: disclosure-controlled, for sharing; marts: microdata-level tables for the study team "
           "(export with --allow-marts). Every column: `sofs-warehouse docs` or the codebook.")
    return EXIT_OK


def dbt_docs_args(command: str, target_path: Path, port: int | None = None, host: str = "127.0.0.1") -> list[str]:
    """dbt arguments for ``docs generate`` / ``docs serve`` into ``target_path``, a folder of its own so
    that the pipeline's ``dbt_project/target/manifest.json`` is never rewritten."""
    args = ["docs", command, "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir",
            str(settings.DBT_PROJECT_DIR), "--target-path", str(target_path)]
    if command == "serve":
        args += ["--port", str(port or 8080), "--host", host, "--no-browser"]
    return args


def cmd_docs(args: argparse.Namespace) -> int:
    """Generate the dbt docs (models, columns, tests, lineage, the warehouse's catalog) into
    ``$DAGSTER_HOME/dbt_docs`` and serve them on ``--port`` until Ctrl-C (``--no-serve``: only
    generate). Generating reads the warehouse, so it takes the writer lock (``--wait`` as for ``run``).
    Returns dbt's exit code (1 when ``docs generate`` fails)."""
    import subprocess

    from orchestration import warehouse

    settings.export_environment()
    if not settings.warehouse_path().exists():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse_path()} yet: run `sofs-warehouse run` first")
    target = settings.dagster_home() / "dbt_docs"
    dbt = str(Path(sys.executable).with_name("dbt"))
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    _print(f"generating dbt docs into {target} (the pipeline's manifest is not touched) ...")
    with warehouse.writer_lock(wait_seconds=args.wait):
        warehouse.ensure_writable(wait_seconds=args.wait)
        gen = subprocess.run([dbt, *dbt_docs_args("generate", target)], env=env, capture_output=True, text=True)
    if gen.returncode != 0:
        _print(gen.stdout[-3000:] + gen.stderr[-2000:])
        return EXIT_FAILED
    _print(f"wrote {target / 'index.html'}")
    if args.no_serve:
        return EXIT_OK
    _print(f"serving on http://{args.host}:{args.port} (Ctrl-C stops)")
    try:
        return subprocess.run([dbt, *dbt_docs_args("serve", target, args.port, args.host)], env=env).returncode
    except KeyboardInterrupt:  # the way to stop serving; dbt got the same Ctrl-C from the terminal
        _print("stopped serving the dbt docs")
        return 130


def cmd_prepare(args: argparse.Namespace) -> int:
    """Build the dbt manifest Dagster needs (also done automatically by ``run``)."""
    prepare_manifest(force=True)
    ensure_instance()
    return EXIT_OK


# ---------------------------------------------------------------------------------------- main

def _seconds(text: str) -> float:
    """``--wait`` and ``--grace``: a number of seconds, 0 or more (not nan or inf: a wait must end)."""
    value = settings.non_negative_number(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more; got {text!r}")
    return value


def _positive_int(text: str) -> int:
    """``--max-rows``: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more; got {text!r}")
    return value


def _port(text: str) -> int:
    """``--port``: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sofs-warehouse", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {product_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="ingest new or changed landing partitions, run the checks, build the marts")
    p.add_argument("--wait", type=_seconds, default=0.0, help="seconds to wait for another writer (default: stop at once)")
    p.add_argument("--rebuild", action="store_true", help="rebuild every dbt model even when nothing new loaded")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("retract", help="remove a loaded partition whose landing folder was taken away")
    p.add_argument("kind", choices=["survey", "dossier"])
    p.add_argument("key", help="partition key: <instrument>/<wave> or the extract date")
    p.add_argument("--wait", type=_seconds, default=0.0)
    p.set_defaults(func=cmd_retract)
    p = sub.add_parser("status", help="every landing file with its load status, rules that failed, totals")
    p.add_argument("--partition", metavar="KEY", help="one partition: <instrument>/<wave> or the extract date")
    p.add_argument("--problems", action="store_true",
                   help="only partitions that were quarantined or failed or loaded with warnings")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("query", help="run one read-only SQL statement")
    p.add_argument("sql")
    p.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    p.add_argument("--max-rows", type=_positive_int, default=200)
    p.set_defaults(func=cmd_query)
    p = sub.add_parser("export", help="export a table (reporting by default), or `survey INSTRUMENT` as a wide "
                       "respondent x item file, as csv, parquet, sav or dta")
    p.add_argument("table", help="a reporting table (e.g. outcome_placement), marts.<table> with --allow-marts, "
                   "or `survey` followed by an instrument")
    p.add_argument("instrument", nargs="?", help="with `survey`: the instrument (e.g. staff_survey)")
    p.add_argument("--wave", help="with `survey`: one wave (default: every wave, stacked)")
    p.add_argument("--format", required=True, choices=["csv", "parquet", "sav", "dta"])
    p.add_argument("--out", help="file (its extension must match --format) or existing folder "
                   "(default: ./<table>.<format>)")
    p.add_argument("--allow-marts", action="store_true", help="allow a marts.<table> that holds no restricted "
                   "data, or the survey microdata (NOT disclosure-controlled: for the study team only)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("codebook", help="write the codebook (Markdown and DDI-Codebook-shaped JSON)")
    p.add_argument("--out", default="codebook", help="output folder (default: ./codebook)")
    p.set_defaults(func=cmd_codebook)
    p = sub.add_parser("dashboard", help="write the static offline dashboard (index.html) from the reporting tables")
    p.add_argument("--out", help="output folder (default: SOFS_DASHBOARD_DIR, or `dashboard` beside the warehouse)")
    p.set_defaults(func=cmd_dashboard)
    p = sub.add_parser("release", help="write a frozen, documented as-of release")
    p.add_argument("--as-of", required=True, help="release date YYYY-MM-DD")
    p.add_argument("--out", required=True, help="empty or new output folder")
    p.add_argument("--include-marts", action="store_true",
                   help="also the marts, NOT disclosure-controlled: a restricted release for the study team only")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("demo-data", help="write the synthetic demo landing data")
    p.add_argument("--landing", help="landing root (default: SOFS_LANDING_DIR or data/landing)")
    p.set_defaults(func=cmd_demo_data)
    p = sub.add_parser("demo", help="demo key + demo data + run (what `make demo` calls)")
    p.add_argument("--wait", type=_seconds, default=60.0)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("export-raw", help="write every raw source table as parquet (DIR/<table>/part-0.parquet) "
                       "for dbt on Spark; pseudonymised rows: a hand-over inside the trust boundary, not for sharing",
                       description="Write every table of the dbt sources in schema raw (read from the source files "
                       "dbt_project/models/staging/*/_*__sources.yml) as DIR/<table>/part-0.parquet, from a "
                       "read-only connection, for the dbt spark target (SOFS_SPARK_RAW_DIR=DIR; SPEC 7). The raw "
                       "tables hold pseudonymised rows only (no names, no source ids, no open answers): the folder "
                       "is a hand-over inside the trust boundary, to a Spark cluster under the same rules as the "
                       "warehouse; it is NOT disclosure-controlled and never for sharing.")
    p.add_argument("--format", required=True, choices=["parquet"], help="file format (parquet only)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder: new, empty, or written by "
                   "export-raw before (its table folders are replaced)")
    p.set_defaults(func=cmd_export_raw)
    p = sub.add_parser("backup", help="write a consistent, verified copy of the warehouse (under the writer lock)")
    p.add_argument("--out", help="file (*.duckdb) or folder (default: backups/ beside the warehouse)")
    p.add_argument("--wait", type=_seconds, default=0.0, help="seconds to wait for a writer or reader to finish")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("tables", help="the researchers' tables (reporting, marts): name, rows, description")
    p.add_argument("--width", type=int, default=shutil.get_terminal_size((120, 20)).columns)
    p.set_defaults(func=cmd_tables)
    p = sub.add_parser("docs", help="generate the dbt docs (own target folder) and serve them")
    p.add_argument("--port", type=_port, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--no-serve", action="store_true", help="only generate")
    p.add_argument("--wait", type=_seconds, default=0.0, help="seconds to wait for a writer")
    p.set_defaults(func=cmd_docs)
    p = sub.add_parser("ui", help="the Dagster UI (dagster dev) over this warehouse; reads .env; Ctrl-C stops it all")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=3000)
    p.add_argument("--grace", type=_seconds, default=20.0, help="seconds to wait after Ctrl-C before killing")
    p.set_defaults(func=cmd_ui)
    p = sub.add_parser("prepare", help="build the dbt manifest and the Dagster instance folder")
    p.set_defaults(func=cmd_prepare)
    from orchestration.evaluation_cli import add_parsers as add_evaluation_parsers  # study list|status (SPEC 9)
    add_evaluation_parsers(sub)
    return parser


def product_version() -> str:
    """The installed package version of sofs-warehouse (``pyproject.toml``), or ``unknown``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sofs-warehouse")
    except PackageNotFoundError:
        return "unknown"


def _stdout_closed() -> int:
    """The reader of our output went away (``status | head``): stop quietly, as ``cat`` does. stdout is
    pointed at /dev/null so that the interpreter's final flush does not raise again. Exit code 141
    (128 + SIGPIPE), what a shell reports for a process killed by the broken pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
    return 141


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the command; returns the exit code (SPEC 8)."""
    from orchestration.dashboard.data import SmallCountInReporting
    from orchestration.disclosure.protect import DisclosureAuditFailed
    from orchestration.faults import DiskFull, WarehouseDamaged
    from orchestration.instruments import InstrumentError
    from orchestration.warehouse import WarehouseBusy, WarehouseUnwritable

    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops like Ctrl-C, with a message
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except BrokenPipeError:  # `sofs-warehouse status | head`: no traceback
        return _stdout_closed()
    except (DisclosureAuditFailed, SmallCountInReporting) as exc:
        _print(f"error: {exc}")
        return EXIT_FAILED
    except (settings.UsageError, WarehouseBusy, WarehouseUnwritable, WarehouseDamaged, DiskFull,
            InstrumentError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
            PermissionError) as exc:
        _print(f"error: {exc}")
        return EXIT_USAGE
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:  # a path the user gave (--out): anything else is not theirs
            raise
        _print(f"error: {exc.strerror}: {exc.filename!r}: choose a shorter name")
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: committed work stays, the rest loads again next time
        _print("interrupted: partitions committed so far stay loaded; the next `run` goes on from there")
        return 130


if __name__ == "__main__":
    sys.exit(main())
