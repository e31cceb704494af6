"""Privacy (SPEC 6) and figures that must never be silently wrong (SPEC 3, 4), through the real CLI (`sofs-warehouse run` / `status` in a
subprocess): one run per group of points, each point with its own assertions. Synthetic data only."""
from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.helpers import MINI_INSTRUMENT, cli_env, run_cli, warehouse_rows, write_export

# real `sofs-warehouse` processes killed, starved and waited for: minutes; `make test-cli` (README)
pytestmark = pytest.mark.cli_processes


# 85073003328: 850730033 = 97 * 8770412 + 69 and 97 - 69 = 28, a valid number (born 1985), written two ways.
# 05.03.14-124.68: 97 - (050314124 mod 97) = 67 and 97 - (2050314124 mod 97) = 96, so 68 fails both rules.
HEADER = "dossier_id,child_id,service,region,team,registration_date,closure_date,closure_reason,birth_year,sex"
GOOD = f"""{HEADER}
D1,85073003328,OCJ,Limburg,Team Noord,2023-01-10,2023-06-01,doelen_bereikt,2012,M
D2,85.07.30-033.28,OCJ,Limburg,Team Zuid Geheim,2023-09-01,,,2012,M
D3,05.03.14-124.68,SDJ,Antwerpen,,2023-02-01,2023-08-01,Jan Peeters,2010,V
"""
BAD = f"""{HEADER}
D1,85073003328,OCJ,Limburg,jan.peeters@example.be,2023-01-10,2023-06-01,doelen_bereikt,2012,M
D2,"8,5073E+10",OCJ,Limburg,Team Noord,2023-09-01,,,2012,M
D3,05.03.14-124.68,SDJ,Antwerpen,,2023-02-01,2023-08-01,verhuis,2010,Jan Peeters
D4,D4CHILD,SDJ,Antwerpen,,2023-02-01,2023-08-01,bel 0470 12 34 56,2010,V
"""
PLACEMENTS = "placement_id,dossier_id,start_date,end_date,placement_type\n"
#: planted values that must not appear in any message, table, run output or Dagster storage
PLANTED = ["Peeters", "peeters@example", "0470 12 34 56", "Team Zuid Geheim", "85.07.30-033.28", "85073003328",
           "8,5073E+10", "05.03.14-124.68"]
SURVEY_HEADER = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "L2[SQ001]", "L2[SQ002]", "ATT",
                 "FUNCTIE", "OPM", "interviewtime"]


def _env(tmp: Path) -> dict[str, str]:
    return cli_env(tmp, SOFS_TEAMS_FILE=str(tmp / "teams.yaml"))


def _check_history(tmp: Path, asset: list[str], check: str) -> dict[str, object]:
    os.environ["DAGSTER_HOME"] = str(tmp / "dagster_home")
    instance = dg.DagsterInstance.get()
    key = dg.AssetCheckKey(dg.AssetKey(asset), check)
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=20)
    return {instance.get_run_by_id(r.run_id).tags["dagster/partition"]: r.event.dagster_event.event_specific_data
            for r in records}


# ------------------------------------------------------------------------------------------- privacy

@pytest.fixture(scope="module")
def privacy_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_privacy")
    env = _env(tmp)
    (tmp / "instruments" / "mini_survey.yaml").write_text(MINI_INSTRUMENT, encoding="utf-8")
    (tmp / "teams.yaml").write_text('teams:\n  "Team Noord": Noord\n', encoding="utf-8")
    for day, text in (("2024-03-31", GOOD), ("2024-06-30", BAD)):
        folder = tmp / "landing" / "dossiers" / day
        folder.mkdir(parents=True)
        (folder / "dossiers.csv").write_text(text, encoding="utf-8")
        (folder / "placements.csv").write_text(PLACEMENTS, encoding="utf-8")
    waves = tmp / "landing" / "surveys" / "mini_survey"
    ok = ["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokA", "A4", "A2", "7", "1", "", "301"]
    write_export(waves / "w1" / "responses.csv", [SURVEY_HEADER, ok[:6] + ["Jan Peeters"] + ok[7:]])  # coded item
    write_export(waves / "w2" / "responses.csv", [SURVEY_HEADER, ok[:2] + ["Jan Peeters"] + ok[3:]])  # reader error
    run = run_cli(env, "run")
    status = run_cli(env, "status", timeout=300)
    return tmp, env, run, status


