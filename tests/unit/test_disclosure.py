"""Disclosure control engine (SPEC 6) on hand-made reporting tables with hand-computed expectations.

Each test writes tiny ``marts`` and ``reporting`` tables (reporting = the mart after dbt's first pass,
written by hand here) into an in-memory DuckDB and runs the product's protection and audit on them.
"""
from __future__ import annotations

import hashlib

import duckdb
import pandas as pd
import pytest

from orchestration.disclosure.feasibility import Cell, System, intervals
from orchestration.disclosure.protect import audit_reporting, protect_reporting

REGIONS = ["A", "B", "C"]


def _ttc(counts: dict[str, tuple[int, int]], shown: dict[str, bool] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """outcome_time_to_closure for one year and service, regions + 'all': (n_closed, n_censored) per region.
    ``shown``: region -> whether dbt's first pass showed its counts (default all shown)."""
    rows = []
    for region, (closed, censored) in counts.items():
        rows.append({"registration_year": "2021", "service": "OCJ", "region": region, "n_dossiers": closed + censored,
                     "n_closed": closed, "n_censored": censored, "km_median_days": 100.0,
                     "km_p25_days": 50.0, "km_p75_days": 200.0, "km_closed_within_365d": 0.5,
                     "naive_median_closed_days": 90.0})
    mart = pd.DataFrame(rows)
    total = mart[["n_dossiers", "n_closed", "n_censored"]].sum()
    mart = pd.concat([mart, pd.DataFrame([{**mart.iloc[0].to_dict(), "region": "all", **total.to_dict()}])],
                     ignore_index=True)
    rep = mart.copy()
    for c in ("n_dossiers", "n_closed", "n_censored"):
        rep[f"{c}_suppressed"] = False
    rep["suppressed"] = False
    for region, ok in (shown or {}).items():
        if not ok:
            i = rep.index[rep["region"] == region][0]
            for c in ("n_dossiers", "n_closed", "n_censored"):
                rep.loc[i, c] = None
                rep.loc[i, f"{c}_suppressed"] = True
    for c in ("n_dossiers", "n_closed", "n_censored"):
        rep[c] = rep[c].astype("Int64")
    return mart, rep


def _warehouse(**tables: tuple[pd.DataFrame, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts; create schema reporting")
    for name, (mart, rep) in tables.items():
        con.register("m", mart)
        con.register("r", rep)
        con.execute(f"create table marts.{name} as select * from m")
        con.execute(f"create table reporting.{name} as select * from r")
        con.unregister("m")
        con.unregister("r")
    return con


def _shown(con, table: str, column: str) -> dict[str, object]:
    return {r[0]: r[1] for r in con.execute(f"select region, {column} from reporting.{table}").fetchall()}


def test_intervals_of_a_pair_in_one_margin():
    # x + y = 10 (x, y withheld), y + z = 7 (z shown = 3): y = 4, x = 6 exactly
    cells = {c: Cell(c, "t", (c,), "n", v, "count") for c, v in (("x", 6), ("y", 4), ("z", 3), ("t1", 10), ("t2", 7))}
    system = System(cells, [{"t1": 1, "x": -1, "y": -1}, {"t2": 1, "y": -1, "z": -1}])
    assert intervals(system, {"x", "y"}) == {"x": (6.0, 6.0), "y": (4.0, 4.0)}
    # without the second relation: x in [0, 10], y in [0, 10]
    system = System(cells, [{"t1": 1, "x": -1, "y": -1}])
    assert intervals(system, {"x", "y"}) == {"x": (0.0, 10.0), "y": (0.0, 10.0)}
    # nothing bounds x from above
    system = System(cells, [{"x": 1, "y": -1}])
    lo, hi = intervals(system, {"x", "y"})["x"]
    assert lo == 0.0 and hi == float("inf")


def md5(cell_id: str) -> str:
    return hashlib.md5(cell_id.encode()).hexdigest()


def test_lone_small_region_takes_other_cells_in_a_fixed_pseudo_random_order():
    # A has 2 dossiers (1 closed, 1 censored), withheld by dbt's first pass; B 6/6/12, C 15/10/25, all
    # 22/17/39. Secondary cells are chosen among the shown detail cells of the pinned cell's relations in
    # md5 order of their ids, never by value (the order is checked here, then followed by hand):
    t = "outcome_time_to_closure|2021|OCJ|"
    assert md5(t + "C|n_censored") < md5(t + "B|n_censored")
    assert md5(t + "B|n_closed") < md5(t + "C|n_closed") and md5(t + "B|n_dossiers") < md5(t + "C|n_dossiers")
    # round 1: A's three counts are pinned (all - B - C); C.n_censored, B.n_closed, B.n_dossiers withheld.
    # round 2: C.n_censored = 25 - 15 follows from C's row, so A.n_censored = 17 - 6 - 10 = 1 again, and
    #          A.n_dossiers >= 1: B.n_censored (the only shown detail cell of A.n_censored's margin) and
    #          C.n_dossiers (of A.n_dossiers's margin) are withheld.
    # round 3: A.n_censored in [0, 17], A.n_closed in [0, 7] (A + B = 22 - 15), A.n_dossiers in [0, 24].
    mart, rep = _ttc({"A": (1, 1), "B": (6, 6), "C": (15, 10)}, shown={"A": False})
    con = _warehouse(outcome_time_to_closure=(mart, rep))
    outcome = protect_reporting(con, 5)
    assert outcome.passed and (outcome.added, outcome.rounds) == (5, 3)
    assert _shown(con, "outcome_time_to_closure", "n_dossiers") == {"A": None, "B": None, "C": None, "all": 39}
    assert _shown(con, "outcome_time_to_closure", "n_closed") == {"A": None, "B": None, "C": 15, "all": 22}
    assert _shown(con, "outcome_time_to_closure", "n_censored") == {"A": None, "B": None, "C": None, "all": 17}
    flags = con.execute("select region, n_dossiers_suppressed, n_closed_suppressed, n_censored_suppressed "
                        "from reporting.outcome_time_to_closure order by region").fetchall()
    assert flags == [("A", True, True, True), ("B", True, True, True), ("C", True, False, True),
                     ("all", False, False, False)]
    # everything computed from a withheld count is null (KM: any of the three); the row flag follows
    km = con.execute("select region, km_median_days, km_closed_within_365d, naive_median_closed_days, suppressed "
                     "from reporting.outcome_time_to_closure order by region").fetchall()
    assert km == [("A", None, None, None, True), ("B", None, None, None, True), ("C", None, None, 90.0, True),
                  ("all", 100.0, 0.5, 90.0, False)]
    audit = outcome.audit.set_index(["row_key", "column_name"])
    assert tuple(audit.loc[("2021|OCJ|A", "n_dossiers"), ["lower_bound", "upper_bound"]]) == (0, 24)
    assert tuple(audit.loc[("2021|OCJ|A", "n_closed"), ["lower_bound", "upper_bound"]]) == (0, 7)
    assert tuple(audit.loc[("2021|OCJ|A", "n_censored"), ["lower_bound", "upper_bound"]]) == (0, 17)
    assert audit["protected"].all()


def test_item_categories_a_zero_can_be_withheld_to_protect():
    # categories n = 2, 0, 20 (n_valid 22): 2 is withheld; 22 - 0 - 20 would give it back. In md5 order
    # the zero comes first: withheld (a withheld cell must not be known to be non-zero), but then
    # 2 + 0 = 22 - 20 pins it to [0, 2]; next in order among the shown cells: 20 (before n_valid).
    i = "item_distribution|s|w1|q|"
    assert md5(i + "2.0|false|b|n") < md5(i + "3.0|false|c|n") < md5(i + "n_valid")
    mart = pd.DataFrame({"instrument": "s", "wave": "w1", "item": "q", "value": [1.0, 2.0, 3.0],
                         "value_label": ["a", "b", "c"], "is_missing": False, "n": [2, 0, 20], "n_valid": 22,
                         "pct": [100 * 2 / 22, 0.0, 100 * 20 / 22]})
    rep = mart.assign(n=pd.array([None, 0, 20], dtype="Int64"), pct=[None, 0.0, 100 * 20 / 22],
                      n_suppressed=[True, False, False], n_valid_suppressed=False, suppressed=[True, False, False])
    con = _warehouse(item_distribution=(mart, rep))
    outcome = protect_reporting(con, 5)
    assert outcome.passed and (outcome.added, outcome.rounds) == (2, 3)
    got = con.execute("select value, n, n_valid, pct, n_suppressed from reporting.item_distribution "
                      "order by value").fetchall()
    assert got == [(1.0, None, 22, None, True), (2.0, None, 22, None, True), (3.0, None, 22, None, True)]
    audit = outcome.audit.set_index("row_key")
    assert tuple(audit.loc["s|w1|q|1.0|false|a", ["lower_bound", "upper_bound"]]) == (0, 22)


def test_protection_is_a_fixed_point_and_deterministic():
    mart, rep = _ttc({"A": (1, 1), "B": (6, 6), "C": (15, 10)}, shown={"A": False})
    first = _warehouse(outcome_time_to_closure=(mart, rep))
    protect_reporting(first, 5)
    pattern = first.execute("select * from reporting.outcome_time_to_closure order by region").fetchall()
    again = protect_reporting(first, 5)
    assert again.added == 0 and again.rounds == 1
    assert first.execute("select * from reporting.outcome_time_to_closure order by region").fetchall() == pattern
    second = _warehouse(outcome_time_to_closure=(mart, rep))
    protect_reporting(second, 5)
    assert second.execute("select * from reporting.outcome_time_to_closure order by region").fetchall() == pattern


def test_small_complement_in_a_row_is_protected():
    # Placement, one cell per region: B has 20 complete windows of which 18 placed, so 'not placed' = 2 is a
    # small latent count (n_observable - n_placed_365d). Showing both counts would give it: one of them goes.
    rows = []
    for region, (obs, placed) in {"A": (30, 10), "B": (20, 18), "C": (25, 9)}.items():
        rows.append({"registration_year": "2021", "service": "OCJ", "region": region, "n_observable": obs,
                     "n_placed_365d": placed, "placement_rate": placed / obs, "placement_days": 100 * placed,
                     "placement_moves": 7, "moves_per_1000_days": 7000 / (100 * placed), "n_dossiers": obs,
                     "n_window_complete": obs, "n_window_running": 0})
    mart = pd.DataFrame(rows)
    total = mart[["n_observable", "n_placed_365d", "placement_days", "placement_moves", "n_dossiers",
                  "n_window_complete", "n_window_running"]].sum()
    mart = pd.concat([mart, pd.DataFrame([{**rows[0], "region": "all", **total.to_dict(),
                                           "placement_rate": 37 / 75, "moves_per_1000_days": 21000 / 3700}])],
                     ignore_index=True)
    rep = mart.copy()
    for c in ("n_observable", "n_placed_365d", "placement_days", "placement_moves", "n_dossiers",
              "n_window_complete", "n_window_running"):
        rep[f"{c}_suppressed"] = False
    rep["suppressed"] = False
    con = _warehouse(outcome_placement=(mart, rep))
    before = audit_reporting(con, 5)
    assert not before.passed   # the dbt first pass alone (nothing withheld) shows 'not placed' = 2
    assert "not_placed" in before.failures()
    outcome = protect_reporting(con, 5)
    assert outcome.passed
    b = con.execute("select n_observable, n_placed_365d, placement_rate, n_window_complete "
                    "from reporting.outcome_placement where region = 'B'").fetchone()
    assert None in b[:2] and b[2] is None
    assert (b[0] is None) == (b[3] is None)   # n_window_complete is n_observable under another name


def test_audit_catches_a_rate_published_beside_a_withheld_count():
    mart, rep = _ttc({"A": (1, 1), "B": (6, 6), "C": (15, 10)}, shown={"A": False})
    con = _warehouse(outcome_time_to_closure=(mart, rep))
    protect_reporting(con, 5)
    assert audit_reporting(con, 5).passed
    # a placement table whose rate is shown although its numerator is withheld: 2 = 0.1 x 20
    rows = [{"registration_year": "2021", "service": "SDJ", "region": r, "n_observable": 20, "n_placed_365d": p,
             "placement_rate": p / 20, "n_dossiers": 20, "n_window_complete": 20, "n_window_running": 0,
             "placement_moves": 0, "placement_days": 0, "moves_per_1000_days": None} for r, p in (("A", 2), ("all", 2))]
    mart_p = pd.DataFrame(rows)
    rep_p = mart_p.copy()
    rep_p["n_placed_365d"] = pd.array([None, None], dtype="Int64")
    con.register("m", mart_p)
    con.register("r", rep_p)
    con.execute("create table marts.outcome_placement as select * from m")
    con.execute("create table reporting.outcome_placement as select * from r")
    outcome = audit_reporting(con, 5)
    assert not outcome.passed
    bad = outcome.audit[~outcome.audit["protected"]]
    assert ("outcome_placement", "n_placed_365d") in set(zip(bad["table_name"], bad["column_name"]))
    row = bad[bad["column_name"] == "n_placed_365d"].iloc[0]
    assert row["lower_bound"] == pytest.approx(2) and row["upper_bound"] == pytest.approx(2)


def test_asset_check_fails_on_an_unprotected_cell(tmp_path, monkeypatch, pipeline_manifest):
    from orchestration.assets.dbt import disclosure_audit_check as check
    from orchestration.resources import WarehouseResource

    db = tmp_path / "wh.duckdb"

    def disclosure_audit_check():
        return check(warehouse=WarehouseResource(path=str(db)))
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(db))
    mart, rep = _ttc({"A": (1, 1), "B": (6, 6), "C": (15, 10)}, shown={"A": False})
    con = _warehouse(outcome_time_to_closure=(mart, rep))
    con.execute(f"attach '{db}' as wh")
    con.execute("create schema wh.marts; create schema wh.reporting")
    con.execute("create table wh.marts.outcome_time_to_closure as select * from marts.outcome_time_to_closure")
    con.execute("create table wh.reporting.outcome_time_to_closure as select * from reporting.outcome_time_to_closure")
    con.close()
    assert disclosure_audit_check().passed is False          # nothing audited yet
    with duckdb.connect(str(db)) as c:
        protect_reporting(c, 5)
    result = disclosure_audit_check()
    assert result.passed is True and result.metadata["withheld_cells"].value == 8   # A, B and C's two
    with duckdb.connect(str(db)) as c:                     # as a build that left A pinned would record it
        c.execute("update audit.disclosure_audit set protected = false "
                  "where row_key = '2021|OCJ|A' and column_name = 'n_closed'")
    result = disclosure_audit_check()
    assert result.passed is False and result.metadata["unprotected_cells"].value == 1
    assert "outcome_time_to_closure [2021|OCJ|A] n_closed" in result.metadata["unprotected_examples"].value


def test_kaplan_meier_share_that_gives_a_small_count_away_is_protected():
    # B: 19 dossiers, all closed, nobody censored before day 365, km_closed_within_365d = 16/19: a reader
    # gets 16 closed within a year and so 19 - 16 = 3 closed later (a small count). C was censored
    # before day 365 (4 dossiers), so 0.45 x 30 gives no count away and its figure may stay.
    rows = [("B", 19, 19, 0, 16, 0, 16 / 19), ("C", 30, 20, 10, 12, 4, 0.45), ("all", 49, 39, 10, 28, 4, 0.6)]
    mart = pd.DataFrame([{"registration_year": "2021", "service": "OCJ", "region": r, "n_dossiers": d,
                          "n_closed": c, "n_censored": s, "km_median_days": 100.0, "km_p25_days": 50.0,
                          "km_p75_days": 200.0, "km_closed_within_365d": km, "naive_median_closed_days": 90.0,
                          "n_closed_within_365d": w, "n_censored_before_365d": cb}
                         for r, d, c, s, w, cb, km in rows])
    rep = mart.drop(columns=["n_closed_within_365d", "n_censored_before_365d"])
    for col in ("n_dossiers", "n_closed", "n_censored"):
        rep[f"{col}_suppressed"] = False
    rep["suppressed"] = False
    con = _warehouse(outcome_time_to_closure=(mart, rep))
    assert not audit_reporting(con, 5).passed          # the first pass alone gives the 3 away
    assert protect_reporting(con, 5).passed
    b = con.execute("select n_closed, km_closed_within_365d, n_dossiers from reporting.outcome_time_to_closure "
                    "where region = 'B'").fetchone()
    assert b[1] is None or b[0] is None or b[2] is None   # never all of 16/19 with 19 closed of 19
    assert audit_reporting(con, 5).passed


def test_practice_breadth_small_team_is_withheld_and_not_recoverable_from_region_totals():
    # One quarter, two steps. Region A: team 'small' has 3 open dossiers (1 with a mapping, 3 with a safety plan),
    # team 'big' 30 (12, 25); region B: team 'b' 20 (8, 20). dbt's first pass is taken as primary suppression only
    # (small's n_open 3, mapping 1 and safety plan 3 withheld), so the LP-driven step has to find the rest.
    # n_open is one count per quarter x region x team, shown on both steps' rows.
    cells = {("A", "small"): (3, {"mapping": 1, "safety_plan": 3}), ("A", "big"): (30, {"mapping": 12, "safety_plan": 25}),
             ("A", "all"): (33, {"mapping": 13, "safety_plan": 28}), ("B", "b"): (20, {"mapping": 8, "safety_plan": 20}),
             ("B", "all"): (20, {"mapping": 8, "safety_plan": 20}), ("all", "all"): (53, {"mapping": 21, "safety_plan": 48})}
    rows = [{"quarter": "2024-Q1", "quarter_end": pd.Timestamp("2024-03-31"), "region": r, "team": t, "event_type": e,
             "n_open": n, "n_with_step": k, "share_with_step": k / n, "share_with_step_ci_low": 0.0,
             "share_with_step_ci_high": 1.0} for (r, t), (n, steps) in cells.items() for e, k in steps.items()]
    mart = pd.DataFrame(rows)
    rep = mart.copy()
    small = rep["team"] == "small"
    rep["n_open_suppressed"] = small
    rep["n_with_step_suppressed"] = small
    rep["suppressed"] = small
    rep["n_open"] = pd.array([None if s else v for s, v in zip(small, rep["n_open"])], dtype="Int64")
    rep["n_with_step"] = pd.array([None if s else v for s, v in zip(small, rep["n_with_step"])], dtype="Int64")
    for c in ("share_with_step", "share_with_step_ci_low", "share_with_step_ci_high"):
        rep.loc[small, c] = None
    con = _warehouse(practice_breadth=(mart, rep))
    before = audit_reporting(con, 5)
    assert not before.passed        # big's counts shown: small = A's total - big's, exactly
    outcome = protect_reporting(con, 5)
    assert outcome.passed
    got = con.execute("select team, event_type, n_open, n_with_step, share_with_step, n_open_suppressed, "
                      "n_with_step_suppressed from reporting.practice_breadth where team in ('small', 'big') "
                      "order by team desc, event_type").fetchall()
    assert got == [("small", "mapping", None, None, None, True, True), ("small", "safety_plan", None, None, None, True, True),
                   ("big", "mapping", None, None, None, True, True), ("big", "safety_plan", None, None, None, True, True)]
    # the region totals stay derivable (A = all - B = 53 - 20 = 33, 21 - 8 = 13, 48 - 20 = 28) and only give
    # small + big. By hand: small.n_open = 33 - big.n_open with big.n_open >= big.mapping >= 0 and
    # small.n_open >= small.mapping = 13 - big.mapping: from 0 (big takes all 33 and 13) to 33 (big takes 0);
    # small.mapping in [0, 13]; small's dossiers without a mapping = 20 - (big.n_open - big.mapping) in [0, 20];
    # small.safety_plan in [0, 28]
    audit = outcome.audit.set_index(["row_key", "column_name"])
    assert tuple(audit.loc[("2024-Q1|A|small", "n_open"), ["lower_bound", "upper_bound"]]) == (0, 33)
    assert tuple(audit.loc[("2024-Q1|A|small|mapping", "n_with_step"), ["lower_bound", "upper_bound"]]) == (0, 13)
    assert tuple(audit.loc[("2024-Q1|A|small|mapping", "without_step"), ["lower_bound", "upper_bound"]]) == (0, 20)
    assert tuple(audit.loc[("2024-Q1|A|small|safety_plan", "n_with_step"), ["lower_bound", "upper_bound"]]) == (0, 28)
    assert audit["protected"].all()
    assert audit_reporting(con, 5).passed


def test_km_curve_points_that_give_a_small_step_away_are_withheld():
    # One cohort of 20 dossiers, nobody censored: the curve at days 0, 30, 60, 90 gives the dossiers closed by each
    # day away (0, 10, 12, 20). Closures between day 30 and 60: 12 - 10 = 2, a small count that two shown points pin.
    # The first pass is taken as showing every point, so the LP-driven step has to withhold one of the two.
    closed = {0: 0, 30: 10, 60: 12, 90: 20}
    mart = pd.DataFrame([{"registration_year": "2024", "service": "all", "region": "all", "days": d, "n_dossiers": 20,
                          "n_closed_by_day": c, "n_censored_before_day": 0, "survival": 1 - c / 20,
                          "ci_low": 0.0, "ci_high": 1.0} for d, c in closed.items()])
    rep = mart.drop(columns=["n_closed_by_day", "n_censored_before_day"]).assign(
        n_dossiers_suppressed=False, survival_suppressed=False, suppressed=False)
    con = _warehouse(outcome_km_grid=(mart, rep.iloc[:0]), outcome_km_curve=(mart.iloc[:0], rep))
    con.execute("drop table marts.outcome_km_curve; drop table reporting.outcome_km_grid")
    before = audit_reporting(con, 5)
    assert not before.passed
    assert outcome_failures(before) == {("2024|all|all|60", "closed_since_previous_day")}
    outcome = protect_reporting(con, 5)
    assert outcome.passed
    shown = dict(con.execute("select days, survival from reporting.outcome_km_curve order by days").fetchall())
    flags = dict(con.execute("select days, survival_suppressed from reporting.outcome_km_curve").fetchall())
    withheld = sorted(d for d, s in shown.items() if s is None)
    assert withheld in ([30], [60])      # one point is enough, and the band goes with it
    assert flags[withheld[0]] and con.execute("select ci_low from reporting.outcome_km_curve where days = ?",
                                              withheld).fetchone() == (None,)
    audit = outcome.audit.set_index(["row_key", "column_name"])
    step = tuple(audit.loc[("2024|all|all|60", "closed_since_previous_day"), ["lower_bound", "upper_bound"]])
    # by hand: day 60 withheld -> closed by 60 lies in [10 (by day 30), 20 (by day 90)], so the step in [0, 10];
    # day 30 withheld -> closed by 30 lies in [0, 12], so the step 12 - closed by 30 in [0, 12]
    assert step == ((0, 10) if withheld == [60] else (0, 12))
    assert audit_reporting(con, 5).passed


def outcome_failures(outcome) -> set[tuple[str, str]]:
    """(row key, column) of the cells an audit finds unprotected."""
    bad = outcome.audit[~outcome.audit["protected"]]
    return set(zip(bad["row_key"], bad["column_name"]))


# --- unit_comparison and its links to the outcome tables (SPEC 6, 9.3) ----------------------------------------------

def _unit_and_placement(first_pass_unit: set[str], first_pass_placement: set[str], years: dict[str, tuple[int, int]]):
    """One region (Antwerpen), the region rows of unit_comparison (team 'all', indicator placement_365d) and the
    service 'all' rows of outcome_placement: per year (n, observed) = (n_observable, n_placed_365d), plus 'all'.
    ``first_pass_*``: the years whose two counts dbt's first pass withheld (hand-made here)."""
    total = (sum(n for n, _ in years.values()), sum(o for _, o in years.values()))
    rows = {**years, "all": total}
    unit = pd.DataFrame([{"indicator": "placement_365d", "unit_level": "region", "region": "Antwerpen", "team": "all",
                          "period": y, "n": n, "observed": o, "observed_rate": o / n} for y, (n, o) in rows.items()])
    placement = pd.DataFrame([{"registration_year": y, "service": "all", "region": "Antwerpen", "n_observable": n,
                               "n_placed_365d": o, "placement_rate": o / n} for y, (n, o) in rows.items()])
    frames = {}
    for name, mart, counts, year, hidden in (
            ("unit_comparison", unit, ("n", "observed"), "period", first_pass_unit),
            ("outcome_placement", placement, ("n_observable", "n_placed_365d"), "registration_year",
             first_pass_placement)):
        rep = mart.copy()
        withheld = rep[year].isin(hidden)
        for c in counts:
            rep[c] = pd.array([None if w else v for w, v in zip(withheld, rep[c])], dtype="Int64")
            rep[f"{c}_suppressed"] = withheld
        rep.loc[withheld, rep.columns[rep.columns.str.endswith("_rate")]] = None
        rep["suppressed"] = withheld
        frames[name] = (mart, rep)
    con = _warehouse(outcome_placement=frames["outcome_placement"])
    con.register("m", frames["unit_comparison"][0])
    con.register("r", frames["unit_comparison"][1])
    con.execute("create table marts.unit_comparison_by_label as select * from m")   # its mart (TableSpec.mart)
    con.execute("create table reporting.unit_comparison as select * from r")
    return con


def test_unit_comparison_region_count_given_away_by_outcome_placement_is_withheld_in_both():
    # Antwerpen 2022: 30 dossiers with a complete window, 10 placed; 2023: 20, 6; 2024: 4, 2; all: 54, 18. dbt's first
    # pass (by hand): unit_comparison withholds 2024 and, for its period margin, 2023; outcome_placement withholds
    # 2024 and, for its year margin, 2022. Each table alone keeps 2024 in [0, 24] or [0, 34], but the region rows are
    # the same counts (SPEC 9.3): outcome_placement's 2023 (20) is unit_comparison's, so 54 - 30 - 20 = 4.
    con = _unit_and_placement({"2024", "2023"}, {"2024", "2022"}, {"2022": (30, 10), "2023": (20, 6), "2024": (4, 2)})
    before = audit_reporting(con, 5).audit.set_index(["table_name", "row_key", "column_name"])
    assert tuple(before.loc[("unit_comparison", "placement_365d|Antwerpen|all|2024", "n"),
                            ["lower_bound", "upper_bound"]]) == (4, 4)
    assert tuple(before.loc[("outcome_placement", "2024|all|Antwerpen", "n_observable"),
                            ["lower_bound", "upper_bound"]]) == (4, 4)
    outcome = protect_reporting(con, 5)
    assert outcome.passed
    # by hand (module text of protect.py): one round; the pinned 2024 cells in the order of their ids each take the
    # nearest shown cell not taken yet, detail rows before 'all': placement n_observable, n_placed_365d -> their 2023
    # cells, not placed -> 'all' n_observable (its 2023 cells taken); unit n -> 2022 n, not observed -> 2022 observed,
    # observed -> 'all' observed. Every year is withheld in both tables; each table keeps one of its 'all' counts
    expected = {"unit_comparison": [("2022", None, None), ("2023", None, None), ("2024", None, None), ("all", 54, None)],
                "outcome_placement": [("2022", None, None), ("2023", None, None), ("2024", None, None),
                                      ("all", None, 18)]}
    for table, year, columns in (("unit_comparison", "period", "n, observed"),
                                 ("outcome_placement", "registration_year", "n_observable, n_placed_365d")):
        got = con.execute(f"select {year}, {columns} from reporting.{table} order by 1").fetchall()
        assert got == expected[table], table
    # what a reader can do now: n 2022 + 2023 + 2024 = 54 in both tables (the 'all' rows are the same counts),
    # observed = 18, not observed = 36
    audit = outcome.audit.set_index(["table_name", "row_key", "column_name"])
    for column, interval in (("n", (0, 54)), ("observed", (0, 18)), ("not_observed", (0, 36))):
        assert tuple(audit.loc[("unit_comparison", "placement_365d|Antwerpen|all|2024", column),
                               ["lower_bound", "upper_bound"]]) == interval, column
    assert tuple(audit.loc[("outcome_placement", "2024|all|Antwerpen", "n_observable"),
                           ["lower_bound", "upper_bound"]]) == (0, 54)
    assert audit["protected"].all()
    assert audit_reporting(con, 5).passed


def test_a_region_and_year_without_unit_comparison_row_is_a_zero_in_the_outcome_table():
    # unit_comparison has a row for every unit with a complete window: Antwerpen 2023 (10, 3) and 'all'; 2024 has none
    # (its windows still run), so outcome_placement's 2024 row of Antwerpen shows 0 to a reader, also when withheld.
    # Region 'all' rows of outcome_placement have no counterpart (unit_comparison has no region 'all').
    from orchestration.disclosure.protect import build_system, read_tables

    con = _unit_and_placement(set(), set(), {"2023": (10, 3)})
    con.execute("insert into marts.outcome_placement values ('2024', 'all', 'Antwerpen', 0, 0, null), "
                "('2024', 'all', 'all', 0, 0, null), ('2023', 'all', 'all', 10, 3, 0.3), "
                "('all', 'all', 'all', 10, 3, 0.3)")
    con.execute("insert into reporting.outcome_placement select *, false, false, false from marts.outcome_placement "
                "where region = 'all' or registration_year = '2024'")
    system, _, _ = build_system(read_tables(con))
    zeros = sorted(next(iter(eq)) for eq in system.equations if len(eq) == 1)
    assert zeros == ["outcome_placement|2024|all|Antwerpen|n_observable",
                     "outcome_placement|2024|all|Antwerpen|n_placed_365d"]
    pairs = sorted(tuple(sorted(eq)) for eq in system.equations
                   if len(eq) == 2 and any(c.startswith("unit_comparison|") for c in eq)
                   and any(c.startswith("outcome_placement|") for c in eq))
    unit = "unit_comparison|placement_365d|Antwerpen|all"
    assert pairs == [("outcome_placement|2023|all|Antwerpen|n_observable", f"{unit}|2023|n"),
                     ("outcome_placement|2023|all|Antwerpen|n_placed_365d", f"{unit}|2023|observed"),
                     ("outcome_placement|all|all|Antwerpen|n_observable", f"{unit}|all|n"),
                     ("outcome_placement|all|all|Antwerpen|n_placed_365d", f"{unit}|all|observed")]


# --- panel_participation: a count known from other tables (SPEC 4, 6) ------------------------------------------------

def test_panel_participation_responses_over_all_waves_give_two_withheld_numbers_back():
    # Per instrument, respondents by number of waves taken part in. 'pair' (2 waves): 9 in one, 2 in both, all 11;
    # the responses over both waves, 9 + 2 x 2 = 13, follow from the wave totals other tables publish (n_participations,
    # known). 'staff' (3 waves): 20, 7, 3, all 30, responses 20 + 14 + 9 = 43. 'client' (2 waves): 12 in one, nobody in
    # both (no row), all 12. dbt's first pass (by hand): pair '2' and '1' withheld, staff '3' and '1'.
    counts = {"pair": ({"1": 9, "2": 2}, 2), "staff": ({"1": 20, "2": 7, "3": 3}, 3), "client": ({"1": 12}, 2)}
    rows = []
    for instrument, (by_number, n_waves) in counts.items():
        total = sum(by_number.values())
        responses = sum(int(k) * v for k, v in by_number.items())
        for k, v in [*by_number.items(), ("all", total)]:
            rows.append({"instrument": instrument, "n_waves_participated": k, "n_waves": n_waves,
                         "sort_order": n_waves + 1 if k == "all" else int(k), "n_respondents": v,
                         "n_participations": responses})
    mart = pd.DataFrame(rows)
    rep = mart.drop(columns="n_participations")
    withheld = [(i, k) in {("pair", "1"), ("pair", "2"), ("staff", "1"), ("staff", "3")}
                for i, k in zip(rep["instrument"], rep["n_waves_participated"])]
    rep["n_respondents"] = pd.array([None if w else v for w, v in zip(withheld, rep["n_respondents"])], dtype="Int64")
    rep["n_respondents_suppressed"] = withheld
    rep["suppressed"] = withheld
    con = duckdb.connect()
    con.execute("create schema marts; create schema reporting")
    con.register("m", mart)
    con.register("r", rep)
    con.execute("create table marts.panel_participation_counts as select * from m")
    con.execute("create table reporting.panel_participation as select * from r")
    before = audit_reporting(con, 5).audit.set_index(["row_key", "column_name"])
    # pair: n1 + n2 = 11 and n1 + 2 n2 = 13 give n2 = 2; staff: n1 + n3 = 23 and n1 + 3 n3 = 43 - 14 give n3 = 3
    assert tuple(before.loc[("pair|2", "n_respondents"), ["lower_bound", "upper_bound"]]) == (2, 2)
    assert tuple(before.loc[("staff|3", "n_respondents"), ["lower_bound", "upper_bound"]]) == (3, 3)
    outcome = protect_reporting(con, 5)
    assert outcome.passed
    got = con.execute("select instrument, n_waves_participated, n_respondents from reporting.panel_participation "
                      "order by instrument, sort_order").fetchall()
    # by hand: the nearest shown cell, detail rows first: pair's 'all' (its only one), staff's '2'
    assert got == [("client", "1", 12), ("client", "all", 12), ("pair", "1", None), ("pair", "2", None),
                   ("pair", "all", None), ("staff", "1", None), ("staff", "2", None), ("staff", "3", None),
                   ("staff", "all", 30)]
    audit = outcome.audit.set_index(["row_key", "column_name"])
    # pair: only n1 + 2 n2 = 13 is left, n2 in [0, 6.5]; staff: n1 + n2 + n3 = 30 and n1 + 2 n2 + 3 n3 = 43, so
    # n2 + 2 n3 = 13: n3 in [0, 6.5]
    assert tuple(audit.loc[("pair|2", "n_respondents"), ["lower_bound", "upper_bound"]]) == (0, 6.5)
    assert tuple(audit.loc[("staff|3", "n_respondents"), ["lower_bound", "upper_bound"]]) == (0, 6.5)
    assert "n_participations" not in set(outcome.audit["column_name"])     # known, never withheld
    assert audit_reporting(con, 5).passed


def test_panel_participation_of_a_tiny_survey_a_small_known_total_is_not_known():
    # one wave, 2 respondents: rows '1' = 2 and 'all' = 2, both withheld by the primary rule. The responses over all
    # waves (2) would pin them if a reader knew it, but a count of 2 is withheld wherever it is published (the wave
    # totals in item_distribution), so it is a variable: by hand n1 = all in [0, inf) with n1 = n_participations.
    mart = pd.DataFrame([{"instrument": "mini", "n_waves_participated": k, "n_waves": 1, "sort_order": o,
                          "n_respondents": 2, "n_participations": 2} for k, o in (("1", 1), ("all", 2))])
    rep = mart.drop(columns="n_participations").assign(
        n_respondents=pd.array([None, None], dtype="Int64"), n_respondents_suppressed=True, suppressed=True)
    con = duckdb.connect()
    con.execute("create schema marts; create schema reporting")
    con.register("m", mart)
    con.register("r", rep)
    con.execute("create table marts.panel_participation_counts as select * from m")
    con.execute("create table reporting.panel_participation as select * from r")
    outcome = protect_reporting(con, 5)
    assert outcome.passed and outcome.added == 0
    audit = outcome.audit.set_index(["row_key", "column_name"])
    assert tuple(audit.loc[("mini|1", "n_respondents"), ["lower_bound", "upper_bound"]])[0] == 0
    assert pd.isna(audit.loc[("mini|1", "n_respondents"), "upper_bound"])         # unbounded above
    assert "n_participations" not in set(outcome.audit["column_name"])
