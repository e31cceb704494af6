"""Case audits: marts.fct_case_audit, marts.practice_depth and reporting.practice_depth (SPEC 4, 5, 6).

Two warehouses, one per fixture:

- ``small``: a hand-made dossier extract (CSV written here, read and pseudonymised as the ingest does) and
  one ``case_audit`` wave written here as a LimeSurvey CSV, read with the real instrument definition
  (data/instruments/case_audit.yaml). Expected values are worked out by hand in the comments; kappa and
  ICC are also checked against scikit-learn and pingouin.
- ``demo``: the demo's latest dossier extract and its four case-audit waves
  (:mod:`orchestration.demo.audits`). The reference is computed from the landing CSV files with pandas,
  scikit-learn's ``cohen_kappa_score`` and pingouin's ``intraclass_corr``, never from the warehouse.
"""
from __future__ import annotations

import shutil
import warnings
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration import history, ingest, landing, privacy, warehouse
from orchestration.demo.audits import WAVES as AUDIT_WAVES, write_demo_audits
from orchestration.demo.dossiers import EXTRACT_DATES, write_demo_dossiers
from orchestration.readers.dossiers import pseudonymise_extract, read_dossier_extract
from orchestration.teams import team_labels
from tests.conftest import ROOT, TEST_KEY, run_dbt
from tests.helpers import write_export, write_survey_partition

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pingouin
    from sklearn.metrics import cohen_kappa_score

KEY = b"case-audit-test-key-0123456789abcdef-xyz"
EXTRACT = date(2025, 6, 30)
ITEMS = [f"RUB[SQ00{i}]" for i in range(1, 9)]
LABELS = [0, 1, 2, 3, 4]

DOSSIERS = """dossier_id,child_id,service,region,team,registration_date,closure_date,closure_reason,birth_year,sex
D1,C1,OCJ,Antwerpen,Antwerpen Noord,2024-01-10,,,2012,V
D2,C2,SDJ,Antwerpen,Antwerpen Noord,2024-02-01,,,2010,M
D3,C3,OCJ,Antwerpen,Antwerpen Zuid,2024-03-01,,,2011,M
D4,C4,SDJ,Limburg,Hasselt,2023-11-20,2025-01-15,doelen_bereikt,2013,V
D5,C5,OCJ,Limburg,Hasselt,2024-05-05,,,2014,V
"""
EVENTS = """event_id,dossier_id,event_date,event_type,value,rated_by
E1,D1,2024-02-01,mapping,,
"""
# case_audit 2025H1. ROL 1 teamverantwoordelijke, 2 collega (peer), 3 extern; RUB 0-4, 9 niet te beoordelen.
AUDITS = [
    # token  dossier  rol  submitdate              rubric (8)                            depth
    ("aL1", "D1", "1", "2025-03-10 10:00:00", ("3", "3", "4", "3", "2", "3", "3", "3")),   # 24/8 = 3.0
    ("aP1", "D1", "2", "2025-03-20 10:00:00", ("2", "3", "3", "3", "2", "2", "3", "3")),   # 21/8 = 2.625
    ("aL1", "D2", "1", "2025-03-11 10:00:00", ("1", "1", "2", "9", "1", "1", "0", "2")),   # 8/7
    ("aE1", "D2", "3", "2025-04-01 10:00:00", ("1", "2", "2", "9", "0", "1", "1", "1")),   # 8/7
    ("aP1", "D3", "2", "2025-03-12 10:00:00", ("4", "4", "4", "4", "4", "3", "4", "4")),   # 31/8 = 3.875
    ("aL2", "D3", "1", "2025-03-25 10:00:00", ("3", "4", "4", "3", "4", "4", "4", "3")),   # 29/8 = 3.625
    ("aE1", "D4", "3", "2025-04-02 10:00:00", ("2", "2", "9", "9", "9", "2", "2", "2")),   # 5 of 8 < 6: null
    ("aL2", "D5", "1", "2025-04-03 10:00:00", ("3", "3", "3", "3", "3", "3", "3", "3")),   # 3.0, meets 3.0
    ("aL2", "D99", "1", "2025-04-04 10:00:00", ("2", "2", "2", "2", "2", "2", "2", "2")),  # not in the extract
    ("aP1", "D5", "2", "", ("4", "4", "4", "4", "", "", "", "")),                           # incomplete: null
]
DEPTH = {("aL1", "D1"): 3.0, ("aP1", "D1"): 2.625, ("aL1", "D2"): 8 / 7, ("aE1", "D2"): 8 / 7,
         ("aP1", "D3"): 3.875, ("aL2", "D3"): 3.625, ("aL2", "D5"): 3.0, ("aL2", "D99"): 2.0}