def _failed(tmp: Path, partition: str) -> dict[str, tuple]:
    rows = warehouse_rows(tmp, """select "check", severity, columns, sample_lines, message from audit.check_results
                         where partition_key = ? and not passed""", [partition])
    return {code: (sev, cols, lines, msg) for code, sev, cols, lines, msg in rows}


def test_identifiers_in_text_fields_and_excel_ids_quarantine_the_extract(privacy_run):
    tmp, _env_, run, _status = privacy_run
    assert run.returncode == 1, run.stdout + run.stderr
    assert "loaded 1, quarantined 3" in run.stdout
    failed = _failed(tmp, "2024-06-30")
    # point 1: an e-mail in team (line 2) and a phone number in closure_reason (line 5): stage-1 error, line and column
    sev, cols, lines, msg = failed["D_DOSSIERS_NO_IDENTIFIER"]
    assert (sev, cols, lines) == ("error", "team,closure_reason", "2,5")
    assert "an e-mail address in team (line 2)" in msg and "a phone number in closure_reason (line 5)" in msg
    # point 3: Excel's scientific notation refused, naming Excel
    sev, cols, lines, msg = failed["D_DOSSIERS_ID_NOT_SCIENTIFIC"]
    assert (sev, lines) == ("error", "3") and "Excel" in msg
    # point 2: a name in a coded column is described, not echoed
    sev, cols, lines, msg = failed["D_DOSSIERS_SEX_IN_LIST"]
    assert (sev, lines) == ("error", "4") and "<value withheld: 11 characters, letters and blanks>" in msg
    assert warehouse_rows(tmp, "select partition_key from raw.dossier_extracts") == [("2024-03-31",)]


def test_team_and_closure_reason_are_codes_in_the_marts(privacy_run):
    tmp, *_ = privacy_run
    got = {r[0]: r[1:] for r in warehouse_rows(tmp, """
        select registration_date::varchar, team, team_key, closure_reason from marts.fct_dossier""")}
    noord, zuid, unnamed = got["2023-01-10"], got["2023-09-01"], got["2023-02-01"]
    assert noord[0] == "Noord" and len(noord[1]) == 64            # listed team: published label + key
    assert zuid[0] is None and len(zuid[1]) == 64 and zuid[1] != noord[1]   # unlisted: only its key
    assert unnamed[:2] == (None, None)
    assert unnamed[2] == "other" and noord[2] == "doelen_bereikt"  # unknown closure code stored as other
    failed = _failed(tmp, "2024-03-31")
    assert failed["D_DOSSIERS_CLOSURE_REASON_IN_LIST"][:1] == ("warning",)
    assert failed["D_DOSSIERS_CLOSURE_REASON_IN_LIST"][2] == "4"


def test_one_child_one_key_and_check_digits_warn(privacy_run):
    tmp, *_ = privacy_run
    rows = dict(warehouse_rows(tmp, "select registration_date::varchar, child_key from marts.fct_dossier"))
    assert rows["2023-01-10"] == rows["2023-09-01"] != rows["2023-02-01"]
    # the same child: registered again within 365 days of the closure of D1, so D2 is a re-entry
    assert warehouse_rows(tmp, "select is_reentry from marts.fct_dossier where registration_date = '2023-09-01'") == [(True,)]
    sev, cols, lines, _msg = _failed(tmp, "2024-03-31")["D_DOSSIERS_REGISTER_NUMBER_CHECK"]
    assert (sev, lines) == ("warning", "4")


