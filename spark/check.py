"""``make test-spark``: build the demo warehouse on DuckDB, build the same dbt models and tests on a local
Spark session, and compare the tables (SPEC 7).

Steps (each prints a line; the full logs stay in the work folder):

1. the demo warehouse on DuckDB: ``sofs-warehouse demo`` into the work folder (landing zone, warehouse and
   Dagster home of its own; the project's ``data/`` is not touched), or ``--warehouse FILE`` to reuse one;
2. ``sofs-warehouse export-raw --format parquet --out WORK/raw`` (every raw source table as parquet);
3. a DuckDB reference of the ``reporting`` models' own SQL output: the warehouse is copied and
   ``dbt run --select reporting`` rebuilds them on the copy. The warehouse's ``reporting`` tables are not
   comparable: after every build the disclosure-control step (``orchestration/disclosure``, SPEC 6), which
   runs in Python on the DuckDB side only, withholds more cells;
4. ``dbt build`` (every model and test) on Spark with the ``spark`` target of ``dbt_project/profiles.yml``
   (local[2], in-memory catalog, tables as parquet under WORK/spark-warehouse), run by the dbt of the
   Spark virtualenv (``--dbt``, default ``.venv-spark/bin/dbt``), Spark logging at WARN (``spark/conf``);
5. every table of ``marts`` and ``intermediate`` (from the warehouse) and ``reporting`` (from the
   reference) compared with Spark's (:mod:`compare`: exact for integers, strings, booleans, dates and
   timestamps, floats within ``--tolerance``, same rows).

Ends with one line, e.g. ``spark: 40 models, 287 tests passed; 13 marts, 11 intermediate and 6 reporting
tables equal to DuckDB's (max float difference 2e-15) in 7 min 12 s``. Exit code 0 when the build passed
and every table is equal, 1 otherwise (the first differing rows are printed), 2 for a usage error.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import TableComparison, compare_table, spark_table_relation, spark_tables  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
BIN = Path(sys.executable).parent
SCHEMA_PREFIX = "sofs_check"
COMPARED = ("marts", "intermediate", "reporting")


def say(message: str) -> None:
    print(message, flush=True)


def elapsed(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def run_logged(cmd: list[str], log: Path, env: dict, cwd: Path = ROOT) -> int:
    """Run ``cmd`` with its output (stdout and stderr) in ``log``; return the exit code."""
    with open(log, "w", encoding="utf-8") as fh:
        return subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd).returncode


def tail(path: Path, n: int = 40) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-n:])


def base_env(work: Path) -> dict:
    env = dict(os.environ)
    env.update(SOFS_LANDING_DIR=str(work / "landing"), SOFS_WAREHOUSE_PATH=str(work / "warehouse.duckdb"),
               DAGSTER_HOME=str(work / "dagster_home"), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               GX_ANALYTICS_ENABLED="false")
    env.pop("SOFS_DBT_TARGET", None)  # the DuckDB steps use the default target
    return env


def build_demo(work: Path, env: dict) -> Path:
    """Step 1: ``sofs-warehouse demo`` into ``work``; returns the warehouse file."""
    (work / "landing").mkdir(parents=True, exist_ok=True)
    (work / "dagster_home").mkdir(parents=True, exist_ok=True)
    log = work / "demo.log"
    t0 = time.monotonic()
    say(f"[1/5] demo warehouse on DuckDB (sofs-warehouse demo; log {log}) ...")
    code = run_logged([str(BIN / "sofs-warehouse"), "demo"], log, env)
    if code != 0:
        say(tail(log))
        raise SystemExit(f"spark: the demo build on DuckDB failed (exit {code}); see {log}")
    say(f"      done in {elapsed(time.monotonic() - t0)}")
    return work / "warehouse.duckdb"


def export_raw(work: Path, env: dict, warehouse: Path) -> Path:
    """Step 2: ``sofs-warehouse export-raw``; returns the raw folder."""
    out = work / "raw"
    log = work / "export_raw.log"
    say(f"[2/5] sofs-warehouse export-raw --format parquet --out {out} ...")
    code = run_logged([str(BIN / "sofs-warehouse"), "export-raw", "--format", "parquet", "--out", str(out)], log,
                      dict(env, SOFS_WAREHOUSE_PATH=str(warehouse)))
    say("\n".join("      " + ln for ln in log.read_text().splitlines()[1:]))
    if code != 0:
        raise SystemExit(f"spark: export-raw failed (exit {code})")
    return out


def reporting_reference(work: Path, env: dict, warehouse: Path) -> Path:
    """Step 3: a copy of the warehouse with the reporting models rebuilt by dbt alone (no disclosure step)."""
    ref = work / "reference.duckdb"
    log = work / "dbt_duckdb_reporting.log"
    say(f"[3/5] DuckDB reference of the reporting models' SQL output (dbt run --select reporting on a copy) ...")
    shutil.copyfile(warehouse, ref)
    wal = Path(str(warehouse) + ".wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(ref) + ".wal"))
    code = run_logged([str(BIN / "dbt"), "run", "--select", "reporting", "--project-dir", str(DBT_DIR),
                       "--profiles-dir", str(DBT_DIR), "--target-path", str(work / "target_duckdb"),
                       "--log-path", str(work / "logs_duckdb")], log,
                      dict(env, SOFS_WAREHOUSE_PATH=str(ref)), cwd=DBT_DIR)
    if code != 0:
        say(tail(log))
        raise SystemExit(f"spark: dbt run of the reporting models on the DuckDB copy failed (exit {code})")
    return ref


class _Progress:
    """Print dbt's progress on Spark at most every ``every`` seconds, failures at once."""

    def __init__(self, every: float = 15.0):
        self.every, self.last_print, self.latest = every, time.monotonic(), None
        self.started = time.monotonic()

    def line(self, text: str) -> None:
        import re

        plain = re.sub(r"\x1b\[[0-9;]*m", "", text).rstrip()
        m = re.search(r"\b(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP)\b(.*)", plain)
        if m and not m.group(4).lstrip().startswith("hook:"):
            self.latest = f"{m.group(1)} of {m.group(2)} models and tests done"
            if m.group(3) in ("ERROR", "FAIL"):
                say("      " + plain.split("  ", 1)[-1].strip())
        elif re.search(r"\b(Database Error|Compilation Error|Runtime Error)\b", plain):
            say("      " + plain.strip())
        now = time.monotonic()
        if self.latest and now - self.last_print >= self.every:
            say(f"      dbt on spark: {self.latest} ({elapsed(now - self.started)})")
            self.last_print = now


