"""What both survey readers share (orchestration/readers/survey_export.py, base.fold): one list of
submit-date forms, column matching, duplicate and timing columns; and the date forms each reader gained
when the two lists became one (SPEC 3.1, 3.2)."""
from __future__ import annotations

import re

import pandas as pd
import pyreadstat
import pytest

from orchestration.readers.base import ReaderError, fold
from orchestration.readers.limesurvey import read_limesurvey_csv
from orchestration.readers.spss import read_spss
from orchestration.readers.survey_export import (
    TIMESTAMP_FORMATS, first_duplicate, is_timing_column, match_columns, parse_timestamp, question_code,
)
from tests.conftest import ROOT
from tests.helpers import HEADER, mini_instrument, write_export

ROW = ["1", "2021-05-03 10:11:12", "3", "nl", "123", "tokA", "A4", "A2", "7", "1", "", "301"]


@pytest.mark.parametrize("raw,expected", [
    ("2024-03-05 14:30:15", pd.Timestamp(2024, 3, 5, 14, 30, 15)),
    ("2024-03-05 14:30", pd.Timestamp(2024, 3, 5, 14, 30)),
    ("2024-03-05", pd.Timestamp(2024, 3, 5)),
    ("05/03/2024 14:30:15", pd.Timestamp(2024, 3, 5, 14, 30, 15)),   # day first: 5 March
    ("05/03/2024 14:30", pd.Timestamp(2024, 3, 5, 14, 30)),
    ("05/03/2024", pd.Timestamp(2024, 3, 5)),
    ("05-Mar-2024 14:30:15", pd.Timestamp(2024, 3, 5, 14, 30, 15)),
    ("05-Mar-2024", pd.Timestamp(2024, 3, 5)),
])
def test_parse_timestamp_every_form(raw, expected):
    assert parse_timestamp("r.csv", raw, 2, "submitdate") == expected


def test_spec_lists_exactly_the_accepted_forms():
    """docs/SPEC.md 3.1 names the submit-date forms in words; they are the reader's list, no more, no fewer."""
    spec = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    sentence = spec[spec.index("`submitdate` and `startdate` are read in one of the forms"):]
    sentence = sentence[:sentence.index("(`S_DATE`")]
    listed = set(re.findall(r"`([^`]+)`", sentence)) - {"submitdate", "startdate"}
    words = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH", "%M": "MM", "%S": "SS", "%b": "Mon"}
    as_words = set()
    for fmt in TIMESTAMP_FORMATS:
        for code, word in words.items():
            fmt = fmt.replace(code, word)
        as_words.add(fmt)
    assert listed == as_words and len(as_words) == len(TIMESTAMP_FORMATS) == 8


@pytest.mark.parametrize("raw", ["gisteren", "2024-13-01", "31/02/2024", "2024/03/05", "5 maart 2024"])
def test_parse_timestamp_refuses_other_forms_without_echoing_the_value(raw):
    with pytest.raises(ReaderError) as err:
        parse_timestamp("w/r.csv", raw, 7, "submitdate")
    assert (err.value.code, err.value.line, err.value.column) == ("S_DATE", 7, "submitdate")
    assert str(err.value).startswith("w/r.csv, line 7, column 'submitdate': <value withheld")
    assert raw not in str(err.value)


def test_limesurvey_reader_gained_the_spss_month_name_forms(tmp_path):
    """Before the lists were one, the CSV reader refused ``DD-Mon-YYYY`` (S_DATE); the SPSS reader gained nothing."""
    inst = mini_instrument(tmp_path)
    row2 = ["2", "05-Mar-2024 14:30:15", "3", "nl", "124", "tokB", "A4", "A2", "7", "1", "", "301"]
    row3 = ["3", "06-Mar-2024", "3", "nl", "125", "tokC", "A4", "A2", "7", "1", "", "301"]
    read = read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER, ROW, row2, row3]), inst, "w")
    assert read.responses["submitted_at"].tolist() == [
        pd.Timestamp(2021, 5, 3, 10, 11, 12), pd.Timestamp(2024, 3, 5, 14, 30, 15), pd.Timestamp(2024, 3, 6)]


def test_spss_reader_reads_every_text_form_too(tmp_path):
    inst = mini_instrument(tmp_path)
    df = pd.DataFrame({"id": ["a", "b", "c"], "submitdate": ["05/03/2024 14:30", "2024-03-06", "07-Mar-2024"],
                       "lastpage": [1.0, 1.0, 1.0]})
    pyreadstat.write_sav(df, str(tmp_path / "s.sav"))
    read = read_spss(tmp_path / "s.sav", inst, "w")
    assert read.responses["submitted_at"].tolist() == [
        pd.Timestamp(2024, 3, 5, 14, 30), pd.Timestamp(2024, 3, 6), pd.Timestamp(2024, 3, 7)]


def test_question_code_and_timing_columns():
    assert [question_code(c) for c in ("L2[SQ001]", "l2_SQ001", "L2.SQ001.", "\ufeffatt")] == ["L2", "L2", "L2", "ATT"]
    questions = {"L2", "ATT"}
    assert is_timing_column("interviewtime", questions) and is_timing_column("groupTime12", questions)
    assert is_timing_column("L2Time", questions) and is_timing_column("ATTTime", questions)
    assert not is_timing_column("groupTimeX", questions)
    assert not is_timing_column("XYZTime", questions)        # XYZ is no question
    assert not is_timing_column("L2TIME", questions)         # not spelled as LimeSurvey spells it
    assert not is_timing_column("Time", {""})


def test_first_duplicate_positions():
    assert first_duplicate(["ID", "L2_SQ001", "ATT", "L2_SQ001", "ATT"]) == (1, 3)
    assert first_duplicate(["ID", "ATT"]) is None
    assert first_duplicate([]) is None


def test_match_columns(tmp_path):
    inst = mini_instrument(tmp_path)   # items L2[SQ001], L2[SQ002], ATT, FUNCTIE, OPM; respondent_key token
    names = ["id", "submitdate", "TOKEN", "l2_sq002", "ATT", "OPM", "EXTRA", "ipaddr", "refurl",
             "interviewtime", "ATTTime", "groupTime3", "datestamp", "seed", "Overtime"]
    match = match_columns(names, inst, "w")
    assert [(pos, item.item) for pos, item in match.items] == [(3, "manager_support"), (4, "attitude"), (5, "remarks")]
    assert match.missing_items == [("function", "FUNCTIE"), ("plan_known", "L2[SQ001]")]
    assert match.unmapped == ["EXTRA", "Overtime"]
    assert match.position_of("token") == 2 and match.position_of("L2[SQ002]") == 3
    assert match.position_of("DOSSIER") is None and match.position_of(None) is None


def test_fold():
    assert fold("  Helemaal \t Akkoord\n") == "helemaal akkoord"
    assert fold(3) == "3"
    assert fold("eerder  akkoord") == fold("Eerder akkoord") != fold("eerder niet akkoord")
