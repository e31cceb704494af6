"""Study definitions (SPEC 9.1): parsing, validation with file, key and reason, and the raw tables."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from orchestration import studies

GOOD = """study: s1
title: Test
enrolment: {from: 2024-01-01, to: 2024-06-30}
include: {service: [OCJ], region: Limburg, team: [Hasselt, Genk], age_at_registration: [0, 12]}
follow_up_months: [12, 6]
"""


def write(folder, name, text):
    (folder / name).write_text(text, encoding="utf-8")


def test_a_good_study_is_parsed(tmp_path):
    write(tmp_path, "s1.yaml", GOOD)
    found, errors = studies.load_studies(tmp_path)
    assert errors == []
    (s,) = found
    assert (s.study, s.enrolment_from, s.enrolment_to, s.follow_up_months, s.feedback_window_days) == (
        "s1", dt.date(2024, 1, 1), dt.date(2024, 6, 30), (6, 12), 60)
    assert s.filters == {"service": ("OCJ",), "region": ("Limburg",), "team": ("Hasselt", "Genk")}
    assert (s.age_min, s.age_max) == (0, 12)


@pytest.mark.parametrize("edit, key", [
    (lambda t: t.replace("study: s1", "study: S-1"), "study"),
    (lambda t: t.replace("study: s1", "study: other"), "study"),
    (lambda t: t.replace("to: 2024-06-30", "to: 2023-06-30"), "enrolment"),
    (lambda t: t.replace("from: 2024-01-01", "from: 1 januari"), "enrolment.from"),
    (lambda t: t.replace("[OCJ]", "[OCJX]"), "include.service"),
    (lambda t: t.replace("region: Limburg", "province: Limburg"), "include.province"),
    (lambda t: t.replace("[0, 12]", "[12, 0]"), "include.age_at_registration"),
    (lambda t: t.replace("[12, 6]", "[6, 6]"), "follow_up_months"),
    (lambda t: t.replace("[12, 6]", "[0]"), "follow_up_months"),
    (lambda t: t + "feedback_window_days: -1\n", "feedback_window_days"),
    (lambda t: t + "colour: red\n", "colour"),
    (lambda t: t.replace("title: Test\n", ""), "title"),
    (lambda t: "[unclosed", "-"),
])
def test_a_bad_study_is_refused_with_file_key_and_reason_and_the_others_load(tmp_path, edit, key):
    write(tmp_path, "s1.yaml", edit(GOOD))
    write(tmp_path, "s2.yaml", GOOD.replace("study: s1", "study: s2"))
    found, errors = studies.load_studies(tmp_path)
    assert [s.study for s in found] == ["s2"]
    (e,) = errors
    assert (e.file.name, e.key) == ("s1.yaml", key) and e.reason
    assert "s1.yaml" in str(e) and key in str(e)


def test_the_raw_tables_are_replaced(tmp_path):
    write(tmp_path, "s1.yaml", GOOD)
    found, _ = studies.load_studies(tmp_path)
    con = duckdb.connect()
    studies.write_definitions(con, found)
    studies.write_definitions(con, found)
    assert con.execute("select study, enrolment_from, age_max, feedback_window_days from raw.study_definitions").fetchall() == [
        ("s1", dt.date(2024, 1, 1), 12, 60)]
    assert con.execute("select follow_up_month from raw.study_follow_up_months order by 1").fetchall() == [(6,), (12,)]
    assert con.execute("select dimension, value from raw.study_filters order by all").fetchall() == [
        ("region", "Limburg"), ("service", "OCJ"), ("team", "Genk"), ("team", "Hasselt")]
    studies.write_definitions(con, [])
    assert con.execute("select count(*) from raw.study_definitions").fetchone() == (0,)


def test_the_demo_study_is_valid():
    found, errors = studies.load_studies(studies.settings.PROJECT_ROOT / "data" / "studies")
    assert errors == [] and "family_followup_2024" in [s.study for s in found]


def test_study_cli_list_and_status(tmp_path, monkeypatch, capsys):
    """`study list` shows valid and refused files; `study status` prints the flow from reporting (withheld as
    'withheld') and exits 2 for an unknown study."""
    from orchestration.cli import main

    folder = tmp_path / "studies"
    folder.mkdir()
    write(folder, "s1.yaml", GOOD)
    write(folder, "bad.yaml", "study: bad\n")
    monkeypatch.setenv("SOFS_STUDIES_DIR", str(folder))
    db = tmp_path / "wh.duckdb"
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(db))
    con = duckdb.connect(str(db))
    con.execute("create schema reporting; create table reporting.study_attrition as select 's1' as study, 6 as "
                "follow_up_month, 12 as n_enrolled, 10 as n_due, 8 as n_observed, null::bigint as n_lost, "
                "5 as n_with_client_feedback, 0 as n_with_child_feedback")
    con.close()
    assert main(["study", "list"]) == 0
    out = capsys.readouterr().out
    assert "s1: Test" in out and "REFUSED bad.yaml: key title" in out
    assert main(["study", "status", "s1"]) == 0
    out = capsys.readouterr().out
    assert "withheld" in out.splitlines()[-1] and out.splitlines()[-1].split()[:4] == ["6", "12", "10", "8"]
    assert main(["study", "status", "nope"]) == 2