def rows(con, sql: str, params=()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def load_wave(wh: Path, folder: Path, key: bytes) -> None:
    part = landing.Partition("survey", f"case_audit/{folder.name}", folder, (folder / "responses.csv",))
    instrument, read, meta = ingest.read_survey_partition(part)
    assert not read.report.unmapped_columns, read.report.unmapped_columns
    write_survey_partition(wh, part, instrument, read, meta, key)


@pytest.fixture(scope="module")
def small(tmp_path_factory, dbt_target):
    base = tmp_path_factory.mktemp("case_audit_small")
    wh = base / "wh.duckdb"
    folder = base / "landing" / "dossiers" / EXTRACT.isoformat()
    folder.mkdir(parents=True)
    (folder / "dossiers.csv").write_text(DOSSIERS, encoding="utf-8")
    (folder / "placements.csv").write_text("placement_id,dossier_id,start_date,end_date,placement_type\n")
    (folder / "practice_events.csv").write_text(EVENTS, encoding="utf-8")
    frames = pseudonymise_extract(read_dossier_extract(folder, EXTRACT), KEY, team_labels())
    for f in frames.values():
        f["load_id"] = "test"
    with warehouse.write_connection(wh) as con, warehouse.transaction(con):
        history.load_extract(con, EXTRACT, EXTRACT.isoformat(), "test", frames)

    wave = base / "landing" / "surveys" / "case_audit" / "2025H1"
    export = [["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "DOSSIER", "ROL", *ITEMS]]
    for n, (token, dossier, role, submitted, rubric) in enumerate(AUDITS, start=1):
        export.append([str(n), submitted, "3" if submitted else "2", "nl", "1", token, dossier, role, *rubric])
    write_export(wave / "responses.csv", export)
    (wave / "wave.yaml").write_text("fieldwork_start: 2025-03-03\nfieldwork_end: 2025-06-20\n")
    load_wave(wh, wave, KEY)

    run_dbt(["build", "--select", "+rpt_practice_depth"], wh, dbt_target)
    _SMALL["warehouse"] = wh
    con = duckdb.connect(str(wh), read_only=True)
    yield con
    con.close()


_SMALL: dict[str, Path] = {}


@pytest.fixture(scope="module")
def small_by_year(small, dbt_target):
    """The same warehouse with the dbt vars audit_period: year and audit_standard: 2.5."""
    wh = _SMALL["warehouse"].with_name("wh_year.duckdb")
    shutil.copyfile(_SMALL["warehouse"], wh)
    run_dbt(["build", "--select", "fct_case_audit", "practice_depth",
             "--vars", '{"audit_period": "year", "audit_standard": 2.5}'], wh, dbt_target)
    con = duckdb.connect(str(wh), read_only=True)
    yield con
    con.close()


def audit(con, token: str, dossier: str) -> dict:
    found = rows(con, "select * from marts.fct_case_audit where auditor_key = ? and dossier_key = ?",
                 [privacy.pseudonymise(token, "respondent", KEY), privacy.pseudonymise(dossier, "dossier", KEY)])
    assert len(found) == 1, (token, dossier)
    return found[0]


def cell(con, region: str, team: str, schema: str = "marts") -> dict:
    found = rows(con, f"select * from {schema}.practice_depth where region = ? and team = ? and period = '2025H1'",
                 [region, team])
    assert len(found) == 1, (region, team)
    return found[0]


# ------------------------------------------------------------------------------------------- small

def test_every_audit_stands_although_the_auditor_answered_the_wave_several_times(small):
    # the ingest flags all but one response per token as superseded (SPEC 5, per respondent); an auditor
    # scores several dossiers per wave, so fct_case_audit keeps one response per auditor x dossier
    (n,) = small.execute("select count(*) from marts.fct_case_audit").fetchone()
    assert n == len(AUDITS)


def test_fct_case_audit_joins_the_audited_dossier(small):
    got = audit(small, "aL1", "D1")
    assert (got["instrument"], got["wave"], got["period"], got["audit_date"]) == \
        ("case_audit", "2025H1", "2025H1", date(2025, 3, 10))
    assert (got["dossier_found"], got["region"], got["team"], got["service"], got["registration_year"]) == \
        (True, "Antwerpen", "Antwerpen Noord", "OCJ", 2024)
    assert (got["has_mapping"], got["has_safety_plan"], got["is_closed"]) == (True, False, False)
    assert got["dossier_open_at_audit"] is True
    assert (got["auditor_role"], got["auditor_role_code"]) == ("teamverantwoordelijke", 1.0)
    assert (got["depth_score"], got["n_items_scored"], got["n_items"], got["meets_standard"], got["rater_seq"]) == \
        (3.0, 8, 8, True, 1)
    second = audit(small, "aP1", "D1")
    assert (second["auditor_role"], second["depth_score"], second["meets_standard"], second["rater_seq"]) == \
        ("collega (peer)", 2.625, False, 2)

    d2 = audit(small, "aE1", "D2")           # 9 = niet te beoordelen is no score: 7 of 8 scored
    assert (d2["n_items_scored"], d2["rater_seq"], d2["team"]) == (7, 2, "Antwerpen Noord")
    assert d2["depth_score"] == pytest.approx(8 / 7, abs=1e-12)

    d4 = audit(small, "aE1", "D4")           # 5 of 8 < ceil(0.75 x 8) = 6: no depth score
    assert (d4["depth_score"], d4["meets_standard"], d4["rater_seq"], d4["n_items_scored"]) == (None, None, None, 5)
    assert (d4["region"], d4["is_closed"], d4["dossier_open_at_audit"]) == ("Limburg", True, False)

    unknown = audit(small, "aL2", "D99")
    assert (unknown["dossier_found"], unknown["region"], unknown["team"], unknown["depth_score"]) == \
        (False, None, None, 2.0)

    incomplete = audit(small, "aP1", "D5")   # no submit date: period from the wave's fieldwork_start
    assert (incomplete["is_complete"], incomplete["audit_date"], incomplete["period"]) == (False, None, "2025H1")
    assert (incomplete["depth_score"], incomplete["n_items_scored"], incomplete["rater_seq"]) == (None, 4, None)


def _kappa_by_hand(a: list[int], b: list[int]) -> float:
    """Quadratic-weighted kappa: 1 - mean((a-b)^2) / (mean(a^2) + mean(b^2) - 2 mean(a) mean(b))."""
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    observed = sum((x - y) ** 2 for x, y in zip(a, b)) / n
    expected = sum(x * x for x in a) / n + sum(y * y for y in b) / n - 2 * ma * mb
    return 1 - observed / expected


def _icc1_by_hand(x1: list[float], x2: list[float]) -> float:
    """ICC(1,1), k = 2: (MSB - MSW) / (MSB + MSW)."""
    n = len(x1)
    means = [(a + b) / 2 for a, b in zip(x1, x2)]
    grand = sum(means) / n
    msb = 2 * sum((m - grand) ** 2 for m in means) / (n - 1)
    msw = sum((a - b) ** 2 for a, b in zip(x1, x2)) / 2 / n
    return (msb - msw) / (msb + msw)


def _pairs(*dossiers: str) -> tuple[list[int], list[int]]:
    first = {d: r for t, d, _, _, r in AUDITS if (t, d) in (("aL1", "D1"), ("aL1", "D2"), ("aP1", "D3"))}
    second = {d: r for t, d, _, _, r in AUDITS if (t, d) in (("aP1", "D1"), ("aE1", "D2"), ("aL2", "D3"))}
    a, b = [], []
    for d in dossiers:
        for x, y in zip(first[d], second[d]):
            if x in "01234" and y in "01234" and x and y:
                a.append(int(x))
                b.append(int(y))
    return a, b


def test_practice_depth_by_hand(small):
    noord = cell(small, "Antwerpen", "Antwerpen Noord")
    # D1 depth (3.0 + 2.625) / 2 = 2.8125, D2 (8/7 + 8/7) / 2 = 8/7; neither >= 3.0; both double-audited
    assert (noord["n_audited"], noord["n_meeting_standard"], noord["n_double_audited"]) == (2, 0, 2)
    assert noord["mean_depth"] == pytest.approx((2.8125 + 8 / 7) / 2, abs=1e-12)
    assert noord["share_meeting_standard"] == 0.0
    # kappa over D1's 8 and D2's 7 item pairs (item 4 of D2: 9 by both, not a pair)
    a, b = _pairs("D1", "D2")
    assert noord["n_rating_pairs"] == 15 == len(a)
    assert noord["kappa"] == pytest.approx(_kappa_by_hand(a, b), abs=1e-12)
    # ICC(1,1) of (3.0, 2.625) and (8/7, 8/7): means 2.8125, 8/7; grand 1.977678...; MSB = 2 x sum (m - grand)^2;
    # MSW = (0.375^2 + 0) / 2 / 2
    assert noord["icc"] == pytest.approx(_icc1_by_hand([3.0, 8 / 7], [2.625, 8 / 7]), abs=1e-12)

    zuid = cell(small, "Antwerpen", "Antwerpen Zuid")   # one double-audited dossier: kappa yes, ICC no
    assert (zuid["n_audited"], zuid["n_meeting_standard"], zuid["n_double_audited"], zuid["mean_depth"]) == \
        (1, 1, 1, 3.75)
    assert zuid["kappa"] == pytest.approx(_kappa_by_hand(*_pairs("D3")), abs=1e-12)
    assert zuid["icc"] is None

    antwerpen = cell(small, "Antwerpen", "all")
    assert (antwerpen["n_audited"], antwerpen["n_meeting_standard"], antwerpen["n_double_audited"]) == (3, 1, 3)
    assert antwerpen["mean_depth"] == pytest.approx((2.8125 + 8 / 7 + 3.75) / 3, abs=1e-12)
    assert antwerpen["share_meeting_standard"] == pytest.approx(1 / 3, abs=1e-15)
    x1, x2 = [3.0, 8 / 7, 3.875], [2.625, 8 / 7, 3.625]
    assert antwerpen["icc"] == pytest.approx(_icc1_by_hand(x1, x2), abs=1e-12)
    a, b = _pairs("D1", "D2", "D3")
    assert antwerpen["kappa"] == pytest.approx(_kappa_by_hand(a, b), abs=1e-12)
    # the same with the reference libraries
    assert antwerpen["kappa"] == pytest.approx(cohen_kappa_score(a, b, weights="quadratic", labels=LABELS), abs=1e-12)
    long = pd.DataFrame({"dossier": ["D1", "D2", "D3"] * 2, "rater": ["first"] * 3 + ["second"] * 3,
                         "depth": x1 + x2})
    icc = pingouin.intraclass_corr(data=long, targets="dossier", raters="rater", ratings="depth").set_index("Type")
    assert antwerpen["icc"] == pytest.approx(icc.loc["ICC(1,1)", "ICC"], abs=1e-12)

    hasselt = cell(small, "Limburg", "Hasselt")          # D5 3.0 meets 3.0; D4 has no depth score
    assert (hasselt["n_audited"], hasselt["n_meeting_standard"], hasselt["n_double_audited"]) == (1, 1, 0)
    assert (hasselt["kappa"], hasselt["icc"], hasselt["n_rating_pairs"]) == (None, None, 0)
    assert cell(small, "unknown", "unknown")["n_audited"] == 1   # D99, not in the extract
    total = cell(small, "all", "all")
    assert (total["n_audited"], total["n_meeting_standard"], total["n_double_audited"]) == (5, 2, 3)
    assert total["mean_depth"] == pytest.approx((2.8125 + 8 / 7 + 3.75 + 3.0 + 2.0) / 5, abs=1e-12)
    assert total["kappa"] == antwerpen["kappa"] and total["icc"] == antwerpen["icc"]
    (n_rows,) = small.execute("select count(*) from marts.practice_depth").fetchone()
    assert n_rows == 3 + 2 + 2 + 1            # 3 teams + their regions' 'all' (Antwerpen, Limburg), unknown x 2, all


def test_reporting_withholds_small_counts_and_what_follows(small):
    # min_cell 5: every cell but the total has fewer than 5 dossiers
    total = cell(small, "all", "all", "reporting")
    assert (total["n_audited"], total["n_audited_suppressed"]) == (5, False)
    assert total["mean_depth"] == pytest.approx((2.8125 + 8 / 7 + 3.75 + 3.0 + 2.0) / 5, abs=1e-9)
    assert (total["n_double_audited"], total["kappa"], total["icc"], total["n_double_audited_suppressed"]) == \
        (None, None, None, True)
    assert (total["n_meeting_standard"], total["share_meeting_standard"]) == (None, None)
    noord = cell(small, "Antwerpen", "Antwerpen Noord", "reporting")
    assert (noord["n_audited"], noord["mean_depth"], noord["kappa"], noord["suppressed"]) == (None, None, None, True)


def test_every_column_is_documented(small):
    """Every column of the case-audit marts and of reporting.practice_depth has a description in its YAML."""
    import yaml

    docs = {}
    for schema, path in (("marts", ROOT / "dbt_project" / "models" / "marts" / "audits" / "_audits__marts.yml"),
                         ("reporting", ROOT / "dbt_project" / "models" / "reporting" / "_rpt_practice_depth.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            table = model.get("config", {}).get("alias", model["name"])
            docs[schema, table] = {c["name"]: c.get("description", "").strip() for c in model["columns"]}
    assert set(docs) == {("marts", "fct_case_audit"), ("marts", "practice_depth"), ("reporting", "practice_depth")}
    for (schema, table), described in docs.items():
        columns = [r[0] for r in small.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table]).fetchall()]
        assert columns and [c for c in columns if not described.get(c)] == [], (schema, table)
        assert set(described) <= set(columns), (schema, table)


def test_period_by_year_and_another_standard(small_by_year):
    con = small_by_year
    assert [r[0] for r in con.execute("select distinct period from marts.fct_case_audit").fetchall()] == ["2025"]
    d1 = rows(con, "select * from marts.fct_case_audit where auditor_key = ? and dossier_key = ?",
              [privacy.pseudonymise("aP1", "respondent", KEY), privacy.pseudonymise("D1", "dossier", KEY)])[0]
    assert (d1["depth_score"], d1["meets_standard"]) == (2.625, True)          # 2.625 >= 2.5
    noord = rows(con, "select * from marts.practice_depth where region = 'Antwerpen' and team = 'Antwerpen Noord'")
    assert len(noord) == 1 and noord[0]["period"] == "2025"
    assert (noord[0]["n_audited"], noord[0]["n_meeting_standard"]) == (2, 1)     # D1 2.8125 meets, D2 8/7 not


# -------------------------------------------------------------------------------------------- demo

@pytest.fixture(scope="module")
def demo(tmp_path_factory, dbt_target):
    """The demo's latest extract (fct_dossier is as of the latest extract) and its case-audit waves."""
    base = tmp_path_factory.mktemp("case_audit_demo")
    root = base / "landing"
    write_demo_dossiers(root)
    write_demo_audits(root)
    wh = base / "wh.duckdb"
    key = TEST_KEY.encode()
    latest = EXTRACT_DATES[-1]
    frames = pseudonymise_extract(read_dossier_extract(root / "dossiers" / latest.isoformat(), latest), key,
                                  team_labels())
    for f in frames.values():
        f["load_id"] = "test"
    with warehouse.write_connection(wh) as con, warehouse.transaction(con):
        history.load_extract(con, latest, latest.isoformat(), "test", frames)
    for spec in AUDIT_WAVES:
        load_wave(wh, root / "surveys" / "case_audit" / spec.wave, key)
    run_dbt(["build", "--select", "+practice_depth"], wh, dbt_target)
    con = duckdb.connect(str(wh), read_only=True)
    yield root, con
    con.close()


def _reference(root: Path) -> pd.DataFrame:
    """Every audit of the landing CSVs with its depth score and period, by pandas (no warehouse)."""
    frames = []
    for spec in AUDIT_WAVES:
        d = pd.read_csv(root / "surveys" / "case_audit" / spec.wave / "responses.csv", sep=";", dtype=str,
                        keep_default_na=False, encoding="utf-8-sig")
        d["wave"] = spec.wave
        frames.append(d)
    d = pd.concat(frames, ignore_index=True)
    assert not d.duplicated(["wave", "token", "DOSSIER"]).any()     # one response per auditor x dossier x wave
    scores = d[ITEMS].apply(lambda c: pd.to_numeric(c.where(c.isin(["0", "1", "2", "3", "4"])), errors="coerce"))
    valid = scores.notna().sum(axis=1)
    d["depth"] = scores.mean(axis=1).where(valid >= 6)
    d[ITEMS] = scores
    submitted = pd.to_datetime(d["submitdate"].replace("", None))
    d["submitted"] = submitted
    d["period"] = submitted.dt.year.astype("Int64").astype(str) + "H" + np.where(submitted.dt.month <= 6, "1", "2")
    extract = pd.read_csv(root / "dossiers" / EXTRACT_DATES[-1].isoformat() / "dossiers.csv", dtype=str,
                          keep_default_na=False)
    return d.merge(extract[["dossier_id", "region"]], left_on="DOSSIER", right_on="dossier_id", how="left")


def test_demo_kappa_and_icc_equal_the_reference_libraries(demo):
    root, con = demo
    ref = _reference(root)
    scored = ref[ref["depth"].notna()].sort_values(["submitted"])
    assert not scored.duplicated(["DOSSIER", "period", "submitted"]).any()   # no ties on submit time
    checked = 0
    for scope in ("all", *sorted(scored["region"].unique())):
        part = scored if scope == "all" else scored[scored["region"] == scope]
        for period, audits in part.groupby("period"):
            first = audits.drop_duplicates(["DOSSIER", "token"])            # an auditor's first audit only
            raters = first.groupby("DOSSIER").head(2).assign(seq=lambda x: x.groupby("DOSSIER").cumcount() + 1)
            double = raters.groupby("DOSSIER")["seq"].transform("max") == 2
            pairs = raters[double].pivot(index="DOSSIER", columns="seq")
            got = rows(con, "select * from marts.practice_depth where region = ? and team = 'all' and period = ?",
                       [scope, period])
            assert len(got) == 1, (scope, period)
            got = got[0]
            dossier_depth = first.groupby("DOSSIER")["depth"].mean()
            assert got["n_audited"] == len(dossier_depth)
            assert got["mean_depth"] == pytest.approx(dossier_depth.mean(), abs=1e-12)
            assert got["n_meeting_standard"] == int((dossier_depth >= 3.0).sum())
            assert got["n_double_audited"] == len(pairs)
            if len(pairs) == 0:
                assert got["kappa"] is None and got["icc"] is None
                continue
            a = np.concatenate([pairs[(c, 1)].to_numpy() for c in ITEMS])
            b = np.concatenate([pairs[(c, 2)].to_numpy() for c in ITEMS])
            keep = ~(np.isnan(a) | np.isnan(b))
            assert got["n_rating_pairs"] == int(keep.sum())
            kappa = cohen_kappa_score(a[keep].astype(int), b[keep].astype(int), weights="quadratic", labels=LABELS)
            assert got["kappa"] == pytest.approx(kappa, abs=1e-9), (scope, period)
            if len(pairs) < 2:
                assert got["icc"] is None
                continue
            x1, x2 = list(pairs[("depth", 1)]), list(pairs[("depth", 2)])
            if len(pairs) == 2:   # pingouin needs 5 ratings or more
                assert got["icc"] == pytest.approx(_icc1_by_hand(x1, x2), abs=1e-9), (scope, period)
                continue
            long = pd.DataFrame({"dossier": list(pairs.index) * 2, "rater": [1] * len(pairs) + [2] * len(pairs),
                                 "depth": x1 + x2})
            icc = pingouin.intraclass_corr(data=long, targets="dossier", raters="rater", ratings="depth")
            assert got["icc"] == pytest.approx(icc.set_index("Type").loc["ICC(1,1)", "ICC"], abs=1e-9), (scope, period)
            checked += 1
    assert checked >= 4 + 8        # pingouin on every period overall and on regions with 3+ double-audited dossiers


def test_demo_audits_join_demo_dossiers(demo):
    root, con = demo
    (n, found, with_depth, periods) = con.execute(
        "select count(*), count(*) filter (where dossier_found), count(depth_score), count(distinct period) "
        "from marts.fct_case_audit").fetchone()
    ref = _reference(root)
    assert n == len(ref) and found == n                      # every audited dossier is in the latest extract
    assert with_depth == int(ref["depth"].notna().sum()) and periods == 4
    # region and team of an audit are those of its dossier in the latest extract
    extract = pd.read_csv(root / "dossiers" / EXTRACT_DATES[-1].isoformat() / "dossiers.csv", dtype=str,
                          keep_default_na=False)
    labels = team_labels()
    expected = {privacy.pseudonymise(r.dossier_id, "dossier", TEST_KEY.encode()): (r.region, labels.get(r.team))
                for r in extract.itertuples()}
    got = con.execute("select dossier_key, region, team from marts.fct_case_audit").fetchall()
    assert all(expected[k] == (region, team) for k, region, team in got)
