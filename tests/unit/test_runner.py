"""The run's decisions shared by the CLI and the sensor (orchestration/runner.py; SPEC 7, 8)."""
from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from orchestration.runner import ingest_outcome, mart_job


def test_mart_job_per_kind_and_every_model_otherwise():
    assert mart_job(set()) is None
    assert mart_job({"survey"}) == "build_survey_marts"
    assert mart_job({"dossier"}) == "build_dossier_marts"
    assert mart_job({"survey", "dossier"}) == "build_all_marts"
    assert mart_job(set(), rebuild=True) == "build_all_marts"
    assert mart_job(set(), stale=True) == "build_all_marts"
    assert mart_job({"survey"}, marts_missing=True) == "build_all_marts"
    assert mart_job({"survey"}, marts_missing=lambda: True) == "build_all_marts"
    with pytest.raises(KeyError, match="unknown partition kind"):
        mart_job({"feedback"})


def test_marts_missing_is_asked_only_when_it_decides():
    asked = []

    def missing():
        asked.append(1)
        return False

    assert mart_job({"survey", "dossier"}, marts_missing=missing) == "build_all_marts" and asked == []
    assert mart_job({"dossier"}, marts_missing=missing) == "build_dossier_marts" and asked == [1]


T0 = datetime(2026, 1, 5, 10, 0, 0)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema audit")
    con.execute("""create table audit.loads (load_id varchar, partition_kind varchar, partition_key varchar,
        source_file varchar, sha256 varchar, status varchar, rows bigint, started_at timestamp,
        finished_at timestamp, message varchar, encoding varchar)""")
    return con


def _load(con, load_id, status, rows, started, message, key="s/w1", kind="survey"):
    for f, n in rows.items():
        con.execute("insert into audit.loads values (?, ?, ?, ?, 'x', ?, ?, ?, ?, ?, null)",
                    [load_id, kind, key, f, status, n, started, started, message])


def test_outcome_of_a_load_is_read_from_audit_loads(con):
    _load(con, "old", "quarantined", {"r.csv": 0}, T0 - timedelta(days=1), "old message")
    _load(con, "new", "loaded", {"r.csv": 12, "survey.lss": None}, T0 + timedelta(seconds=1), "12 rows")
    assert ingest_outcome(con, "survey", "s/w1", T0, True) == ("loaded", 12, "12 rows")
    # the same record with a failed run: a failure after the commit (e.g. a full disk at the checkpoint)
    assert ingest_outcome(con, "survey", "s/w1", T0, False, failure="DiskFull: x") == ("failed", 0, "DiskFull: x")


def test_quarantine_and_a_repeat_of_it(con):
    _load(con, "q", "quarantined", {"r.csv": 0}, T0 + timedelta(seconds=1), "S_CODE_IN_SCHEME in r.csv")
    assert ingest_outcome(con, "survey", "s/w1", T0, False) == ("quarantined", 0, "S_CODE_IN_SCHEME in r.csv")
    _load(con, "u", "unchanged", {"r.csv": None}, T0 + timedelta(seconds=5), "nothing to do")
    assert ingest_outcome(con, "survey", "s/w1", T0 + timedelta(seconds=2), False) == ("quarantined", 0, "nothing to do")
    assert ingest_outcome(con, "survey", "s/w1", T0 + timedelta(seconds=2), True) == ("unchanged", 0, "nothing to do")


def test_no_record_since_the_run_started_is_a_failure(con):
    _load(con, "old", "loaded", {"r.csv": 3}, T0 - timedelta(seconds=1), "3 rows")
    assert ingest_outcome(con, "survey", "s/w1", T0, False, failure="KeyError: boom") == ("failed", 0, "KeyError: boom")
    assert ingest_outcome(con, "dossier", "s/w1", T0 - timedelta(days=1), True)[0] == "failed"  # other kind
    assert ingest_outcome(duckdb.connect(), "survey", "s/w1", T0, False) == (
        "failed", 0, "the ingestion run ended without a result")


def test_a_long_quarantine_message_is_cut_like_the_step_error(con):
    _load(con, "q", "quarantined", {"r.csv": 0}, T0, "m" * 5000)
    status, _rows, message = ingest_outcome(con, "survey", "s/w1", T0, False)
    assert status == "quarantined" and len(message) == 4000 - len("survey s/w1 quarantined: ")
