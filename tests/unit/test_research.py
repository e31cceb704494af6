"""orchestration.research on small warehouses built by hand (no dbt): labelled exports, refusals,
the codebook, reproducible releases, and the Python reference of the suppression rule (issue 6)."""
from __future__ import annotations

import hashlib
import datetime as dt
import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest

from orchestration import research, warehouse
from orchestration.disclosure.protect import DisclosureAuditFailed
from tests.helpers import mini_instrument

REGIONS = ["Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant en Brussel", "West-Vlaanderen"]


def _build(db) -> None:
    """raw/audit/restricted layout + a few marts and reporting tables with dbt-like column comments."""
    with warehouse.write_connection(db) as con:
        con.execute("create schema if not exists marts; create schema if not exists reporting")
        con.execute("""
            create table reporting.outcome_reopening as select * from (values
              ('2021', 'OCJ', 'Antwerpen', null, null, null, true, true),
              ('2021', 'OCJ', 'Limburg', 12, 5, 5.0 / 12, false, false),
              ('2021', 'SDJ', 'all', 40, 10, 0.25, false, false),
              ('all', 'all', 'all', 52, 15, 15.0 / 52, false, false)
            ) t(closure_year, service, region, n_observable, n_reopened_365d, reopening_rate,
                n_observable_suppressed, suppressed)""")
        con.execute("comment on column reporting.outcome_reopening.n_observable is "
                    "'Closed dossiers whose 365-day window is observable (count)'")
        con.execute("comment on column reporting.outcome_reopening.region is 'One of the five regions, or all'")
        con.execute("comment on table reporting.outcome_reopening is 'Reopening per closure cohort'")
        con.execute("""
            create table reporting.item_distribution as select * from (values
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', 1.0,
               'helemaal niet akkoord', null, 40, null, true, false, true, false),
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', 2.0,
               'eerder niet akkoord', 0, 40, 0.0, false, false, false, false),
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', 3.0,
               'neutraal', null, 40, null, true, false, true, false),
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', 4.0,
               'eerder akkoord', 25, 40, 62.5, false, false, false, false),
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', null,
               'weet niet', null, 40, null, true, false, true, true)
            ) t(instrument, wave, item, item_text, construct, role, value, value_label, n, n_valid, pct,
                n_suppressed, n_valid_suppressed, suppressed, is_missing)""")
        con.execute("""create table reporting.suppression_rule as
                       select 5 as min_cell, false as suppress_zero_counts, 5 as suppression_passes,
                              'rule' as rule_text""")
        con.execute("""
            create table marts.item_distribution as select * from (values
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', 1.0,
               'helemaal niet akkoord', 3, 40, 7.5),
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', 2.0,
               'eerder niet akkoord', 0, 40, 0.0),
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', 3.0,
               'neutraal', 12, 40, 30.0),
              ('mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'leadership', 'item', 4.0,
               'eerder akkoord', 25, 40, 62.5),
              ('mini_survey', 'w1', 'function', null, null, 'attribute', 1.0, 'Consulent OCJ', 20, 40, 50.0),
              ('mini_survey', 'w1', 'function', null, null, 'attribute', 2.0, 'Consulent SDJ', 20, 40, 50.0)
            ) t(instrument, wave, item, item_text, construct, role, value, value_label, n, n_valid, pct)""")
        con.execute("""
            create table marts.fct_survey_response as select * from (values
              ('mini_survey', 'w1', 'r1', 'p1', true, 1.0, 'Consulent OCJ'),
              ('mini_survey', 'w1', 'r2', 'p2', false, 2.0, 'Consulent SDJ')
            ) t(instrument, wave, response_key, respondent_key, is_complete, "function", function_label)""")
        con.execute("""
            create table marts.fct_item_response as select * from (values
              ('mini_survey', 'w1', 'r1', 'plan_known', 4.0, null, 'A4'),
              ('mini_survey', 'w1', 'r2', 'plan_known', null, 'weet niet', '-9')
            ) t(instrument, wave, response_key, item, value, missing_reason, raw_code)""")
        con.execute("create table marts.open_text_mart as select 'r1' as response_key, 'x' as answer_masked")
        con.execute("""insert into raw.survey_items (partition_key, instrument, wave, item, item_text, role,
                construct, reverse, scheme, scheme_signature, scheme_min, scheme_max, is_nominal, is_text,
                source_column, instrument_version, load_id, scheme_labels) values
            ('mini_survey/w1', 'mini_survey', 'w1', 'plan_known', 'Ik ken het implementatieplan', 'item',
             'leadership', false, 'agree5', 'sig', 1, 5, false, false, 'L2[SQ001]', '1', 'l1',
             '{"labels": {"3": "neutraal"}, "missing": {"-9": "weet niet", "-8": "wil niet zeggen"}}'),
            ('mini_survey/w1', 'mini_survey', 'w1', 'function', null, 'attribute', null, false, 'function',
             'sig', 1, 2, true, false, 'FUNCTIE', '1', 'l1', null),
            ('mini_survey/w1', 'mini_survey', 'w1', 'remarks', 'Opmerkingen', 'item', null, false, 'text',
             'text', null, null, false, true, 'OPM', '1', 'l1', null)""")
        con.execute("""insert into raw.survey_value_labels values
            ('mini_survey/w1', 'mini_survey', 'w1', 'function', 1, 'Consulent OCJ', 'l1'),
            ('mini_survey/w1', 'mini_survey', 'w1', 'function', 2, 'Consulent SDJ', 'l1'),
            ('mini_survey/w1', 'mini_survey', 'w1', 'plan_known', 5, 'helemaal akkoord', 'l1')""")
        con.execute("""insert into raw.survey_waves values ('mini_survey/w1', 'mini_survey', 'w1', 'staff',
                       'Kleine testbevraging', date '2021-03-01', date '2021-03-31', false, 'responses.csv', 'l1')""")
        con.execute("""insert into raw.survey_constructs values
                       ('mini_survey/w1', 'mini_survey', 'w1', 'leadership', 'Leiderschap', 0.5, 'l1')""")
        con.execute("""insert into raw.dossiers (partition_key, extract_date, dossier_key, child_key, service,
                       region, team, registration_date, closure_date, closure_reason, birth_year, sex, source_line,
                       load_id) values ('2024-06-30', date '2024-06-30', 'd1', 'c1', 'OCJ',
                       'Limburg', null, date '2022-01-01', null, null, null, null, 2, 'l2')""")
        con.execute("""insert into restricted.open_answers values
                       ('mini_survey/w1', 'mini_survey', 'w1', 'r1', 'remarks', 'x', 'l1')""")


