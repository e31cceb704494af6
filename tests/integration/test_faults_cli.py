"""Faults through the real command line (issue 10, "Faults"): `kill -9` of `sofs-warehouse run` during a
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

from tests.conftest import ROOT, TEST_KEY
from tests.helpers import HEADER, MINI_INSTRUMENT, write_export

PY = sys.executable
CLI = str(Path(sys.executable).with_name("sofs-warehouse"))
ROWS = [["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokA", "A4", "A2", "7", "1", "", "301"],
        ["2", "2021-05-04 10:11:12", "3", "nl", "1", "tokB", "A5", "A1", "9", "2", "", "40"]]


def make_env(root: Path) -> dict[str, str]:
    """Landing zone, warehouse, Dagster home (with the project's dagster.yaml) and key under ``root``."""
    for d in ("landing", "dagster_home", "instruments"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    (root / "instruments" / "mini_survey.yaml").write_text(MINI_INSTRUMENT, encoding="utf-8")
    env = dict(os.environ, SOFS_LANDING_DIR=str(root / "landing"), SOFS_WAREHOUSE_PATH=str(root / "warehouse.duckdb"),
               DAGSTER_HOME=str(root / "dagster_home"), SOFS_PSEUDONYM_KEY=TEST_KEY,
               SOFS_INSTRUMENTS_DIR=str(root / "instruments"), GX_ANALYTICS_ENABLED="false")
    env.pop("SOFS_DISK_RESERVE_MB", None)
    return env


def cli(env, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


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
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not any("loaded:" in ln for ln in out), "".join(out)  # it died inside the load step

    t0 = time.monotonic()
    again = cli(env, "run", timeout=400)
    took = time.monotonic() - t0
    assert again.returncode == 0, again.stdout + again.stderr
    assert "ended without finishing (its process is gone)" in again.stdout and "slot freed" in again.stdout
    assert "loaded 1, quarantined 0" in again.stdout
    assert took < 300, took
    for table, n in expected.items():
        assert scalar(db, f"select count(*) from raw.{table}") == n, table
    assert scalar(db, "select count(*) from audit.loads where status = 'loaded'") == 3  # one row per file, once

    # 2. a second extract arrives; kill -9 of the run while dbt builds: its dbt child lives on and holds
    #    the file, so the next run stops that orphan, frees the dead run's slot and rebuilds the marts
    second = root / "landing" / "dossiers" / "2026-01-31"
    shutil.copytree(extract, second)
    proc, out = start_run(env)
    read_until(proc, out, "building dbt models")
    time.sleep(6)
    os.kill(proc.pid, signal.SIGKILL)  # only the run process
    proc.wait()
    assert any("loaded: 30000 rows" in ln for ln in out), "".join(out)
    assert not any("done (" in ln for ln in out), "".join(out)

    t0 = time.monotonic()
    again = cli(env, "run", timeout=400)
    took = time.monotonic() - t0
    assert again.returncode == 0, again.stdout + again.stderr
    assert "slot freed" in again.stdout
    assert "rebuilding every model" in again.stdout
    assert took < 300, took
    for table, n in expected.items():
        assert scalar(db, f"select count(*) from raw.{table}") == 2 * n, table
        assert scalar(db, f"select count(distinct partition_key) from raw.{table}") == 2
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
    out = cli(env, "run")
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
    status = cli(env, "status")
    assert "quarantined" in status.stdout and "rule S_DATE_RANGE" in status.stdout
    assert "rule S_LINE_ENDINGS" in status.stdout and "pending" not in status.stdout


def test_wrong_key_exits_2_before_any_work_also_when_nothing_is_new(bad_files):
    root, env, _ = bad_files
    db = root / "warehouse.duckdb"
    before = scalar(db, "select count(*) from audit.loads")
    out = cli(dict(env, SOFS_PSEUDONYM_KEY="another-key-0123456789-0123456789-0123"), "run")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "SOFS_PSEUDONYM_KEY differs from the key this warehouse was built with" in out.stdout
    assert "landing zone" not in out.stdout  # stopped before looking for work
    assert "Traceback" not in out.stdout + out.stderr
    assert scalar(db, "select count(*) from audit.loads") == before


def test_too_little_free_disk_space_is_refused_before_the_load(bad_files):
    root, env, _ = bad_files
    db = root / "warehouse.duckdb"
    write_export(root / "landing" / "surveys" / "mini_survey" / "w4" / "responses.csv", [HEADER, *ROWS])
    before = scalar(db, "select count(*) from audit.loads")
    out = cli(dict(env, SOFS_DISK_RESERVE_MB="100000000"), "run")  # a reserve of 100 TB: no disk has it
    assert out.returncode == 2, out.stdout + out.stderr
    assert "not enough free disk space for this load" in out.stdout and str(db) in out.stdout
    assert "SOFS_DISK_RESERVE_MB" in out.stdout and "Traceback" not in out.stdout + out.stderr
    assert scalar(db, "select count(*) from audit.loads") == before
    ok = cli(env, "run")
    assert ok.returncode == 0 and "loaded 1, quarantined 0, unchanged 3" in ok.stdout, ok.stdout
