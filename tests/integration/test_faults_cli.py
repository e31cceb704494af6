"""Faults through the real command line (SPEC 4, 8): `kill -9` of `sofs-warehouse run` during a
load and during the dbt build, a run waiting for the pool slot, failures inside the ingest step, a
damaged warehouse, backups, and a researcher's read-only connection during `run --wait`.

Every case runs `.venv/bin/sofs-warehouse` in a subprocess against a temporary landing zone, warehouse
and Dagster home. Expected values are counted here from the files the test writes.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyreadstat
import pytest

from tests.conftest import ROOT
from tests.helpers import CLI, HEADER, MINI_INSTRUMENT, cli_env, run_cli, write_export

# real `sofs-warehouse` processes killed, starved and waited for: minutes; `make test-cli` (README)
pytestmark = pytest.mark.cli_processes

PY = sys.executable
ROWS = [["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokA", "A4", "A2", "7", "1", "", "301"],
        ["2", "2021-05-04 10:11:12", "3", "nl", "1", "tokB", "A5", "A1", "9", "2", "", "40"]]


def make_env(root: Path) -> dict[str, str]:
    """Landing zone, warehouse, Dagster home (with the project's dagster.yaml) and key under ``root``."""
    env = cli_env(root)
    shutil.copyfile(ROOT / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    (root / "instruments" / "mini_survey.yaml").write_text(MINI_INSTRUMENT, encoding="utf-8")
    env.pop("SOFS_DISK_RESERVE_MB", None)
    return env


def scalar(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def csv_rows(path: Path) -> int:
    """Data rows of a generated CSV (one line per record, header first): counted here, not by the code."""
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def start_run(env, *args) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([CLI, "run", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    return proc, []


def read_until(proc: subprocess.Popen, lines: list[str], marker: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            return
        assert time.monotonic() < deadline, f"no {marker!r} within {timeout} s:\n{''.join(lines)}"
    raise AssertionError(f"run ended before {marker!r}:\n{''.join(lines)}")


# ------------------------------------------------------------------------ kill -9 of `run`

@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A dossier extract of 30,000 dossiers, 4,500 placements and 150,000 events (bench generator)."""
    root = tmp_path_factory.mktemp("killed")
    env = make_env(root)
    subprocess.run([PY, "bench/generate.py", "--landing", str(root / "landing"), "--dossiers", "30000",
                    "--placements", "4500", "--events", "150000", "--extract-date", "2025-12-31"],
                   cwd=ROOT, check=True, capture_output=True)
    return root, env


def test_kill_9_during_load_and_during_dbt_then_run_completes(big):
    root, env = big
    db = root / "warehouse.duckdb"
    extract = root / "landing" / "dossiers" / "2025-12-31"
    expected = {t: csv_rows(extract / f"{t}.csv") for t in ("dossiers", "placements", "practice_events")}
    assert expected == {"dossiers": 30000, "placements": 4500, "practice_events": 150000}

    # 1. kill -9 while the extract loads
    proc, out = start_run(env)
    read_until(proc, out, "[1/1] dossier 2025-12-31")
    # reading and checking 30,000 dossiers takes about 6 s: 2 s in, the kill lands inside the load, after the run
    # has taken its pool slot (0.5 s was sometimes before the Dagster step started)
    time.sleep(2.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not any("loaded:" in ln for ln in out), "".join(out)  # it died inside the load step

    t0 = time.monotonic()
    again = run_cli(env, "run", timeout=400)
    took = time.monotonic() - t0
    assert again.returncode == 0, again.stdout + again.stderr
    assert "ended without finishing (its process is gone)" in again.stdout and "slot freed" in again.stdout
    assert "loaded 1, quarantined 0" in again.stdout
    assert took < 300, took
    history_table = {"dossiers": "dossier_versions", "placements": "dossier_placement_versions",
                     "practice_events": "dossier_event_versions"}
    for table, n in expected.items():  # one extract: one version per row
        assert scalar(db, f"select count(*) from raw.{history_table[table]}") == n, table
    assert scalar(db, "select count(*) from audit.loads where status = 'loaded'") == 3  # one row per file, once

    # 2. a second extract arrives; kill -9 of the run while dbt builds: its dbt child lives on and holds
    #    the file, so the next run stops that orphan, frees the dead run's slot and rebuilds the marts
    second = root / "landing" / "dossiers" / "2026-01-31"
    shutil.copytree(extract, second)
    proc, out = start_run(env)
    read_until(proc, out, "building dbt models")
    read_until(proc, out, "dbt: ")     # dbt's first progress line: the dbt step runs and holds its pool slot
    os.kill(proc.pid, signal.SIGKILL)  # only the run process
    proc.wait()
    assert any("loaded: 30000 rows" in ln for ln in out), "".join(out)
    assert not any("PASS=" in ln for ln in out), "".join(out)   # killed before dbt's summary line

    t0 = time.monotonic()
    again = run_cli(env, "run", timeout=400)
    took = time.monotonic() - t0
    assert again.returncode == 0, again.stdout + again.stderr
    assert "slot freed" in again.stdout
    assert "rebuilding every model" in again.stdout
    assert took < 300, took
    for table, n in expected.items():  # the same content again: both extracts recorded, no new version
        assert scalar(db, f"select count(*) from raw.{history_table[table]}") == n, table
        assert scalar(db, f"select count(*) from raw.dossier_extracts where n_{table} = {n}") == 2
    assert scalar(db, "select count(*) from marts.fct_dossier") == 30000  # the latest snapshot, once


# ------------------------------------------------------------ failures inside the ingest step

def write_sav_with_year_201416(path: Path) -> None:
    """A .sav whose second case has a submit date in year ~201416 (seconds since 1582-10-14)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    seconds_2021 = (pd.Timestamp("2021-05-03 10:11:12") - pd.Timestamp("1582-10-14")).total_seconds()
    seconds_201416 = (201416 - 1582) * 365.2425 * 86400
    df = pd.DataFrame({"id": [1.0, 2.0], "submitdate": [seconds_2021, seconds_201416], "token": ["tokA", "tokB"],
                       "L2_SQ001": ["A4", "A5"], "L2_SQ002": ["A2", "A1"]})
    pyreadstat.write_sav(df, str(path), variable_format={"submitdate": "DATETIME20"})


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """Wave w1: a CR-only CSV ("CSV Macintosh"); wave w2: an SPSS file with a date in year 201416;
    wave w3: a good CSV. One run over all three."""
    root = tmp_path_factory.mktemp("badfiles")
    env = make_env(root)
    waves = root / "landing" / "surveys" / "mini_survey"
    good = write_export(waves / "w3" / "responses.csv", [HEADER, *ROWS])
    text = good.read_bytes().replace(b"\r\n", b"\r")
    (waves / "w1").mkdir()
    (waves / "w1" / "responses.csv").write_bytes(text)
    write_sav_with_year_201416(waves / "w2" / "responses.sav")
    out = run_cli(env, "run")
    return root, env, out


def test_cr_only_and_spss_date_overflow_are_quarantined_with_a_rule(bad_files):
    root, env, out = bad_files
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "DagsterExecutionStepExecutionError" not in text and "Traceback" not in text
    assert "loaded 1, quarantined 2" in out.stdout, out.stdout
    assert "S_LINE_ENDINGS" in out.stdout and "CSV UTF-8" in out.stdout
    assert "S_DATE_RANGE" in out.stdout and "submitdate" in out.stdout
    db = root / "warehouse.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        loads = dict(con.execute("select source_file, status from audit.loads "
                                 "where source_file not like '%(instrument %'").fetchall())
        checks = con.execute("""select source_file, "check", columns, sample_lines from audit.check_results
                                where not passed order by 1""").fetchall()
    finally:
        con.close()
    assert loads == {"surveys/mini_survey/w1/responses.csv": "quarantined",
                     "surveys/mini_survey/w2/responses.sav": "quarantined",
                     "surveys/mini_survey/w3/responses.csv": "loaded"}
    assert checks == [("surveys/mini_survey/w1/responses.csv", "S_LINE_ENDINGS", "", "1"),
                      ("surveys/mini_survey/w2/responses.sav", "S_DATE_RANGE", "submitdate", "3")]
    status = run_cli(env, "status")
    assert "quarantined" in status.stdout and "rule S_DATE_RANGE" in status.stdout
    assert "rule S_LINE_ENDINGS" in status.stdout and "pending" not in status.stdout


def test_wrong_key_exits_2_before_any_work_also_when_nothing_is_new(bad_files):
    root, env, _ = bad_files
    db = root / "warehouse.duckdb"
    before = scalar(db, "select count(*) from audit.loads")
    out = run_cli(dict(env, SOFS_PSEUDONYM_KEY="another-key-0123456789-0123456789-0123"), "run")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "SOFS_PSEUDONYM_KEY differs from the key this warehouse was built with" in out.stdout
    assert "landing zone" not in out.stdout  # stopped before looking for work
    assert "Traceback" not in out.stdout + out.stderr
    assert scalar(db, "select count(*) from audit.loads") == before


def test_broken_team_label_list_exits_2_before_any_work(bad_files, tmp_path):
    root, env, _ = bad_files
    db = root / "warehouse.duckdb"
    before = scalar(db, "select count(*) from audit.loads")
    teams = tmp_path / "teams.yaml"
    teams.write_text("teams: [just, a, list]\n", encoding="utf-8")
    out = run_cli(dict(env, SOFS_TEAMS_FILE=str(teams)), "run")
    assert out.returncode == 2, out.stdout + out.stderr
    assert str(teams) in out.stdout and "teams: {team value in the extract: published label}" in out.stdout
    assert "landing zone" not in out.stdout and "Traceback" not in out.stdout + out.stderr
    assert scalar(db, "select count(*) from audit.loads") == before


def test_too_little_free_disk_space_is_refused_before_the_load(bad_files):
    root, env, _ = bad_files
    db = root / "warehouse.duckdb"
    write_export(root / "landing" / "surveys" / "mini_survey" / "w4" / "responses.csv", [HEADER, *ROWS])
    before = scalar(db, "select count(*) from audit.loads")
    out = run_cli(dict(env, SOFS_DISK_RESERVE_MB="100000000"), "run")  # a reserve of 100 TB: no disk has it
    assert out.returncode == 2, out.stdout + out.stderr
    assert "not enough free disk space for this load" in out.stdout and str(db) in out.stdout
    assert "SOFS_DISK_RESERVE_MB" in out.stdout and "Traceback" not in out.stdout + out.stderr
    assert scalar(db, "select count(*) from audit.loads") == before
    ok = run_cli(env, "run")
    assert ok.returncode == 0 and "loaded 1, quarantined 0, unchanged 3" in ok.stdout, ok.stdout


# ------------------------------------------------------- damaged warehouse, backup and restore

def unreadable_table(db: Path) -> str | None:
    """The first table plain DuckDB cannot read in full (``""`` when the file does not open), else None:
    the test's own check, independent of the code under test."""
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return ""
    try:
        for schema, table in con.execute("select table_schema, table_name from information_schema.tables "
                                         "where table_type = 'BASE TABLE'").fetchall():
            try:
                con.execute(f'select * from "{schema}"."{table}"').fetchall()
            except duckdb.Error:
                return f"{schema}.{table}"
        return None
    finally:
        con.close()


def readable(db: Path) -> bool:
    return unreadable_table(db) is None


@pytest.fixture(scope="module")
def loaded(bad_files, tmp_path_factory):
    """A copy of the loaded warehouse of ``bad_files`` in a fresh project folder (same landing zone)."""
    src_root, src_env, _ = bad_files
    root = tmp_path_factory.mktemp("damaged")
    env = make_env(root)
    shutil.rmtree(root / "landing")
    shutil.copytree(src_root / "landing", root / "landing")
    shutil.copyfile(src_root / "warehouse.duckdb", root / "warehouse.duckdb")
    assert readable(root / "warehouse.duckdb")
    return root, env


def test_backup_writes_a_verified_copy_and_a_damaged_file_is_named_then_restored(loaded):
    root, env = loaded
    db = root / "warehouse.duckdb"
    out = run_cli(env, "backup", "--out", str(root / "backups"))
    assert out.returncode == 0, out.stdout + out.stderr
    copies = list((root / "backups").glob("*.duckdb"))
    assert len(copies) == 1 and "every table read back" in out.stdout and str(copies[0]) in out.stdout
    assert readable(copies[0])
    in_backup = scalar(copies[0], "select count(*) from raw.survey_responses")
    assert in_backup == scalar(db, "select count(*) from raw.survey_responses") and in_backup >= 2
    assert run_cli(env, "backup", "--out", str(copies[0])).returncode == 2  # never overwrites a backup

    good = db.read_bytes()
    size = len(good)
    block = 256 * 1024
    # a zeroed block that still lets DuckDB open the file: found by the test's own reader
    zeroed = damaged_table = None
    for start in range(size - block, 0, -block):
        db.write_bytes(good[:start] + b"\0" * block + good[start + block:])
        damaged_table = unreadable_table(db)
        if damaged_table:  # the file opens, a table does not read
            zeroed = good[:start] + b"\0" * block + good[start + block:]
            break
    assert zeroed is not None, "no data block found to zero"
    damages = {"truncated": (good[: size // 2], "raw.survey_responses"),
               "random bytes": (os.urandom(size), "raw.survey_responses"), "zeroed block": (zeroed, damaged_table)}
    for what, (data, table) in damages.items():
        db.write_bytes(data)
        for args in (["status"], ["query", f"select * from {table}"], ["run"]):
            res = run_cli(env, *args)
            text = res.stdout + res.stderr
            assert res.returncode == 2, f"{what}, {args}: {text}"
            assert f"the warehouse file {db} is damaged" in res.stdout, f"{what}, {args}: {text}"
            assert "backup" in res.stdout and "Traceback" not in text, f"{what}, {args}: {text}"
            assert "disk full" not in res.stdout.lower(), f"{what}, {args}: {text}"

    # restore as README says: the backup in place of the damaged file, then `run`
    shutil.move(db, root / "warehouse.damaged")
    shutil.copyfile(copies[0], db)
    res = run_cli(env, "run")
    assert res.returncode == 0, res.stdout + res.stderr
    good_waves = [w for w in (root / "landing" / "surveys" / "mini_survey").iterdir() if w.name not in ("w1", "w2")]
    assert scalar(db, "select count(*) from raw.survey_responses") == len(ROWS) * len(good_waves)


# ------------------------------------------------------------- readers and the pool slot

READER = textwrap.dedent("""
    import duckdb, sys
    con = duckdb.connect(sys.argv[1], read_only=True)
    print("reading", flush=True)
    sys.stdin.readline()
    con.close()
""")


def test_a_reader_is_named_and_waited_for_with_wait(loaded):
    root, env = loaded
    db = root / "warehouse.duckdb"
    reader = subprocess.Popen([PY, "-c", READER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "reading"
        busy = run_cli(env, "run")
        assert busy.returncode == 2, busy.stdout + busy.stderr
        assert "a reader holds the warehouse open" in busy.stdout and f"process {reader.pid}" in busy.stdout
        assert "release" in busy.stdout  # points researchers at a release or a backup copy
        t0 = time.monotonic()
        waiter = subprocess.Popen([CLI, "run", "--wait", "60"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        read_until(waiter, lines, "waiting: a reader holds the warehouse open", timeout=120)
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    rest, _ = waiter.communicate(timeout=300)
    assert waiter.returncode == 0, "".join(lines) + rest
    assert "0 partition(s) with new or changed files" in rest
    assert time.monotonic() - t0 < 60


HOLDER_JOB = textwrap.dedent("""
    import sys
    import dagster as dg

    @dg.op(pool="duckdb")
    def hold_the_slot():
        print("holding", flush=True)
        sys.stdin.readline()

    @dg.job
    def slot_holder():
        hold_the_slot()

    slot_holder.execute_in_process(instance=dg.DagsterInstance.get())
""")


def test_a_run_waiting_for_the_pool_slot_reports_stops_on_sigterm_and_recovers_a_killed_holder(tmp_path):
    env = make_env(tmp_path)
    write_export(tmp_path / "landing" / "surveys" / "mini_survey" / "w1" / "responses.csv", [HEADER, *ROWS])
    holder = subprocess.Popen([PY, "-c", HOLDER_JOB], env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        # --wait 5: the slot stays taken, so the run stops with exit 2 and names the holder
        res = run_cli(env, "run", "--wait", "5", timeout=300)
        assert res.returncode == 2, res.stdout + res.stderr
        assert "waiting for the 'duckdb' pool slot held by run" in res.stdout and "slot_holder" in res.stdout
        assert f"pid {holder.pid}" in res.stdout and "warehouse busy" in res.stdout
        # SIGTERM while waiting: stops within seconds
        waiter = subprocess.Popen([CLI, "run", "--wait", "300"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        read_until(waiter, lines, "waiting for the 'duckdb' pool slot", timeout=200)
        t0 = time.monotonic()
        waiter.send_signal(signal.SIGTERM)
        rest, _ = waiter.communicate(timeout=30)
        assert waiter.returncode == 130 and time.monotonic() - t0 < 15, "".join(lines) + rest
        assert "interrupted while waiting" in rest
        # the holder is killed while a run waits: the run marks it failed, frees its slot and loads
        waiter = subprocess.Popen([CLI, "run", "--wait", "300"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        lines = []
        read_until(waiter, lines, "waiting for the 'duckdb' pool slot", timeout=200)
    finally:
        holder.kill()
        holder.wait()
    rest, _ = waiter.communicate(timeout=400)
    assert waiter.returncode == 0, "".join(lines) + rest
    assert "(slot_holder" in rest and "ended without finishing (its process is gone)" in rest, rest
    assert "loaded 1, quarantined 0" in rest
    assert scalar(tmp_path / "warehouse.duckdb", "select count(*) from raw.survey_responses") == 2


def test_disk_filling_up_during_the_load_is_reported_with_file_and_fix(bad_files):
    import resource

    root, env, _ = bad_files
    db = root / "warehouse.duckdb"
    # 20,000 responses with a 1,000-character open answer each: far more than the 64 KB the file may grow
    big = [["%d" % i, "2021-05-03 10:11:12", "3", "nl", "1", "tok%d" % i, "A4", "A2", "7", "1",
            f"{i:06d}" + "x" * 994, "1"] for i in range(1, 20001)]
    write_export(root / "landing" / "surveys" / "mini_survey" / "w5" / "responses.csv", [HEADER, *big])
    before = scalar(db, "select count(*) from raw.survey_responses")
    limit = db.stat().st_size + 64 * 1024

    def small_disk():  # the warehouse file cannot grow past its size + 64 KB: writes fail like on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    res = subprocess.run([CLI, "run"], env=dict(env, SOFS_DISK_RESERVE_MB="0"), cwd=ROOT, capture_output=True,
                         text=True, timeout=600, preexec_fn=small_disk)
    text = res.stdout + res.stderr
    assert res.returncode == 1, text
    assert "disk full while loading survey partition mini_survey/w5" in res.stdout, text
    assert "Free space on the file system" in res.stdout and "DagsterExecutionStepExecutionError" not in text
    # all of the partition or none of it, never a part: raw rows and their audit row commit together
    after = scalar(db, "select count(*) from raw.survey_responses")
    w5_loaded = scalar(db, "select count(*) from audit.loads where status = 'loaded' "
                           "and source_file = 'surveys/mini_survey/w5/responses.csv'")
    assert (after, w5_loaded) in ((before, 0), (before + 20000, 1)), (before, after, w5_loaded)
    failed = scalar(db, "select string_agg(message, ' ') from audit.loads where status = 'failed' "
                        "and source_file = 'surveys/mini_survey/w5/responses.csv'")
    assert (failed is not None and "disk full while loading" in failed) or \
        "could not record the failure in audit.loads" in res.stdout, res.stdout
    shutil.rmtree(root / "landing" / "surveys" / "mini_survey" / "w5")


FAKE_DBT = textwrap.dedent("""\
    #!{python}
    import sys, time
    import duckdb
    con = duckdb.connect(sys.argv[-1])      # writes the warehouse like a dbt build would
    print("building", flush=True)
    time.sleep(600)
""")


def test_a_dbt_left_writing_by_a_killed_run_is_stopped_by_the_next_run(bad_files, tmp_path):
    src_root, src_env, _ = bad_files
    env = make_env(tmp_path)
    env["SOFS_LANDING_DIR"] = src_env["SOFS_LANDING_DIR"]
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(src_root / "warehouse.duckdb", db)
    fake = tmp_path / "bin" / "dbt"
    fake.parent.mkdir()
    fake.write_text(FAKE_DBT.format(python=PY))
    fake.chmod(0o755)
    # its parent is gone (it runs on its own, no writer lock held): an orphan as `kill -9` of `run` leaves one
    orphan = subprocess.Popen([str(fake), "build", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert orphan.stdout.readline().strip() == "building"
        res = run_cli(env, "run", timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"a dbt build left by a killed run (pid {orphan.pid}" in res.stdout, res.stdout
        assert orphan.wait(timeout=30) == -signal.SIGTERM
    finally:
        orphan.kill()
        orphan.wait()
