"""The warehouse benchmark (a first load of 1,000,000 dossiers): ``make bench`` = ``.venv/bin/python bench/run_bench.py``.

In a fresh temporary project folder (its own landing zone, warehouse file and Dagster home; the
environment variables ``SOFS_LANDING_DIR``, ``SOFS_WAREHOUSE_PATH``, ``DAGSTER_HOME`` and
``SOFS_PSEUDONYM_KEY`` are set for the child processes only):

1. ``bench/generate.py`` writes one dossier extract (default 1,000,000 dossiers, 150,000 placements,
   5,000,000 practice events; ``--scale 0.01`` for a quick check).
2. The dbt manifest is prepared (``dbt parse`` when stale): a one-off cost of a new dbt project,
   not of a load, so it is done before the clock starts.
3. **Floor**: ``bench/run_floor.py`` runs ``bench/floor.sql`` (the four dossier marts as plain
   DuckDB SQL over the same CSV files) as a child process, ``--floor-runs`` times (default 3); the
   fastest run is reported.
4. **Warehouse**: ``sofs-warehouse run`` as a child process: ingest (reader, quality gate,
   pseudonymisation, insert into ``raw``, one transaction) and ``dbt build`` of every model with
   its tests. With ``--profile`` the same CLI runs through ``bench/profile_run.py``, which logs
   the duration of every ingest step.
5. The floor's marts and the warehouse's marts are compared (same definitions, so the same figures).
6. **New survey wave**: the demo staff-survey waves are written into the landing zone
   (``orchestration.demo.surveys.write_demo_surveys``) and ``sofs-warehouse run`` is run again. The
   dbt log must show only models (and tests) downstream of the survey sources: the run fails when a
   model or test that depends only on dossier sources appears in it.
7. Figures go to stdout and to ``bench/results.md`` (``bench/results_profile.md`` with ``--profile``;
   under ``bench/out/`` when not at full size).

Each child is measured for wall time and memory: peak of the summed RSS of its process tree (the
CLI process plus the dbt subprocess it starts, sampled from /proc every 0.1 s) and ``ru_maxrss``
from ``wait4`` (the largest single process of the tree, exact but not a sum).

Usage::

    .venv/bin/python bench/run_bench.py                   # full size (several minutes on 2 cores)
    .venv/bin/python bench/run_bench.py --scale 0.01      # quick check
    .venv/bin/python bench/run_bench.py --profile --keep  # step timings; keep the temp folder
    .venv/bin/python bench/run_bench.py --nice -10 --wait-quiet 120   # on a shared machine (as root)

Other load on the machine inflates wall times: each measurement reports the CPU seconds other
processes used meanwhile (from /proc/stat), so a disturbed figure can be recognised.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))

import generate  # noqa: E402  (bench/generate.py)

PYTHON = sys.executable
SOFS = str(Path(sys.executable).with_name("sofs-warehouse"))
BENCH_KEY = "sofs-benchmark-key-synthetic-data-only-0123456789"
#: Targets of a first load of 1,000,000 dossiers (README "Benchmark"): within 5x the floor, under 4 GB peak.
TARGET_RATIO, TARGET_PEAK_GB = 5.0, 4.0
#: dbt sources of the dossier extracts; a node whose every upstream source is here is "dossier-only"
DOSSIER_SOURCES = {"raw_dossiers"}


# --------------------------------------------------------------------------------------------------
# measuring a child process

@dataclass
class Measurement:
    """Wall time and memory of one child process tree."""

    name: str
    command: list[str]
    seconds: float
    exit_code: int
    tree_peak_mb: float           # peak of the summed RSS of the process and its descendants (sampled)
    maxrss_mb: float              # ru_maxrss from wait4: the largest single process of the tree
    cpu_seconds: float = 0.0      # user + system CPU of the tree (wait4)
    foreign_cpu_seconds: float = 0.0  # CPU used by other processes of the machine meanwhile (/proc/stat)
    peak_by_process: dict[str, float] = field(default_factory=dict)  # per command name, peak RSS MB
    log: Path | None = None
    started_at: datetime | None = None  # wall clock at the start (aligns with the profile and dbt logs)

    @property
    def peak_mb(self) -> float:
        """The memory figure reported: the larger of the two measurements."""
        return max(self.tree_peak_mb, self.maxrss_mb)


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat, all cores)."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle                            # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_seconds: float, threshold: float = 0.3, window: float = 5.0) -> float:
    """Wait until the machine is nearly idle (other processes use under ``threshold`` cores over
    ``window`` seconds), at most ``max_seconds``; returns the load seen last (cores busy)."""
    deadline = time.monotonic() + max_seconds
    while True:
        before = _busy_cpu_seconds()
        time.sleep(window)
        load = (_busy_cpu_seconds() - before) / window
        if load < threshold or time.monotonic() >= deadline:
            if load >= threshold:
                print(f"   (machine still busy: {load:.2f} cores in use by other processes; measuring anyway)")
            return load
        print(f"   (waiting for a quiet machine: {load:.2f} cores in use by other processes)", flush=True)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                out.extend(int(x) for x in fh.read().split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except (FileNotFoundError, ProcessLookupError):
        return "?"
    if not argv:
        return "?"
    # "python .../sofs-warehouse run" -> "sofs-warehouse"; "python .../dbt build" -> "dbt"
    words = [Path(a).name for a in argv[:3]]
    script = next((w for w in words[1:] if not w.startswith("-")), words[0]) if words[0].startswith("python") else words[0]
    return script


#: seconds to wait for a quiet machine before each measurement (``--wait-quiet``)
QUIET_WAIT = 0.0


def measure(name: str, command: list[str], env: dict[str, str], log: Path, cwd: Path) -> Measurement:
    """Run ``command`` with ``env``, its stdout+stderr to ``log``; sample the tree's RSS every 0.1 s."""
    peak = 0.0
    by_process: dict[str, float] = {}
    print(f"\n== {name}: {' '.join(command)}", flush=True)
    if QUIET_WAIT > 0:
        wait_quiet(QUIET_WAIT)
    with open(log, "w", encoding="utf-8") as out:
        busy_before = _busy_cpu_seconds()
        started_at = datetime.now()
        start = time.monotonic()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            total = 0.0
            stack = [proc.pid]
            while stack:
                p = stack.pop()
                rss = _rss_mb(p)
                total += rss
                label = _name(p)
                by_process[label] = max(by_process.get(label, 0.0), rss)
                stack.extend(_children(p))
            peak = max(peak, total)
            time.sleep(0.1)
        seconds = time.monotonic() - start
        busy = _busy_cpu_seconds() - busy_before
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    m = Measurement(name, command, seconds, proc.returncode, peak, usage.ru_maxrss / 1024, cpu,
                    max(0.0, busy - cpu), by_process, log, started_at)
    print(f"   {seconds:.1f} s, exit {m.exit_code}, CPU {cpu:.1f} s, peak RSS of the tree {m.tree_peak_mb:,.0f} MB "
          f"(largest process {m.maxrss_mb:,.0f} MB); other processes used {m.foreign_cpu_seconds:.1f} CPU-s meanwhile",
          flush=True)
    return m


