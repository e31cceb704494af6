"""orchestration.faults without Dagster runs (SPEC 4, 8): error classification, process liveness, the
free-space check and the bare-CR check, on values written here by hand."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import faults
from orchestration.landing import Partition


def test_a_checksum_error_in_a_block_is_damage_not_a_lock():
    corrupt = duckdb.IOException("Corrupt database file: computed checksum 5381 does not match stored "
                                 "checksum 0 in block at location 6565888")
    assert faults.is_damage(corrupt) and not faults.is_lock_error(corrupt)
    lock = duckdb.IOException('IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in '
                              "/usr/bin/python3 (PID 4242). However, you would be able to open this database")
    assert faults.is_lock_error(lock) and not faults.is_damage(lock)
    assert faults.is_damage(duckdb.IOException('The file "/x" exists, but it is not a valid DuckDB database file!'))
    assert not faults.is_damage(duckdb.CatalogException("Table with name nope does not exist!"))


def test_disk_full_is_recognised_from_errno_and_text():
    assert faults.is_disk_full(OSError(28, "No space left on device"))
    assert faults.is_disk_full(duckdb.IOException('Could not write file "/w.duckdb.wal": File too large'))
    assert not faults.is_disk_full(ValueError("invalid literal for int()"))


def test_a_zombie_and_a_missing_process_are_not_alive():
    assert faults.process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while faults.process_alive(child.pid) and time.monotonic() < deadline:  # exits, stays a zombie until reaped
        time.sleep(0.05)
    assert not faults.process_alive(child.pid)
    child.wait()
    assert not faults.process_alive(child.pid)
    assert not faults.process_alive(None)
    # a process that started after the run it is asked about (a reused pid) is not that run's process
    assert not faults.process_alive(os.getpid(), started_by=time.time() - 10 * 24 * 3600)


def test_a_process_whose_main_thread_ended_holds_its_file_lock_until_its_last_thread_exits(tmp_path):
    """The main thread of a killed dbt turns zombie before its DuckDB worker threads end; the lock on
    the warehouse file goes with the last thread, so a stopped dbt is waited for until then."""
    db = tmp_path / "held.duckdb"
    duckdb.connect(str(db)).close()
    script = (
        "import ctypes, os, threading, time, duckdb\n"
        f"con = duckdb.connect({str(db)!r})\n"
        "def finish():\n"
        "    time.sleep(3)\n"
        "    os._exit(0)\n"
        "threading.Thread(target=finish).start()\n"                   # a worker that outlives main
        "print('held', flush=True)\n"
        "ctypes.CDLL(None).pthread_exit(None)\n")                     # the main thread alone ends
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        deadline = time.monotonic() + 5
        while faults.process_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not faults.process_alive(child.pid)   # the main thread is a zombie ...
        assert not faults.threads_exited(child.pid)  # ... but a thread still runs
        with pytest.raises(duckdb.IOException):      # and the file is still locked
            duckdb.connect(str(db)).close()
        deadline = time.monotonic() + 20
        while not faults.threads_exited(child.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert faults.threads_exited(child.pid)
        duckdb.connect(str(db)).close()               # released with the last thread
    finally:
        child.kill()
        child.wait()


def test_free_space_check_refuses_when_the_reserve_is_larger_than_the_disk(tmp_path, monkeypatch):
    data = tmp_path / "responses.csv"
    data.write_bytes(b"x" * 1000)
    monkeypatch.setenv("SOFS_DISK_RESERVE_MB", "0")
    needed, free = faults.check_free_space([data], tmp_path / "warehouse.duckdb")
    assert needed == 3000 and free > needed
    monkeypatch.setenv("SOFS_DISK_RESERVE_MB", "1e12")  # 10^12 MB: no disk has it
    with pytest.raises(faults.DiskSpaceLow, match="not enough free disk space"):
        faults.check_free_space([data], tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SOFS_DISK_RESERVE_MB", "lots")
    with pytest.raises(faults.settings.ConfigurationError, match="SOFS_DISK_RESERVE_MB"):
        faults.check_free_space([data], tmp_path / "warehouse.duckdb")


def _partition(root: Path, data: bytes) -> Partition:
    folder = root / "surveys" / "mini" / "w1"
    folder.mkdir(parents=True)
    (folder / "responses.csv").write_bytes(data)
    return Partition("survey", "mini/w1", folder, (folder / "responses.csv",))


def test_bare_cr_line_ends_are_a_rule_naming_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("SOFS_LANDING_DIR", str(tmp_path))
    rule = faults.line_ending_failure(_partition(tmp_path, b'"id";"token"\r"1";"a"\r"2";"b"\r'))
    assert rule.code == "S_LINE_ENDINGS" and rule.severity == "error" and rule.sample_lines == [1]
    assert "3 of them" in rule.message and "CSV UTF-8" in rule.message
    assert rule.source_file == "surveys/mini/w1/responses.csv"


@pytest.mark.parametrize("data", [b'"id";"token"\r\n"1";"a"\r\n', b'"id";"token"\n"1";"a"\n', b'"id";"token"'])
def test_crlf_lf_and_one_line_files_pass_the_line_end_check(tmp_path, monkeypatch, data):
    monkeypatch.setenv("SOFS_LANDING_DIR", str(tmp_path))
    assert faults.line_ending_failure(_partition(tmp_path, data)) is None


def test_orphaned_dbt_builds_are_found_by_their_warehouse_and_stopped(tmp_path):
    import subprocess
    import sys
    import time

    from orchestration import faults

    db = tmp_path / "wh.duckdb"
    fake = tmp_path / "bin" / "dbt"
    fake.parent.mkdir()
    fake.write_text("import time\ntime.sleep(120)\n")
    pidfile = tmp_path / "pid"

    def orphan(warehouse: Path) -> int:
        """A fake `dbt build` whose parent exits at once: like the dbt of a run killed with -9."""
        subprocess.run(["sh", "-c", f'SOFS_WAREHOUSE_PATH="{warehouse}" "{sys.executable}" "{fake}" build '
                                    f'> /dev/null 2>&1 & echo $! > "{pidfile}"'], check=True)
        return int(pidfile.read_text())

    ours, other = orphan(db), orphan(tmp_path / "other.duckdb")
    try:
        deadline = time.monotonic() + 10
        while ours not in faults.orphaned_dbt_pids(db) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert faults.orphaned_dbt_pids(db) == [ours]          # not the dbt of another warehouse
        said = []
        assert faults.end_orphaned_dbt_builds(db, said.append) == 1
        assert not faults.process_alive(ours) and faults.process_alive(other)
        assert "dbt build left by a killed run" in said[0]
    finally:
        for pid in (ours, other):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
