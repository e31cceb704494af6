"""The reporting schema (SPEC 6): dbt's reporting models on marts written by hand.

Each warehouse gets hand-made `marts.*` tables in the shape of the aggregate marts (full cubes with
'all' margins, as the marts build them) and only the reporting models are run
(`dbt build --select path:models/reporting`, which also runs the models' suppression tests). The
expectations are computed by hand; a random cube is checked against the Python reference
(research.secondary_suppression), iterated to a fixed point.
"""
from __future__ import annotations

import hashlib
import itertools
import random
import shutil

import duckdb
import pandas as pd
import pytest

from orchestration import research
from tests.conftest import run_dbt

REGIONS = ["Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant en Brussel", "West-Vlaanderen"]
SELECT = ["--select", "path:models/reporting"]


def cube(detail: dict[tuple[str, str, str], dict[str, float]], year_col: str) -> pd.DataFrame:
    """Every (year, service, region) cell plus every 'all' margin, summing the detail counts."""
    rows: dict[tuple, dict[str, float]] = {}
    for (year, service, region), counts in detail.items():
        for by_y, by_s, by_r in itertools.product([True, False], repeat=3):
            key = (year if by_y else "all", service if by_s else "all", region if by_r else "all")
            acc = rows.setdefault(key, dict.fromkeys(counts, 0))
            for k, v in counts.items():
                acc[k] += v
    return pd.DataFrame([{year_col: k[0], "service": k[1], "region": k[2], **v} for k, v in sorted(rows.items())])


def time_to_closure(detail) -> pd.DataFrame:
    df = cube({k: {"n_dossiers": a, "n_closed": b, "n_censored": a - b} for k, (a, b) in detail.items()},
              "registration_year")
    df["km_median_days"] = 100.0 + df["n_dossiers"]
    df["km_p25_days"] = 50.0 + df["n_dossiers"]
    df["km_p75_days"] = 200.0 + df["n_dossiers"]
    df["km_closed_within_365d"] = df["n_closed"] / df["n_dossiers"]
    df["naive_median_closed_days"] = 90.0 + df["n_closed"]
    df["max_follow_up_days"] = 999
    return df


def reopening(detail) -> pd.DataFrame:
    df = cube({k: {"n_observable": a, "n_reopened_365d": b, "n_closed": a + 2} for k, (a, b) in detail.items()},
              "closure_year")
    df["reopening_rate"] = df["n_reopened_365d"] / df["n_observable"]
    df["n_window_complete"] = df["n_observable"]
    df["n_window_running"] = df["n_closed"] - df["n_observable"]
    return df[["closure_year", "service", "region", "n_observable", "n_reopened_365d", "reopening_rate", "n_closed",
               "n_window_complete", "n_window_running"]]


def placement(detail) -> pd.DataFrame:
    df = cube({k: {"n_observable": a, "n_placed_365d": b, "placement_days": 100.0 * b, "placement_moves": m,
                   "n_dossiers": a + 1} for k, (a, b, m) in detail.items()}, "registration_year")
    df["placement_rate"] = df["n_placed_365d"] / df["n_observable"]
    df["moves_per_1000_days"] = 1000.0 * df["placement_moves"] / df["placement_days"]
    df["n_window_complete"] = df["n_observable"]
    df["n_window_running"] = df["n_dossiers"] - df["n_observable"]
    return df[["registration_year", "service", "region", "n_observable", "n_placed_365d", "placement_rate",
               "placement_days", "placement_moves", "moves_per_1000_days", "n_dossiers", "n_window_complete",
               "n_window_running"]]


def distribution(items: dict[tuple[str, str], list[int]]) -> pd.DataFrame:
    rows = []
    for (wave, item), counts in items.items():
        total = sum(counts)
        for value, n in enumerate(counts, start=1):
            rows.append({"instrument": "s", "wave": wave, "item": item, "item_text": f"text {item}",
                         "construct": "c", "role": "item", "value": float(value), "value_label": f"label {value}",
                         "n": n, "n_valid": total, "pct": 100.0 * n / total if total else None,
                         "is_missing": False})
    return pd.DataFrame(rows)


def write_marts(db, **tables: pd.DataFrame) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute("create schema if not exists marts")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create or replace table marts.{name} as select * from frame")
            con.unregister("frame")
    finally:
        con.close()