def run_quiet(command: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run a setup command (not measured); raise with its output when it fails."""
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


# --------------------------------------------------------------------------------------------------
# checks on the results

def check_load(warehouse: Path, partition: str) -> dict:
    """The extract loaded with no failed error rule; returns rows per raw table and failed warnings."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        status = con.execute("select status, rows from audit.loads where partition_key = ? "
                             "order by started_at desc limit 1", [partition]).fetchone()
        failed = con.execute("""
            select "check", severity, failing_rows from audit.check_results
            where partition_key = ? and not passed
              and load_id = (select load_id from audit.loads where partition_key = ? order by started_at desc limit 1)
            """, [partition, partition]).fetchall()
        history = con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                              "and table_name = 'dossier_extracts'").fetchone()[0]
        if history:  # the change history (SPEC 4): what the extract held, and the versions stored
            held = con.execute("select n_dossiers, n_placements, n_practice_events from raw.dossier_extracts "
                               "where partition_key = ?", [partition]).fetchone() or (0, 0, 0)
            rows = {f"{t} (in the extract)": n for t, n in zip(("dossiers", "placements", "practice_events"), held)}
            rows.update({t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
                         for t in ("dossier_versions", "dossier_placement_versions", "dossier_event_versions")})
        else:
            rows = {t: con.execute(f"select count(*) from raw.{t} where partition_key = ?", [partition]).fetchone()[0]
                    for t in ("dossiers", "placements", "practice_events")}
    finally:
        con.close()
    errors = [f for f in failed if f[1] == "error"]
    if status is None or status[0] != "loaded" or errors:
        raise AssertionError(f"the benchmark extract did not load cleanly: status {status}, failed rules {failed}")
    return {"rows": rows, "warnings": [f"{c} ({n} rows)" for c, _s, n in failed]}


