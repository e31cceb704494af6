"""Faults with real processes (SPEC 4, 7): a load killed mid-transaction, two writers at once,
a read-only file system and a full disk. The warehouse must stay as it was and say so clearly."""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import ingest, landing
from tests.conftest import ROOT
from tests.helpers import CLI, HEADER, mini_survey_env, run_cli, write_export

PY = sys.executable
ROWS = [["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokA", "A4", "A2", "7", "1", "", "301"],
        ["2", "2021-05-04 10:11:12", "3", "nl", "1", "tokB", "A5", "A1", "9", "2", "", "40"]]


@pytest.fixture
def env(project_env, monkeypatch):
    """A project with the mini instrument and one survey wave in the landing zone."""
    mini_survey_env(project_env, monkeypatch)
    write_export(project_env / "landing" / "surveys" / "mini_survey" / "w1" / "responses.csv", [HEADER, *ROWS])
    return dict(os.environ)


def wh_rows(path: Path) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (con.execute("select count(*) from raw.survey_responses").fetchone()[0],
                con.execute("select count(distinct load_id) from audit.loads").fetchone()[0],
                sorted(con.execute("select raw_code from raw.survey_answers where item = 'plan_known'").fetchall()))
    finally:
        con.close()


KILLER = textwrap.dedent("""
    import os, signal, sys
    from orchestration import ingest, landing, warehouse
    original = warehouse.replace_partition
    def replace_then_die(*args, **kwargs):
        counts = original(*args, **kwargs)      # rows deleted and inserted, transaction still open
        os.kill(os.getpid(), signal.SIGKILL)
    warehouse.replace_partition = replace_then_die
    ingest.load_partition(landing.find("survey", sys.argv[1]))
""")


def test_killed_load_leaves_warehouse_as_before_and_next_run_completes(env, project_env):
    wh = project_env / "warehouse.duckdb"
    first = ingest.load_partition(landing.find("survey", "mini_survey/w1"))
    assert first.status == "loaded"
    before = wh_rows(wh)
    assert before == (2, 1, [("A4",), ("A5",)])
    # a corrected export arrives with a third response and a changed answer
    rows = [ROWS[0][:6] + ["A1"] + ROWS[0][7:], ROWS[1], ["3"] + ROWS[1][1:5] + ["tokC"] + ROWS[1][6:]]
    write_export(project_env / "landing" / "surveys" / "mini_survey" / "w1" / "responses.csv", [HEADER, *rows])
    proc = subprocess.run([PY, "-c", KILLER, "mini_survey/w1"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert wh_rows(wh) == before  # the half-done load is gone
    again = ingest.load_partition(landing.find("survey", "mini_survey/w1"))
    assert again.status == "loaded"
    assert wh_rows(wh) == (3, 2, [("A1",), ("A5",), ("A5",)])


HOLDER = textwrap.dedent("""
    import sys
    from orchestration import warehouse
    with warehouse.write_connection() as con:
        print("holding", flush=True)
        sys.stdin.readline()          # hold the warehouse until the test says so
""")


def test_second_writer_gets_warehouse_busy_and_wait_works(env, project_env):
    holder = subprocess.Popen([PY, "-c", HOLDER], env=env, cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    waiter = None
    try:
        assert holder.stdout.readline().strip() == "holding"
        busy = run_cli(env, "run", timeout=300)
        assert busy.returncode == 2, busy.stdout + busy.stderr
        assert "warehouse busy" in busy.stdout
        waiter = subprocess.Popen([CLI, "run", "--wait", "300"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert waiter.poll() is None  # still waiting for the writer
    finally:
        holder.stdin.close()          # release the warehouse
        holder.wait(timeout=60)
    out, err = waiter.communicate(timeout=600)
    assert waiter.returncode == 0, out + err
    assert "loaded 1, quarantined 0" in out
    assert wh_rows(project_env / "warehouse.duckdb")[0] == 2


def _mount_tmpfs(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                          capture_output=True).returncode == 0


def test_read_only_file_system_fails_clearly(env, project_env):
    ro = project_env / "ro"
    if not _mount_tmpfs(ro, "ro,size=1m"):
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        env = dict(env, SOFS_WAREHOUSE_PATH=str(ro / "warehouse.duckdb"))
        out = run_cli(env, "run", timeout=300)
    finally:
        subprocess.run(["umount", str(ro)], check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "cannot write the warehouse" in out.stdout and "read-only" in out.stdout.lower()
    assert "Traceback" not in out.stdout + out.stderr


def test_full_disk_fails_clearly_and_keeps_earlier_data(env, project_env):
    wh = project_env / "warehouse.duckdb"
    assert ingest.load_partition(landing.find("survey", "mini_survey/w1")).status == "loaded"
    before = wh_rows(wh)
    big = [["%d" % i, "2021-05-03 10:11:12", "3", "nl", "1", "tok%d" % i, "A4", "A2", "7", "1", "x" * 500, "1"]
           for i in range(1, 4000)]
    write_export(project_env / "landing" / "surveys" / "mini_survey" / "w1" / "responses.csv", [HEADER, *big])
    limit = wh.stat().st_size + 64 * 1024

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, like ENOSPC
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = subprocess.run([PY, "-c", "from orchestration import ingest, landing; "
                                    "ingest.load_partition(landing.find('survey', 'mini_survey/w1'))"],
                         env=env, cwd=ROOT, capture_output=True, text=True, preexec_fn=small_disk, timeout=300)
    assert out.returncode != 0
    assert "File too large" in out.stderr or "No space" in out.stderr or "disk" in out.stderr.lower(), out.stderr[-2000:]
    assert wh_rows(wh) == before


def test_run_after_an_interrupted_dbt_build_rebuilds_the_marts(env, project_env):
    # a load committed, then the process died before (or during) the dbt build
    assert ingest.load_partition(landing.find("survey", "mini_survey/w1")).status == "loaded"
    out = run_cli(env, "run", timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 partition(s) with new or changed files" in out.stdout
    assert "the marts are older than the data in raw" in out.stdout and "rebuilding every model" in out.stdout
    con = duckdb.connect(str(project_env / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from marts.fct_survey_response").fetchone() == (2,)
    finally:
        con.close()
    again = run_cli(env, "run", timeout=600)
    assert again.returncode == 0 and "rebuilding" not in again.stdout and "building dbt" not in again.stdout
