"""Prospective study cohorts (SPEC 9.1) on a hand-made dossier history: follow-up values frozen at the first
extract dated on or after the follow-up date, a revision that leaves a recorded follow-up unchanged, a dossier
that vanishes (lost), a point not yet due, and the attrition flow.

Expected values are computed by hand from the rows written below (see the comments per dossier).
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from orchestration import history, studies, warehouse
from tests.conftest import run_dbt

D = dt.date.fromisoformat
E1, E2, E3 = D("2024-06-30"), D("2024-09-30"), D("2025-03-31")
SELECT = ["build", "--select", "stg_dossiers__dossiers", "stg_dossiers__placements", "stg_dossiers__extracts",
          "path:models/staging/studies", "path:models/intermediate/studies", "path:models/marts/studies",
          "rpt_study_attrition"]

FAMILY = """study: family
title: Gezinnen 2024
enrolment: {from: 2024-01-01, to: 2024-06-30}
include: {service: [OCJ, SDJ]}
follow_up_months: [6, 12]
feedback_window_days: 60
"""
OCJ_ONLY = """study: ocj_only
title: OCJ 2024
enrolment: {from: 2024-01-01, to: 2024-06-30}
include: {service: [OCJ]}
follow_up_months: [1, 6]
"""


def dossier(key, child, service, reg, closure=None, line=1):
    return {"dossier_key": key, "child_key": child, "service": service, "region": "Antwerpen", "team_key": "T1",
            "team": "Team 1", "registration_date": D(reg), "closure_date": D(closure) if closure else None,
            "closure_reason": "doelen_bereikt" if closure else None, "birth_year": 2012, "sex": "M",
            "source_line": line}


def placement(key, dossier_key, start, line=1):
    return {"placement_key": key, "dossier_key": dossier_key, "start_date": D(start), "end_date": None,
            "placement_type": "foster_family", "source_line": line}


# D1 (child C1, OCJ, registered 2024-02-15): closed 2024-08-01 in E2; E3 revises the closure to 2024-09-10 and
#    holds D4, a new dossier of C1 registered 2024-10-01.
# D2 (C2, SDJ, 2024-03-10): in E2 a closure dated 2024-09-20 (after its 6-month date 2024-09-10) and placements
#    starting 2024-05-01 and 2024-09-15; absent from E3.
# D3 (C3, OCJ, 2024-06-01): open throughout; its 12-month date 2025-06-01 is after every extract.
# D5 (C5, OCJ, 2023-12-31): registered before the enrolment window.
# D6 (C6, OCJ, 2024-01-31): open; + 1 month = 2024-02-29.
EXTRACTS = {
    E1: ([dossier("D1", "C1", "OCJ", "2024-02-15"), dossier("D2", "C2", "SDJ", "2024-03-10"),
          dossier("D3", "C3", "OCJ", "2024-06-01"), dossier("D5", "C5", "OCJ", "2023-12-31"),
          dossier("D6", "C6", "OCJ", "2024-01-31")],
         [placement("P1", "D2", "2024-05-01")]),
    E2: ([dossier("D1", "C1", "OCJ", "2024-02-15", "2024-08-01"), dossier("D2", "C2", "SDJ", "2024-03-10", "2024-09-20"),
          dossier("D3", "C3", "OCJ", "2024-06-01"), dossier("D5", "C5", "OCJ", "2023-12-31"),
          dossier("D6", "C6", "OCJ", "2024-01-31")],
         [placement("P1", "D2", "2024-05-01"), placement("P2", "D2", "2024-09-15")]),
    E3: ([dossier("D1", "C1", "OCJ", "2024-02-15", "2024-09-10"), dossier("D3", "C3", "OCJ", "2024-06-01"),
          dossier("D4", "C1", "OCJ", "2024-10-01"), dossier("D5", "C5", "OCJ", "2023-12-31"),
          dossier("D6", "C6", "OCJ", "2024-01-31")],
         []),
}


def load(db, extract_date):
    dossiers, placements = EXTRACTS[extract_date]
    frames = {"raw.dossiers": pd.DataFrame(dossiers),
              "raw.placements": pd.DataFrame(placements, columns=list(history.BY_FRAME["raw.placements"].content)
                                             + ["source_line"])}
    with warehouse.write_connection(db) as con, warehouse.transaction(con):
        history.load_extract(con, extract_date, extract_date.isoformat(), "test", frames)


@pytest.fixture
def study_db(project_env, monkeypatch):
    folder = project_env / "studies"
    folder.mkdir()
    (folder / "family.yaml").write_text(FAMILY, encoding="utf-8")
    (folder / "ocj_only.yaml").write_text(OCJ_ONLY, encoding="utf-8")
    (folder / "broken.yaml").write_text(FAMILY.replace("study: family", "study: broken").replace("[6, 12]", "[]"),
                                        encoding="utf-8")
    monkeypatch.setenv("SOFS_STUDIES_DIR", str(folder))
    db = project_env / "warehouse.duckdb"
    with warehouse.write_connection(db) as con:
        loaded, errors = studies.sync_definitions(con, warn=lambda line: None)
    assert [s.study for s in loaded] == ["family", "ocj_only"]
    assert [(e.file.name, e.key) for e in errors] == [("broken.yaml", "follow_up_months")]
    return db


def rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


FOLLOW_UP = ("select dossier_key, follow_up_month, follow_up_date, status, observed_extract_date, is_closed, "
             "closure_date, n_placements_started, placed, reopened from marts.study_follow_up "
             "where study = '{study}' order by dossier_key, follow_up_month")


def test_follow_up_frozen_at_the_first_extract_on_or_after_its_date(study_db, dbt_target):
    for e in (E1, E2):
        load(study_db, e)
    run_dbt(SELECT, study_db, dbt_target)
    before = rows(study_db, FOLLOW_UP.format(study="family"))
    # D1 at 6 months (2024-08-15) is read from E2: closed 2024-08-01
    assert ("D1", 6, D("2024-08-15"), "observed", E2, True, D("2024-08-01"), 0, False, False) in before
    load(study_db, E3)
    run_dbt(SELECT, study_db, dbt_target)
    got = rows(study_db, FOLLOW_UP.format(study="family"))
    assert got == [
        # E3 revises D1's closure to 2024-09-10: the 6-month point keeps what E2 said
        ("D1", 6, D("2024-08-15"), "observed", E2, True, D("2024-08-01"), 0, False, False),
        # 12 months (2025-02-15) from E3: closed 2024-09-10, and C1's D4 registered 2024-10-01 reopens it
        ("D1", 12, D("2025-02-15"), "observed", E3, True, D("2024-09-10"), 0, False, True),
        # closure 2024-09-20 is after the follow-up date 2024-09-10: not yet closed; 1 of 2 placements started
        ("D2", 6, D("2024-09-10"), "observed", E2, False, None, 1, True, False),
        # D2 is absent from E3, the first extract after 2025-03-10
        ("D2", 12, D("2025-03-10"), "lost", E3, None, None, None, None, None),
        ("D3", 6, D("2024-12-01"), "observed", E3, False, None, 0, False, False),
        # 2025-06-01 is after the latest extract (2025-03-31)
        ("D3", 12, D("2025-06-01"), "not_yet_due", None, None, None, None, None, None),
        ("D6", 6, D("2024-07-31"), "observed", E2, False, None, 0, False, False),
        ("D6", 12, D("2025-01-31"), "observed", E3, False, None, 0, False, False),
    ]
    # the vanished D2 stays enrolled (last known version); D4 (2024-10-01) and D5 (2023-12-31) are not enrolled
    assert rows(study_db, "select study, dossier_key, in_latest_extract from marts.study_enrolment order by all") == [
        ("family", "D1", True), ("family", "D2", False), ("family", "D3", True), ("family", "D6", True),
        ("ocj_only", "D1", True), ("ocj_only", "D3", True), ("ocj_only", "D6", True)]
    # 2024-01-31 + 1 month = 2024-02-29 (end of month), read from E1
    assert rows(study_db, "select follow_up_date, observed_extract_date from marts.study_follow_up "
                          "where study = 'ocj_only' and dossier_key = 'D6' and follow_up_month = 1") == [
        (D("2024-02-29"), E1)]
    assert rows(study_db, "select study, follow_up_month, n_enrolled, n_due, n_observed, n_lost, "
                          "n_with_client_feedback, n_with_child_feedback from marts.study_attrition order by all") == [
        ("family", 6, 4, 4, 4, 0, 0, 0), ("family", 12, 4, 3, 2, 1, 0, 0),
        ("ocj_only", 1, 3, 3, 3, 0, 0, 0), ("ocj_only", 6, 3, 3, 3, 0, 0, 0)]
    # reporting: every count here is below min_cell 5 (zeros are shown)
    assert rows(study_db, "select n_enrolled, n_due, n_lost, n_lost_suppressed, suppressed from reporting.study_attrition "
                          "where study = 'family' order by follow_up_month") == [
        (None, None, 0, False, True), (None, None, None, True, True)]


def test_the_disclosure_audit_protects_the_flow(study_db, dbt_target):
    from orchestration.disclosure.protect import protect_reporting

    for e in (E1, E2, E3):
        load(study_db, e)
    run_dbt(SELECT, study_db, dbt_target)
    with warehouse.write_connection(study_db) as con:
        outcome = protect_reporting(con, 5)
    assert outcome.passed
    # family month 12: n_lost = 1 is withheld, and with it enough of n_due / n_observed that it cannot be derived
    got = rows(study_db, "select n_due, n_observed, n_lost from reporting.study_attrition "
                         "where study = 'family' and follow_up_month = 12")
    assert got[0][2] is None and (got[0][0] is None or got[0][1] is None)