@pytest.fixture
def wh(tmp_path, monkeypatch):
    db = tmp_path / "wh.duckdb"
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(db))
    mini_instrument(tmp_path)  # declared missing code -9 "weet niet" for the codebook
    monkeypatch.setenv("SOFS_INSTRUMENTS_DIR", str(tmp_path / "instruments"))
    monkeypatch.chdir(tmp_path)
    _build(db)
    return tmp_path


# ------------------------------------------------------------------------------------- exports

def test_sav_export_has_variable_and_value_labels(wh):
    path = research.export_table("outcome_reopening", "sav", wh / "out" / "reopening.sav")
    df, meta = pyreadstat.read_sav(str(path))
    labels = meta.column_names_to_labels
    assert labels["n_observable"] == "Closed dossiers whose 365-day window is observable (count)"
    assert labels["region"] == "One of the five regions, or all"
    vl = meta.variable_value_labels
    assert vl["service"] == {0.0: "all (total)", 1.0: research.CODE_LISTS["service"]["OCJ"][1],
                             2.0: research.CODE_LISTS["service"]["SDJ"][1]}
    assert vl["region"][2.0] == "Limburg" and vl["region"][0.0] == "all (total)"
    assert vl["closure_year"] == {0.0: "all (total)"}
    assert vl["suppressed"] == {0.0: "no", 1.0: "yes"}
    # rows sorted by every column; suppressed counts are system-missing
    assert list(df["closure_year"]) == [2021.0, 2021.0, 2021.0, 0.0]
    ant = df[df["region"] == 1.0].iloc[0]
    assert pd.isna(ant["n_observable"]) and ant["suppressed"] == 1.0
    assert meta.file_label == "Reopening per closure cohort"


