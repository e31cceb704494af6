"""orchestration.research on small warehouses built by hand (no dbt): labelled exports, refusals,
the codebook, reproducible releases, and the Python reference of the suppression rule (SPEC 6)."""
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
        con.execute("""insert into raw.survey_waves (partition_key, instrument, wave, population, title,
                       fieldwork_start, fieldwork_end, anonymised, source_file, load_id)
                       values ('mini_survey/w1', 'mini_survey', 'w1', 'staff',
                       'Kleine testbevraging', date '2021-03-01', date '2021-03-31', false, 'responses.csv', 'l1')""")
        con.execute("""insert into raw.survey_constructs values
                       ('mini_survey/w1', 'mini_survey', 'w1', 'leadership', 'Leiderschap', 0.5, 'l1')""")
        con.execute("""insert into raw.dossier_versions (dossier_key, child_key, service,
                       region, team, registration_date, closure_date, closure_reason, birth_year, sex, source_line,
                       load_id, valid_from, valid_to) values ('d1', 'c1', 'OCJ',
                       'Limburg', null, date '2022-01-01', null, null, null, null, 2, 'l2', date '2024-06-30', null)""")
        con.execute("""insert into raw.dossier_extracts values (date '2024-06-30', '2024-06-30', 'l2', 1, 0, 0, 1, 0,
                       timestamp '2024-07-01 09:00:00')""")
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
    (wh / "out").mkdir()
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
    assert meta.column_names_to_labels["is_complete"] == \
        "True when LimeSurvey recorded a submit date (the response was finished)."  # its dbt description
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
    ("raw.dossier_versions", True, "never exported"),
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
    # release.duckdb gets a random header from DuckDB: every other file is the same, byte for byte
    compat = {research.COMPAT_FILE, research.COMPAT_FILE + ".sha256"}
    d1, d2 = research.file_digests(wh / "rel1"), research.file_digests(wh / "rel2")
    assert {k: v for k, v in d1.items() if k not in compat} == {k: v for k, v in d2.items() if k not in compat}
    assert compat <= set(d1)
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
    # the same audit guards every other way out of reporting
    with pytest.raises(DisclosureAuditFailed, match="export of reporting.item_distribution refused"):
        research.export_table("item_distribution", "csv", wh / "dist.csv")
    assert not (wh / "dist.csv").exists()
    with pytest.raises(DisclosureAuditFailed, match="codebook refused"):
        research.build_codebook(wh / "cb_pinned")


def test_release_rounds_floats_so_noise_does_not_change_bytes(wh):
    with warehouse.write_connection() as con:
        con.execute("create table marts.noise as select 1.0 / 3 as x")
    research.release(dt.date(2024, 7, 1), wh / "a", include_marts=True)
    with warehouse.write_connection() as con:
        con.execute("create or replace table marts.noise as select 1.0 / 3 + 1e-15 as x")
    research.release(dt.date(2024, 7, 1), wh / "b", include_marts=True)
    assert (wh / "a" / "manifest.json").read_bytes() == (wh / "b" / "manifest.json").read_bytes()
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

def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_reference_suppression_one_small_region():
    # region margin of one year x service: Antwerpen 3 cases -> withheld, and the shown region first in
    # md5 order of the region names (never by value): Vlaams-Brabant en Brussel
    assert min(REGIONS[1:], key=md5) == "Vlaams-Brabant en Brussel"
    cells = pd.DataFrame({"g": "x", "region": REGIONS + ["all"], "cell_value": [3, 12, 30, 25, 40, 110]})
    hidden = research.secondary_suppression(cells, ["g"], ["region"], min_cell=5)
    assert list(cells.loc[hidden, "region"]) == ["Antwerpen", "Vlaams-Brabant en Brussel"]


