"""The dossier extract reader and its pseudonymisation (SPEC 3.4, 6) on small hand-written files."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration import history, warehouse
from orchestration.privacy import pseudonymise
from orchestration.readers.base import ReaderError
from orchestration.readers.dossiers import (
    D_CSV_STRUCTURE, D_DATE_FORMAT, D_FILE_MISSING, D_NUMBER, D_REQUIRED_COLUMN, RAW_COLUMNS, READ_COLUMNS,
    pseudonymise_extract, read_dossier_extract,
)

KEY = b"unit-test-key-0123456789-0123456789"
EXTRACT = date(2024, 6, 30)

DOSSIERS_HEADER = "dossier_id;child_id;service;region;team;registration_date;closure_date;closure_reason;birth_year;sex"
PLACEMENTS = "placement_id,dossier_id,start_date,end_date,placement_type\nP1,D1,2023-03-01,,residential\n"
EVENTS = ("event_id,dossier_id,event_date,event_type,value,rated_by\n"
          "E1,D1,2023-02-02,scaling_question,\"7,5\",worker\nE2,D1,2023-02-03,mapping,,\n")


def write(folder: Path, name: str, text: str, *, encoding: str = "utf-8", bom: bool = False,
          newline: str = "\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = text.replace("\n", newline).encode(encoding)
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def extract(tmp_path: Path, dossiers: str, *, placements: str = PLACEMENTS, events: str | None = EVENTS,
            **kwargs) -> Path:
    folder = tmp_path / "dossiers" / EXTRACT.isoformat()
    write(folder, "dossiers.csv", dossiers, **kwargs)
    write(folder, "placements.csv", placements)
    if events is not None:
        write(folder, "practice_events.csv", events)
    return folder


def test_utf8_bom_semicolon_crlf_quotes_and_day_month_year(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     'D1;06.12.14-188.19;OCJ;Antwerpen;"Team; Noord";01/02/2023;15/03/2024;doelen_bereikt;2006;V\n'
                     "D2;C2;SDJ;Limburg;;28/02/2023;;;;\n", bom=True, newline="\r\n")
    read = read_dossier_extract(folder, EXTRACT)
    report = read.reports["dossiers.csv"]
    assert (report.encoding, report.separator, report.n_rows) == ("utf-8-sig", ";", 2)
    d = read.dossiers
    assert list(d.columns) == READ_COLUMNS["dossiers"]
    assert d.loc[0, "dossier_id"] == "D1"  # the BOM is not part of the first column name or value
    assert d.loc[0, "team"] == "Team; Noord"
    assert d.loc[0, "registration_date"] == pd.Timestamp("2023-02-01")
    assert d.loc[0, "closure_date"] == pd.Timestamp("2024-03-15")
    assert d.loc[0, "birth_year"] == 2006
    assert pd.isna(d.loc[1, "team"]) and pd.isna(d.loc[1, "closure_date"]) and pd.isna(d.loc[1, "birth_year"])
    assert d["source_line"].tolist() == [2, 3]
    # placements: ',' separated, ISO dates, ongoing placement; events: decimal comma in a quoted field
    assert read.reports["placements.csv"].separator == ","
    assert pd.isna(read.placements.loc[0, "end_date"])
    assert read.practice_events["value"].tolist()[0] == 7.5
    assert pd.isna(read.practice_events["value"].tolist()[1])


def test_cp1252_file_is_decoded_and_reported(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     "D1;C1;SDJ;West-Vlaanderen;Kortrijk – Roeselare;01/02/2023;;;2010;M\n"
                     "D2;C2;OCJ;West-Vlaanderen;Brugge Sint-André;02/02/2023;;;2011;V\n", encoding="cp1252")
    assert b"\x96" in (folder / "dossiers.csv").read_bytes()  # the en dash is cp1252, not latin-1
    read = read_dossier_extract(folder, EXTRACT)
    assert read.reports["dossiers.csv"].encoding == "cp1252"
    assert read.dossiers["team"].tolist() == ["Kortrijk – Roeselare", "Brugge Sint-André"]


def test_iso_and_day_month_year_mixed_in_one_file(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     "D1;C1;OCJ;Limburg;;2023-02-01;05/03/2023;;;\n"
                     "D2;C2;OCJ;Limburg;;01/02/2023;2023-03-05;;;\n"
                     "D3;C3;OCJ;Limburg;;29/02/2024;;;;\n")
    d = read_dossier_extract(folder, EXTRACT).dossiers
    assert d["registration_date"].tolist() == [pd.Timestamp("2023-02-01")] * 2 + [pd.Timestamp("2024-02-29")]
    assert d["closure_date"].tolist()[:2] == [pd.Timestamp("2023-03-05")] * 2


@pytest.mark.parametrize("bad", ["13/25/2023", "2023-02-30", "31/04/2023", "2023/01/05", "1/3/2023",
                                 "2023-01-05 10:00", "05-01-2023", "gisteren"])
def test_bad_or_impossible_date_names_file_line_and_column(tmp_path, bad):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     "D1;C1;OCJ;Limburg;;2023-02-01;;;;\n"
                     "D2;C2;OCJ;Limburg;;01/02/2023;;;;\n"
                     f"D3;C3;OCJ;Limburg;;01/02/2023;{bad};;;\n"
                     f"D4;C4;OCJ;Limburg;;01/02/2023;{bad};;;\n")
    with pytest.raises(ReaderError) as caught:
        read_dossier_extract(folder, EXTRACT)
    err = caught.value
    assert (err.path.name, err.line, err.column, err.code) == ("dossiers.csv", 4, "closure_date", D_DATE_FORMAT)
    assert "dossiers.csv, line 4, column 'closure_date'" in str(err)
    # described, never echoed (SPEC 6): its length is given
    assert bad not in str(err) and f"{len(bad)} character" in str(err) and "2 records" in str(err)


def test_date_error_line_is_physical_line_after_quoted_newline_and_blank_line(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     'D1;C1;OCJ;Limburg;"Team\nmet twee regels";2023-02-01;;;;\n'
                     "\n"
                     "D2;C2;OCJ;Limburg;;13/25/2023;;;;\n")
    with pytest.raises(ReaderError) as caught:
        read_dossier_extract(folder, EXTRACT)
    assert (caught.value.line, caught.value.column) == (5, "registration_date")


def test_source_lines_follow_physical_lines(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     'D1;C1;OCJ;Limburg;"Team\nmet twee regels";2023-02-01;;;;\n'
                     "\n"
                     "D2;C2;OCJ;Limburg;;2023-02-01;;;;\n\n")
    d = read_dossier_extract(folder, EXTRACT).dossiers
    assert d["source_line"].tolist() == [2, 5]
    assert d.loc[0, "team"] == "Team\nmet twee regels"


@pytest.mark.parametrize("column", ["dossier_id", "child_id", "service", "region", "registration_date"])
def test_missing_required_column(tmp_path, column):
    header = [c for c in DOSSIERS_HEADER.split(";") if c != column]
    folder = extract(tmp_path, ";".join(header) + "\n" + ";".join("x" for _ in header) + "\n")
    with pytest.raises(ReaderError) as caught:
        read_dossier_extract(folder, EXTRACT)
    assert (caught.value.code, caught.value.column, caught.value.line) == (D_REQUIRED_COLUMN, column, 1)
    assert caught.value.path.name == "dossiers.csv"


def test_missing_required_column_in_placements(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\nD1;C1;OCJ;Limburg;;2023-02-01;;;;\n",
                     placements="placement_id,dossier_id,start_date,placement_type\nP1,D1,2023-03-01,other\n")
    with pytest.raises(ReaderError) as caught:
        read_dossier_extract(folder, EXTRACT)
    assert (caught.value.path.name, caught.value.code, caught.value.column) == ("placements.csv", D_REQUIRED_COLUMN,
                                                                                "end_date")


def test_optional_columns_and_files_and_extra_columns(tmp_path):
    folder = extract(tmp_path, "Dossier_ID,child_id,service,region,registration_date,remark\n"
                     "D1,C1,OCJ,Limburg,2023-02-01,free text\n", events=None)
    read = read_dossier_extract(folder, EXTRACT)
    d = read.dossiers
    assert list(d.columns) == READ_COLUMNS["dossiers"]
    assert d.loc[0, "dossier_id"] == "D1"  # header names are matched case-insensitively
    assert d[["team", "closure_date", "birth_year", "sex"]].isna().all().all()
    report = read.reports["dossiers.csv"]
    assert report.unmapped_columns == ["remark"]
    assert any("team" in note for note in report.notes)
    assert read.practice_events.empty and list(read.practice_events.columns) == READ_COLUMNS["practice_events"]
    assert any("absent" in note for note in read.reports["practice_events.csv"].notes)


def test_required_file_missing(tmp_path):
    folder = tmp_path / "dossiers" / EXTRACT.isoformat()
    write(folder, "dossiers.csv", DOSSIERS_HEADER + "\n")
    with pytest.raises(ReaderError) as caught:
        read_dossier_extract(folder, EXTRACT)
    assert caught.value.code == D_FILE_MISSING and caught.value.path.name == "placements.csv"


def test_empty_required_value_is_left_to_the_quality_gate(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\nD1;;OCJ;;;2023-02-01;;;;\n")
    d = read_dossier_extract(folder, EXTRACT).dossiers
    assert pd.isna(d.loc[0, "child_id"]) and pd.isna(d.loc[0, "region"])


def test_wrong_number_of_fields_names_the_line(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     "D1;C1;OCJ;Limburg;;2023-02-01;;;;\n"
                     'D2;C2;OCJ;Limburg;"a\nb";2023-02-01;;;;\n'
                     "D3;C3;OCJ;Limburg;2023-02-01\n")
    with pytest.raises(ReaderError) as caught:
        read_dossier_extract(folder, EXTRACT)
    assert (caught.value.code, caught.value.line) == (D_CSV_STRUCTURE, 5)


@pytest.mark.parametrize("column,value", [("birth_year", "twee"), ("birth_year", "12")])
def test_bad_number(tmp_path, column, value):
    folder = extract(tmp_path, DOSSIERS_HEADER + f"\nD1;C1;OCJ;Limburg;;2023-02-01;;;{value};\n")
    with pytest.raises(ReaderError) as caught:
        read_dossier_extract(folder, EXTRACT)
    assert (caught.value.code, caught.value.line, caught.value.column) == (D_NUMBER, 2, column)


def test_pseudonymise_extract_shapes_raw_tables_and_leaves_no_raw_id(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     "D1;06.12.14-188.19;OCJ;Antwerpen;;01/02/2023;;;2006;V\n"
                     "D2;\u00a0C2\t;SDJ;Limburg;;01/02/2023;;;;\n")
    read = read_dossier_extract(folder, EXTRACT)
    frames = pseudonymise_extract(read, KEY)
    assert set(frames) == set(RAW_COLUMNS)
    for table, frame in frames.items():
        assert list(frame.columns) == RAW_COLUMNS[table]
        assert (frame["partition_key"] == "2024-06-30").all()
        assert (frame["extract_date"] == pd.Timestamp("2024-06-30")).all()
        cells = {str(v).strip() for v in frame.to_numpy().ravel()}
        assert not cells & {"D1", "D2", "06.12.14-188.19", "C2", "P1", "E1", "E2"}
        assert not any("188.19" in c for c in cells)
    d, p, e = frames["raw.dossiers"], frames["raw.placements"], frames["raw.practice_events"]
    # the same HMAC as privacy.pseudonymise, one domain per kind of id (so D1 as a child id differs)
    assert d["dossier_key"].tolist() == [pseudonymise("D1", "dossier", KEY), pseudonymise("D2", "dossier", KEY)]
    assert d["child_key"].tolist() == [pseudonymise("06.12.14-188.19", "child", KEY), pseudonymise("C2", "child", KEY)]
    assert p["placement_key"].tolist() == [pseudonymise("P1", "placement", KEY)]
    assert e["event_key"].tolist() == [pseudonymise("E1", "event", KEY), pseudonymise("E2", "event", KEY)]
    assert p.loc[0, "dossier_key"] == e.loc[0, "dossier_key"] == d.loc[0, "dossier_key"]
    assert pseudonymise("D1", "child", KEY) != d.loc[0, "dossier_key"]
    # the caller records the extract in the change history: the frames fit the raw tables
    con = duckdb.connect()
    con.execute(warehouse.RAW_DDL)
    change = history.load_extract(con, date(2024, 6, 30), "2024-06-30", "L1", frames)
    assert change.rows == {"raw.dossiers": 2, "raw.placements": 1, "raw.practice_events": 2}
    row = con.execute("select registration_date, birth_year, source_line, valid_from, valid_to, load_id "
                      "from raw.dossier_versions order by source_line").fetchall()
    assert row[0] == (date(2023, 2, 1), 2006, 2, date(2024, 6, 30), None, "L1") and row[1][1] is None
    assert con.execute("select value from raw.dossier_event_versions order by source_line").fetchall() == [(7.5,), (None,)]


def test_pseudonymise_rejects_empty_key(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\nD1;C1;OCJ;Limburg;;2023-02-01;;;;\n")
    with pytest.raises(ValueError):
        pseudonymise_extract(read_dossier_extract(folder, EXTRACT), b"")
