"""The catalogue of bad inputs (SPEC 3): each a small file written here, loaded through the
real path (reader -> quality rules -> raw + audit), with the expected outcome."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration import ingest, landing
from tests.helpers import HEADER, mini_survey_env, warehouse_rows, write_export

OK1 = ["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokA", "A4", "A2", "7", "1", "", "301"]
OK2 = ["2", "2021-05-04 10:11:12", "3", "nl", "1", "tokB", "A5", "A1", "9", "2", "", "40"]


@pytest.fixture
def survey_env(project_env, monkeypatch):
    return mini_survey_env(project_env, monkeypatch)


def wave_dir(env: Path, wave: str = "w1") -> Path:
    return env / "landing" / "surveys" / "mini_survey" / wave


def load(kind: str, key: str):
    return ingest.load_partition(landing.find(kind, key))


def failing(outcome) -> dict[str, tuple[str, list[int]]]:
    return {r.code: (r.severity, r.sample_lines) for r in outcome.results if not r.passed}


# ------------------------------------------------------------------------------------- surveys

def test_bom_semicolon_crlf_loads(survey_env):
    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, OK1, OK2], sep=";", bom=True, crlf=True)
    out = load("survey", "mini_survey/w1")
    assert out.status == "loaded" and out.rows == 2 and failing(out) == {}


def test_cp1252_answers_load_and_encoding_recorded(survey_env):
    row = OK1[:10] + ["Een café in Ørsted"] + OK1[11:]
    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, row], bom=False, encoding="cp1252")
    out = load("survey", "mini_survey/w1")
    assert out.status == "loaded"
    assert warehouse_rows(survey_env, "select answer_masked from restricted.open_answers") == [("Een café in Ørsted",)]
    notes = [n for (n,) in warehouse_rows(survey_env, "select note from audit.load_notes")]
    assert any("cp1252" in n for n in notes)
    assert warehouse_rows(survey_env, "select distinct encoding from audit.loads") == [("cp1252",)]


@pytest.mark.parametrize("rows,code,line", [
    ([HEADER, OK1[:6] + ["eerder akkoord"] + OK1[7:]], "S_FULL_ANSWERS", 2),
    ([["Response ID", "Date submitted", "Last page", "Start language", "Seed", "Ik ken het plan"],
      ["1", "2021-05-03 10:11:12", "3", "nl", "1", "A4"]], "S_TEXT_HEADINGS", 1),
    ([HEADER, OK1, OK2[:6] + ["A9"] + OK2[7:]], "S_CODE_IN_SCHEME", 3),
    ([HEADER], "S_NO_RESPONSES", None),
    ([HEADER[:-1] + ["ATT"], OK1], "S_DUPLICATE_COLUMN", 1),
])
def test_refused_or_invalid_surveys_are_quarantined(survey_env, rows, code, line):
    write_export(wave_dir(survey_env) / "responses.csv", rows)
    out = load("survey", "mini_survey/w1")
    assert out.status == "quarantined"
    assert code in failing(out) and failing(out)[code][0] == "error"
    if line is not None:
        assert line in failing(out)[code][1]
    assert code in out.message and "responses.csv" in out.message
    assert warehouse_rows(survey_env, "select count(*) from raw.survey_responses") == [(0,)]
    assert warehouse_rows(survey_env, "select distinct status from audit.loads") == [("quarantined",)]
    checks = warehouse_rows(survey_env, """select "check", severity, passed from audit.check_results where not passed""")
    assert (code, "error", False) in checks


def test_file_cut_off_mid_line_is_quarantined(survey_env):
    path = write_export(wave_dir(survey_env) / "responses.csv", [HEADER, OK1, OK2])
    path.write_bytes(path.read_bytes()[:-20])
    out = load("survey", "mini_survey/w1")
    assert out.status == "quarantined" and failing(out)["S_RECORD_SHAPE"][1] == [3]


def test_binary_file_named_csv_is_quarantined(survey_env):
    wave_dir(survey_env).mkdir(parents=True)
    (wave_dir(survey_env) / "responses.csv").write_bytes(bytes(range(256)) * 4)
    out = load("survey", "mini_survey/w1")
    assert out.status == "quarantined" and "FILE_NOT_TEXT" in failing(out)


def test_same_token_twice_keeps_latest_complete_and_logs(survey_env):
    partial = ["7", "", "1", "nl", "1", "tokA", "A1", "", "", "", "", "10"]
    complete = ["8", "2021-05-05 09:00:00", "3", "nl", "1", "tokA", "A5", "A5", "8", "1", "", "300"]
    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, partial, complete, OK2])
    out = load("survey", "mini_survey/w1")
    assert out.status == "loaded"
    assert failing(out)["S_RESPONDENT_ONCE"] == ("warning", [2, 3])
    assert warehouse_rows(survey_env, "select source_line, is_superseded from raw.survey_responses order by 1") == [
        (2, True), (3, False), (4, False)]
    notes = [n for (n,) in warehouse_rows(survey_env, "select note from audit.load_notes")]
    assert any("kept response 8" in n and "superseded response 7" in n for n in notes)


def test_free_text_with_quotes_and_separator_loads_intact(survey_env):
    text = 'Zij zei: "ja; maar later"; en toen niets'
    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, OK1[:10] + [text] + OK1[11:]])
    assert load("survey", "mini_survey/w1").status == "loaded"
    assert warehouse_rows(survey_env, "select answer_masked from restricted.open_answers") == [(text,)]


def test_anonymised_1980_submitdate_loads_with_unknown_date(survey_env):
    row = ["1", "1980-01-01 00:00:00"] + OK1[2:5] + [""] + OK1[6:]
    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, row])
    assert load("survey", "mini_survey/w1").status == "loaded"
    assert warehouse_rows(survey_env, "select is_complete, submitted_at from raw.survey_responses") == [(True, None)]


def test_quarantine_keeps_earlier_version_and_corrected_file_loads(survey_env):
    path = write_export(wave_dir(survey_env) / "responses.csv", [HEADER, OK1, OK2])
    assert load("survey", "mini_survey/w1").status == "loaded"
    write_export(path, [HEADER, OK1, OK2[:6] + ["A9"] + OK2[7:]])
    assert load("survey", "mini_survey/w1").status == "quarantined"
    assert warehouse_rows(survey_env, "select count(*) from raw.survey_answers where raw_code = 'A5'") == [(1,)]
    write_export(path, [HEADER, OK1, OK2, ["3"] + OK2[1:5] + ["tokC"] + OK2[6:]])
    assert load("survey", "mini_survey/w1").status == "loaded"
    assert warehouse_rows(survey_env, "select count(*) from raw.survey_responses") == [(3,)]
    assert warehouse_rows(survey_env, "select any_value(status) from audit.loads group by load_id order by min(started_at)") == [
        ("loaded",), ("quarantined",), ("loaded",)]
    # the same bytes again: unchanged, never loaded twice
    assert load("survey", "mini_survey/w1").status == "unchanged"


# ------------------------------------------------------------------------------------ dossiers

DOSSIER_HEADER = "dossier_id,child_id,service,region,team,registration_date,closure_date,closure_reason,birth_year,sex"
PLACEMENT_HEADER = "placement_id,dossier_id,start_date,end_date,placement_type"


def write_extract(env: Path, extract: str, dossiers: list[str], placements: list[str] = (),
                  encoding: str = "utf-8") -> Path:
    folder = env / "landing" / "dossiers" / extract
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dossiers.csv").write_bytes(("\n".join([DOSSIER_HEADER, *dossiers]) + "\n").encode(encoding))
    (folder / "placements.csv").write_bytes(("\n".join([PLACEMENT_HEADER, *placements]) + "\n").encode(encoding))
    return folder


D1 = "D1,C1,OCJ,Antwerpen,T1,2023-01-10,,,2012,M"
D2 = "D2,C2,SDJ,Limburg,T2,15/02/2023,01/12/2023,R1,2010,V"
P1 = "P1,D2,2023-03-01,2023-06-01,foster_family"


def test_iso_and_ddmmyyyy_mixed_dates_load(project_env):
    write_extract(project_env, "2024-01-31", [D1, D2], [P1])
    out = load("dossier", "2024-01-31")
    assert out.status == "loaded" and out.rows == 2
    assert warehouse_rows(project_env, "select registration_date, closure_date from raw.dossier_versions order by registration_date") \
        [1][1].isoformat() == "2023-12-01"


def test_impossible_date_error_names_line_and_column(project_env):
    write_extract(project_env, "2024-01-31", [D1, "D2,C2,SDJ,Limburg,T2,13/25/2023,,,2010,V"])
    out = load("dossier", "2024-01-31")
    assert out.status == "quarantined"
    (rule,) = [r for r in out.results if not r.passed]
    assert rule.code == "D_DATE_FORMAT" and rule.sample_lines == [3] and rule.columns == ["registration_date"]
    assert "dossiers.csv" in out.message and "line(s) 3" in out.message


@pytest.mark.parametrize("dossiers,placements,code,line", [
    ([D1, "D2,C2,SDJ,Limburg,T2,2023-05-01,2023-04-01,,2010,V"], [], "D_CLOSURE_AFTER_REGISTRATION", 3),
    ([D1, D2], ["P1,D2,2023-06-01,2023-03-01,foster_family"], "D_PLACEMENT_END_AFTER_START", 2),
    ([D1, D2], ["P1,D9,2023-03-01,,residential"], "D_PLACEMENT_DOSSIER_KNOWN", 2),
    ([D1, "D2,C2,SDJ,Limburg,T2,2024-03-01,,,2010,V"], [], "D_DOSSIERS_DATES_NOT_AFTER_EXTRACT", 3),
    ([D1, "D2,C2,SDJ,Brugge,T2,2023-03-01,,,2010,V"], [], "D_DOSSIERS_REGION_IN_LIST", 3),
    (["D1,C1,CLB,Antwerpen,T1,2023-01-10,,,2012,M", D2], [], "D_DOSSIERS_SERVICE_IN_LIST", 2),
    ([D1, D2, "D1,C3,OCJ,Antwerpen,T1,2023-02-10,,,2012,M"], [], "D_DOSSIERS_DOSSIER_ID_UNIQUE", 4),
])
def test_extract_errors_quarantine(project_env, dossiers, placements, code, line):
    write_extract(project_env, "2024-01-31", dossiers, placements)
    out = load("dossier", "2024-01-31")
    assert out.status == "quarantined"
    assert failing(out)[code][0] == "error" and line in failing(out)[code][1]
    assert warehouse_rows(project_env, "select count(*) from raw.dossier_versions") == [(0,)]


def test_cross_extract_changes_are_warnings(project_env):
    write_extract(project_env, "2024-01-31", [D1, D2, "D3,C3,OCJ,Limburg,T3,2023-06-01,,,2015,X"])
    assert load("dossier", "2024-01-31").status == "loaded"
    # D3 disappears, D1's registration date changes
    write_extract(project_env, "2024-04-30", ["D1,C1,OCJ,Antwerpen,T1,2023-01-11,,,2012,M", D2])
    out = load("dossier", "2024-04-30")
    assert out.status == "loaded"
    got = failing(out)
    assert got["D_PREVIOUS_DOSSIERS_PRESENT"][0] == "warning"
    assert got["D_REGISTRATION_DATE_UNCHANGED"] == ("warning", [2])
    assert warehouse_rows(project_env, "select partition_key, n_dossiers from raw.dossier_extracts order by 1") == [
        ("2024-01-31", 3), ("2024-04-30", 2)]
    assert os.path.exists(project_env / "landing" / "dossiers" / "2024-01-31" / "dossiers.csv")


@pytest.mark.parametrize("wave_yaml,message", [
    ("anonymised: maybe\n", "anonymised must be true or false"),
    ("fieldwork_start: 2023-02-30\n", "day is out of range"),
    ("fieldwork_start: 2023-03-01\nfieldwork_end: 2023-02-01\n", "before fieldwork_start"),
])
def test_bad_wave_yaml_is_quarantined_not_a_crash(survey_env, wave_yaml, message):
    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, OK1])
    (wave_dir(survey_env) / "wave.yaml").write_text(wave_yaml)
    out = load("survey", "mini_survey/w1")
    assert out.status == "quarantined" and "S_WAVE_YAML" in failing(out)
    assert message in out.message


def test_huge_lastpage_is_quarantined_not_a_crash(survey_env):
    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, OK1[:2] + ["99999999999"] + OK1[3:]])
    out = load("survey", "mini_survey/w1")
    assert out.status == "quarantined" and failing(out)["S_TYPE"][1] == [2]


def test_extract_dated_in_the_future_is_quarantined(project_env):
    write_extract(project_env, "2099-01-01", [D1, D2])
    out = load("dossier", "2099-01-01")
    assert out.status == "quarantined" and "D_LAYOUT" in failing(out) and "in the future" in out.message
    assert warehouse_rows(project_env, "select count(*) from raw.dossier_versions") == [(0,)]


def test_export_in_the_wrong_instrument_folder_is_quarantined(survey_env):
    other = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "KIND[SQ001]"]
    write_export(wave_dir(survey_env) / "responses.csv", [other, ["1", "2021-05-03 10:11:12", "2", "nl", "1", "t", "A1"]])
    out = load("survey", "mini_survey/w1")
    assert out.status == "quarantined" and "S_NO_ITEMS" in failing(out)


def test_changed_instrument_definition_reloads_its_waves(survey_env):
    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, OK1])
    assert load("survey", "mini_survey/w1").status == "loaded"
    assert load("survey", "mini_survey/w1").status == "unchanged"
    definition = survey_env / "instruments" / "mini_survey.yaml"
    definition.write_text(definition.read_text().replace("3: neutraal", "3: neutraal (midden)"))
    assert load("survey", "mini_survey/w1").status == "loaded"
    assert warehouse_rows(survey_env, "select label from raw.survey_value_labels where item = 'plan_known' and value = 3") == [
        ("neutraal (midden)",)]


def test_other_pseudonymisation_key_is_refused(survey_env, monkeypatch):
    from orchestration import settings

    write_export(wave_dir(survey_env) / "responses.csv", [HEADER, OK1])
    assert load("survey", "mini_survey/w1").status == "loaded"
    write_export(wave_dir(survey_env, "w2") / "responses.csv", [HEADER, OK2])
    monkeypatch.setenv("SOFS_PSEUDONYM_KEY", "another-key-0123456789-0123456789-0123")
    with pytest.raises(settings.ConfigurationError, match="differs from the key"):
        load("survey", "mini_survey/w2")
    assert warehouse_rows(survey_env, "select count(*) from raw.survey_responses") == [(1,)]


def test_files_outside_the_contract_are_reported(project_env):
    folder = write_extract(project_env, "2024-01-31", [D1, D2])
    (folder / "practice_events.CSV").write_text("event_id,dossier_id,event_date,event_type,value,rated_by\n")
    out = load("dossier", "2024-01-31")
    assert out.status == "loaded"
    assert any("practice_events.CSV" in n and "ignored" in n for n in out.notes)


def test_retract_removes_a_partition_whose_folder_is_gone(project_env):
    import shutil

    from orchestration import ingest as ingest_mod

    folder = write_extract(project_env, "2024-01-31", [D1, D2])
    write_extract(project_env, "2024-04-30", [D1, D2])
    assert load("dossier", "2024-01-31").status == "loaded" and load("dossier", "2024-04-30").status == "loaded"
    with pytest.raises(ValueError, match="still in the landing zone"):
        ingest_mod.retract_partition("dossier", "2024-04-30")
    shutil.move(str(project_env / "landing" / "dossiers" / "2024-04-30"), str(project_env / "set_aside"))
    assert ingest_mod.retract_partition("dossier", "2024-04-30") == 2
    assert warehouse_rows(project_env, "select partition_key from raw.dossier_extracts") == [("2024-01-31",)]
    assert ("retracted",) in warehouse_rows(project_env, "select status from audit.loads")
    assert folder.exists()
