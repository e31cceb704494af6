"""dbt's record of a build, read for audit.dbt_builds and the run's summary line (orchestration/dbt_runs.py;
SPEC 4, 8). dbt's own printer (dbt-core's ``interpret_run_result``) is the reference for the counts."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from dbt.artifacts.schemas.results import NodeStatus
from dbt.task.printer import interpret_run_result

from orchestration import dbt_runs, warehouse

#: dbt's category names in its summary line, by our count
DBT_CATEGORY = {"n_pass": "pass", "n_warn": "warn", "n_error": "error", "n_skip": "skip", "n_noop": "noop"}


def test_every_dbt_status_falls_where_dbts_own_summary_puts_it():
    for status in NodeStatus:
        try:
            expected = interpret_run_result(SimpleNamespace(status=status))
        except RuntimeError:  # dbt's printer has no category for it (runtime error): we count it an error
            expected = "error"
        assert DBT_CATEGORY[dbt_runs.STATUS_COUNT[status.value]] == expected, status
    assert set(dbt_runs.STATUS_COUNT) == {s.value for s in NodeStatus}


def test_counts_and_summary_line_by_hand():
    results = {"results": [{"status": s} for s in
                           ["success"] * 3 + ["pass"] * 4 + ["warn"] + ["fail", "error"] + ["skipped"] * 2]}
    counts = dbt_runs.counts_from_run_results(results)
    assert counts == dbt_runs.BuildCounts(n_pass=7, n_warn=1, n_error=2, n_skip=2, n_noop=0)
    assert counts.summary() == "PASS=7 WARN=1 ERROR=2 SKIP=2 NO-OP=0 TOTAL=12"
    assert dbt_runs.counts_from_run_results({"results": []}).summary() == \
        "PASS=0 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=0"
    with pytest.raises(ValueError, match="unknown dbt node status 'exploded'"):
        dbt_runs.counts_from_run_results({"results": [{"status": "exploded"}]})


def test_read_counts_from_a_target_folder(tmp_path):
    assert dbt_runs.read_counts(None) is None
    assert dbt_runs.read_counts(tmp_path) is None                       # dbt stopped before writing it
    (tmp_path / "run_results.json").write_text("{not json", encoding="utf-8")
    assert dbt_runs.read_counts(tmp_path) is None                       # cut off by a kill
    (tmp_path / "run_results.json").write_text(json.dumps(
        {"results": [{"status": "success"}, {"status": "fail"}], "elapsed_time": 1.0}), encoding="utf-8")
    assert dbt_runs.read_counts(tmp_path) == dbt_runs.BuildCounts(n_pass=1, n_error=1)


def test_builds_recorded_read_back_and_old_rows_still_count(tmp_path):
    t0 = datetime(2026, 3, 1, 9, 0, 0)
    with warehouse.write_connection(tmp_path / "wh.duckdb") as con:
        # a row of the product before the counts existed: a success without counts
        con.execute("insert into audit.dbt_builds (finished_at, n_models) values (?, 40)", [t0])
        assert dbt_runs.last_success(con) == t0
        assert dbt_runs.summary_since(con, t0) is None
        failed = dbt_runs.BuildCounts(n_pass=10, n_error=1, n_skip=3)
        dbt_runs.record_build(con, succeeded=False, n_models=40, counts=failed,
                              finished_at=t0 + timedelta(hours=1))
        assert dbt_runs.last_success(con) == t0                         # a failed build leaves the marts stale
        assert dbt_runs.summary_since(con, t0 + timedelta(minutes=30)) == \
            "PASS=10 WARN=0 ERROR=1 SKIP=3 NO-OP=0 TOTAL=14"
        dbt_runs.record_build(con, succeeded=False, n_models=40, counts=None, finished_at=t0 + timedelta(hours=2))
        assert con.execute("select n_pass from audit.dbt_builds where finished_at = ?",
                           [t0 + timedelta(hours=2)]).fetchone() == (None,)   # no counts: null, not 0
        ok = dbt_runs.BuildCounts(n_pass=14)
        dbt_runs.record_build(con, succeeded=True, n_models=40, counts=ok, finished_at=t0 + timedelta(hours=3))
        assert dbt_runs.last_success(con) == t0 + timedelta(hours=3)
        assert dbt_runs.summary_since(con, t0 + timedelta(hours=3)) == "PASS=14 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=14"
        assert dbt_runs.summary_since(con, t0 + timedelta(hours=4)) is None


def test_prune_keeps_the_newest_build_folders_and_recent_ones(tmp_path):
    old = time.time() - 7200
    for i in range(8):
        folder = tmp_path / f"sofs_dbt_models-{i:07d}-abc"
        (folder / "compiled").mkdir(parents=True)
        (folder / "run_results.json").write_text("{}", encoding="utf-8")
        os.utime(folder, (old + i, old + i))                 # folder 7 is the newest
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    (tmp_path / "other-build").mkdir()
    os.utime(tmp_path / "other-build", (old, old))
    removed = dbt_runs.prune_build_folders(tmp_path, "sofs_dbt_models-", keep=5)
    assert sorted(p.name for p in removed) == [f"sofs_dbt_models-{i:07d}-abc" for i in range(3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["manifest.json", "other-build"] + [f"sofs_dbt_models-{i:07d}-abc" for i in range(3, 8)])
    os.utime(tmp_path / "sofs_dbt_models-0000007-abc", None)     # written to a moment ago: another build's
    removed = dbt_runs.prune_build_folders(tmp_path, "sofs_dbt_models-", keep=0)
    assert sorted(p.name for p in removed) == [f"sofs_dbt_models-{i:07d}-abc" for i in range(3, 7)]
    assert (tmp_path / "sofs_dbt_models-0000007-abc").is_dir()


def test_the_dbt_asset_records_a_failed_build_with_its_counts_and_prunes(tmp_path):
    """The asset's closing step (orchestration/assets/dbt.py) with the target folder dagster-dbt gave the
    build: the row says failed with dbt's counts; older build folders beyond the newest five go."""
    from orchestration.assets.dbt import _record_build
    from orchestration.resources import WarehouseResource

    target = tmp_path / "target"
    old = time.time() - 7200
    for i in range(7):
        (target / f"sofs_dbt_models-{i:07d}-x").mkdir(parents=True)
        os.utime(target / f"sofs_dbt_models-{i:07d}-x", (old + i, old + i))
    build = target / "sofs_dbt_models-9999999-y"
    build.mkdir()
    (build / "run_results.json").write_text(json.dumps({"results": [{"status": "success"}, {"status": "error"},
                                                                     {"status": "skipped"}]}), encoding="utf-8")
    wh = WarehouseResource(path=str(tmp_path / "wh.duckdb"))
    _record_build(wh, SimpleNamespace(target_path=build), succeeded=False, n_models=3)
    with warehouse.read_connection(wh.db) as con:
        assert con.execute("select succeeded, n_models, n_pass, n_error, n_skip from audit.dbt_builds").fetchall() \
            == [(False, 3, 1, 1, 1)]
    assert sorted(p.name for p in target.iterdir()) == [f"sofs_dbt_models-{i:07d}-x" for i in (3, 4, 5, 6)] + [
        "sofs_dbt_models-9999999-y"]
    _record_build(wh, None, succeeded=False, n_models=3)   # dbt never started: a row without counts
    with warehouse.read_connection(wh.db) as con:
        assert con.execute("select count(*), count(n_pass) from audit.dbt_builds").fetchone() == (2, 1)
