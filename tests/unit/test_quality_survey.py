"""One small test per survey quality rule (orchestration/quality/survey.py; SPEC 3).

Every test hand-writes a tiny SurveyRead (the reader's output shape) and asserts the rule's code,
verdict, severity and the exact sample lines. The GX context is built once per process.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from orchestration.instruments import AnswerScheme, Instrument, Item
from orchestration.quality.results import ERROR, WARNING, rule_table
from orchestration.quality.survey import SURVEY_RULES, check_survey
from orchestration.readers.base import (
    ANSWER_COLUMNS, OPEN_ANSWER_COLUMNS, RESPONSE_COLUMNS, LoadReport, SurveyRead,
)

SOURCE = "surveys/staff_survey/2024-spring/responses.csv"
TODAY = dt.date(2024, 6, 30)

AGREE5 = AnswerScheme("agree5", codes={f"A{i}": float(i) for i in range(1, 6)},
                      labels={float(i): f"label {i}" for i in range(1, 6)}, missing={"-9": "weet niet"},
                      min=1.0, max=5.0)
SCORE = AnswerScheme("score1_10", min=1.0, max=10.0)
TEXT = AnswerScheme("text", text=True)


def instrument(respondent_key: str | None = "token") -> Instrument:
    items = (
        Item("plan_known", AGREE5, "L2[SQ001]", construct="leadership"),
        Item("plan_clear", AGREE5, "L2[SQ002]", construct="leadership"),
        Item("score", SCORE, "SCORE"),
        Item("remarks", TEXT, "OPEN"),
    )
    return Instrument("staff_survey", "Staff survey", "staff", items, {},
                      {s.name: s for s in (AGREE5, SCORE, TEXT)}, respondent_key=respondent_key)


def response(line: int, rid: str, token: str | None = None, submitted: str | None = "2024-03-10 10:00:00",
             started: str | None = "2024-03-10 09:50:00") -> dict:
    return {"source_line": line, "response_id": rid, "respondent_id": token, "dossier_id": None,
            "is_complete": submitted is not None, "lastpage": 3, "submitted_at": submitted,
            "started_at": started, "startlanguage": "nl"}


def answer(line: int, rid: str, item: str, column: str, raw: str | None, value: float | None,
           valid: bool = True, reason: str | None = None) -> dict:
    return {"source_line": line, "response_id": rid, "item": item, "source_column": column, "raw_code": raw,
            "value": value, "missing_reason": reason, "code_valid": valid}


def survey(responses: list[dict], answers: list[dict] | None = None) -> SurveyRead:
    resp = pd.DataFrame(responses, columns=RESPONSE_COLUMNS)
    resp["submitted_at"] = pd.to_datetime(resp["submitted_at"])
    resp["started_at"] = pd.to_datetime(resp["started_at"])
    resp["lastpage"] = resp["lastpage"].astype("Int64")
    resp["is_complete"] = resp["is_complete"].astype(bool)
    ans = pd.DataFrame(answers or [], columns=ANSWER_COLUMNS)
    ans["value"] = ans["value"].astype("float64")
    ans["code_valid"] = ans["code_valid"].astype(bool)
    return SurveyRead(responses=resp, answers=ans, open_answers=pd.DataFrame(columns=OPEN_ANSWER_COLUMNS),
                      report=LoadReport(source_file=SOURCE))


def clean() -> SurveyRead:
    """Three valid responses (lines 2-4) of three respondents, within the fieldwork."""
    return survey(
        [response(2, "1", "tokA"), response(3, "2", "tokB"), response(4, "3", "tokC", submitted=None)],
        [answer(2, "1", "plan_known", "L2[SQ001]", "A4", 4.0), answer(2, "1", "score", "SCORE", "7", 7.0),
         answer(3, "2", "plan_known", "L2[SQ001]", "-9", None, reason="weet niet"),
         answer(3, "2", "score", "SCORE", "10", 10.0), answer(4, "3", "plan_known", "L2[SQ001]", None, None)])


def run(read: SurveyRead, inst: Instrument | None = None, **kw):
    kw.setdefault("today", TODAY)
    return check_survey(read, inst or instrument(), "2024-spring", SOURCE, **kw)


def result(results, code: str):
    (found,) = [r for r in results if r.code == code]
    return found


def test_clean_wave_passes_every_rule_once_in_table_order():
    results = run(clean(), fieldwork_start=dt.date(2024, 3, 1), fieldwork_end=dt.date(2024, 3, 31))
    assert [r.code for r in results] == [r.spec.code for r in SURVEY_RULES]
    assert all(r.passed and r.failing_rows == 0 and r.sample_lines == [] for r in results)
    assert all(r.source_file == SOURCE for r in results)


def test_rule_table_is_data():
    codes = [r.spec.code for r in SURVEY_RULES]
    assert len(codes) == len(set(codes)) and all(c.startswith("S_") for c in codes)
    assert all(r.spec.stage in (1, 2) and r.spec.severity in (ERROR, WARNING) for r in SURVEY_RULES)
    assert "| `S_CODE_IN_SCHEME` | 1 | error |" in rule_table(SURVEY_RULES)


def test_no_responses_header_only_is_an_error_at_line_1():
    r = result(run(survey([])), "S_NO_RESPONSES")
    assert (r.passed, r.severity, r.stage, r.failing_rows, r.sample_lines) == (False, ERROR, 1, 1, [1])
    assert r.blocks
    assert result(run(clean()), "S_NO_RESPONSES").passed


def test_no_responses_from_a_real_header_only_export(tmp_path):
    from orchestration.readers.limesurvey import read_limesurvey_csv

    path = tmp_path / "responses.csv"
    path.write_text("id,submitdate,lastpage,startlanguage,seed,token,L2[SQ001],SCORE\n", encoding="utf-8")
    results = run(read_limesurvey_csv(path, instrument(), "2024-spring"))
    blocking = [r.code for r in results if r.blocks]
    assert blocking == ["S_NO_RESPONSES"]


def test_response_id_unique():
    read = survey([response(2, "1", "tokA"), response(3, "2", "tokB"), response(4, "2", "tokC")])
    r = result(run(read), "S_RESPONSE_ID_UNIQUE")
    assert (r.passed, r.severity, r.failing_rows, r.sample_lines, r.columns) == (False, ERROR, 2, [3, 4], ["id"])


def test_code_in_scheme_reports_line_column_and_code():
    read = clean()
    read.answers.loc[len(read.answers)] = answer(5, "4", "plan_known", "L2[SQ001]", "A9", None, valid=False)
    read.answers.loc[len(read.answers)] = answer(7, "5", "score", "SCORE", "11", None, valid=False)
    r = result(run(read), "S_CODE_IN_SCHEME")
    assert (r.passed, r.severity, r.stage, r.failing_rows, r.sample_lines) == (False, ERROR, 1, 2, [5, 7])
    assert r.columns == ["L2[SQ001]", "SCORE"]
    assert "L2[SQ001]=<value withheld: 2 characters, letters and digits> (line 5)" in r.message
    assert "SCORE=<value withheld: 2 characters, digits> (line 7)" in r.message and "A9" not in r.message


def test_value_in_range_built_from_each_answer_scheme():
    read = survey([response(2, "1"), response(3, "2"), response(4, "3")],
                  [answer(2, "1", "plan_known", "L2[SQ001]", "A3", 3.0),
                   answer(2, "1", "score", "SCORE", "3.5", 3.5),        # min..max scheme: 3.5 is in range
                   answer(3, "2", "plan_clear", "L2[SQ002]", "A6", 6.0),  # 6 is no value of agree5
                   answer(4, "3", "score", "SCORE", "0", 0.0)])           # below min 1
    r = result(run(read), "S_VALUE_IN_RANGE")
    assert (r.passed, r.severity, r.failing_rows, r.sample_lines) == (False, ERROR, 2, [3, 4])
    assert r.columns == ["L2[SQ002]", "SCORE"]


def test_respondent_token_twice_is_a_warning_with_both_lines():
    read = survey([response(2, "1", "tokA", submitted=None), response(3, "2", "tokB"),
                   response(4, "3", "tokA"), response(5, "4", None), response(6, "5", None)])
    r = result(run(read), "S_RESPONDENT_ONCE")
    assert (r.passed, r.severity, r.failing_rows, r.sample_lines, r.columns) == (False, WARNING, 2, [2, 4], ["token"])
    assert not r.blocks


def test_respondent_once_does_not_apply_without_respondent_key():
    read = survey([response(2, "1"), response(3, "2")])
    r = result(run(read, instrument(respondent_key=None)), "S_RESPONDENT_ONCE")
    assert r.passed and "not linkable" in r.message


def test_submit_date_not_after_today():
    read = survey([response(2, "1", submitted="2024-06-30 23:59:00"),   # today: fine
                   response(3, "2", submitted="2024-07-01 00:00:01", started="2024-07-01 00:00:00"),
                   response(4, "3", submitted=None)])
    r = result(run(read), "S_SUBMIT_NOT_FUTURE")
    assert (r.passed, r.severity, r.stage, r.failing_rows, r.sample_lines) == (False, WARNING, 2, 1, [3])


def test_submit_after_start():
    read = survey([response(2, "1", submitted="2024-03-10 10:00:00", started="2024-03-10 10:00:00"),
                   response(3, "2", submitted="2024-03-10 09:00:00", started="2024-03-10 10:00:00"),
                   response(4, "3", submitted="2024-03-10 09:00:00", started=None)])
    r = result(run(read), "S_SUBMIT_AFTER_START")
    assert (r.passed, r.severity, r.failing_rows, r.sample_lines) == (False, WARNING, 1, [3])


def test_submit_in_fieldwork():
    read = survey([response(2, "1", submitted="2024-02-28 12:00:00", started="2024-02-28 11:00:00"),
                   response(3, "2", submitted="2024-03-01 00:00:00", started="2024-02-29 23:00:00"),
                   response(4, "3", submitted="2024-03-31 23:00:00"),
                   response(5, "4", submitted="2024-04-01 08:00:00")])
    r = result(run(read, fieldwork_start=dt.date(2024, 3, 1), fieldwork_end=dt.date(2024, 3, 31)),
               "S_SUBMIT_IN_FIELDWORK")
    assert (r.passed, r.severity, r.failing_rows, r.sample_lines) == (False, WARNING, 2, [2, 5])
    as_text = result(run(read, fieldwork_start="2024-03-01", fieldwork_end=pd.Timestamp("2024-03-31")),
                     "S_SUBMIT_IN_FIELDWORK")
    assert as_text.sample_lines == [2, 5]
    unchecked = result(run(read), "S_SUBMIT_IN_FIELDWORK")
    assert unchecked.passed and "no fieldwork dates" in unchecked.message


def test_sample_lines_are_the_first_ten_ascending():
    responses = [response(line, "dup") for line in range(30, 1, -1)]
    r = result(run(survey(responses)), "S_RESPONSE_ID_UNIQUE")
    assert r.failing_rows == 29 and r.sample_lines == list(range(2, 12))


@pytest.mark.parametrize("code", [r.spec.code for r in SURVEY_RULES])
def test_every_rule_reports_its_spec(code):
    (rule,) = [r for r in SURVEY_RULES if r.spec.code == code]
    r = result(run(clean()), code)
    assert (r.stage, r.severity) == (rule.spec.stage, rule.spec.severity)
    assert r.message.startswith(rule.spec.message)


def test_one_respondent_about_several_dossiers_is_once_per_dossier():
    """An auditor (one token) scores several dossiers in a wave: once per dossier is fine (SPEC 5); the same
    dossier twice is the warning."""
    rows = [response(2, "1", "aud1"), response(3, "2", "aud1"), response(4, "3", "aud1"), response(5, "4", "aud2")]
    for row, dossier in zip(rows, ["D1", "D2", "D1", "D1"]):
        row["dossier_id"] = dossier
    r = result(run(survey(rows)), "S_RESPONDENT_ONCE")
    assert (r.passed, r.failing_rows, r.sample_lines) == (False, 2, [2, 4])


def test_superseded_per_respondent_and_dossier():
    from orchestration.responses import mark_superseded

    frame = pd.DataFrame({
        "response_id": ["1", "2", "3", "4", "5"], "respondent_id": ["aud1", "aud1", "aud1", "aud2", None],
        "dossier_id": ["D1", "D2", "D1", "D1", "D1"], "is_complete": [True, True, True, True, True],
        "submitted_at": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-05", "2024-03-01", "2024-03-01"]),
        "source_line": [2, 3, 4, 5, 6]})
    flags, notes = mark_superseded(frame, "audit.csv")
    assert flags.tolist() == [True, False, False, False, False]   # aud1 on D1 twice: the later stands
    assert len(notes) == 1 and "about one dossier" in notes[0] and "kept response 3" in notes[0]
