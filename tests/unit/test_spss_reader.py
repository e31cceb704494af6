"""SPSS ``.sav`` reader (SPEC 3.2): files written here with pyreadstat, expected values stated by hand."""
from __future__ import annotations

import datetime as dt
import math
import struct
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from orchestration.instruments import load_instrument
from orchestration.readers.base import ANSWER_COLUMNS, OPEN_ANSWER_COLUMNS, RESPONSE_COLUMNS, ReaderError
from orchestration.readers.spss import read_spss, read_spss_metadata

INSTRUMENT_YAML = """\
instrument: client_feedback
title: Feedback van ouders en netwerk
population: client
respondent_key: token
dossier_key: DOSSIER
answer_schemes:
  agree5:
    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}
    labels: {1: helemaal niet akkoord, 2: eerder niet akkoord, 3: neutraal, 4: eerder akkoord, 5: helemaal akkoord}
    missing: {"-9": weet niet}
  score0_10: {min: 0, max: 10}
  function: {nominal: true, labels: {1: Consulent OCJ, 2: Consulent SDJ}}
  text: {text: true}
constructs:
  voice: {label: Inspraak, min_valid_share: 0.5}
items:
  - item: felt_heard
    text: Ik voelde me gehoord.
    scheme: agree5
    construct: voice
    source: "L2[SQ001]"
  - item: had_a_say
    text: Ik had inspraak.
    scheme: agree5
    construct: voice
    source: {"2023": "Q1", "2025": "Q1B"}
  - item: safety_score
    scheme: score0_10
    source: SAFETY
  - item: function
    role: attribute
    scheme: function
    source: FUNCTIE
  - item: remarks
    scheme: text
    source: OPM
"""


@pytest.fixture
def instrument(tmp_path):
    path = tmp_path / "instruments" / "client_feedback.yaml"
    path.parent.mkdir()
    path.write_text(INSTRUMENT_YAML, encoding="utf-8")
    return load_instrument(path)


def _write_wave_2025(path: Path) -> None:
    df = pd.DataFrame({
        "id": [11.0, 12.0, 13.0, 14.0],
        "token": ["tokA", "tokB", "", "tokD"],
        "DOSSIER": [1001.0, 1002.0, np.nan, 1004.0],
        "submitdate": [dt.datetime(2025, 3, 1, 10, 15, 0), pd.NaT, dt.datetime(1980, 1, 1), dt.datetime(2025, 3, 4, 8, 0, 30)],
        "startdate": [dt.datetime(2025, 3, 1, 10, 0, 0), dt.datetime(2025, 3, 2, 9, 0, 0),
                      dt.datetime(1980, 1, 1), dt.datetime(2025, 3, 4, 7, 55, 0)],
        "lastpage": [3.0, 1.0, 3.0, 3.0],
        "startlanguage": ["nl", "nl", "nl", "fr"],
        "L2_SQ001": [1.0, -9.0, 5.0, 7.0],
        "Q1B": [2.0, -8.0, np.nan, 4.0],
        "SAFETY": [7.0, 10.0, 98.0, 99.0],
        "FUNCTIE": [1.0, 2.0, np.nan, 1.0],
        "OPM": ["Café in Ørsted", "", "  ", "goed"],
        "EXTRA": [1.0, 2.0, 3.0, 4.0],
        "ipaddr": ["1.2.3.4", "", "", ""],
        "interviewtime": [60.0, 30.0, 45.0, 50.0],
    })
    pyreadstat.write_sav(
        df, str(path),
        column_labels={"L2_SQ001": "Ik voelde me gehoord", "OPM": "Opmerkingen (é, ø)", "id": "Antwoord ID"},
        variable_value_labels={
            "L2_SQ001": {1: "helemaal niet akkoord", 2: "eerder niet akkoord", 3: "neutraal",
                         4: "eerder akkoord", 5: "helemaal akkoord", -9: "weet niet"},
            "Q1B": {1: "helemaal niet akkoord", 5: "helemaal akkoord"},
            "SAFETY": {0: "helemaal niet veilig", 10: "helemaal veilig", 98: "niet van toepassing"},
            "FUNCTIE": {1: "Consulent OCJ", 2: "Consulent SDJ (sociale dienst)"},
        },
        missing_ranges={"L2_SQ001": [-9], "Q1B": [-8], "SAFETY": [{"lo": 97, "hi": 99}]},
    )


