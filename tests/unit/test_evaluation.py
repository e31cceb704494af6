"""Exposure definitions (SPEC 9.2): parsing, a bad exposure refused with file, key and reason, the raw table."""
from __future__ import annotations

import duckdb

from orchestration import evaluation

TEXT = """exposures:
  safety_plan_90d: {event_type: safety_plan, within_days: 90}
  bad_type: {event_type: hug, within_days: 90}
  bad_days: {event_type: mapping, within_days: 0}
  mapping_30d: {event_type: mapping, within_days: 30}
"""


def test_valid_exposures_load_and_bad_ones_are_refused(tmp_path):
    path = tmp_path / "evaluation.yaml"
    path.write_text(TEXT, encoding="utf-8")
    found, errors = evaluation.load_exposures(path)
    assert [(e.exposure, e.event_type, e.within_days) for e in found] == [
        ("mapping_30d", "mapping", 30), ("safety_plan_90d", "safety_plan", 90)]
    assert sorted(e.key for e in errors) == ["exposures.bad_days.within_days", "exposures.bad_type.event_type"]
    assert all("evaluation.yaml" in str(e) for e in errors)
    con = duckdb.connect()
    evaluation.write_exposures(con, found)
    assert con.execute("select * from raw.evaluation_exposures order by 1").fetchall() == [
        ("mapping_30d", "mapping", 30), ("safety_plan_90d", "safety_plan", 90)]


def test_the_demo_file_is_valid():
    found, errors = evaluation.load_exposures(evaluation.settings.PROJECT_ROOT / "data" / "evaluation.yaml")
    assert errors == [] and {e.exposure for e in found} == {"safety_plan_90d", "network_meeting_90d", "mapping_30d"}


def test_rollout_dates_load_and_bad_ones_are_refused(tmp_path):
    import datetime as dt

    path = tmp_path / "implementation.yaml"
    path.write_text("rollout:\n  Antwerpen: 2021-01-01\n  Gent: 2021-01-01\n  Limburg: soon\n", encoding="utf-8")
    found, errors = evaluation.load_rollout(path)
    assert found == {"Antwerpen": dt.date(2021, 1, 1)}
    assert sorted(e.key for e in errors) == ["rollout.Gent", "rollout.Limburg"]
    con = duckdb.connect()
    evaluation.write_rollout(con, found)
    assert con.execute("select * from raw.implementation_rollout").fetchall() == [("Antwerpen", dt.date(2021, 1, 1))]
    demo, demo_errors = evaluation.load_rollout(evaluation.settings.PROJECT_ROOT / "data" / "implementation.yaml")
    assert demo_errors == [] and len(demo) == 5