def test_reference_suppression_order_ignores_values():
    # md5 order of the categories: 4, 1, 2, 3; 1 (3 cases) is withheld, then 4 (25), whatever the counts
    assert sorted(["1", "2", "3", "4"], key=md5) == ["4", "1", "2", "3"]
    cells = pd.DataFrame({"g": "x", "cat": ["1", "2", "3", "4", "all"], "cell_value": [3, 0, 12, 25, 40]})
    hidden = research.secondary_suppression(cells, ["g"], ["cat"], min_cell=5)
    assert list(cells.loc[hidden, "cat"]) == ["1", "4"]
    # a zero is chosen like any other cell (else every withheld cell would be known to be at least 1)
    cells = pd.DataFrame({"g": "x", "cat": ["1", "2", "3", "all"], "cell_value": [3, 0, 12, 15]})
    hidden = research.secondary_suppression(cells, ["g"], ["cat"], min_cell=5)
    assert list(cells.loc[hidden, "cat"]) == ["1", "2"]
    hidden = research.secondary_suppression(cells, ["g"], ["cat"], min_cell=5, suppress_zero=True)
    assert list(cells.loc[hidden, "cat"]) == ["1", "2"]


def test_reference_suppression_falls_back_to_total():
    cells = pd.DataFrame({"g": "x", "region": ["Limburg", "all"], "cell_value": [3, 3]})
    assert research.secondary_suppression(cells, ["g"], ["region"], min_cell=5).all()
    cells = pd.DataFrame({"g": "x", "region": ["Limburg", "Antwerpen", "all"], "cell_value": [3, None, 10]})
    hidden = research.secondary_suppression(cells, ["g"], ["region"], min_cell=5)
    assert list(hidden) == [True, True, False]  # the null counts as hidden: two unknowns, total kept


# ------------------------------------------------------------------ wide survey file (SPEC 8)

LONG_ITEM = "worker_understands_the_family_safety_goals"  # 42 characters: too long for Stata
AGREE5 = {"1": "helemaal niet akkoord", "2": "eerder niet akkoord", "3": "neutraal", "4": "eerder akkoord",
          "5": "helemaal akkoord"}


def _scheme(labels: dict, missing: dict, values=None, lo=None, hi=None, nominal=False) -> tuple[str, str]:
    coding = {"codes": {}, "values": values if values is not None else sorted(float(k) for k in labels),
              "missing": sorted(missing), "min": lo, "max": hi, "nominal": nominal, "text": False}
    return json.dumps(coding), json.dumps({"labels": labels, "missing": missing})