def test_sav_reads_back_exactly(tmp_path, instrument):
    sav = tmp_path / "responses.sav"
    _write_wave_2025(sav)
    read = read_spss(sav, instrument, "2025")

    r = read.responses
    assert list(r.columns) == RESPONSE_COLUMNS
    assert r["source_line"].tolist() == [2, 3, 4, 5]  # case n is "line n+1", as in a CSV export
    assert r["response_id"].tolist() == ["11", "12", "13", "14"]
    assert r["respondent_id"].tolist() == ["tokA", "tokB", None, "tokD"]
    assert r["dossier_id"].tolist() == ["1001", "1002", None, "1004"]
    # the anonymised 1980 date: submitted (complete), date unknown
    assert r["is_complete"].tolist() == [True, False, True, True]
    assert r["lastpage"].tolist() == [3, 1, 3, 3]
    assert str(r["lastpage"].dtype) == "Int64"
    assert str(r["submitted_at"].dtype) == "datetime64[us]"
    assert r["submitted_at"].iloc[0] == pd.Timestamp("2025-03-01 10:15:00")
    assert pd.isna(r["submitted_at"].iloc[1]) and pd.isna(r["submitted_at"].iloc[2])
    assert r["submitted_at"].iloc[3] == pd.Timestamp("2025-03-04 08:00:30")
    assert r["started_at"].iloc[0] == pd.Timestamp("2025-03-01 10:00:00")
    assert pd.isna(r["started_at"].iloc[2])
    assert r["startlanguage"].tolist() == ["nl", "nl", "nl", "fr"]

    a = read.answers
    assert list(a.columns) == ANSWER_COLUMNS
    got = {(row.response_id, row.item): (row.source_column, row.raw_code,
                                         None if math.isnan(row.value) else row.value,
                                         row.missing_reason, row.code_valid)
           for row in a.itertuples(index=False)}
    assert got == {
        ("11", "felt_heard"): ("L2_SQ001", "1", 1.0, None, True),
        ("12", "felt_heard"): ("L2_SQ001", "-9", None, "weet niet", True),        # declared, labelled
        ("13", "felt_heard"): ("L2_SQ001", "5", 5.0, None, True),
        ("14", "felt_heard"): ("L2_SQ001", "7", None, None, False),               # outside agree5
        ("11", "had_a_say"): ("Q1B", "2", 2.0, None, True),
        ("12", "had_a_say"): ("Q1B", "-8", None, "missing code -8", True),       # declared, no label
        ("13", "had_a_say"): ("Q1B", None, None, None, True),                    # system missing
        ("14", "had_a_say"): ("Q1B", "4", 4.0, None, True),
        ("11", "safety_score"): ("SAFETY", "7", 7.0, None, True),
        ("12", "safety_score"): ("SAFETY", "10", 10.0, None, True),
        ("13", "safety_score"): ("SAFETY", "98", None, "niet van toepassing", True),  # in range 97-99
        ("14", "safety_score"): ("SAFETY", "99", None, "missing code 99", True),
        ("11", "function"): ("FUNCTIE", "1", 1.0, None, True),
        ("12", "function"): ("FUNCTIE", "2", 2.0, None, True),
        ("13", "function"): ("FUNCTIE", None, None, None, True),
        ("14", "function"): ("FUNCTIE", "1", 1.0, None, True),
    }
    assert a["source_line"].tolist() == [2, 3, 4, 5] * 4
    assert a["value"].dtype == "float64" and a["code_valid"].dtype == bool
    # never a silent null: every declared missing code has a reason
    assert a.loc[a["raw_code"].isin(["-9", "-8", "98", "99"]), "missing_reason"].notna().all()

    o = read.open_answers
    assert list(o.columns) == OPEN_ANSWER_COLUMNS
    assert o.to_dict("records") == [
        {"source_line": 2, "response_id": "11", "item": "remarks", "source_column": "OPM", "answer": "Café in Ørsted"},
        {"source_line": 5, "response_id": "14", "item": "remarks", "source_column": "OPM", "answer": "goed"},
    ]

    labels = {(x.item, x.value): x.label for x in read.labels.itertuples(index=False)}
    assert labels == {
        ("felt_heard", 1.0): "helemaal niet akkoord", ("felt_heard", 2.0): "eerder niet akkoord",
        ("felt_heard", 3.0): "neutraal", ("felt_heard", 4.0): "eerder akkoord",
        ("felt_heard", 5.0): "helemaal akkoord",
        ("had_a_say", 1.0): "helemaal niet akkoord", ("had_a_say", 5.0): "helemaal akkoord",
        ("safety_score", 0.0): "helemaal niet veilig", ("safety_score", 10.0): "helemaal veilig",
        ("function", 1.0): "Consulent OCJ", ("function", 2.0): "Consulent SDJ (sociale dienst)",
    }

    rep = read.report
    assert rep.encoding == "utf-8"
    assert rep.separator is None
    assert rep.n_rows == 4
    assert rep.unmapped_columns == ["EXTRA"]  # ipaddr dropped, interviewtime ignored, keys used
    notes = "\n".join(rep.notes)
    assert "1 responses carry the anonymised submit date" in notes
    assert ("item function (variable FUNCTIE): value 2 is labelled 'Consulent SDJ (sociale dienst)' in the "
            ".sav but 'Consulent SDJ' in the instrument") in notes
    assert "EXTRA" in notes
    assert not any("felt_heard" in n for n in rep.notes)  # its labels agree with the instrument