def test_dta_export_has_labels_and_valid_names(wh):
    with warehouse.write_connection() as con:
        con.execute("create table reporting.long_names as select 'OCJ' as service, "
                    "3.5 as a_very_long_column_name_that_stata_cannot_hold_at_all, "
                    "1.0 as a_very_long_column_name_that_stata_cannot_hold_at_all_too")
        con.execute("comment on column reporting.long_names.a_very_long_column_name_that_stata_cannot_hold_at_all"
                    " is '" + "x" * 120 + "'")
    path = research.export_table("reporting.outcome_reopening", "dta", wh / "r.dta")
    df, meta = pyreadstat.read_dta(str(path))
    assert meta.column_names_to_labels["n_observable"].startswith("Closed dossiers")
    assert meta.variable_value_labels["region"][2] == "Limburg"
    assert meta.variable_value_labels["suppressed"] == {0: "no", 1: "yes"}
    path = research.export_table("long_names", "dta", wh / "l.dta")
    df, meta = pyreadstat.read_dta(str(path))
    assert all(len(c) <= 32 for c in df.columns)
    assert len(set(df.columns)) == 3
    assert all(len(label or "") <= 80 for label in meta.column_labels)
    # the whole code list is labelled, not only the codes present; no 'all' rows here, so no code 0
    assert meta.variable_value_labels["service"] == {1: research.CODE_LISTS["service"]["OCJ"][1],
                                                     2: research.CODE_LISTS["service"]["SDJ"][1]}
    assert list(df["service"]) == [1]


def test_survey_item_columns_get_item_value_labels(wh):
    path = research.export_table("marts.fct_survey_response", "sav", wh / "resp.sav", allow_marts=True)
    _, meta = pyreadstat.read_sav(str(path))
    assert meta.variable_value_labels["function"] == {1.0: "Consulent OCJ", 2.0: "Consulent SDJ"}
    assert meta.column_names_to_labels["function_label"] == "Label of function (e.g. Consulent OCJ)."  # its dbt description
    assert meta.variable_value_labels["is_complete"] == {0.0: "no", 1.0: "yes"}
    # one long table with one label set for every item: the value column is labelled
    path = research.export_table("reporting.item_distribution", "sav", wh / "dist.sav")
    df, meta = pyreadstat.read_sav(str(path))
    assert meta.variable_value_labels["value"][3.0] == "neutraal"
    assert df["n"].isna().sum() == 3  # categories 1 and 3 and the "weet niet" row are withheld


def test_csv_and_parquet_exports(wh):
    csv_path = research.export_table("outcome_reopening", "csv", wh / "x")  # a folder that does not end in /
    assert csv_path.read_text(encoding="utf-8").splitlines()[0].startswith("closure_year,service,region")
    (wh / "exports").mkdir()
    pq_path = research.export_table("outcome_reopening", "parquet", wh / "exports")
    assert pq_path == (wh / "exports" / "outcome_reopening.parquet").resolve()
    table = pq.read_table(pq_path)
    assert table.num_rows == 4 and table.column("n_observable").null_count == 1
    default = research.export_table("marts.item_distribution", "csv", allow_marts=True)
    assert default == (wh / "marts_item_distribution.csv").resolve()


@pytest.mark.parametrize("table, allow, message", [
    ("restricted.open_answers", True, "never exported"),
    ("raw.dossiers", True, "never exported"),
    ("audit.loads", True, "never exported"),
    ("staging.stg_x", True, "never exported"),
    ("marts.item_distribution", False, "not disclosure-controlled"),
    ("marts.open_text_mart", True, "restricted data"),
    ("fct_survey_response", False, "ask for it explicitly as marts.fct_survey_response"),
    ("nope", False, "unknown table reporting.nope"),
    ("other.table", True, "unknown schema"),
    ("x; drop table y", True, "not a table name"),
])
def test_refused_tables(wh, table, allow, message):
    with pytest.raises(ValueError, match=message):
        research.export_table(table, "csv", wh / "o.csv", allow_marts=allow)
    assert not (wh / "o.csv").exists()


def test_bad_format(wh):
    with pytest.raises(ValueError, match="unknown export format 'xlsx'"):
        research.export_table("outcome_reopening", "xlsx")


def test_export_opens_read_only(wh):
    """The export never writes: it works while the file is opened read-only by another reader."""
    other = duckdb.connect(str(wh / "wh.duckdb"), read_only=True)
    try:
        assert research.export_table("outcome_reopening", "csv", wh / "ro.csv").exists()
    finally:
        other.close()


# ------------------------------------------------------------------------------------ codebook