@pytest.fixture
def wide(wh):
    """wh plus what the wide file reads: three responses of mini_survey w1 with four non-text items (an
    attribute, two labelled items with declared missing codes, one of them not numeric (A9), and a 0-10
    item with a name too long for Stata), and the scheme each was loaded with."""
    with warehouse.write_connection() as con:
        con.execute("""create or replace table marts.fct_survey_response as select * from (values
              ('mini_survey', 'w1', 'r1', 'p1', null, true, 3, timestamp '2021-03-02 10:00:00', 1, 1.0, 'Consulent OCJ'),
              ('mini_survey', 'w1', 'r2', 'p2', null, true, 3, timestamp '2021-03-03 11:30:00', 1, 2.0, 'Consulent SDJ'),
              ('mini_survey', 'w1', 'r3', 'p3', null, false, 1, null, 1, 1.0, 'Consulent OCJ')
            ) t(instrument, wave, response_key, respondent_key, dossier_key, is_complete, lastpage, submitted_at,
                wave_order, "function", function_label)""")
        con.execute(f"""create or replace table marts.fct_item_response as select * from (values
              ('mini_survey', 'w1', 'r1', 'plan_known', 4.0, null, 'A4'),
              ('mini_survey', 'w1', 'r2', 'plan_known', null, 'weet niet', '-9'),
              ('mini_survey', 'w1', 'r1', 'function', 1.0, null, '1'),
              ('mini_survey', 'w1', 'r2', 'function', 2.0, null, '2'),
              ('mini_survey', 'w1', 'r3', 'function', 1.0, null, '1'),
              ('mini_survey', 'w1', 'r1', 'safe_home', 3.0, null, 'A3'),
              ('mini_survey', 'w1', 'r2', 'safe_home', null, 'weet ik niet', 'A9'),
              ('mini_survey', 'w1', 'r3', 'safe_home', 1.0, null, 'A1'),
              ('mini_survey', 'w1', 'r1', '{LONG_ITEM}', 7.0, null, '7'),
              ('mini_survey', 'w1', 'r2', '{LONG_ITEM}', null, 'weet niet', '-9'),
              ('mini_survey', 'w1', 'r3', '{LONG_ITEM}', 10.0, null, '10')
            ) t(instrument, wave, response_key, item, value, missing_reason, raw_code)""")
        con.execute("delete from raw.survey_items")
        rows = [("function", None, "attribute", "function", True,
                 _scheme({"1": "Consulent OCJ", "2": "Consulent SDJ"}, {}, nominal=True)),
                ("plan_known", "Ik ken het implementatieplan", "item", "agree5", False,
                 _scheme(AGREE5, {"-9": "weet niet", "-8": "wil niet zeggen"})),
                ("safe_home", "Ik voel me thuis veilig", "item", "child3", False,
                 _scheme({"1": "nee", "2": "een beetje", "3": "ja"}, {"A9": "weet ik niet"})),
                (LONG_ITEM, "De consulent begrijpt de veiligheidsdoelen van het gezin (0-10)", "item", "score0_10",
                 False, _scheme({}, {"-9": "weet niet"}, values=[], lo=0.0, hi=10.0)),
                ("remarks", "Opmerkingen", "item", "text", False, ("{}", "{}"))]
        for item, text, role, scheme, nominal, (coding, labels) in rows:
            con.execute("""insert into raw.survey_items (partition_key, instrument, wave, item, item_text, role,
                    construct, reverse, scheme, scheme_signature, scheme_min, scheme_max, is_nominal, is_text,
                    source_column, instrument_version, load_id, scheme_coding, scheme_labels)
                    values ('mini_survey/w1', 'mini_survey', 'w1', ?, ?, ?, null, false, ?, 'sig', null, null, ?, ?,
                            ?, '1', 'l1', ?, ?)""",
                        [item, text, role, scheme, nominal, scheme == "text", item.upper(), coding, labels])
    return wh


def test_stata_abbreviation_by_hand():
    # vowels dropped from the longest words first (ties: the rightmost), until the name fits
    assert research.stata_abbreviation("days_closure_to_next_registration") == "days_closure_to_next_rgstrtn"
    assert research.stata_abbreviation(LONG_ITEM) == "wrkr_undrstnds_the_fmly_sfty_gls"
    assert research.stata_abbreviation("short_name") == "short_name"
    names = research.safe_names(["a" * 40, "a" * 41], "dta")  # both abbreviate to 32 a's: the second gets _2
    assert names == {"a" * 40: "a" * 32, "a" * 41: "a" * 30 + "_2"}


def test_fit_label_cuts_between_words():
    text = "Ik ben op de hoogte van wat het SofS-implementatieplan inhoudt"
    assert research.fit_label(text, 40, "sav") == "Ik ben op de hoogte van wat het ..."
    assert research.fit_label(text, 200, "sav") == text
    # SPSS limits are bytes: 'é' takes two, so fewer words fit
    assert research.fit_label("één twee drie vier", 12, "sav") == "één ..."
    assert research.fit_label("één twee drie vier", 12, "dta") == "één twee ..."


