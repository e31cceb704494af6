"""The LimeSurvey CSV reader on small hand-written exports (SPEC 3.1 and the catalogue of bad inputs)."""
from __future__ import annotations

import math

import pytest

from orchestration.readers.base import ReaderError
from orchestration.readers.limesurvey import read_limesurvey_csv
from tests.helpers import HEADER, mini_instrument, write_export

ROW1 = ["1", "2021-05-03 10:11:12", "3", "nl", "123", "tokA", "A4", "A2", "7", "1", "", "301"]
ROW2 = ["2", "", "1", "nl", "456", "tokB", "A5", "", "", "2", "", "40"]


def answers_of(read, response_id):
    a = read.answers[read.answers["response_id"] == response_id]
    def nn(v):  # pandas 3 stores a missing string as NaN: compare as None
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
    return {r.item: (nn(r.raw_code), nn(r.value), nn(r.missing_reason), r.code_valid) for r in a.itertuples()}


@pytest.mark.parametrize("sep,bom,crlf,quote_all", [
    (";", True, True, True),     # RemoteControl: BOM, ;, all quoted, CRLF
    (",", False, False, False),  # web export defaults: no BOM, comma, LF, minimal quoting
    (",", True, True, True),
    (";", False, False, False),
])
def test_formats_read_alike(tmp_path, sep, bom, crlf, quote_all):
    inst = mini_instrument(tmp_path)
    path = write_export(tmp_path / "responses.csv", [HEADER, ROW1, ROW2], sep=sep, bom=bom, crlf=crlf,
                        quote_all=quote_all)
    read = read_limesurvey_csv(path, inst, "2021")
    assert read.report.separator == sep
    assert read.report.encoding == ("utf-8-sig" if bom else "utf-8")
    assert list(read.responses["response_id"]) == ["1", "2"]
    assert list(read.responses["source_line"]) == [2, 3]
    # A-codes recoded through the scheme: A4 -> 4, A2 -> 2
    assert answers_of(read, "1") == {
        "plan_known": ("A4", 4.0, None, True), "manager_support": ("A2", 2.0, None, True),
        "attitude": ("7", 7.0, None, True), "function": ("1", 1.0, None, True)}


def test_incomplete_response_kept_and_flagged(tmp_path):
    inst = mini_instrument(tmp_path)
    read = read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER, ROW1, ROW2]), inst, "w1")
    resp = read.responses.set_index("response_id")
    assert bool(resp.at["1", "is_complete"]) is True
    assert bool(resp.at["2", "is_complete"]) is False
    assert resp.at["2", "lastpage"] == 1
    assert str(resp.at["1", "submitted_at"]) == "2021-05-03 10:11:12"
    assert answers_of(read, "2")["manager_support"] == (None, None, None, True)  # skipped


def test_underscore_columns_and_unmapped_reported(tmp_path):
    inst = mini_instrument(tmp_path)
    header = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "L2_SQ001", "L2_SQ002", "ATT",
              "FUNCTIE", "EXTRA1", "ipaddr", "groupTime55", "L2Time"]
    row = ["9", "2021-05-03 10:11:12", "2", "nl", "1", "t9", "A1", "A5", "10", "2", "x", "10.0.0.1", "3", "4"]
    read = read_limesurvey_csv(write_export(tmp_path / "r.csv", [header, row]), inst, "w")
    assert answers_of(read, "9")["plan_known"] == ("A1", 1.0, None, True)
    assert answers_of(read, "9")["manager_support"][1] == 5.0
    assert read.report.unmapped_columns == ["EXTRA1"]  # ipaddr dropped, timing ignored
    assert any("EXTRA1" in n for n in read.report.notes)
    assert "10.0.0.1" not in read.responses.to_csv() + read.answers.to_csv()


def test_declared_missing_and_code_outside_scheme(tmp_path):
    inst = mini_instrument(tmp_path)
    row = ["3", "2021-05-03 10:11:12", "3", "nl", "1", "t3", "-9", "A7", "11", "1", "", "1"]
    read = read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER, row]), inst, "w")
    got = answers_of(read, "3")
    assert got["plan_known"] == ("-9", None, "weet niet", True)
    assert got["manager_support"] == ("A7", None, None, False)
    assert got["attitude"] == ("11", None, None, False)  # above max 10


def test_anonymised_1980_submitdate_is_unknown_but_complete(tmp_path):
    inst = mini_instrument(tmp_path)
    row = ["4", "1980-01-01 00:00:00", "3", "nl", "1", "", "A3", "A3", "5", "1", "", "1"]
    read = read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER, row]), inst, "w")
    r = read.responses.iloc[0]
    assert bool(r["is_complete"]) is True
    assert r["submitted_at"] is None or str(r["submitted_at"]) == "NaT"
    assert r["respondent_id"] is None
    assert any("1980-01-01" in n for n in read.report.notes)