def test_no_planted_value_in_audit_tables_marts_output_or_dagster_storage(privacy_run):
    tmp, _env_, run, status = privacy_run
    survey_failed = {**_failed(tmp, "mini_survey/w1"), **_failed(tmp, "mini_survey/w2")}
    assert "S_CODE_IN_SCHEME" in survey_failed and "S_TYPE" in survey_failed
    texts = {"run output": run.stdout + run.stderr, "status output": status.stdout + status.stderr}
    con = duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True)
    try:
        columns = con.execute("""select table_schema, table_name, column_name from information_schema.columns
                                 where data_type = 'VARCHAR'""").fetchall()
        for schema, table, column in columns:
            values = con.execute(f'select distinct "{column}" from "{schema}"."{table}"').fetchall()
            texts[f"{schema}.{table}.{column}"] = "\n".join(str(v) for (v,) in values)
    finally:
        con.close()
    assert any(k.startswith("audit.check_results") for k in texts) and any(k.startswith("marts.") for k in texts)
    for path in (tmp / "dagster_home").rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    assert any(p.endswith(".db") for p in texts)  # the Dagster run/event-log databases were read
    leaks = [(where, value) for where, text in texts.items() for value in PLANTED if value in text]
    assert leaks == []


# ------------------------------------------------------------------------------------- silently wrong

INSTRUMENT = MINI_INSTRUMENT.replace("""  text: {text: true}
""", """  text: {text: true}
  yesno: {codes: {Yes: 1, No: 0}, labels: {1: ja, 0: nee}}
""") + """  - item: consent
    scheme: yesno
    source: CONSENT
  - item: new_question
    scheme: agree5
    source: NEWQ
"""
WAVE_HEADER = SURVEY_HEADER + ["CONSENT", "OVERTIME", "L2Time", "groupTime12"]
LSS = """<?xml version="1.0" encoding="UTF-8"?>
<document><LimeSurveyDocType>Survey</LimeSurveyDocType><DBVersion>366</DBVersion>
<questions><rows>
<row><qid>1</qid><parent_qid>0</parent_qid><title>L2</title><type>F</type><question>Plan</question><language>nl</language></row>
<row><qid>2</qid><parent_qid>0</parent_qid><title>L2</title><type>L</type><question>Kopie</question><language>nl</language></row>
</rows></questions>
<answers><rows>
<row><qid>1</qid><code>A1</code><answer>helemaal niet akkoord</answer><language>nl</language><scale_id>0</scale_id></row>
<row><qid>2</qid><code>A1</code><answer>iets anders</answer><language>nl</language><scale_id>0</scale_id></row>
</rows></answers></document>
"""


def _response(rid, token, l1, l2, consent):
    return [rid, "2023-03-10 10:00:00", "3", "nl", "1", token, l1, l2, "7", "1", "", "300", consent, "12", "40", "80"]


@pytest.fixture(scope="module")
def silent_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_silent")
    env = _env(tmp)
    (tmp / "instruments" / "mini_survey.yaml").write_text(INSTRUMENT, encoding="utf-8")
    waves = tmp / "landing" / "surveys" / "mini_survey"
    # 2019 has no wave.yaml; 2023 does: 2019 must still come first (the year in its name)
    write_export(waves / "2019" / "responses.csv", [WAVE_HEADER, _response("1", "tokA", "A2", "A4", "No"),
                                                      _response("2", "tokB", "A3", "A3", "Yes")])
    write_export(waves / "2023" / "responses.csv", [WAVE_HEADER, _response("1", "tokA", "A5", "A1", "Yes"),
                                                      _response("2", "tokB", "A4", "A2", "Yes")])
    (waves / "2023" / "wave.yaml").write_text("fieldwork_start: 2023-03-01\nfieldwork_end: 2023-03-31\n")
    (waves / "2023" / "survey.lss").write_text(LSS, encoding="utf-8")
    (waves / "w_empty").mkdir()                                        # empty partition folder
    stray = waves / ".ipynb_checkpoints"                               # hidden folder: not a partition
    stray.mkdir()
    (stray / "responses.csv").write_text("not an export\n", encoding="utf-8")
    first = run_cli(env, "run")
    second = run_cli(env, "run")
    status = run_cli(env, "status", timeout=300)
    return tmp, first, second, status