def test_wide_survey_sav(wide):
    path = research.export_survey("mini_survey", "sav", wave="w1", out=wide / "w1.sav", allow_microdata=True)
    df, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert list(df.columns) == ["wave", "response_key", "respondent_key", "is_complete", "lastpage", "submitted_at",
                                "function", "plan_known", "safe_home", LONG_ITEM]  # no dossier key, no open answers
    assert list(df["response_key"]) == ["r1", "r2", "r3"]
    assert list(df["plan_known"].fillna(999)) == [4, -9, 999]        # r3 skipped it: system-missing
    assert list(df["safe_home"]) == [3, -1, 1]                       # A9 is not a number: -1
    assert list(df[LONG_ITEM]) == [7, -9, 10]
    assert meta.missing_ranges["plan_known"] == [{"lo": -9.0, "hi": -9.0}, {"lo": -8.0, "hi": -8.0}]
    assert meta.missing_ranges["safe_home"] == [{"lo": -1.0, "hi": -1.0}]
    assert "function" not in meta.missing_ranges
    assert meta.variable_value_labels["plan_known"] == {1.0: "helemaal niet akkoord", 2.0: "eerder niet akkoord",
                                                        3.0: "neutraal", 4.0: "eerder akkoord",
                                                        5.0: "helemaal akkoord", -9.0: "weet niet",
                                                        -8.0: "wil niet zeggen"}
    assert meta.variable_value_labels["safe_home"] == {1.0: "nee", 2.0: "een beetje", 3.0: "ja", -1.0: "weet ik niet"}
    assert meta.variable_value_labels["function"] == {1.0: "Consulent OCJ", 2.0: "Consulent SDJ"}
    assert meta.variable_value_labels[LONG_ITEM] == {-9.0: "weet niet"}
    assert meta.variable_measure == {"wave": "nominal", "response_key": "nominal", "respondent_key": "nominal",
                                     "is_complete": "nominal", "lastpage": "ordinal", "submitted_at": "scale",
                                     "function": "nominal", "plan_known": "ordinal", "safe_home": "ordinal",
                                     LONG_ITEM: "scale"}
    assert meta.original_variable_types["lastpage"] == "F12.0"
    assert meta.original_variable_types["plan_known"] == "F8.0"
    assert meta.column_names_to_labels["plan_known"] == "Ik ken het implementatieplan"
    assert meta.file_label == "Microdata, not for sharing: mini_survey w1"
    assert "NOT disclosure-controlled" in " ".join(meta.notes)
    # without user_missing the declared codes are missing, as SPSS treats them
    plain, _ = pyreadstat.read_sav(str(path))
    assert plain["plan_known"].isna().sum() == 2 and plain["safe_home"].isna().sum() == 1


def test_wide_survey_dta(wide):
    path = research.export_survey("mini_survey", "dta", wave="w1", out=wide / "w1.dta", allow_microdata=True)
    df, meta = pyreadstat.read_dta(str(path), user_missing=True)
    short = "wrkr_undrstnds_the_fmly_sfty_gls"
    assert short in df.columns and all(len(c) <= 32 for c in df.columns)
    assert list(df["plan_known"].fillna(999)) == [4, "a", 999]  # -9 -> .a (lowest code), -8 -> .b
    assert list(df["safe_home"]) == [3, "a", 1]
    # extended missing values present in the data (-8 "wil niet zeggen" = .b is only labelled)
    assert meta.missing_user_values == {"plan_known": ["a"], "safe_home": ["a"], short: ["a"]}
    assert meta.value_labels[meta.variable_to_label["plan_known"]]["a"] == "weet niet"
    assert meta.value_labels[meta.variable_to_label["plan_known"]]["b"] == "wil niet zeggen"
    # value-label sets carry their variable's name
    assert meta.variable_to_label == {c: c for c in ("is_complete", "function", "plan_known", "safe_home", short)}
    assert meta.column_names_to_labels[short] == "De consulent begrijpt de veiligheidsdoelen van het gezin (0-10)"


def test_wide_survey_csv_and_parquet(wide):
    path = research.export_survey("mini_survey", "csv", out=wide, allow_microdata=True)
    assert path == (wide / "survey_mini_survey_all_waves.csv").resolve()
    df = pd.read_csv(path)
    assert list(df["plan_known"].fillna(0)) == [4, 0, 0] and list(df["plan_known_missing"].fillna("")) == \
        ["", "weet niet", ""]
    assert list(df["safe_home_missing"].fillna("")) == ["", "weet ik niet", ""]
    assert "function_missing" not in df.columns and "remarks" not in df.columns
    table = pq.read_table(research.export_survey("mini_survey", "parquet", wave="w1", out=wide / "w.parquet",
                                                 allow_microdata=True))
    assert b"NOT disclosure-controlled" in table.schema.metadata[b"sofs_note"]