def spark_build(work: Path, env: dict, dbt: Path, raw: Path, warehouse_dir: Path) -> dict:
    """Step 4: ``dbt build`` on a local Spark session; returns run_results.json."""
    log = work / "dbt_spark.log"
    target = work / "target_spark"
    spark_env = dict(env, SOFS_DBT_TARGET="spark", SOFS_SPARK_RAW_DIR=str(raw),
                     SOFS_SPARK_WAREHOUSE_DIR=str(warehouse_dir), SOFS_SPARK_SCHEMA_PREFIX=SCHEMA_PREFIX,
                     SPARK_CONF_DIR=str(ROOT / "spark" / "conf"), SPARK_LOCAL_IP="127.0.0.1",
                     PYSPARK_PYTHON=str(dbt.parent / "python"))
    spark_env.pop("SPARK_HOME", None)  # the pyspark of the Spark virtualenv, not another installation
    say(f"[4/5] dbt build on Spark (local session; dbt log {log}) ...")
    t0 = time.monotonic()
    progress = _Progress()
    cmd = [str(dbt), "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
           "--target-path", str(target), "--log-path", str(work / "logs_spark")]
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=spark_env,
                                cwd=DBT_DIR, errors="replace")

        def pump_stderr() -> None:  # Spark's log4j output (WARN and above): shown as it comes
            for ln in proc.stderr:
                fh.write(ln)
                if ln.strip():
                    sys.stderr.write("      spark: " + ln)
                    sys.stderr.flush()

        t = threading.Thread(target=pump_stderr, daemon=True)
        t.start()
        for ln in proc.stdout:
            fh.write(ln)
            progress.line(ln)
        code = proc.wait()
        t.join(timeout=10)
    results_path = target / "run_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"results": []}
    say(f"      dbt exit code {code} in {elapsed(time.monotonic() - t0)}")
    if code != 0:
        say(tail(log, 60))
    results["_exit_code"] = code
    return results


def count_results(results: dict) -> tuple[int, int, int, list[str]]:
    """(models built, tests passed, tests warned, [failures as 'status unique_id'])."""
    models = tests = warned = 0
    failures = []
    for r in results.get("results", []):
        uid, status = r.get("unique_id", ""), r.get("status")
        if uid.startswith("model."):
            if status == "success":
                models += 1
            else:
                failures.append(f"{status} {uid}")
        elif uid.startswith("test."):
            if status == "pass":
                tests += 1
            elif status == "warn":
                warned += 1
            else:
                failures.append(f"{status} {uid}")
        elif status not in ("success", "pass"):
            failures.append(f"{status} {uid}")
    return models, tests, warned, failures