def read(db, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


HAND_TTC = {("2021", "OCJ", "Antwerpen"): (3, 2), ("2021", "OCJ", "Limburg"): (12, 6),
            ("2021", "OCJ", "Oost-Vlaanderen"): (30, 20), ("2021", "OCJ", "Vlaams-Brabant en Brussel"): (25, 15),
            ("2021", "OCJ", "West-Vlaanderen"): (40, 30)}
HAND_REOPEN = {("2022", "SDJ", "Antwerpen"): (20, 3), ("2022", "SDJ", "Limburg"): (15, 6),
               ("2022", "SDJ", "Oost-Vlaanderen"): (30, 10), ("2022", "SDJ", "Vlaams-Brabant en Brussel"): (25, 8),
               ("2022", "SDJ", "West-Vlaanderen"): (40, 12)}
HAND_PLACE = {("2021", "OCJ", "Antwerpen"): (20, 10, 9), ("2021", "OCJ", "Limburg"): (15, 8, 7),
              ("2021", "OCJ", "Oost-Vlaanderen"): (30, 12, 6), ("2021", "OCJ", "Vlaams-Brabant en Brussel"): (25, 9, 8),
              ("2021", "OCJ", "West-Vlaanderen"): (40, 11, 2)}
HAND_ITEMS = {("2021", "q1"): [3, 0, 12, 25], ("2021", "q2"): [4, 0]}


@pytest.fixture(scope="module")
def hand(tmp_path_factory, dbt_target):
    db = tmp_path_factory.mktemp("reporting_hand") / "hand.duckdb"
    write_marts(db, outcome_time_to_closure=time_to_closure(HAND_TTC), outcome_reopening=reopening(HAND_REOPEN),
                outcome_placement=placement(HAND_PLACE), item_distribution=distribution(HAND_ITEMS),
                scale_reliability=pd.DataFrame({"instrument": ["s", "s"], "wave": ["2021", "2021"],
                                                "construct": ["a", "b"], "n_cases": [4, 40], "n_items": [3, 3],
                                                "cronbach_alpha": [0.7, 0.8], "scheme_version": [1, 1],
                                                "comparable_with_previous_wave": [True, True],
                                                "not_comparable_reason": [None, None]}))
    run_dbt(["build", *SELECT], db, dbt_target)  # models + their tests (primary rule, margins protected)
    return db


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_one_small_region_and_a_second_cell_are_suppressed(hand):
    """Antwerpen has 3 dossiers: withheld, and the shown region first in md5 order of the region names
    (never by value) with it: Vlaams-Brabant en Brussel (25), so that 'all' (110) minus the shown regions
    (12 + 30 + 40) gives only Antwerpen + Vlaams-Brabant en Brussel = 28."""
    assert min(REGIONS[1:], key=md5) == "Vlaams-Brabant en Brussel"
    df = read(hand, "select * from reporting.outcome_time_to_closure")
    assert len(df) == 2 * 2 * 6
    hidden = df[df["suppressed"]]
    assert set(hidden["region"]) == {"Antwerpen", "Vlaams-Brabant en Brussel"}
    assert len(hidden) == 8  # both regions in every (year, service) combination, 'all' margins included
    for col in ("n_dossiers", "n_closed", "n_censored", "km_median_days", "km_p25_days", "km_p75_days",
                "km_closed_within_365d", "naive_median_closed_days"):
        assert hidden[col].isna().all(), col
    assert hidden[["n_dossiers_suppressed", "n_closed_suppressed", "n_censored_suppressed"]].all().all()
    shown = df[~df["suppressed"]].set_index(["registration_year", "service", "region"])
    assert shown.loc[("2021", "OCJ", "all"), "n_dossiers"] == 110
    assert shown.loc[("2021", "OCJ", "West-Vlaanderen"), "km_median_days"] == 140.0
    assert {r for r in shown.index.get_level_values("region")} == {"Oost-Vlaanderen", "Limburg",
                                                                   "West-Vlaanderen", "all"}
    assert "max_follow_up_days" not in df.columns  # one dossier's value: not published


def test_rates_on_suppressed_counts_are_null(hand):
    """Antwerpen reopened 3 of 20: n_reopened and the rate withheld, Vlaams-Brabant en Brussel's (8 of 25,
    first in md5 order) too; n_observable stays (the not-reopened complements 17 and 17 are withheld with
    them, so 20 - 17 cannot be done)."""
    df = read(hand, "select * from reporting.outcome_reopening where closure_year = '2022' and service = 'SDJ'")
    df = df.set_index("region")
    for region in ("Antwerpen", "Vlaams-Brabant en Brussel"):
        assert pd.isna(df.loc[region, "n_reopened_365d"]) and pd.isna(df.loc[region, "reopening_rate"])
        assert df.loc[region, "n_reopened_365d_suppressed"] and not df.loc[region, "n_observable_suppressed"]
    assert df.loc["Antwerpen", "n_observable"] == 20 and df.loc["Antwerpen", "n_closed"] == 22
    assert df.loc["Oost-Vlaanderen", "reopening_rate"] == pytest.approx(10 / 30)
    assert df.loc["Limburg", "reopening_rate"] == pytest.approx(6 / 15)
    assert not df.loc["all", "suppressed"] and df.loc["all", "n_reopened_365d"] == 39


def test_placement_moves_and_rate_per_days(hand):
    """West-Vlaanderen has 2 moves: withheld with Vlaams-Brabant en Brussel's 8 (first in md5 order);
    moves_per_1000_days nulled there."""
    df = read(hand, "select * from reporting.outcome_placement where registration_year = '2021' "
                    "and service = 'OCJ'").set_index("region")
    pair = ["West-Vlaanderen", "Vlaams-Brabant en Brussel"]
    assert df.loc[pair, "placement_moves"].isna().all()
    assert df.loc[pair, "moves_per_1000_days"].isna().all()
    assert df.loc[pair, "placement_moves_suppressed"].all()
    assert df.loc["Oost-Vlaanderen", "placement_moves"] == 6
    assert df.loc["Limburg", "moves_per_1000_days"] == pytest.approx(1000 * 7 / 800)
    assert df.loc["West-Vlaanderen", "placement_rate"] == pytest.approx(11 / 40)
    assert df.loc["all", "placement_moves"] == 32


def test_item_distribution_margin_is_the_items_categories(hand):
    df = read(hand, "select * from reporting.item_distribution order by item, value")
    q1 = df[df["item"] == "q1"].set_index("value")
    # categories as text '1.0' .. '4.0' in md5 order: '4.0', '3.0', '2.0', '1.0'
    assert sorted(["1.0", "2.0", "3.0", "4.0"], key=md5) == ["4.0", "3.0", "2.0", "1.0"]
    assert list(q1["n_suppressed"]) == [True, False, False, True]  # 3 withheld, then 25 (first in md5 order)
    assert q1.loc[[1.0, 4.0], "pct"].isna().all() and q1.loc[2.0, "n"] == 0 and q1.loc[3.0, "pct"] == 30.0
    assert (q1["n_valid"] == 40).all()
    q2 = df[df["item"] == "q2"].set_index("value")   # 4 and n_valid 4 withheld: two hidden, the zero stays
    assert q2["n_valid"].isna().all() and q2["n_valid_suppressed"].all() and q2["pct"].isna().all()
    assert q2.loc[1.0, "n_suppressed"] and q2.loc[2.0, "n"] == 0


def test_scale_reliability_and_rule(hand):
    df = read(hand, "select * from reporting.scale_reliability order by construct").set_index("construct")
    assert pd.isna(df.loc["a", "n_cases"]) and pd.isna(df.loc["a", "cronbach_alpha"]) and df.loc["a", "suppressed"]
    assert df.loc["a", "n_items"] == 3 and df.loc["b", "cronbach_alpha"] == 0.8
    rule = read(hand, "select * from reporting.suppression_rule")
    assert rule.loc[0, "min_cell"] == 5 and not rule.loc[0, "suppress_zero_counts"]


def test_export_of_a_reporting_table_built_by_dbt(hand, tmp_path, monkeypatch):
    """dbt's column descriptions reach the .sav as variable labels (persist_docs -> DuckDB comments)."""
    import pyreadstat

    # an export first audits every reporting table together; the hand-made marts of the other outcome
    # tables do not describe the same dossiers (their shared counts differ), so export from a copy
    # holding time to closure only
    copy = tmp_path / "ttc_only.duckdb"
    shutil.copy(hand, copy)
    with duckdb.connect(str(copy)) as con:
        for name in ("outcome_placement", "outcome_reopening"):
            con.execute(f"drop table reporting.{name}")
            con.execute(f"drop table marts.{name}")
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(copy))
    path = research.export_table("outcome_time_to_closure", "sav", tmp_path / "ttc.sav")
    df, meta = pyreadstat.read_sav(str(path))
    assert meta.column_names_to_labels["n_closed_suppressed"] == "True when n_closed is withheld by disclosure control."
    assert meta.variable_value_labels["region"][5.0] == "West-Vlaanderen"
    assert df["n_dossiers"].isna().sum() == 8