#: the columns compared between the floor and the warehouse, per aggregate mart (key columns first)
COMPARED = {
    "outcome_time_to_closure": (("registration_year", "service", "region"),
                                ("n_dossiers", "n_closed", "n_censored", "km_median_days", "km_p25_days",
                                 "km_p75_days", "km_closed_within_365d", "naive_median_closed_days")),
    "outcome_reopening": (("closure_year", "service", "region"),
                          ("n_observable", "n_reopened_365d", "reopening_rate", "n_closed")),
    "outcome_placement": (("registration_year", "service", "region"),
                          ("n_observable", "n_placed_365d", "placement_rate", "placement_days", "placement_moves",
                           "moves_per_1000_days", "n_dossiers")),
}
#: per-dossier figures summed over fct_dossier on both sides (the keys differ: pseudonyms vs source ids)
FCT_SUMS = ("count(*)", "count_if(is_closed)", "sum(days_to_closure)", "sum(follow_up_days)",
            "count_if(is_reentry)", "sum(n_placements)", "count(placed_within_365d)", "count_if(placed_within_365d)",
            "sum(days_to_first_placement)", "count(reopened_within_365d)", "count_if(reopened_within_365d)",
            "count_if(has_mapping)", "count_if(has_safety_plan)", "count_if(has_network_meeting)",
            "count_if(has_three_houses)", "count_if(has_words_and_pictures)", "sum(first_scaling_score)",
            "sum(last_scaling_score)", "count(first_scaling_score)", "sum(placement_moves)", "sum(placement_days)")


def compare_marts(warehouse: Path, floor_db: Path) -> list[str]:
    """Differences between the warehouse's marts and the floor's (empty list: identical figures).

    Aggregate marts are joined on their keys, numbers compared with a relative tolerance of 1e-9;
    ``fct_dossier`` is compared through the sums in :data:`FCT_SUMS`.
    """
    import duckdb

    con = duckdb.connect()
    problems: list[str] = []
    try:
        con.execute(f"attach '{warehouse}' as w (read_only)")
        con.execute(f"attach '{floor_db}' as f (read_only)")
        for mart, (keys, cols) in COMPARED.items():
            on = " and ".join(f"w.{k} = f.{k}" for k in keys)
            n_w, n_f = (con.execute(f"select count(*) from {db}.{'marts.' if db == 'w' else ''}{mart}").fetchone()[0]
                        for db in ("w", "f"))
            if n_w != n_f:
                problems.append(f"{mart}: {n_w} rows in the warehouse, {n_f} in the floor")
            differ = " or ".join(
                f"(w.{c} is distinct from f.{c} and not (abs(w.{c} - f.{c}) <= 1e-9 * greatest(1, abs(f.{c}))))"
                for c in cols)
            bad = con.execute(f"""
                select {', '.join(f'coalesce(w.{k}, f.{k})' for k in keys)}, {', '.join(f'w.{c}, f.{c}' for c in cols)}
                from w.marts.{mart} w full join f.{mart} f on {on}
                where w.{keys[0]} is null or f.{keys[0]} is null or {differ}""").fetchall()
            for row in bad[:5]:
                problems.append(f"{mart}: {row}")
            if len(bad) > 5:
                problems.append(f"{mart}: ... {len(bad)} rows differ")
        sums = ", ".join(FCT_SUMS)
        w = con.execute(f"select {sums} from w.marts.fct_dossier").fetchone()
        f = con.execute(f"select {sums} from f.fct_dossier").fetchone()
        for expr, a, b in zip(FCT_SUMS, w, f):
            if a != b and not (a is not None and b is not None and abs(a - b) <= 1e-9 * max(1, abs(b))):
                problems.append(f"fct_dossier {expr}: warehouse {a}, floor {b}")
    finally:
        con.close()
    return problems