def test_full_answer_texts_refused_with_export_option(tmp_path):
    inst = mini_instrument(tmp_path)
    row = ["5", "2021-05-03 10:11:12", "3", "nl", "1", "t5", "eerder akkoord", "A2", "7", "1", "", "1"]
    with pytest.raises(ReaderError) as err:
        read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER, row]), inst, "w")
    assert err.value.code == "S_FULL_ANSWERS"
    assert err.value.line == 2 and err.value.column == "L2[SQ001]"
    assert "Answer codes" in str(err.value)


def test_text_headings_refused_with_export_option(tmp_path):
    inst = mini_instrument(tmp_path)
    header = ["Response ID", "Date submitted", "Last page", "Start language", "Seed",
              "Ik ken het implementatieplan", "Houding 1-10"]
    row = ["1", "2021-05-03 10:11:12", "3", "nl", "1", "A4", "7"]
    with pytest.raises(ReaderError) as err:
        read_limesurvey_csv(write_export(tmp_path / "r.csv", [header, row]), inst, "w")
    assert err.value.code == "S_TEXT_HEADINGS"
    assert "Question code" in str(err.value)


def test_cp1252_answers_read_and_recorded(tmp_path):
    inst = mini_instrument(tmp_path)
    row = ["6", "2021-05-03 10:11:12", "3", "nl", "1", "t6", "A4", "A4", "8", "1", "Café in Ørsted", "1"]
    path = write_export(tmp_path / "r.csv", [HEADER, row], bom=False, encoding="cp1252")
    read = read_limesurvey_csv(path, inst, "w")
    assert read.report.encoding == "cp1252"
    assert read.open_answers["answer"].tolist() == ["Café in Ørsted"]


def test_free_text_with_quotes_and_separator_intact(tmp_path):
    inst = mini_instrument(tmp_path)
    text = 'Hij zei "genoeg"; daarna\r\nnog een regel'
    row = ["7", "2021-05-03 10:11:12", "3", "nl", "1", "t7", "A4", "A4", "8", "1", text, "1"]
    read = read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER, row, ROW2]), inst, "w")
    assert read.open_answers["answer"].tolist() == [text]
    # the record after the multi-line field starts on physical line 4
    assert read.responses["source_line"].tolist() == [2, 4]


def test_duplicate_column_names_refused(tmp_path):
    inst = mini_instrument(tmp_path)
    header = HEADER[:-1] + ["ATT"]
    with pytest.raises(ReaderError) as err:
        read_limesurvey_csv(write_export(tmp_path / "r.csv", [header, ROW1]), inst, "w")
    assert err.value.code == "S_DUPLICATE_COLUMN" and err.value.column == "ATT" and err.value.line == 1


def test_file_cut_off_mid_line(tmp_path):
    inst = mini_instrument(tmp_path)
    path = write_export(tmp_path / "r.csv", [HEADER, ROW1, ROW2])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])  # cut inside the last record
    with pytest.raises(ReaderError) as err:
        read_limesurvey_csv(path, inst, "w")
    assert err.value.code == "S_RECORD_SHAPE" and err.value.line == 3


def test_binary_file_named_csv(tmp_path):
    inst = mini_instrument(tmp_path)
    path = tmp_path / "r.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00binary\x00stuff")
    with pytest.raises(ReaderError) as err:
        read_limesurvey_csv(path, inst, "w")
    assert err.value.code == "FILE_NOT_TEXT"


def test_header_only_gives_no_responses(tmp_path):
    inst = mini_instrument(tmp_path)
    read = read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER]), inst, "w")
    assert len(read.responses) == 0 and len(read.answers) == 0


def test_bad_submitdate_names_line_and_column(tmp_path):
    inst = mini_instrument(tmp_path)
    row = ["8", "gisteren", "3", "nl", "1", "t8", "A4", "A4", "8", "1", "", "1"]
    with pytest.raises(ReaderError) as err:
        read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER, ROW1, row]), inst, "w")
    assert (err.value.code, err.value.line, err.value.column) == ("S_DATE", 3, "submitdate")
    assert "line 3" in str(err.value) and "r.csv" in str(err.value)


def test_utf16_file_refused_with_how_to_fix(tmp_path):
    inst = mini_instrument(tmp_path)
    path = tmp_path / "r.csv"
    path.write_bytes(";".join(HEADER).encode("utf-16"))
    with pytest.raises(ReaderError) as err:
        read_limesurvey_csv(path, inst, "w")
    assert err.value.code == "FILE_NOT_TEXT" and "UTF-16" in str(err.value) and "UTF-8" in str(err.value)


def test_missing_dossier_column_of_a_linked_instrument_is_refused(tmp_path):
    from tests.helpers import MINI_INSTRUMENT
    inst = mini_instrument(tmp_path, MINI_INSTRUMENT.replace("respondent_key: token", "respondent_key: token\ndossier_key: DOSSIER"))
    with pytest.raises(ReaderError) as err:
        read_limesurvey_csv(write_export(tmp_path / "r.csv", [HEADER, ROW1]), inst, "w")
    assert err.value.code == "S_REQUIRED_COLUMN" and err.value.column == "DOSSIER"
