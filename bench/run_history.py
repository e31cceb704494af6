"""History benchmark: k quarterly snapshots of one case system, loaded one after another (``make bench-history``).

What it measures: the cost of the k-th dossier extract of a warehouse that already holds k-1 of them,
which is what a production warehouse pays every quarter (``bench/run_bench.py`` measures a first load).

1. **Snapshots.** One population of ``N`` dossiers as of the last extract date (``bench/generate.py``'s
   generators: chains of dossiers per child, placements, SofS practice events; default 2025-12-31) is
   cut at ``k`` quarter ends (2024-12-31, 2025-03-31, ..., 2025-12-31 for ``k = 5``). The snapshot as
   of date ``E`` holds what the case system would show on ``E``:

   - the dossiers registered on or before ``E`` (so every quarter registers new dossiers); a closure
     (date and reason) only when it happened on or before ``E`` (so dossiers close between snapshots);
   - the placements that started on or before ``E`` in those dossiers, their end only when it is on
     or before ``E`` (ongoing otherwise), and the practice events dated on or before ``E`` (appended);
   - corrections, each from a random snapshot on (index 2..k) and kept in every later one: about 2 %
     of dossiers move to another team of their region, 0.5 % get another closure reason, 1 % of
     placements another placement type, 0.2 % of scaling-question events another value and 0.2 % of
     events are deleted (entered by mistake), so a snapshot also changes and loses earlier rows.

   Ids are stable across snapshots (``DOS-0000001`` is the same dossier in every snapshot); every
   snapshot passes the quality gate without an error (warnings the generator's data give, e.g. the
   closure reason ``andere``, are reported). ``N`` is the number of dossiers in the *last* snapshot;
   earlier snapshots hold fewer (the table of results gives each one's size).
   Placements and events default to 0.15 and 5 per dossier of the last snapshot (as ``generate.py``).

2. **Loads.** In a fresh project folder under ``--workdir`` (own landing zone, warehouse, Dagster home;
   the environment variables are set for the child processes only) each snapshot folder is put into the
   landing zone and ``sofs-warehouse run`` loads it (ingest, quality gate, pseudonymisation, dbt build
   with every test, disclosure control): one measured run per snapshot, in date order. Per run: wall
   time, CPU (user + system of the process tree), peak memory (summed RSS of the process tree, sampled
   every 0.1 s, and the largest single process), the CLI's own ingest and dbt seconds, rows in every
   ``raw`` dossier table (``raw.dossier*``, ``raw.placements``, ``raw.practice_events``: whichever
   exist), the warehouse file size (plus its ``.wal``), and the CPU seconds other processes used
   meanwhile (other load on the 2 shared cores inflates wall times).

3. **Floor.** ``bench/floor.sql`` (the four dossier marts as plain DuckDB SQL over the CSVs) over the
   snapshot(s), ``--floor-runs`` times each (default 3), the fastest run reported; ``--floor all``
   (default) does every snapshot, so each load has its own ratio; ``--floor last`` only the last one.
   The last load's marts are compared with the floor's (same definitions, same figures).

4. Results go to stdout and ``bench/results_history.md`` (``--results`` to change).

Usage::

    .venv/bin/python bench/run_history.py --dossiers 100000 --snapshots 6 --nice -10
    .venv/bin/python bench/run_history.py --dossiers 5000 --snapshots 3 --results /tmp/h.md   # quick check
    .venv/bin/python bench/run_history.py --profile ...   # step timings of each load (bench/profile_run.py)

Exit code 0 when every load loaded (no error rule) and the marts agree with the floor; 1 otherwise.
Targets are reported, not asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))

import generate  # noqa: E402  (bench/generate.py)
import run_bench  # noqa: E402  (bench/run_bench.py: measuring, machine info, comparing marts)

PYTHON = sys.executable
SOFS = str(Path(sys.executable).with_name("sofs-warehouse"))
#: Targets of the history benchmark (README "Benchmark"): a later snapshot within this many times the
#: floor on the same snapshot; the k-th load costs what the 2nd costs, within noise.
TARGET_RATIO = 10.0
#: Which load the ratio target is judged on: "a quarterly snapshot loaded after three earlier ones".
TARGET_LOAD = 4


# --------------------------------------------------------------------------------------------------
# snapshots

def quarter_ends(last: date, k: int) -> list[date]:
    """The ``k`` quarter ends up to ``last`` (itself a quarter end), oldest first.

    >>> quarter_ends(date(2025, 12, 31), 3)
    [datetime.date(2025, 6, 30), datetime.date(2025, 9, 30), datetime.date(2025, 12, 31)]
    """
    out = []
    y, m = last.year, last.month
    for _ in range(k):
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        out.append(date.fromordinal(nxt.toordinal() - 1))
        m -= 3
        if m <= 0:
            m += 12
            y -= 1
    return sorted(out)


@dataclass
class Population:
    """The case system as of the last extract date, with the snapshot from which each correction applies.

    Arrow tables (dates as date32): ``dossiers`` (dossier_no, child_no, service, region, team,
    team_fixed, team_fix_at, registration_date, closure_date, closure_reason, reason_fixed,
    reason_fix_at, birth_year, sex), ``placements`` (placement_no, dossier_no, start_date, end_date,
    placement_type, type_fixed, type_fix_at), ``events`` (event_no, dossier_no, event_date, event_type,
    value, value_fixed, value_fix_at, deleted_at, rated_by). A ``*_fix_at`` / ``deleted_at`` is the
    1-based snapshot index from which the correction holds; ``k + 1`` means never.
    """

    dossiers: object
    placements: object
    events: object


def build_population(n_dossiers: int, n_placements: int, n_events: int, last: date, k: int,
                     seed: int) -> Population:
    """The population of ``generate.py`` as of ``last`` plus the corrections of the module docstring."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    end = generate._day(last)
    d = generate._dossiers(rng, n_dossiers, generate._day(generate.FIRST_REGISTRATION), end)
    placements = generate._placements(rng, d, n_placements, end)
    events = generate._events(rng, d, n_events, end)
    dossiers = generate._dossier_table(d)
    never = k + 1

    def fix_at(n: int, share: float) -> np.ndarray:
        """Snapshot index (2..k) from which a row is corrected, for ``share`` of the rows; else never."""
        at = np.full(n, never, dtype=np.int32)
        if k >= 2:
            hit = rng.random(n) < share
            at[hit] = rng.integers(2, k + 1, size=int(hit.sum()))
        return at

    n = dossiers.num_rows
    team_names = [f"{r} team {t + 1}" for r in generate.REGIONS for t in range(generate.TEAMS_PER_REGION)]
    other_team = d["region"] * generate.TEAMS_PER_REGION + (d["team"] + rng.integers(1, generate.TEAMS_PER_REGION,
                                                                                     size=n)) % generate.TEAMS_PER_REGION
    reasons = np.asarray(generate.CLOSURE_REASONS[:-1])  # a correction gives a listed code ("andere" is not one)
    dossiers = (dossiers
                .append_column("team_fixed", pa.array(np.asarray(team_names, dtype=object)[other_team]))
                .append_column("team_fix_at", pa.array(fix_at(n, 0.02)))
                .append_column("reason_fixed", pa.array(reasons[rng.integers(0, len(reasons), size=n)]))
                .append_column("reason_fix_at", pa.array(fix_at(n, 0.005))))
    n = placements.num_rows
    types = np.asarray(generate.PLACEMENT_TYPES)
    placements = (placements
                  .append_column("type_fixed", pa.array(types[rng.integers(0, len(types), size=n)]))
                  .append_column("type_fix_at", pa.array(fix_at(n, 0.01))))
    n = events.num_rows
    events = (events
              .append_column("value_fixed", pa.array(rng.integers(0, 11, size=n).astype(np.int64)))
              .append_column("value_fix_at", pa.array(fix_at(n, 0.002)))
              .append_column("deleted_at", pa.array(fix_at(n, 0.002))))
    return Population(dossiers, placements, events)