def test_wide_survey_refusals(wide):
    with pytest.raises(ValueError, match="NOT disclosure-controlled"):
        research.export_survey("mini_survey", "sav", out=wide / "a.sav")
    with pytest.raises(ValueError, match="unknown instrument 'nope'.*mini_survey"):
        research.export_survey("nope", "sav", out=wide / "a.sav", allow_microdata=True)
    with pytest.raises(ValueError, match="no wave 'w9': its waves are w1"):
        research.export_survey("mini_survey", "sav", wave="w9", out=wide / "a.sav", allow_microdata=True)
    with pytest.raises(ValueError, match="extension .csv does not match --format sav"):
        research.export_survey("mini_survey", "sav", out=wide / "x.csv", allow_microdata=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        research.export_survey("mini_survey", "sav", out=wide / "missing" / "x.sav", allow_microdata=True)
    assert not (wide / "x.csv").exists() and not (wide / "missing").exists() and not (wide / "a.sav").exists()
    from orchestration.cli import main
    assert main(["export", "survey", "mini_survey", "--format", "sav", "--out", str(wide / "x.csv"),
                 "--allow-marts"]) == 2
    assert main(["export", "outcome_reopening", "--format", "sav", "--out", str(wide / "no" / "r.sav")]) == 2
    assert not (wide / "no").exists()
    assert main(["export", "survey", "mini_survey", "--wave", "w1", "--format", "sav", "--out", str(wide),
                 "--allow-marts"]) == 0
    assert (wide / "survey_mini_survey_w1.sav").exists()


def test_wide_survey_refuses_to_stack_scheme_versions(wide):
    # wave w2 decodes plan_known with another scheme version: stacking would pool incomparable values
    with warehouse.write_connection() as con:
        con.execute("""insert into marts.fct_survey_response values
                       ('mini_survey', 'w2', 'r9', 'p1', null, true, 3, null, 2, 1.0, 'Consulent OCJ')""")
        con.execute("insert into marts.fct_item_response values ('mini_survey', 'w2', 'r9', 'plan_known', 5.0, null, '5')")
        coding, labels = _scheme(AGREE5, {"-9": "weet niet"})
        con.execute("""insert into raw.survey_items (partition_key, instrument, wave, item, item_text, role, reverse,
                scheme, scheme_signature, is_nominal, is_text, load_id, scheme_coding, scheme_labels)
                values ('mini_survey/w2', 'mini_survey', 'w2', 'plan_known', 'Ik ken het implementatieplan', 'item',
                        false, 'agree5_v2', 'sig2', false, false, 'l9', ?, ?)""", [coding, labels])
    with pytest.raises(ValueError, match="plan_known of mini_survey is coded or labelled differently.*w1: agree5, "
                                         "w2: agree5_v2.*--wave"):
        research.export_survey("mini_survey", "sav", out=wide / "all.sav", allow_microdata=True)
    df, _ = pyreadstat.read_sav(str(research.export_survey("mini_survey", "sav", wave="w2", out=wide / "w2.sav",
                                                           allow_microdata=True)))
    assert list(df["plan_known"]) == [5] and list(df["wave"]) == ["w2"]


def test_codebook_records_export_names_codes_and_conventions(wide):
    md, js = research.build_codebook(wide / "cb")
    doc = json.loads(js.read_text(encoding="utf-8"))
    variables = {v["ID"]: v for v in doc["codeBook"]["dataDscr"]["var"]}
    assert variables[f"V_mini_survey_w1_{LONG_ITEM}"]["exportNames"] == {
        "sav": LONG_ITEM, "dta": "wrkr_undrstnds_the_fmly_sfty_gls"}
    missing = {c["labl"]: c["exportCode"] for c in variables["V_mini_survey_w1_plan_known"]["catgry"]
               if c["missing"] == "Y"}
    assert missing == {"weet niet": {"sav": -9, "dta": ".a"}, "wil niet zeggen": {"sav": -8, "dta": ".b"}}
    safe = [c for c in variables["V_mini_survey_w1_safe_home"]["catgry"] if c["missing"] == "Y"]
    assert [(c["catValu"], c["exportCode"]) for c in safe] == [("A9", {"sav": -1, "dta": ".a"})]
    conv = doc["exportConventions"]
    assert conv["codeLists"]["service"]["0"] == "all (total)" and conv["codeLists"]["region"]["2"] == "Limburg"
    reopening = next(t for t in doc["tables"] if t["name"] == "reporting.outcome_reopening")
    assert {c["name"]: c["stataName"] for c in reopening["columns"]}["n_observable_suppressed"] == \
        "n_observable_suppressed"
    text = md.read_text(encoding="utf-8")
    assert "## Codes in .sav and .dta files" in text and "| `service` | 0 | all (total) |" in text
    assert "| -9 | weet niet | yes | suppressed |  | -9 (user-missing) / .a |" in text
    assert f"SPSS `{LONG_ITEM}`, Stata `wrkr_undrstnds_the_fmly_sfty_gls`" in text


def test_table_sav_measures_formats_and_long_labels(wh):
    long_text = ("Reopening of closed dossiers within 365 days per closure cohort, service and region, "
                 "disclosure-controlled")
    with warehouse.write_connection() as con:
        con.execute(f"comment on table reporting.outcome_reopening is '{long_text}'")
    path = research.export_table("outcome_reopening", "sav", wh / "r.sav")
    _, meta = pyreadstat.read_sav(str(path))
    assert meta.file_label == "Reopening of closed dossiers within 365 days per closure ..."  # 58 bytes, whole words
    assert meta.original_variable_types["n_observable"] == "F12.0"  # a count with a withheld (null) cell
    assert meta.original_variable_types["reopening_rate"] == "F12.4"
    assert meta.variable_measure["region"] == "nominal" and meta.variable_measure["closure_year"] == "ordinal"
    assert meta.variable_measure["reopening_rate"] == "scale" and meta.variable_measure["suppressed"] == "nominal"
    path = research.export_table("outcome_reopening", "dta", wh / "r.dta")
    _, meta = pyreadstat.read_dta(str(path))
    assert meta.file_label == "Reopening of closed dossiers within 365 days per closure cohort, service and ..."
    assert meta.variable_to_label["region"] == "region" and meta.variable_to_label["service"] == "service"


# --------------------------------------------------------------------- R (haven) reads the files

R_SCRIPT = r"""
library(haven)
args <- commandArgs(trailingOnly = TRUE)
sav <- read_sav(args[1], user_na = TRUE)
x <- sav$plan_known
stopifnot(inherits(x, "haven_labelled_spss"))
stopifnot(identical(as.numeric(attr(x, "na_values")), c(-9, -8)))
lab <- attr(x, "labels")
stopifnot(names(lab)[lab == -9] == "weet niet", names(lab)[lab == 4] == "eerder akkoord")
stopifnot(identical(as.numeric(x[1:2]), c(4, -9)), is.na(zap_missing(x)[2]))
stopifnot(attr(x, "label") == "Ik ken het implementatieplan")
stopifnot(identical(as.numeric(attr(sav$safe_home, "na_values")), -1))
stopifnot(attr(sav, "label") == "Microdata, not for sharing: mini_survey w1")
dta <- read_dta(args[2])
y <- dta$plan_known
stopifnot(is_tagged_na(y[2], "a"), is.na(y[3]), !is_tagged_na(y[3]), y[1] == 4)
ly <- attr(y, "labels")
stopifnot(names(ly)[is_tagged_na(ly, "a")] == "weet niet", names(ly)[is_tagged_na(ly, "b")] == "wil niet zeggen")
stopifnot("wrkr_undrstnds_the_fmly_sfty_gls" %in% names(dta))
cat("haven", as.character(packageVersion("haven")), "ok\n")
"""


def test_r_haven_reads_labels_and_user_missing(wide):
    import shutil
    import subprocess

    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("Rscript not found: install Debian's r-base-core and r-cran-haven (.ci/run does) to run this")
    if subprocess.run([rscript, "-e", "library(haven)"], capture_output=True).returncode != 0:
        pytest.skip("R has no haven package: install Debian's r-cran-haven")
    sav = research.export_survey("mini_survey", "sav", wave="w1", out=wide / "w1.sav", allow_microdata=True)
    dta = research.export_survey("mini_survey", "dta", wave="w1", out=wide / "w1.dta", allow_microdata=True)
    (wide / "check.R").write_text(R_SCRIPT, encoding="utf-8")
    run = subprocess.run([rscript, str(wide / "check.R"), str(sav), str(dta)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "ok" in run.stdout


# ------------------------------------------------------------- release: versions and DuckDB copy

def test_release_records_product_version_and_a_duckdb_copy(wh):
    import importlib.metadata

    manifest = json.loads(research.release(dt.date(2024, 7, 1), wh / "rel").read_text())
    product = manifest["product"]
    assert product["version"] == importlib.metadata.version("sofs-warehouse")
    assert product["git_commit"] is None or len(product["git_commit"]) == 40
    copy = manifest["duckdb_copy"]
    assert copy["storage_version"] == "v1.0.0" and copy["file"] == "release.duckdb"
    assert "release.duckdb" not in manifest["files"]
    data = (wh / "rel" / "release.duckdb").read_bytes()
    assert data[8:12] == b"DUCK" and int.from_bytes(data[12:20], "little") == 64  # storage of DuckDB 1.0
    digest = (wh / "rel" / "release.duckdb.sha256").read_text().split()[0]
    assert digest == hashlib.sha256(data).hexdigest()
    con = duckdb.connect(str(wh / "rel" / "release.duckdb"), read_only=True)
    try:
        rows = con.sql("select * from reporting.outcome_reopening order by all").df()
        comment = con.execute("select comment from duckdb_columns() where table_name = 'outcome_reopening' "
                              "and column_name = 'n_observable'").fetchone()[0]
        schemas = {r[0] for r in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
    finally:
        con.close()
    parquet = pd.read_parquet(wh / "rel" / "reporting" / "outcome_reopening.parquet")
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), parquet.reset_index(drop=True), check_dtype=False)
    assert comment == "Closed dossiers whose 365-day window is observable (count)"
    assert schemas == {"reporting"}  # no marts without include_marts


def test_release_duckdb_opens_in_duckdb_1x(wh):
    """release.duckdb opens in an older DuckDB (1.1.3, as R's and DBeaver's 1.x clients), installed in a
    venv of its own inside the test's folder (pip works offline from the local wheel index)."""
    import subprocess
    import sys

    research.release(dt.date(2024, 7, 1), wh / "rel")
    venv = wh / "old-duckdb"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "duckdb==1.1.3"],
                         capture_output=True, text=True, timeout=300)
    if pip.returncode != 0:
        pytest.skip(f"pip could not install duckdb==1.1.3 (offline?): {pip.stderr.strip()[-300:]}")
    script = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
              "print(duckdb.__version__, con.sql('select count(*), sum(n_observable) from "
              "reporting.outcome_reopening').fetchone())")
    run = subprocess.run([str(venv / "bin" / "python"), "-c", script, str(wh / "rel" / "release.duckdb")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1.1.3 (4, 104)"  # 4 rows; 12 + 40 + 52 (the withheld one is null)
    # the warehouse itself is DuckDB 2.0 storage, which 1.1.3 cannot open (why release ships the copy)
    run = subprocess.run([str(venv / "bin" / "python"), "-c", script, str(wh / "wh.duckdb")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "version" in run.stderr.lower()