def test_undated_wave_orders_by_year_in_name_warns_and_status_shows_order(silent_run):
    tmp, first, _second, status = silent_run
    assert warehouse_rows(tmp, """select distinct from_wave, to_wave from marts.scale_change""") == [("2019", "2023")]
    assert warehouse_rows(tmp, """select wave, min(wave_order) from marts.fct_survey_response group by 1 order by 1""") == [
        ("2019", 1), ("2023", 2)]
    assert _failed(tmp, "mini_survey/2019")["S_WAVE_UNDATED"][0] == "warning"
    assert "S_WAVE_UNDATED" in first.stdout
    line = next(ln for ln in status.stdout.splitlines() if ln.startswith("wave order of mini_survey"))
    assert "1. 2019 (year in name: 2019-01-01); 2. 2023 (fieldwork_start 2023-03-01)" in line


def test_missing_item_and_unmapped_time_column_are_warnings_in_run_and_dagster(silent_run):
    tmp, first, *_ = silent_run
    assert first.returncode == 1, first.stdout + first.stderr   # only the empty folder is quarantined
    sev, cols, lines, msg = _failed(tmp, "mini_survey/2019")["S_ITEM_MISSING"]
    assert (sev, cols, lines) == ("warning", "NEWQ", "1") and "new_question" in msg
    sev, cols, lines, msg = _failed(tmp, "mini_survey/2019")["S_COLUMN_UNMAPPED"]
    assert (sev, cols) == ("warning", "OVERTIME")   # L2Time, groupTime12, interviewtime: LimeSurvey timings
    warnings = [ln for ln in first.stdout.splitlines() if "WARNING (loaded anyway)" in ln]
    assert any("S_ITEM_MISSING" in ln for ln in warnings) and any("OVERTIME" in ln for ln in warnings)
    check = _check_history(tmp, ["raw", "survey_responses"], "stage1_record_and_format")["mini_survey/2019"]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.WARN
    assert "S_ITEM_MISSING" in check.metadata["failing_rules"].value
    assert "S_COLUMN_UNMAPPED" in check.metadata["failing_rules"].value


def test_yes_no_codes_stay_strings(silent_run):
    tmp, *_ = silent_run
    assert warehouse_rows(tmp, """select raw_code, value, count(*) from raw.survey_answers where item = 'consent'
                         group by 1, 2 order by 1""") == [("No", 0.0, 1), ("Yes", 1.0, 3)]


def test_empty_folder_reported_once_and_hidden_folder_ignored(silent_run):
    tmp, first, second, status = silent_run
    assert "loaded 2, quarantined 1" in first.stdout
    assert "mini_survey/w_empty" in first.stdout and "ipynb" not in first.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 partition(s) with new or changed files" in second.stdout
    assert "ipynb" not in status.stdout
    assert warehouse_rows(tmp, "select count(*) from audit.loads where partition_key = 'mini_survey/w_empty'") == [(1,)]


def test_duplicate_lss_codes_warn_instead_of_label_notes(silent_run):
    tmp, *_ = silent_run
    sev, cols, _lines, _msg = _failed(tmp, "mini_survey/2023")["S_LSS_DUPLICATE_CODE"]
    assert (sev, cols) == ("warning", "L2")
    notes = [n for (n,) in warehouse_rows(tmp, "select note from audit.load_notes where partition_key = 'mini_survey/2023'")]
    assert not any("labelled" in n for n in notes), notes