def duckdb_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' "
        "order by table_name", [schema]).fetchall()]


def compare_all(warehouse: Path, reference: Path, spark_dir: Path, tolerance: float) -> list[TableComparison]:
    """Step 5: every table of marts and intermediate (warehouse) and reporting (reference) against Spark's."""
    say(f"[5/5] comparing marts, intermediate and reporting with DuckDB's (floats within {tolerance:g}) ...")
    out: list[TableComparison] = []
    mem = duckdb.connect()
    for schema in COMPARED:
        source = reference if schema == "reporting" else warehouse
        with duckdb.connect(str(source), read_only=True) as con:
            names = duckdb_tables(con, schema)
            database = f"{SCHEMA_PREFIX}_{schema}"
            for extra in sorted(set(spark_tables(spark_dir, database)) - set(names)):
                out.append(TableComparison(f"{schema}.{extra}", False, 0, 0.0, [f"no table {schema}.{extra} in duckdb"]))
                say(f"      {schema}.{extra}: only on Spark")
            for name in names:
                res = compare_table(f"{schema}.{name}", con, f'{schema}."{name}"', mem,
                                    spark_table_relation(spark_dir, database, name), tolerance)
                out.append(res)
                verdict = "equal" if res.equal else "DIFFERENT"
                say(f"      {res.name}: {res.n_rows} rows {verdict}"
                    + (f" (max float difference {res.max_float_diff:.1g})" if res.max_float_diff else ""))
                for m in res.messages:
                    say("        " + m)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dbt", default=str(ROOT / ".venv-spark" / "bin" / "dbt"),
                        help="dbt of the virtualenv with dbt-spark[session] and pyspark (default .venv-spark/bin/dbt)")
    parser.add_argument("--work", help="work folder (default: a new temporary folder, removed on success)")
    parser.add_argument("--warehouse", help="use this DuckDB demo warehouse instead of building one")
    parser.add_argument("--tolerance", type=float, default=1e-9, help="float tolerance, absolute or relative")
    args = parser.parse_args(argv)
    started = time.monotonic()
    dbt = Path(os.path.abspath(args.dbt))  # absolute, not resolved: a virtualenv's python is a symlink
    if not dbt.exists():
        say(f"error: no dbt at {dbt}: `make test-spark` installs .venv-spark first")
        return 2
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        say("error: no java on PATH (Spark needs a JRE 17): apt-get install -y openjdk-17-jre-headless")
        return 2
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="sofs-spark-check-"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"spark check: work folder {work}")
    env = base_env(work)
    warehouse = Path(args.warehouse).resolve() if args.warehouse else build_demo(work, env)
    if not warehouse.exists():
        say(f"error: no warehouse at {warehouse}")
        return 2
    raw = export_raw(work, env, warehouse)
    reference = reporting_reference(work, env, warehouse)
    spark_dir = work / "spark-warehouse"
    shutil.rmtree(spark_dir, ignore_errors=True)
    results = spark_build(work, env, dbt, raw, spark_dir)
    models, tests, warned, failures = count_results(results)
    ok = results["_exit_code"] == 0 and not failures
    comparisons = compare_all(warehouse, reference, spark_dir, args.tolerance) if ok else []
    different = [c for c in comparisons if not c.equal]
    max_diff = max((c.max_float_diff for c in comparisons), default=0.0)
    took = elapsed(time.monotonic() - started)
    if not ok:
        say("spark: dbt build on Spark failed: " + ("; ".join(failures[:10]) or f"exit {results['_exit_code']}")
            + f" ({models} models built, {tests} tests passed; in {took}; work folder {work})")
        return 1
    per_schema = {s: sum(1 for c in comparisons if c.name.startswith(s + ".") and c.equal) for s in COMPARED}
    built = f"spark: {models} models, {tests} tests passed" + (f" ({warned} warned)" if warned else "")
    if different:
        say(f"{built}; {len(different)} of {len(comparisons)} tables DIFFER from DuckDB's: "
            + ", ".join(c.name for c in different) + f" (in {took}; work folder {work})")
        return 1
    say(f"{built}; {per_schema['marts']} marts, {per_schema['intermediate']} intermediate and "
        f"{per_schema['reporting']} reporting tables equal to DuckDB's (max float difference {max_diff:.0e}) "
        f"in {took}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