# --------------------------------------------------------------------------- random cube vs reference

def _long_ttc(mart: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for status, col in (("closed", "n_closed"), ("censored", "n_censored"), ("all", "n_dossiers")):
        parts.append(mart[["registration_year", "service", "region"]].assign(status=status, cell_value=mart[col]))
    return pd.concat(parts, ignore_index=True).assign(measure_group="dossiers")


@pytest.fixture(scope="module")
def random_wh(tmp_path_factory, dbt_target):
    rng = random.Random(20240630)
    detail = {}
    for year, service, region in itertools.product(["2020", "2021"], ["OCJ", "SDJ"], REGIONS):
        n = rng.choice([0, 1, 2, 3, 4, 6, 8, 11, 15, 25, 40])
        detail[(year, service, region)] = (n, rng.randint(0, n))
    items = {("2021", f"q{i}"): [rng.choice([0, 1, 2, 3, 5, 7, 12, 30]) for _ in range(5)] for i in range(8)}
    db = tmp_path_factory.mktemp("reporting_random") / "random.duckdb"
    write_marts(db, outcome_time_to_closure=time_to_closure(detail), item_distribution=distribution(items),
                outcome_reopening=reopening({k: (a, b) for k, (a, b) in detail.items()}),
                outcome_placement=placement({k: (a, b, b) for k, (a, b) in detail.items()}),
                scale_reliability=pd.DataFrame({"instrument": ["s"], "wave": ["2021"], "construct": ["a"],
                                                "n_cases": [3], "n_items": [2], "cronbach_alpha": [None],
                                                "scheme_version": [1], "comparable_with_previous_wave": [True],
                                                "not_comparable_reason": [None]}))
    run_dbt(["build", *SELECT], db, dbt_target)
    return db


def test_random_cube_matches_reference(random_wh):
    mart = read(random_wh, "select * from marts.outcome_time_to_closure")
    long = _long_ttc(mart)
    hidden = research.secondary_suppression(long, ["measure_group"],
                                            ["registration_year", "service", "region", "status"], min_cell=5)
    expected = long.assign(hidden=hidden).pivot_table(index=["registration_year", "service", "region"],
                                                      columns="status", values="hidden", aggfunc="max")
    got = read(random_wh, "select * from reporting.outcome_time_to_closure").set_index(
        ["registration_year", "service", "region"]).sort_index()
    expected = expected.loc[got.index]
    assert (got["n_closed_suppressed"] == expected["closed"].astype(bool)).all()
    assert (got["n_censored_suppressed"] == expected["censored"].astype(bool)).all()
    assert (got["n_dossiers_suppressed"] == expected["all"].astype(bool)).all()
    assert got["suppressed"].any() and not got["suppressed"].all()
    # Kaplan-Meier figures are computed from the cohort's counts: withheld when any of the three is
    # (SPEC 6: 0.769 x 13 would give a withheld n_closed back); the naive median follows n_closed
    m = mart.set_index(["registration_year", "service", "region"]).loc[got.index]
    km_shown = ~(got["n_dossiers_suppressed"] | got["n_closed_suppressed"] | got["n_censored_suppressed"])
    assert km_shown.any() and not km_shown.all()
    assert (got.loc[km_shown, "km_median_days"] == m.loc[km_shown, "km_median_days"]).all()
    assert got.loc[~km_shown, ["km_median_days", "km_p25_days", "km_p75_days",
                               "km_closed_within_365d"]].isna().all().all()
    assert got.loc[got["n_closed_suppressed"], "naive_median_closed_days"].isna().all()


def test_random_item_distribution_matches_reference(random_wh):
    mart = read(random_wh, "select * from marts.item_distribution order by item, value")
    cats = mart[["instrument", "wave", "item"]].assign(category=mart["value"].astype(str), cell_value=mart["n"])
    totals = mart.groupby(["instrument", "wave", "item"], as_index=False)["n_valid"].max()
    totals = totals.assign(category="all", cell_value=totals["n_valid"]).drop(columns="n_valid")
    cells = pd.concat([cats, totals], ignore_index=True)
    hidden = research.secondary_suppression(cells, ["instrument", "wave", "item"], ["category"], min_cell=5)
    got = read(random_wh, "select * from reporting.item_distribution order by item, value")
    assert list(got["n_suppressed"]) == list(hidden.iloc[:len(cats)])


def test_min_cell_is_a_dbt_var(tmp_path, dbt_target):
    db = tmp_path / "mincell.duckdb"
    write_marts(db, outcome_time_to_closure=time_to_closure(HAND_TTC), outcome_reopening=reopening(HAND_REOPEN),
                outcome_placement=placement(HAND_PLACE), item_distribution=distribution(HAND_ITEMS),
                scale_reliability=pd.DataFrame({"instrument": ["s"], "wave": ["2021"], "construct": ["a"],
                                                "n_cases": [12], "n_items": [3], "cronbach_alpha": [0.7],
                                                "scheme_version": [1], "comparable_with_previous_wave": [True],
                                                "not_comparable_reason": [None]}))
    run_dbt(["build", *SELECT, "--vars", "{min_cell: 13}"], db, dbt_target)
    assert read(db, "select min_cell from reporting.suppression_rule").iloc[0, 0] == 13
    df = read(db, "select * from reporting.outcome_time_to_closure where registration_year = '2021' "
                  "and service = 'OCJ'").set_index("region")
    assert df.loc["Limburg", "n_dossiers_suppressed"] and df.loc["Antwerpen", "n_dossiers_suppressed"]
    assert pd.isna(read(db, "select n_cases from reporting.scale_reliability").iloc[0, 0])  # 12 < 13