def write_snapshot(pop: Population, index: int, extract_date: date, folder: Path) -> dict[str, int]:
    """Write the snapshot ``index`` (1-based) as of ``extract_date`` into ``folder`` (SPEC 3.4 CSV files,
    as ``generate.py`` writes them). Returns rows per file (``dossiers``, ``placements``, ``practice_events``)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    e = f"date '{extract_date.isoformat()}'"
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        con.register("d", pop.dossiers)
        con.register("p", pop.placements)
        con.register("ev", pop.events)
        queries = {
            "dossiers": f"""
                select 'DOS-' || lpad(cast(dossier_no as varchar), 7, '0') as dossier_id,
                       'K' || lpad(cast(child_no as varchar), 10, '0') as child_id,
                       service, region,
                       case when team_fix_at <= {index} then team_fixed else team end as team,
                       registration_date,
                       case when closure_date <= {e} then closure_date end as closure_date,
                       case when closure_date <= {e}
                            then case when reason_fix_at <= {index} then reason_fixed else closure_reason end
                       end as closure_reason,
                       birth_year, sex
                from d where registration_date <= {e} order by dossier_no""",
            "placements": f"""
                select 'PL-' || lpad(cast(p.placement_no as varchar), 7, '0') as placement_id,
                       'DOS-' || lpad(cast(p.dossier_no as varchar), 7, '0') as dossier_id,
                       p.start_date, case when p.end_date <= {e} then p.end_date end as end_date,
                       case when p.type_fix_at <= {index} then p.type_fixed else p.placement_type end
                           as placement_type
                from p join d using (dossier_no)
                where p.start_date <= {e} and d.registration_date <= {e} order by p.placement_no""",
            "practice_events": f"""
                select 'EV-' || lpad(cast(event_no as varchar), 8, '0') as event_id,
                       'DOS-' || lpad(cast(dossier_no as varchar), 7, '0') as dossier_id,
                       event_date, event_type,
                       case when value is not null and value_fix_at <= {index} then value_fixed else value end
                           as value,
                       rated_by
                from ev where event_date <= {e} and deleted_at > {index} order by event_no""",
        }
        rows = {}
        for name, query in queries.items():
            path = folder / f"{name}.csv"
            con.execute(f"copy ({query}) to '{path.as_posix()}' (format csv, header true, delimiter ',')")
            rows[name] = con.execute(f"select count(*) from ({query})").fetchone()[0]
    finally:
        con.close()
    return rows


# --------------------------------------------------------------------------------------------------
# after each load

def warehouse_state(wh: Path, partition: str) -> dict:
    """Status of the partition's latest load, failed rules, rows per raw dossier table, file size (MB)."""
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        status = con.execute("select status from audit.loads where partition_key = ? "
                             "order by started_at desc limit 1", [partition]).fetchone()
        failed = con.execute("""
            select "check", severity, failing_rows from audit.check_results
            where partition_key = ? and not passed
              and load_id = (select load_id from audit.loads where partition_key = ? order by started_at desc limit 1)
            order by "check" """, [partition, partition]).fetchall()
        tables = [t for (t,) in con.execute("""
            select table_name from information_schema.tables
            where table_schema = 'raw' and (table_name like 'dossier%' or table_name in ('placements', 'practice_events'))
            order by table_name""").fetchall()]
        rows = {t: con.execute(f'select count(*) from raw."{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()
    size = sum(p.stat().st_size for p in (wh, wh.with_name(wh.name + ".wal")) if p.exists()) / 2**20
    return {"status": status[0] if status else None, "failed": failed, "rows": rows, "size_mb": size}


_LOADED = re.compile(r"^\s+(loaded|quarantined|failed|FAILED):? (\d+) rows.*\(([\d.]+) s\)\s*$")
_CHANGE = re.compile(r"\(change history: ([^)]*)\)")
_DONE = re.compile(r"^\s+(done|FAILED) \(([\d.]+) s\)")


def cli_seconds(log: Path) -> tuple[float | None, float | None, str]:
    """(ingest seconds, dbt job seconds, what the load changed in the history) as the CLI printed them
    (``loaded: N rows (change history: ...) (x s)``, ``done (y s)``); the change is "" when not printed."""
    ingest = dbt = None
    change = ""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _LOADED.match(line)
        if m:
            ingest = float(m.group(3))
            c = _CHANGE.search(line)
            change = c.group(1) if c else ""
        m = _DONE.match(line)
        if m:
            dbt = float(m.group(2))
    return ingest, dbt, change


# --------------------------------------------------------------------------------------------------
# the benchmark

@dataclass
class Load:
    """One measured ``sofs-warehouse run`` of one snapshot."""

    index: int
    extract_date: date
    csv_rows: dict[str, int]
    csv_mb: float
    m: run_bench.Measurement
    state: dict
    ingest_s: float | None
    dbt_s: float | None
    change: str = ""
    floor: run_bench.Measurement | None = None
    floor_runs: tuple[float, ...] = ()
    phases: list[tuple[str, float]] | None = None


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dossiers", "-n", type=int, default=100_000,
                        help="dossiers in the last snapshot (default 100,000)")
    parser.add_argument("--placements", type=int, help="placements in the last snapshot (default 0.15 per dossier)")
    parser.add_argument("--events", type=int, help="practice events in the last snapshot (default 5 per dossier)")
    parser.add_argument("--snapshots", "-k", type=int, default=6, help="number of quarterly snapshots (default 6)")
    parser.add_argument("--last", type=date.fromisoformat, default=generate.EXTRACT_DATE,
                        help="date of the last snapshot, a quarter end (default 2025-12-31)")
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument("--workdir", type=Path, help="parent of the project folder (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the project folder (landing, warehouse, logs)")
    parser.add_argument("--floor", choices=("all", "last"), default="all",
                        help="measure the floor on every snapshot (default) or on the last one only")
    parser.add_argument("--floor-runs", type=int, default=3, help="floor runs per snapshot; the fastest counts")
    parser.add_argument("--profile", action="store_true",
                        help="run each load through bench/profile_run.py (step timings in the results)")
    parser.add_argument("--nice", type=int, default=0,
                        help="scheduling priority change for the benchmark and its children (e.g. -10; "
                             "negative values need root)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each measurement wait (at most this long) for other processes to use under "
                             "0.3 cores")
    parser.add_argument("--results", type=Path, default=BENCH / "results_history.md", help="results file")
    args = parser.parse_args(argv)
    if args.snapshots < 1:
        parser.error("--snapshots must be at least 1")
    run_bench.QUIET_WAIT = args.wait_quiet
    if args.nice:
        try:
            os.nice(args.nice)
        except PermissionError:
            print(f"cannot change the scheduling priority by {args.nice} (not allowed); running at the default")
    n_p = args.placements if args.placements is not None else round(args.dossiers * 0.15)
    n_e = args.events if args.events is not None else args.dossiers * 5
    dates = quarter_ends(args.last, args.snapshots)

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    project = Path(tempfile.mkdtemp(prefix="sofs_history_", dir=args.workdir))
    landing, logs, staged = project / "landing", project / "logs", project / "snapshots"
    logs.mkdir()
    (landing / "dossiers").mkdir(parents=True)
    wh = project / "warehouse.duckdb"
    env = {**os.environ, "SOFS_LANDING_DIR": str(landing), "SOFS_WAREHOUSE_PATH": str(wh),
           "DAGSTER_HOME": str(project / "dagster_home"), "SOFS_PSEUDONYM_KEY": run_bench.BENCH_KEY,
           "GX_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
    env.pop("SOFS_INSTRUMENTS_DIR", None)
    print(f"history benchmark project folder: {project}")
    info = run_bench.machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    loads: list[Load] = []
    ok = True
    try:
        t0 = time.monotonic()
        pop = build_population(args.dossiers, n_p, n_e, args.last, args.snapshots, args.seed)
        snapshot_rows = []
        for i, d in enumerate(dates, start=1):
            snapshot_rows.append(write_snapshot(pop, i, d, staged / d.isoformat()))
        del pop
        gen_seconds = time.monotonic() - t0
        print(f"generated {args.snapshots} snapshots in {gen_seconds:.1f} s: "
              + "; ".join(f"{d}: {r['dossiers']:,} / {r['placements']:,} / {r['practice_events']:,}"
                          for d, r in zip(dates, snapshot_rows)))
        run_bench.run_quiet([PYTHON, "-c", "from orchestration.cli import ensure_instance, prepare_manifest; "
                                           "ensure_instance(); prepare_manifest()"], env, ROOT)
        command = [PYTHON, str(BENCH / "profile_run.py"), "run"] if args.profile else [SOFS, "run"]
        for i, (d, rows) in enumerate(zip(dates, snapshot_rows), start=1):
            src = staged / d.isoformat()
            dst = landing / "dossiers" / d.isoformat()
            shutil.copytree(src, dst)
            csv_mb = sum(p.stat().st_size for p in dst.glob("*.csv")) / 2**20
            profile_file = logs / f"profile_{i}.jsonl"
            renv = {**env, "SOFS_BENCH_PROFILE": str(profile_file)} if args.profile else env
            m = run_bench.measure(f"load {i}/{args.snapshots}: snapshot {d} (sofs-warehouse run)", command, renv,
                                  logs / f"run_{i}.log", ROOT)
            dbt_log = logs / f"dbt_build_{i}.log"
            last_dbt = project / "dagster_home" / "last_dbt_build.log"
            if last_dbt.exists():
                shutil.copyfile(last_dbt, dbt_log)
            state = warehouse_state(wh, d.isoformat())
            ingest_s, dbt_s, change = cli_seconds(m.log)
            load = Load(i, d, rows, csv_mb, m, state, ingest_s, dbt_s, change)
            if args.profile and profile_file.exists() and dbt_log.exists():
                prof = [json.loads(x) for x in profile_file.read_text().splitlines() if x.strip()]
                try:
                    load.phases = run_bench.breakdown(m, prof, dbt_log)
                except Exception as exc:  # noqa: BLE001 - the profile is optional detail
                    print(f"   (no phase breakdown: {exc})")
            loads.append(load)
            errors = [f for f in state["failed"] if f[1] == "error"]
            print(f"   ingest {ingest_s} s, dbt {dbt_s} s; status {state['status']}; "
                  + ", ".join(f"raw.{t} {n:,}" for t, n in state["rows"].items())
                  + f"; warehouse {state['size_mb']:,.0f} MB"
                  + (f"; failed rules {state['failed']}" if state["failed"] else ""), flush=True)
            if m.exit_code or state["status"] != "loaded" or errors:
                print(f"FAILED: load {i} did not load cleanly (exit {m.exit_code}); see {m.log}")
                ok = False
                break
        # the floor, over the same snapshot files
        chosen = loads if args.floor == "all" else loads[-1:]
        floor_db = project / "floor.duckdb"
        for load in chosen:
            folder = landing / "dossiers" / load.extract_date.isoformat()
            runs = []
            for r in range(max(1, args.floor_runs)):
                floor_db.unlink(missing_ok=True)
                runs.append(run_bench.measure(f"floor {load.extract_date} run {r + 1}",
                                              [PYTHON, str(BENCH / "run_floor.py"), "--extract", str(folder),
                                               "--db", str(floor_db)], env,
                                              logs / f"floor_{load.index}_{r + 1}.log", project))
                if runs[-1].exit_code:
                    raise RuntimeError(f"the floor failed: see {runs[-1].log}")
            load.floor = min(runs, key=lambda x: x.seconds)
            load.floor_runs = tuple(x.seconds for x in runs)
        problems = run_bench.compare_marts(wh, floor_db) if ok and loads else ["not every load succeeded"]
        print("   marts of the last load: warehouse and floor " + ("agree" if not problems else
                                                                   "DIFFER:\n     " + "\n     ".join(problems)))
        ok = ok and not problems
        report = render(args, info, dates, loads, problems, gen_seconds, (n_p, n_e))
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(report, encoding="utf-8")
        print("\n" + report)
        print(f"written to {args.results}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {project}")
        else:
            shutil.rmtree(project, ignore_errors=True)


def _gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB"


def render(args, info, dates, loads: list[Load], problems, gen_seconds, sizes) -> str:
    """The results as Markdown."""
    lines = [
        "# History benchmark: quarterly snapshots loaded one after another",
        "",
        f"Run {datetime.now():%Y-%m-%d %H:%M} with "
        f"`{' '.join(['.venv/bin/python', 'bench/run_history.py', *(sys.argv[1:])])}`.",
        "",
        f"Machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM, {info['os']}; Python {info['python']}, "
        f"DuckDB {info['duckdb']}, dbt-core {info.get('dbt-core', '?')}, Dagster {info.get('dagster', '?')}; "
        f"code at {info.get('commit', '?')}; benchmark run at scheduling priority (nice) {info['nice']}.",
        "",
        f"{len(dates)} quarterly snapshots ({dates[0]} to {dates[-1]}) of one synthetic case system of "
        f"{args.dossiers:,} dossiers, {sizes[0]:,} placements and {sizes[1]:,} practice events as of the last "
        f"one (earlier snapshots: what was registered, placed and recorded by then; corrections from a random "
        f"snapshot on; see the docstring of bench/run_history.py); generated in {gen_seconds:.1f} s. "
        "Each load is one `sofs-warehouse run` (ingest + quality gate + pseudonymisation + dbt build with "
        "tests + disclosure control) of one new snapshot into the same warehouse.",
        "",
        "| load | snapshot | dossiers / placements / events in it | CSV | wall | CPU | peak memory (tree) "
        "| ingest / dbt (CLI) | floor (fastest): wall, CPU | ratio wall | ratio CPU | other load | warehouse file |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ld in loads:
        r = ld.csv_rows
        ratio = f"**{ld.m.seconds / ld.floor.seconds:.1f}x**" if ld.floor else "-"
        ratio_cpu = f"{ld.m.cpu_seconds / max(ld.floor.cpu_seconds, 1e-9):.1f}x" if ld.floor else "-"
        floor = f"{ld.floor.seconds:.2f} s, {ld.floor.cpu_seconds:.2f} s" if ld.floor else "-"
        ing = f"{ld.ingest_s:.1f} / {ld.dbt_s:.1f} s" if ld.ingest_s is not None and ld.dbt_s is not None else "-"
        lines.append(
            f"| {ld.index} | {ld.extract_date} | {r['dossiers']:,} / {r['placements']:,} / {r['practice_events']:,} "
            f"| {ld.csv_mb:,.0f} MB | {ld.m.seconds:.1f} s | {ld.m.cpu_seconds:.1f} s | {_gb(ld.m.peak_mb)} | {ing} "
            f"| {floor} | {ratio} | {ratio_cpu} | {ld.m.foreign_cpu_seconds:.1f} CPU-s | {ld.state['size_mb']:,.0f} MB |")
    if any(ld.change for ld in loads):
        lines += ["", "What each load changed in the change history (the CLI's summary): "
                  + "; ".join(f"load {ld.index}: {ld.change}" for ld in loads if ld.change) + "."]
    lines += ["", "Rows in the raw dossier tables after each load:", ""]
    tables = sorted({t for ld in loads for t in ld.state["rows"]})
    lines += ["| load | " + " | ".join(f"raw.{t}" for t in tables) + " |",
              "|---:|" + "---:|" * len(tables)]
    for ld in loads:
        lines.append(f"| {ld.index} | " + " | ".join(f"{ld.state['rows'].get(t, 0):,}" for t in tables) + " |")
    warned = sorted({f"{c} ({s})" for ld in loads for c, s, _n in ld.state["failed"]})
    lines += ["", "Rules that failed (warnings, loaded anyway): " + (", ".join(warned) if warned else "none") + "."]
    lines += ["", "Other load: the CPU seconds other processes of the machine used during each measurement "
              f"(/proc/stat; {info['nproc']} cores give {info['nproc']} CPU-s per second): figures well above 0 "
              "mean that wall time is inflated by other load."]
    floors = [ld for ld in loads if ld.floor]
    if floors:
        lines += ["", "Floor runs (s): " + "; ".join(f"{ld.extract_date}: " + ", ".join(f"{x:.2f}" for x in ld.floor_runs)
                                                     for ld in floors) + "."]
    # verdicts
    verdicts = []
    target = next((ld for ld in loads if ld.index == TARGET_LOAD), None)
    if target is not None and target.floor:
        ratio = target.m.seconds / target.floor.seconds
        verdicts.append(f"load {TARGET_LOAD} (a snapshot after three earlier ones) within {TARGET_RATIO:g}x the floor "
                        f"on the same snapshot: **{'met' if ratio <= TARGET_RATIO else 'MISSED'}** ({ratio:.1f}x)")
    if len(loads) >= 3:
        second = loads[1].m.seconds
        worst = max(loads[2:], key=lambda ld: ld.m.seconds)
        growth = worst.m.seconds / second
        verdicts.append(f"the k-th load costs what the 2nd costs (within noise, here taken as 15 %): "
                        f"**{'met' if growth <= 1.15 else 'MISSED'}** (2nd {second:.1f} s, slowest later one: "
                        f"load {worst.index} {worst.m.seconds:.1f} s, {growth:.2f}x)")
    if verdicts:
        lines += ["", "Targets: " + "; ".join(verdicts) + "."]
    lines += ["", "Marts of the last load against the floor's: "
              + ("identical figures (`outcome_*` row by row, `fct_dossier` by column sums)." if not problems
                 else "DIFFERENCES: " + "; ".join(problems[:10]))]
    lines += ["", "Peak RSS per process of the last load (MB): "
              + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(loads[-1].m.peak_by_process.items(),
                                                               key=lambda kv: -kv[1])[:4]) + "." if loads else ""]
    for ld in loads:
        if ld.phases:
            lines += ["", f"Phases of load {ld.index} ({ld.m.seconds:.1f} s; `--profile`):", "",
                      "| phase | s |", "|---|---:|"]
            lines += [f"| {label} | {sec:.1f} |" for label, sec in ld.phases]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