def test_metadata_keeps_variable_labels_missing_and_formats(tmp_path):
    sav = tmp_path / "responses.sav"
    _write_wave_2025(sav)
    md = read_spss_metadata(sav)
    assert md.n_rows == 4
    assert md.encoding == "utf-8"
    assert md.variable_labels["L2_SQ001"] == "Ik voelde me gehoord"
    assert md.variable_labels["OPM"] == "Opmerkingen (é, ø)"
    assert md.variable_labels["SAFETY"] is None
    assert md.value_labels["L2_SQ001"][-9.0] == "weet niet"
    assert md.missing == {"L2_SQ001": [(-9.0, -9.0)], "Q1B": [(-8.0, -8.0)], "SAFETY": [(97.0, 99.0)]}
    assert md.formats["submitdate"].startswith("DATETIME")


def test_moved_source_column_lands_on_same_item(tmp_path, instrument):
    """Item had_a_say is Q1 in 2023 and Q1B in 2025 (the crosswalk)."""
    for wave, var in (("2023", "Q1"), ("2025", "Q1B")):
        folder = tmp_path / wave
        folder.mkdir()
        df = pd.DataFrame({"id": [1.0, 2.0], "submitdate": [dt.datetime(int(wave), 5, 1, 12, 0), pd.NaT],
                           "lastpage": [2.0, 1.0], var: [4.0, 2.0]})
        pyreadstat.write_sav(df, str(folder / "responses.sav"))
    r23 = read_spss(tmp_path / "2023" / "responses.sav", instrument, "2023")
    r25 = read_spss(tmp_path / "2025" / "responses.sav", instrument, "2025")
    for read, var in ((r23, "Q1"), (r25, "Q1B")):
        a = read.answers
        assert a["item"].tolist() == ["had_a_say", "had_a_say"]
        assert a["source_column"].tolist() == [var, var]
        assert a["value"].tolist() == [4.0, 2.0]
        assert read.report.unmapped_columns == []
    # the 2025 name is not an item in 2023 and vice versa
    df = pd.DataFrame({"id": [1.0], "submitdate": [dt.datetime(2023, 5, 1)], "lastpage": [1.0], "Q1B": [3.0]})
    pyreadstat.write_sav(df, str(tmp_path / "wrong.sav"))
    wrong = read_spss(tmp_path / "wrong.sav", instrument, "2023")
    assert wrong.answers.empty
    assert wrong.report.unmapped_columns == ["Q1B"]