def test_codebook_ddi_shape(wh):
    md, js = research.build_codebook(wh / "cb")
    doc = json.loads(js.read_text(encoding="utf-8"))
    variables = {v["ID"]: v for v in doc["codeBook"]["dataDscr"]["var"]}
    var = variables["V_mini_survey_w1_plan_known"]
    assert var["name"] == "plan_known" and var["wave"] == "w1" and var["instrumentVersion"] == "1"
    assert var["qstn"]["qstnLit"] == "Ik ken het implementatieplan"
    cats = {c["catValu"]: c for c in var["catgry"]}
    assert cats["3"]["labl"] == "neutraal" and cats["3"]["missing"] == "N"
    assert cats["4"]["catStat"][0] == {"type": "freq", "value": 25, "suppressed": False}
    # frequencies come from reporting: the 3-count category and its complement are withheld
    assert cats["1"]["catStat"][0] == {"type": "freq", "value": None, "suppressed": True}
    assert cats["-9"]["missing"] == "Y" and cats["-9"]["labl"] == "weet niet"
    assert cats["-9"]["catStat"][0]["suppressed"] is True  # used once: below min_cell
    assert variables["V_mini_survey_w1_remarks"]["catgry"] == []
    # a labelled category without a frequency row (not in reporting) is still listed, frequency unknown
    function = {c["catValu"]: c for c in variables["V_mini_survey_w1_function"]["catgry"]}
    assert function["2"]["labl"] == "Consulent SDJ" and function["2"]["catStat"][0]["value"] is None
    assert doc["codeBook"]["fileDscr"][0]["fieldworkStart"] == "2021-03-01"
    assert doc["codeBook"]["dataDscr"]["varGrp"][0]["var"] == ["V_mini_survey_w1_plan_known"]
    assert "marts.open_text_mart" not in {t["name"] for t in doc["tables"]}
    text = md.read_text(encoding="utf-8")
    assert "#### plan_known, wave w1" in text and "| -9 | weet niet | yes | suppressed |" in text


def test_codebook_missing_reasons_from_reporting_and_the_waves_scheme(wh):
    _, js = research.build_codebook(wh / "cb3")
    var = next(v for v in json.loads(js.read_text())["codeBook"]["dataDscr"]["var"]
               if v["ID"] == "V_mini_survey_w1_plan_known")
    missing = {c["catValu"]: (c["labl"], c["catStat"][0]["value"]) for c in var["catgry"] if c["missing"] == "Y"}
    # "weet niet" is withheld in reporting (used once); "wil niet zeggen" is declared in the wave's scheme
    # and nobody used it: 0. The invalid total would give the withheld count back: withheld too.
    assert missing == {"-9": ("weet niet", None), "-8": ("wil niet zeggen", 0)}
    invd = next(s for s in var["sumStat"] if s["type"] == "invd")
    assert invd == {"type": "invd", "value": None, "suppressed": True}


def test_codebook_without_reporting_lists_no_counts(wh):
    # marts.item_distribution holds the true counts (3, 0, 12, 25): without reporting none may appear
    with warehouse.write_connection() as con:
        con.execute("drop table reporting.item_distribution")
    _, js = research.build_codebook(wh / "cb2")
    var = next(v for v in json.loads(js.read_text())["codeBook"]["dataDscr"]["var"]
               if v["ID"] == "V_mini_survey_w1_plan_known")
    freq = {c["catValu"]: c["catStat"][0]["value"] for c in var["catgry"] if c["missing"] == "N"}
    assert set(freq.values()) == {None}


# ------------------------------------------------------------------------------------- release

def test_two_releases_are_identical(wh):
    m1 = research.release(dt.date(2024, 7, 1), wh / "rel1", include_marts=True)
    m2 = research.release(dt.date(2024, 7, 1), wh / "rel2", include_marts=True)
    assert m1.read_bytes() == m2.read_bytes()
    assert research.file_digests(wh / "rel1") == research.file_digests(wh / "rel2")
    manifest = json.loads(m1.read_text())
    assert manifest["as_of"] == "2024-07-01"
    assert manifest["tables"]["reporting.outcome_reopening"]["rows"] == 4
    assert "marts.open_text_mart" in manifest["withheld_tables"]
    assert not (wh / "rel1" / "marts" / "open_text_mart.parquet").exists()
    for rel, entry in manifest["files"].items():
        assert hashlib.sha256((wh / "rel1" / rel).read_bytes()).hexdigest() == entry["sha256"]
    assert {"codebook/codebook.json", "codebook/codebook.md", "reporting/item_distribution.parquet",
            "marts/fct_item_response.parquet"} <= set(manifest["files"])
    assert not any(p.name.endswith(".partial") for p in wh.iterdir())


