"""A quarantined partition is visible with the same rule code in `sofs-warehouse status`, in
audit.check_results and in Dagster as a failed blocking check (SPEC 3, 7)."""
from __future__ import annotations

import os

import dagster as dg
import duckdb

from tests.helpers import HEADER, mini_survey_env, run_cli, write_export

OK = ["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokA", "A4", "A2", "7", "1", "", "301"]
BAD = ["2", "2021-05-04 10:11:12", "3", "nl", "1", "tokB", "A9", "A1", "9", "2", "", "40"]


def test_quarantine_seen_in_status_audit_and_dagster(project_env, monkeypatch):
    mini_survey_env(project_env, monkeypatch)
    landing = project_env / "landing" / "surveys" / "mini_survey"
    write_export(landing / "good" / "responses.csv", [HEADER, OK])
    write_export(landing / "bad" / "responses.csv", [HEADER, OK, BAD])
    env = dict(os.environ)

    run = run_cli(env, "run", timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr  # quarantined, the rest still loaded
    assert "loaded 1, quarantined 1" in run.stdout
    assert "S_CODE_IN_SCHEME" in run.stdout

    status = run_cli(env, "status", timeout=120)
    lines = status.stdout.splitlines()
    bad_line = next(i for i, ln in enumerate(lines) if ln.endswith("surveys/mini_survey/bad/responses.csv"))
    assert lines[bad_line].split()[0] == "quarantined"
    assert "rule S_CODE_IN_SCHEME (error)" in lines[bad_line + 1] and "line(s) 3" in lines[bad_line + 1]
    assert next(ln for ln in lines if ln.endswith("good/responses.csv")).split()[0] == "loaded"

    con = duckdb.connect(str(project_env / "warehouse.duckdb"), read_only=True)
    try:
        failed = con.execute("""select partition_key, "check", severity, sample_lines from audit.check_results
                                where not passed""").fetchall()
    finally:
        con.close()
    assert failed == [("mini_survey/bad", "S_CODE_IN_SCHEME", "error", "3")]

    instance = dg.DagsterInstance.get()
    check_key = dg.AssetCheckKey(dg.AssetKey(["raw", "survey_responses"]), "stage1_record_and_format")
    records = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=10)
    by_partition = {instance.get_run_by_id(r.run_id).tags["dagster/partition"]: r for r in records}
    bad = by_partition["mini_survey/bad"].event.dagster_event.event_specific_data
    good = by_partition["mini_survey/good"].event.dagster_event.event_specific_data
    assert bad.passed is False and bad.severity == dg.AssetCheckSeverity.ERROR
    assert bad.metadata["blocking_rules"].value == "S_CODE_IN_SCHEME"
    assert good.passed is True
    from orchestration.assets.ingestion import survey_wave
    spec = next(s for s in survey_wave.check_specs if s.key == check_key)
    assert spec.blocking