def test_codes_scheme_accepts_exported_codes_and_values(tmp_path, instrument):
    """A list question with codes A1..A5 as SPSS string codes or as numbers (3.0 -> 3)."""
    df = pd.DataFrame({"id": [1.0, 2.0, 3.0], "submitdate": [dt.datetime(2025, 1, 1)] * 3, "lastpage": [1.0] * 3,
                       "L2_SQ001": [3.0, 2.5, 0.0]})
    pyreadstat.write_sav(df, str(tmp_path / "num.sav"))
    a = read_spss(tmp_path / "num.sav", instrument, "2025").answers
    assert a["raw_code"].tolist() == ["3", "2.5", "0"]
    assert a["value"].tolist()[0] == 3.0 and a["code_valid"].tolist() == [True, False, False]

    df["L2_SQ001"] = ["A4", " A1", "-9"]
    pyreadstat.write_sav(df, str(tmp_path / "str.sav"))
    a = read_spss(tmp_path / "str.sav", instrument, "2025").answers
    assert a["raw_code"].tolist() == ["A4", "A1", "-9"]
    assert a["value"].tolist()[:2] == [4.0, 1.0]
    assert a["missing_reason"].tolist() == [None, None, "weet niet"]  # the scheme's declared missing code


# --- encodings -----------------------------------------------------------------------------------