def dossier_only_nodes(manifest_path: Path) -> tuple[set[str], set[str]]:
    """Names as dbt logs them (``schema.alias`` for models, test name for tests) of the nodes whose
    upstream sources are all dossier sources, and of all other model/test nodes."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    nodes, sources = manifest["nodes"], manifest["sources"]
    memo: dict[str, set[str]] = {}

    def upstream_sources(uid: str) -> set[str]:
        if uid in sources:
            return {sources[uid]["source_name"]}
        if uid in memo:
            return memo[uid]
        memo[uid] = set()
        found: set[str] = set()
        for dep in nodes.get(uid, {}).get("depends_on", {}).get("nodes", []):
            found |= upstream_sources(dep)
        memo[uid] = found
        return found

    dossier_only, other = set(), set()
    for uid, node in nodes.items():
        if node["resource_type"] not in ("model", "test"):
            continue
        shown = f"{node['schema']}.{node.get('alias') or node['name']}" if node["resource_type"] == "model" else node["name"]
        srcs = upstream_sources(uid)
        (dossier_only if srcs and srcs <= DOSSIER_SOURCES else other).add(shown)
    return dossier_only, other


_START = re.compile(r"^\d+ of \d+ START (?:sql \w+ model (\S+)|test (\S+))")
_TIMED = re.compile(r"^\d+ of \d+ (?:OK created sql \w+ model (\S+)|PASS (\S+)|WARN \d+ (\S+)|FAIL \d+ (\S+)|ERROR \S* ?(\S+))"
                    r".*in ([\d.]+)s\]")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def dbt_log_nodes(log: Path) -> tuple[list[str], dict[str, float]]:
    """Nodes started in a dbt log (models as ``schema.alias``, tests by name) and each node's seconds."""
    started, seconds = [], {}
    for raw in log.read_text(encoding="utf-8", errors="replace").splitlines():
        line = _ANSI.sub("", raw).strip()
        m = _START.match(line)
        if m:
            started.append(m.group(1) or m.group(2))
            continue
        t = _TIMED.match(line)
        if t:
            node = next(g for g in t.groups()[:-1] if g)
            seconds[node] = float(t.group(t.lastindex))
    return started, seconds


# --------------------------------------------------------------------------------------------------
# the benchmark