def test_default_release_holds_no_withheld_count(wh):
    # marts.item_distribution has the true 3 and 12 that reporting withholds; a default release has no marts
    manifest = json.loads(research.release(dt.date(2024, 7, 1), wh / "rel").read_text())
    assert not any(rel.startswith("marts/") for rel in manifest["files"])
    assert manifest["restricted"] is False and manifest["disclosure_audit"]["passed"] is True
    dist = pd.read_parquet(wh / "rel" / "reporting" / "item_distribution.parquet")
    assert sorted(dist["n"].dropna().astype(int)) == [0, 25]


def test_release_refused_when_the_audit_pins_a_withheld_count(wh):
    # a percentage shown beside a withheld count gives it back: 7.5 % of 40 = 3
    with warehouse.write_connection() as con:
        con.execute("update reporting.item_distribution set pct = 7.5 where value = 1")
    with pytest.raises(DisclosureAuditFailed, match="item_distribution .*plan_known.* n"):
        research.release(dt.date(2024, 7, 1), wh / "pinned")
    assert not (wh / "pinned").exists() and not (wh / "pinned.partial").exists()
    from orchestration.cli import main
    assert main(["release", "--as-of", "2024-07-01", "--out", str(wh / "pinned2")]) == 1
    assert not (wh / "pinned2").exists()


def test_release_rounds_floats_so_noise_does_not_change_bytes(wh):
    with warehouse.write_connection() as con:
        con.execute("create table marts.noise as select 1.0 / 3 as x")
    research.release(dt.date(2024, 7, 1), wh / "a", include_marts=True)
    with warehouse.write_connection() as con:
        con.execute("create or replace table marts.noise as select 1.0 / 3 + 1e-15 as x")
    research.release(dt.date(2024, 7, 1), wh / "b", include_marts=True)
    assert research.file_digests(wh / "a") == research.file_digests(wh / "b")
    assert pd.read_parquet(wh / "a" / "marts" / "noise.parquet")["x"][0] == 0.333333333


def test_release_refuses_bad_as_of_and_existing_folder(wh):
    with pytest.raises(ValueError, match="before the latest data in the warehouse \\(2024-06-30\\)"):
        research.release(dt.date(2024, 6, 1), wh / "early")
    assert not (wh / "early").exists() and not (wh / "early.partial").exists()
    with pytest.raises(ValueError, match="in the future"):
        research.release(dt.date.today() + dt.timedelta(days=1), wh / "future")
    with pytest.raises(ValueError, match="must be a date"):
        research.release("2024-07-01", wh / "s")  # type: ignore[arg-type]
    (wh / "full").mkdir()
    (wh / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="never overwritten"):
        research.release(dt.date(2024, 7, 1), wh / "full")


# ------------------------------------------------------------------------- suppression reference

def test_reference_suppression_one_small_region():
    # region margin of one year x service: Antwerpen 3 cases -> withheld, and the next-smallest region
    cells = pd.DataFrame({"g": "x", "region": REGIONS + ["all"], "cell_value": [3, 12, 30, 25, 40, 110]})
    hidden = research.secondary_suppression(cells, ["g"], ["region"], min_cell=5)
    assert list(cells.loc[hidden, "region"]) == ["Antwerpen", "Limburg"]


def test_reference_suppression_zero_is_shown_but_not_chosen_first():
    cells = pd.DataFrame({"g": "x", "cat": ["1", "2", "3", "4", "all"], "cell_value": [3, 0, 12, 25, 40]})
    hidden = research.secondary_suppression(cells, ["g"], ["cat"], min_cell=5)
    assert list(cells.loc[hidden, "cat"]) == ["1", "3"]
    hidden = research.secondary_suppression(cells, ["g"], ["cat"], min_cell=5, suppress_zero=True)
    assert list(cells.loc[hidden, "cat"]) == ["1", "2"]


def test_reference_suppression_falls_back_to_total():
    cells = pd.DataFrame({"g": "x", "region": ["Limburg", "all"], "cell_value": [3, 3]})
    assert research.secondary_suppression(cells, ["g"], ["region"], min_cell=5).all()
    cells = pd.DataFrame({"g": "x", "region": ["Limburg", "Antwerpen", "all"], "cell_value": [3, None, 10]})
    hidden = research.secondary_suppression(cells, ["g"], ["region"], min_cell=5)
    assert list(hidden) == [True, True, False]  # the null counts as hidden: two unknowns, total kept