def _cp1252_sav(tmp_path: Path, name: str, *, character_code: int, keep_encoding_record: bool) -> Path:
    """A .sav whose text bytes are cp1252: written by pyreadstat (always UTF-8) with same-length ASCII
    placeholders ('~' -> é, '^' -> ø, '`' -> ’), patched byte for byte afterwards."""
    df = pd.DataFrame({"id": [1.0, 2.0], "submitdate": [dt.date(2024, 6, 3), dt.date(2024, 6, 4)],
                       "lastpage": [2.0, 2.0], "FUNCTIE": [1.0, 2.0], "OPM": ["Caf~ in ^rsted", "it`s fine"]})
    src = tmp_path / f"{name}.utf8.sav"
    pyreadstat.write_sav(df, str(src), variable_value_labels={"FUNCTIE": {1: "Consulent OCJ", 2: "Bj^rn r~le"}},
                         column_labels={"OPM": "Opmerking ~"}, variable_format={"submitdate": "DATE11"})
    data = src.read_bytes()
    assert (data.count(b"~"), data.count(b"^"), data.count(b"`")) == (3, 2, 1)
    data = bytearray(data.replace(b"~", b"\xe9").replace(b"^", b"\xf8").replace(b"`", b"\x92"))
    at = data.find(struct.pack("<ii", 7, 3))          # machine integer info record: character code at +44
    struct.pack_into("<i", data, at + 44, character_code)
    if not keep_encoding_record:                        # drop the character encoding record (subtype 20)
        at = data.find(struct.pack("<ii", 7, 20))
        size = struct.unpack_from("<i", data, at + 12)[0]
        del data[at:at + 16 + size]
    out = tmp_path / f"{name}.sav"
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("character_code, keep_record, encoding, retried", [
    (65001, True, "cp1252", True),    # declares UTF-8, holds cp1252 bytes: pyreadstat fails, retry
    (1252, False, "cp1252", False),   # a proper cp1252 file (old SPSS): read as declared
    (28591, False, "cp1252", True),   # declares latin-1: the ’ (0x92) becomes a C1 control, retry
])
def test_cp1252_files(tmp_path, instrument, character_code, keep_record, encoding, retried):
    sav = _cp1252_sav(tmp_path, f"cp{character_code}", character_code=character_code, keep_encoding_record=keep_record)
    read = read_spss(sav, instrument, "2025")
    assert read.report.encoding == encoding
    assert any("read as cp1252" in n for n in read.report.notes) == retried
    assert read.open_answers["answer"].tolist() == ["Café in ørsted", "it\u2019s fine"]
    labels = dict(zip(read.labels["value"], read.labels["label"]))
    assert labels == {1.0: "Consulent OCJ", 2.0: "Bjørn réle"}
    assert any("'Bjørn réle' in the .sav but 'Consulent SDJ'" in n for n in read.report.notes)
    # a DATE-formatted submit date is a datetime at midnight
    assert read.responses["submitted_at"].tolist() == [pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-04")]
    assert read_spss_metadata(sav).variable_labels["OPM"] == "Opmerking é"


# --- dates and errors ----------------------------------------------------------------------------

def test_unrecognised_date_format_is_converted_from_spss_seconds(tmp_path, instrument):
    seconds = (dt.datetime(2025, 2, 3, 4, 5, 6) - dt.datetime(1582, 10, 14)).total_seconds()
    df = pd.DataFrame({"id": [1.0, 2.0], "submitdate": [seconds, np.nan], "lastpage": [1.0, 1.0]})
    pyreadstat.write_sav(df, str(tmp_path / "n.sav"), variable_format={"submitdate": "F14.0"})
    read = read_spss(tmp_path / "n.sav", instrument, "2025")
    assert read.responses["submitted_at"].iloc[0] == pd.Timestamp("2025-02-03 04:05:06")
    assert read.responses["is_complete"].tolist() == [True, False]
    assert any("SPSS seconds since 1582-10-14" in n for n in read.report.notes)


def test_numeric_submitdate_that_is_not_a_date_is_refused(tmp_path, instrument):
    df = pd.DataFrame({"id": [1.0, 2.0], "submitdate": [20250203.0, np.nan], "lastpage": [1.0, 1.0]})
    pyreadstat.write_sav(df, str(tmp_path / "bad.sav"))
    with pytest.raises(ReaderError) as err:
        read_spss(tmp_path / "bad.sav", instrument, "2025")
    assert err.value.code == "S_DATE" and err.value.line == 2 and err.value.column == "submitdate"


def test_string_submitdate_is_parsed(tmp_path, instrument):
    df = pd.DataFrame({"id": ["a1", "a2"], "submitdate": ["2025-02-03 04:05:06", ""], "lastpage": [1.0, np.nan]})
    pyreadstat.write_sav(df, str(tmp_path / "s.sav"))
    r = read_spss(tmp_path / "s.sav", instrument, "2025").responses
    assert r["response_id"].tolist() == ["a1", "a2"]
    assert r["submitted_at"].iloc[0] == pd.Timestamp("2025-02-03 04:05:06") and pd.isna(r["submitted_at"].iloc[1])
    assert r["is_complete"].tolist() == [True, False]
    assert r["lastpage"].iloc[0] == 1 and pd.isna(r["lastpage"].iloc[1])


def test_missing_id_value_names_the_line(tmp_path, instrument):
    df = pd.DataFrame({"id": [1.0, np.nan], "submitdate": [pd.NaT, pd.NaT], "lastpage": [1.0, 1.0]})
    pyreadstat.write_sav(df, str(tmp_path / "noid.sav"))
    with pytest.raises(ReaderError) as err:
        read_spss(tmp_path / "noid.sav", instrument, "2025")
    assert err.value.code == "S_REQUIRED_VALUE" and err.value.line == 3 and err.value.column == "id"


def test_not_a_sav_file_is_refused(tmp_path, instrument):
    bad = tmp_path / "responses.sav"
    bad.write_text(textwrap.dedent("id;submitdate\n1;2025-01-01\n"), encoding="utf-8")
    with pytest.raises(ReaderError) as err:
        read_spss(bad, instrument, "2025")
    assert err.value.code == "FILE_NOT_SAV"
    with pytest.raises(ReaderError) as err:
        read_spss(tmp_path / "absent.sav", instrument, "2025")
    assert err.value.code == "FILE_NOT_SAV"