def machine() -> dict[str, str]:
    """nproc, memory, CPU model, OS and versions of the main components."""
    import duckdb

    info = {"nproc": str(len(os.sched_getaffinity(0)))}
    with open("/proc/meminfo", encoding="ascii") as fh:
        mem_kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
    info["memory"] = f"{mem_kb / 2**20:.1f} GiB"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    except OSError:
        info["cpu"] = "?"
    info["os"] = f"{platform.system()} {platform.release()}"
    info["nice"] = str(os.nice(0))
    info["python"] = platform.python_version()
    info["duckdb"] = duckdb.__version__
    try:
        from importlib.metadata import version
        info["dbt-core"], info["dagster"] = version("dbt-core"), version("dagster")
    except Exception:  # noqa: BLE001 - informational only
        pass
    try:
        info["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "orchestration", "dbt_project"],
                               capture_output=True, text=True).stdout.strip()
        if dirty:
            info["commit"] += f" (+ {len(dirty.splitlines())} uncommitted paths in orchestration/ and dbt_project/)"
    except OSError:
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring. Exit 0 when every step ran and every assertion held
    (the targets themselves are reported, not asserted)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default sizes (e.g. 0.01)")
    parser.add_argument("--dossiers", type=int)
    parser.add_argument("--placements", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument("--workdir", type=Path, help="parent of the temporary project folder (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project folder")
    parser.add_argument("--profile", action="store_true",
                        help="run the warehouse through bench/profile_run.py (timings per ingest step)")
    parser.add_argument("--floor-runs", type=int, default=3,
                        help="run the floor this many times and report the fastest (default 3)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each measurement wait (at most this long) until other processes use "
                             "under 0.3 cores (a shared machine)")
    parser.add_argument("--nice", type=int, default=0,
                        help="scheduling priority change for the benchmark and its children (e.g. -10 on a shared "
                             "machine; negative values need root)")
    parser.add_argument("--skip-survey", action="store_true", help="skip the second (new survey wave) measurement")
    parser.add_argument("--results", type=Path, help="results file (default bench/results.md, with --profile "
                                                     "bench/results_profile.md; bench/out/ when not at full size)")
    args = parser.parse_args(argv)
    global QUIET_WAIT
    QUIET_WAIT = args.wait_quiet
    if args.nice:
        try:
            os.nice(args.nice)  # inherited by every child; negative values need root
        except PermissionError:
            print(f"cannot change the scheduling priority by {args.nice} (not allowed); running at the default")
    sizes = generate.sizes_for(args.scale, args.dossiers, args.placements, args.events)
    full = sizes == (generate.N_DOSSIERS, generate.N_PLACEMENTS, generate.N_EVENTS)
    default_name = "results_profile.md" if args.profile else "results.md"
    results_path = args.results or (BENCH / default_name if full else BENCH / "out" / default_name)

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    project = Path(tempfile.mkdtemp(prefix="sofs_bench_", dir=args.workdir))
    landing, logs = project / "landing", project / "logs"
    logs.mkdir()
    wh = project / "warehouse.duckdb"
    env = {**os.environ, "SOFS_LANDING_DIR": str(landing), "SOFS_WAREHOUSE_PATH": str(wh),
           "DAGSTER_HOME": str(project / "dagster_home"), "SOFS_PSEUDONYM_KEY": BENCH_KEY,
           "GX_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
    env.pop("SOFS_INSTRUMENTS_DIR", None)
    print(f"benchmark project folder: {project}")
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    try:
        # 1. the extract
        gen = measure("generate", [PYTHON, str(BENCH / "generate.py"), "--landing", str(landing),
                                   "--dossiers", str(sizes[0]), "--placements", str(sizes[1]),
                                   "--events", str(sizes[2]), "--seed", str(args.seed)],
                      env, logs / "generate.log", project)
        if gen.exit_code:
            raise RuntimeError(f"generate.py failed: see {gen.log}")
        extract = landing / "dossiers" / generate.EXTRACT_DATE.isoformat()
        csv_mb = sum(p.stat().st_size for p in extract.glob("*.csv")) / 2**20
        # 2. the dbt manifest (one-off, not timed)
        run_quiet([PYTHON, "-c", "from orchestration.cli import ensure_instance, prepare_manifest; "
                                 "ensure_instance(); prepare_manifest()"], env, ROOT)
        # 3. the floor
        floor_db = project / "floor.duckdb"
        floors = []
        for n in range(max(1, args.floor_runs)):
            floor_db.unlink(missing_ok=True)
            floors.append(measure(f"floor (bench/floor.sql) run {n + 1}", [PYTHON, str(BENCH / "run_floor.py"), "--extract",
                                  str(extract), "--db", str(floor_db)], env, logs / f"floor_{n + 1}.log", project))
            if floors[-1].exit_code:
                raise RuntimeError(f"the floor failed: see {floors[-1].log}")
        floor_runs = [m.seconds for m in floors]
        # the fastest run: the floor is the intrinsic cost, and on a shared machine other load only adds time
        floor = min(floors, key=lambda m: m.seconds)
        # 4. the warehouse
        profile_file = logs / "profile_extract.jsonl"
        warehouse_cmd = ([PYTHON, str(BENCH / "profile_run.py"), "run"] if args.profile else [SOFS, "run"])
        wenv = {**env, "SOFS_BENCH_PROFILE": str(profile_file)} if args.profile else env
        whm = measure("warehouse (sofs-warehouse run)", warehouse_cmd, wenv, logs / "warehouse_run.log", ROOT)
        dbt_log_1 = logs / "dbt_build_extract.log"
        shutil.copyfile(project / "dagster_home" / "last_dbt_build.log", dbt_log_1)
        if whm.exit_code:
            raise RuntimeError(f"sofs-warehouse run failed (exit {whm.exit_code}): see {whm.log} and {dbt_log_1}")
        load = check_load(wh, extract.name)
        problems = compare_marts(wh, floor_db)
        print("   marts: warehouse and floor " + ("agree" if not problems else "DIFFER:\n     " + "\n     ".join(problems)))
        wh_mb = wh.stat().st_size / 2**20
        # 6. a new survey wave
        survey = None
        if not args.skip_survey:
            run_quiet([PYTHON, "-c", "import sys; from pathlib import Path; from orchestration import settings; "
                                     "from orchestration.demo.surveys import write_demo_surveys; "
                                     "write_demo_surveys(Path(sys.argv[1]), settings.instruments_dir() / 'staff_survey.yaml')",
                       str(landing)], env, ROOT)
            senv = {**wenv, "SOFS_BENCH_PROFILE": str(logs / "profile_survey.jsonl")} if args.profile else wenv
            survey = measure("new survey wave (sofs-warehouse run)", warehouse_cmd, senv,
                             logs / "survey_run.log", ROOT)
            dbt_log_2 = logs / "dbt_build_survey.log"
            shutil.copyfile(project / "dagster_home" / "last_dbt_build.log", dbt_log_2)
            if survey.exit_code:
                raise RuntimeError(f"the survey-wave run failed (exit {survey.exit_code}): see {survey.log}")
            dossier_only, _other = dossier_only_nodes(ROOT / "dbt_project" / "target" / "manifest.json")
            started, _ = dbt_log_nodes(dbt_log_2)
            rebuilt = sorted(set(started) & dossier_only)
            survey_job = next((ln.split("(", 1)[1].split(")", 1)[0] for ln in survey.log.read_text().splitlines()
                               if ln.startswith("building dbt models")), "?")
            survey_evidence = {"job": survey_job, "nodes": started, "dossier_only": sorted(dossier_only),
                               "rebuilt_dossier_only": rebuilt}
            print(f"   dbt job {survey_job}: {len(started)} nodes, "
                  f"{sum(1 for n in started if '.' in n)} models; dossier-only nodes in it: {rebuilt or 'none'}")
        report = render(sizes, info, csv_mb, gen, floor, floor_runs, whm, load, problems, wh_mb, survey,
                        survey_evidence if survey else None, dbt_log_1, profile_file if args.profile else None)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(report, encoding="utf-8")
        print("\n" + report)
        print(f"written to {results_path}")
        ok = not problems and (survey is None or not survey_evidence["rebuilt_dossier_only"])
        if survey is not None and survey_evidence["rebuilt_dossier_only"]:
            print("FAILED: the survey-wave run rebuilt dossier-only nodes: " + ", ".join(survey_evidence["rebuilt_dossier_only"]))
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {project}")
        else:
            shutil.rmtree(project, ignore_errors=True)


def _dbt_json_log(target_path: str) -> list[tuple[datetime, str]]:
    """(local time, message) of every line of dbt's JSON log in an invocation's target folder."""
    folder = Path(target_path)
    if not folder.is_absolute():
        folder = ROOT / "dbt_project" / folder
    out = []
    log = folder / "dbt.log"
    if not log.exists():
        return out
    for raw in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            info = json.loads(raw)["info"]
        except (ValueError, KeyError):
            continue
        ts = datetime.fromisoformat(info["ts"].replace("Z", "+00:00")).astimezone().replace(tzinfo=None)
        out.append((ts, info.get("msg", "")))
    return out


def breakdown(m: Measurement, rows: list[dict], dbt_log: Path) -> list[tuple[str, float]]:
    """The warehouse run split into phases, in seconds, from the profile rows (``--profile``) and dbt's
    JSON log; the phases add up to the measured wall time. Empty when the profile is incomplete."""
    def row(prefix: str) -> dict | None:
        return next((r for r in rows if r["step"].startswith(prefix)), None)

    def at(r: dict) -> float:  # seconds from the start of the measured process
        return (datetime.fromisoformat(r["started"]) - m.started_at).total_seconds()

    ingest, dbt_job = row("dagster job ingest_"), row("dagster job build_")
    if ingest is None or dbt_job is None or m.started_at is None:
        return []
    parts = {name: (row(prefix) or {}).get("seconds", 0.0) for name, prefix in (
        ("read", "reader: read_dossier_extract"), ("pseudo", "pseudonymise_extract"),
        ("checks", "checks: check_dossier_extract"), ("gx_events", "checks:   gx.validate dossiers-raw.practice_events"),
        ("gx_dossiers", "checks:   gx.validate dossiers-raw.dossiers"), ("insert", "insert: replace_partition"),
        ("commit", "insert: commit"), ("audit", "insert: _write_audit"),
        ("history", "insert: history.load_extract"))}
    phases = [("start-up, sha256 of the landing files, Dagster instance (before the ingest job)", at(ingest)),
              ("ingest: reader `read_dossier_extract` (CSV -> DuckDB -> pandas)", parts["read"]),
              ("ingest: `pseudonymise_extract` (HMAC-SHA256 of every id in DuckDB -> pandas)", parts["pseudo"]),
              (f"ingest: quality gate `check_dossier_extract` (of which GX on practice events {parts['gx_events']:.1f} s, "
               f"on dossiers {parts['gx_dossiers']:.1f} s)", parts["checks"]),
              ("ingest: `replace_partition` or `history.load_extract` (write raw) + commit",
               parts["insert"] + parts["history"] + parts["commit"]),
              ("ingest: rest of the Dagster ingest job (run, previous-extract query, audit rows)",
               ingest["seconds"] - sum(parts[k] for k in ("read", "pseudo", "checks", "insert", "history", "commit"))),
              ("between the jobs", at(dbt_job) - at(ingest) - ingest["seconds"])]
    target = row("dbt target_path")
    events = _dbt_json_log(target["target_path"]) if target else []
    _, node_seconds = dbt_log_nodes(dbt_log)
    models = sum(v for k, v in node_seconds.items() if "." in k)
    tests = sum(v for k, v in node_seconds.items() if "." not in k)
    if events:
        def when(text: str, last: bool = False) -> float:
            hits = [t for t, msg in events if text in msg]
            return ((hits[-1] if last else hits[0]) - m.started_at).total_seconds() if hits else float("nan")
        begin, parsed, first, finished = (when("Running with dbt"), when("Found "), when(" START "),
                                          when("Finished running ", last=True))
        job_end = at(dbt_job) + dbt_job["seconds"]
        phases += [("dbt job: Dagster job start until the dbt process logs its first line", begin - at(dbt_job)),
                   ("dbt: start-up and parse of the project", parsed - begin),
                   ("dbt: before the first node (catalog, schemas)", first - parsed),
                   (f"dbt: {sum(1 for k in node_seconds if '.' in k)} models", models),
                   (f"dbt: {sum(1 for k in node_seconds if '.' not in k)} data tests", tests),
                   ("dbt: between nodes (dbt and dagster-dbt bookkeeping)", finished - first - models - tests),
                   ]
        disclosure = (row("disclosure: protect_after_build") or {}).get("seconds")
        if disclosure is not None:  # the disclosure control (SPEC 6) follows dbt inside the dbt job
            phases += [("dbt job: disclosure control after the build (`protect_after_build`)", disclosure),
                       ("dbt job: rest after dbt's last node until the Dagster job ends (event stream, audit row)",
                        job_end - finished - disclosure)]
        else:
            phases += [("dbt job: after dbt's last node until the Dagster job ends", job_end - finished)]
    else:
        phases += [("dbt job (whole; dbt's JSON log not found)", dbt_job["seconds"])]
    phases.append(("after the dbt job (headline figures, exit)", m.seconds - at(dbt_job) - dbt_job["seconds"]))
    return phases


def _gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB"


def render(sizes, info, csv_mb, gen, floor, floor_runs, whm, load, problems, wh_mb, survey, evidence, dbt_log,
           profile_file) -> str:
    """The results as Markdown."""
    ratio = whm.seconds / floor.seconds
    floor_note = (f" (fastest of {len(floor_runs)} runs: {', '.join(f'{x:.1f}' for x in floor_runs)} s)"
                  if len(floor_runs) > 1 else "")
    lines = [
        "# Benchmark results",
        "",
        f"Run {datetime.now():%Y-%m-%d %H:%M} with `{' '.join(['.venv/bin/python', 'bench/run_bench.py', *(sys.argv[1:])])}`.",
        "",
        f"Machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM, {info['os']}; Python {info['python']}, "
        f"DuckDB {info['duckdb']}, dbt-core {info.get('dbt-core', '?')}, Dagster {info.get('dagster', '?')}; "
        f"code at {info.get('commit', '?')}; benchmark run at scheduling priority (nice) {info['nice']}.",
        "",
        f"Extract: {sizes[0]:,} dossiers, {sizes[1]:,} placements, {sizes[2]:,} practice events "
        f"(one extract, {csv_mb:,.0f} MB of CSV; generated in {gen.seconds:.1f} s). Loaded rows: "
        + ", ".join(f"raw.{t} {n:,}" for t, n in load["rows"].items())
        + f"; quality gate: no error" + (f", warnings: {'; '.join(load['warnings'])}" if load["warnings"] else ", no warning")
        + ".",
        "",
        "| | wall time | CPU (user+sys) | peak memory (process tree) | largest process |",
        "|---|---:|---:|---:|---:|",
        f"| floor: `bench/floor.sql` in DuckDB over the CSV files{floor_note} | {floor.seconds:.1f} s | {floor.cpu_seconds:.1f} s "
        f"| {_gb(floor.tree_peak_mb)} | {_gb(floor.maxrss_mb)} |",
        f"| warehouse: `sofs-warehouse run` (ingest + checks + pseudonymisation + dbt build, tests included) "
        f"| {whm.seconds:.1f} s | {whm.cpu_seconds:.1f} s | {_gb(whm.tree_peak_mb)} | {_gb(whm.maxrss_mb)} |",
        f"| **ratio warehouse / floor** | **{ratio:.1f}x** | {whm.cpu_seconds / max(floor.cpu_seconds, 1e-9):.1f}x "
        f"| {whm.peak_mb / floor.peak_mb:.1f}x | |",
    ]
    if survey is not None:
        lines.append(f"| new survey wave afterwards: `sofs-warehouse run` | {survey.seconds:.1f} s | {survey.cpu_seconds:.1f} s | "
                     f"{_gb(survey.tree_peak_mb)} | {_gb(survey.maxrss_mb)} |")
    measured = [m for m in (floor, whm, survey) if m is not None]
    foreign = ", ".join(f"{m.foreign_cpu_seconds:.1f} CPU-s during the {m.seconds:.1f} s of the {label}"
                        for m, label in zip(measured, ("floor run reported", "warehouse run", "survey-wave run")))
    lines += ["", f"Other processes on the machine used {foreign}; {info['nproc']} cores give "
              f"{info['nproc']} CPU-s per second, so figures well above 0 mean the timings are inflated by other load."]
    verdict_time = "met" if ratio <= TARGET_RATIO else "MISSED"
    verdict_mem = "met" if whm.peak_mb <= TARGET_PEAK_GB * 1024 else "MISSED"
    lines += [
        "",
        f"Targets: warehouse within {TARGET_RATIO:g}x the floor: **{verdict_time}** ({ratio:.2f}x); "
        f"peak under {TARGET_PEAK_GB:g} GB: **{verdict_mem}** ({_gb(whm.peak_mb)}).",
        "",
        f"Warehouse file after the load: {wh_mb:,.0f} MB. Floor and warehouse marts: "
        + ("identical figures (`outcome_*` row by row, `fct_dossier` by column sums)." if not problems
           else "DIFFERENCES: " + "; ".join(problems[:10])),
        "",
        "Peak RSS per process (MB): " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(whm.peak_by_process.items(),
                                                                                      key=lambda kv: -kv[1])[:4]) + ".",
    ]
    # where the warehouse's time goes
    run_lines = whm.log.read_text(encoding="utf-8", errors="replace").splitlines()
    steps = [ln.strip() for ln in run_lines if re.match(r"\s+(loaded|quarantined|done|FAILED)", ln)]
    lines += ["", "## Where the warehouse time goes", "", "From the CLI's own output:", ""]
    lines += [f"    {s}" for s in steps]
    if profile_file is not None and profile_file.exists():
        rows = [json.loads(x) for x in profile_file.read_text().splitlines() if x.strip()]
        phases = breakdown(whm, rows, dbt_log)
        if phases:
            lines += ["", f"Phases of the {whm.seconds:.1f} s (`--profile`: timestamps from bench/profile_run.py and "
                      "dbt's JSON log):", "", "| phase | s | share |", "|---|---:|---:|"]
            lines += [f"| {label} | {sec:.1f} | {100 * sec / whm.seconds:.0f} % |" for label, sec in phases]
        lines += ["", "Every timed call (seconds; memory of the CLI process after the call and its peak so far):", "",
                  "| step | s | RSS after | peak so far |", "|---|---:|---:|---:|"]
        for row in rows:
            if row["step"] != "dbt target_path":
                lines.append(f"| {row['step']} | {row['seconds']:.2f} | {row['rss_mb']:,} MB | {row['peak_mb']:,} MB |")
    _, seconds = dbt_log_nodes(dbt_log)
    if seconds:
        top = sorted(seconds.items(), key=lambda kv: -kv[1])[:12]
        lines += ["", f"dbt nodes (from the dbt log; {len(seconds)} nodes, {sum(seconds.values()):.1f} s in total), slowest:",
                  "", "| node | s |", "|---|---:|"]
        lines += [f"| {n} | {s:.2f} |" for n, s in top]
    if survey is not None and evidence is not None:
        models = [n for n in evidence["nodes"] if "." in n]
        lines += [
            "", "## A new survey wave does not rebuild the dossier marts", "",
            f"After the load, the demo staff-survey waves were dropped into the landing zone and `sofs-warehouse run` "
            f"ran again ({survey.seconds:.1f} s). It ran the Dagster job `{evidence['job']}`; its dbt log "
            f"(`$DAGSTER_HOME/last_dbt_build.log`) started {len(evidence['nodes'])} nodes, {len(models)} of them models:",
            "", "    " + ", ".join(models), "",
            f"Nodes whose every upstream source is a dossier source (from the dbt manifest: "
            f"{len(evidence['dossier_only'])} models and tests, e.g. marts.fct_dossier, marts.outcome_time_to_closure): "
            + ("**none of them ran** (asserted by run_bench.py)." if not evidence["rebuilt_dossier_only"]
               else "**REBUILT: " + ", ".join(evidence["rebuilt_dossier_only"]) + "**"),
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
