"""Disclosure control against the linear-programming attack (SPEC 6), audited independently.

A warehouse with many small cells (three regions with 1-4 dossiers per year and service, two larger
ones) is built by dbt from raw extracts, then the product's disclosure step runs as it does after every
build. This test does not use the product's relations or solver: it writes its own linear program
(scipy's ``linprog``) over the three outcome tables with everything a reader sees (margins, identities
within rows, the same cohort in two tables, rates) and checks that no withheld small count (1-4, also
the not-placed / not-reopened complements) can be narrowed below [0, min_cell]. The same build fills
reporting.unit_comparison (SPEC 9.3): the test's model has it too, with its team and period margins, its
not-observed complement and its region rows equal to the outcome tables' service 'all' rows (a region x year
without a unit_comparison row being a zero there). The Kaplan-Meier curves of ``reporting.outcome_km_curve`` are
audited the same way on the demo (the small warehouse here publishes none).
"""
from __future__ import annotations

import itertools
import random
import shutil
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

from orchestration import warehouse
from orchestration.disclosure.protect import protect_reporting
from tests.conftest import run_dbt
from tests.integration.test_dossier_outcomes import dossier, insert_extract

AS_OF = date(2025, 12, 31)
MIN_CELL = 5
SMALL_REGIONS = ["Antwerpen", "Limburg", "West-Vlaanderen"]
LARGE_REGIONS = ["Oost-Vlaanderen", "Vlaams-Brabant en Brussel"]


def synthetic_extract(seed: int = 11):
    """Dossiers 2022-2025 per service and region: 1-4 in the small regions, 8-20 in the large ones."""
    rng = random.Random(seed)
    d, p = [], []
    n = 0
    for year, service, region in itertools.product(range(2022, 2026), ("OCJ", "SDJ"), SMALL_REGIONS + LARGE_REGIONS):
        size = rng.randint(1, 4) if region in SMALL_REGIONS else rng.randint(8, 20)
        for _ in range(size):
            n += 1
            reg = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
            reg = min(reg, AS_OF - timedelta(days=5))
            closed = reg + timedelta(days=rng.randint(20, 500))
            closure = closed if closed <= AS_OF and rng.random() < 0.7 else None
            child = f"k{n}"
            d.append(dossier(f"d{n}", child, service, region, reg, closure))
            if closure is not None and rng.random() < 0.25:     # the child comes back
                back = closure + timedelta(days=rng.randint(1, 400))
                if back <= AS_OF:
                    n += 1
                    d.append(dossier(f"d{n}", child, service, region, back))
            if rng.random() < 0.2:
                start = reg + timedelta(days=rng.randint(0, 300))
                if start <= AS_OF:
                    p.append((f"p{n}", f"d{n}" if closure is None else f"d{n}", start, None, "foster_family"))
    placements = [(k, dk, s, e, t) for k, dk, s, e, t in p if any(r["dossier_key"] == dk for r in d)]
    return d, placements, []


@pytest.fixture(scope="module")
def small_cells(tmp_path_factory, dbt_target):
    path = tmp_path_factory.mktemp("disclosure") / "small.duckdb"
    con = duckdb.connect(str(path))
    con.execute(warehouse.RAW_DDL)
    insert_extract(con, AS_OF, synthetic_extract())
    con.close()
    run_dbt(["build", "--select", "@source:raw_dossiers", "--vars", f"{{min_cell: {MIN_CELL}}}"], path, dbt_target)
    con = duckdb.connect(str(path))
    first_pass = independent_audit(con)
    outcome = protect_reporting(con, MIN_CELL)
    con.close()
    con = duckdb.connect(str(path), read_only=True)
    yield {"con": con, "first_pass": first_pass, "outcome": outcome}
    con.close()


# The test's own model of what a reader of reporting sees ------------------------------------------

TABLES = {
    "outcome_time_to_closure": ("registration_year", ["n_dossiers", "n_closed", "n_censored"]),
    "outcome_placement": ("registration_year", ["n_dossiers", "n_observable", "n_placed_365d", "n_window_running",
                                                "placement_moves", "not_placed"]),
    "outcome_reopening": ("closure_year", ["n_closed", "n_observable", "n_reopened_365d", "n_window_running",
                                           "not_reopened"]),
}
COMPLEMENTS = {"not_placed": ("n_observable", "n_placed_365d"), "not_reopened": ("n_observable", "n_reopened_365d")}
ROWS = {  # column = sum of the others, within a row
    "outcome_time_to_closure": [("n_dossiers", ["n_closed", "n_censored"])],
    "outcome_placement": [("n_dossiers", ["n_observable", "n_window_running"]),
                          ("n_observable", ["n_placed_365d", "not_placed"])],
    "outcome_reopening": [("n_closed", ["n_observable", "n_window_running"]),
                          ("n_observable", ["n_reopened_365d", "not_reopened"])],
}
RATES = {"outcome_placement": ("placement_rate", "n_placed_365d", "n_observable"),
         "outcome_reopening": ("reopening_rate", "n_reopened_365d", "n_observable")}
#: reporting.unit_comparison (true counts in marts.unit_comparison_by_label): indicator -> the outcome table whose
#: service 'all' row of a region and year counts the same (n, observed) as the region's row (team 'all')
UNIT_LINKS = {"placement_365d": ("outcome_placement", "n_observable", "n_placed_365d"),
              "reopening_365d": ("outcome_reopening", "n_observable", "n_reopened_365d")}
UNIT_KEYS = ["indicator", "region", "team", "period"]


def independent_audit(con) -> list[tuple[str, tuple, str, float, float, float]]:
    """Every withheld count with true value 1..MIN_CELL-1 whose LP interval does not cover [0, MIN_CELL]:
    (table, key, column, true value, min, max)."""
    var: dict[tuple, int] = {}
    true, lo_b, hi_b = [], [], []
    published: dict[str, pd.DataFrame] = {}

    def v(table, key, col):
        return var.get((table, key, col))

    present = {t for (t,) in con.execute("select table_name from information_schema.tables "
                                         "where table_schema = 'reporting'").fetchall()}
    tables = {t: spec for t, spec in TABLES.items() if t in present}
    for table, (year, cols) in tables.items():
        rep = con.execute(f"select * from reporting.{table}").df()
        mart = con.execute(f"select * from marts.{table}").df()
        published[table] = rep
        m = mart.set_index([year, "service", "region"])
        for _, r in rep.iterrows():
            key = (r[year], r["service"], r["region"])
            for col in cols:
                if col in COMPLEMENTS:
                    a, b = COMPLEMENTS[col]
                    value = m.loc[key, a] - m.loc[key, b]
                    shown = None
                else:
                    value = m.loc[key, col]
                    shown = r[col]
                    if col == "n_observable" and pd.isna(shown) and not pd.isna(r.get("n_window_complete")):
                        shown = r["n_window_complete"]
                var[(table, key, col)] = len(true)
                true.append(float(value))
                fixed = shown is not None and not pd.isna(shown)
                lo_b.append(float(shown) if fixed else 0.0)
                hi_b.append(float(shown) if fixed else None)
    rows_eq = []

    def equation(terms: dict[int, float]):
        rows_eq.append(terms)

    for table, (year, cols) in tables.items():
        keys = [k for (t, k, c) in var if t == table and c == cols[0]]
        for col in cols:
            for pos in range(3):                          # margins along year, service, region
                groups: dict[tuple, list] = {}
                for k in keys:
                    if k[pos] != "all":
                        groups.setdefault(k[:pos] + ("all",) + k[pos + 1:], []).append(k)
                for total, members in groups.items():
                    if v(table, total, col) is not None:
                        terms = {v(table, total, col): 1.0}
                        for k in members:
                            terms[v(table, k, col)] = terms.get(v(table, k, col), 0.0) - 1.0
                        equation(terms)
        for k in keys:
            for total, parts in ROWS[table]:
                terms = {v(table, k, total): 1.0}
                for part in parts:
                    terms[v(table, k, part)] = -1.0
                equation(terms)
        if table in RATES:
            rate, num, den = RATES[table]
            rep = published[table].set_index([year, "service", "region"])
            for k in keys:
                if not pd.isna(rep.loc[k, rate]):
                    equation({v(table, k, num): 1.0, v(table, k, den): -float(rep.loc[k, rate])})
    for k in [k for (t, k, c) in var if t == "outcome_time_to_closure" and c == "n_dossiers"]:
        if v("outcome_placement", k, "n_dossiers") is not None:     # the same cohort in two tables
            equation({v("outcome_time_to_closure", k, "n_dossiers"): 1.0, v("outcome_placement", k, "n_dossiers"): -1.0})
        if k[0] == "all" and v("outcome_reopening", k, "n_closed") is not None:
            equation({v("outcome_time_to_closure", k, "n_closed"): 1.0, v("outcome_reopening", k, "n_closed"): -1.0})
    if "unit_comparison" in present:
        _unit_comparison_model(con, var, true, lo_b, hi_b, equation)
    a_eq = lil_matrix((len(rows_eq), len(true)))
    for i, terms in enumerate(rows_eq):
        for j, c in terms.items():
            a_eq[i, j] = c
    a_eq = a_eq.tocsr()
    b_eq = np.zeros(len(rows_eq))
    assert np.allclose(a_eq @ np.array(true), b_eq, atol=1e-6)   # the true values satisfy the model
    bounds = list(zip(lo_b, hi_b))
    pinned = []
    for (table, key, col), j in var.items():
        if hi_b[j] is not None or not (0 < true[j] < MIN_CELL):
            continue
        c = np.zeros(len(true))
        c[j] = 1.0
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0 and high.status in (0, 3)
        lo, hi = low.fun, (np.inf if high.status == 3 else -high.fun)
        if lo > 1e-6 or hi < MIN_CELL - 1e-6:
            pinned.append((table, key, col, true[j], lo, hi))
    return pinned


def _unit_comparison_model(con, var, true, lo_b, hi_b, equation) -> None:
    """Add reporting.unit_comparison to the test's linear program: per row n, observed and n - observed (never
    shown), team 'all' = the sum of the region's teams, period 'all' = the sum of the years, a shown observed_rate
    times n = observed, and the region rows = the outcome tables' service 'all' rows (zero where absent)."""
    rep = con.execute("select * from reporting.unit_comparison").df()
    mart = con.execute("select * from marts.unit_comparison_by_label").df().set_index(UNIT_KEYS)
    rows = [tuple(r[k] for k in UNIT_KEYS) for _, r in rep.iterrows()]
    for _, r in rep.iterrows():
        key = tuple(r[k] for k in UNIT_KEYS)
        for col in ("n", "observed", "not_observed"):
            value = (mart.loc[key, "n"] - mart.loc[key, "observed"]) if col == "not_observed" else mart.loc[key, col]
            shown = None if col == "not_observed" else r[col]
            var[("unit_comparison", key, col)] = len(true)
            true.append(float(value))
            fixed = shown is not None and not pd.isna(shown)
            lo_b.append(float(shown) if fixed else 0.0)
            hi_b.append(float(shown) if fixed else None)
        ids = {c: var[("unit_comparison", key, c)] for c in ("n", "observed", "not_observed")}
        equation({ids["n"]: 1.0, ids["observed"]: -1.0, ids["not_observed"]: -1.0})
        if not pd.isna(r["observed_rate"]) and (pd.isna(r["n"]) or pd.isna(r["observed"])):
            equation({ids["observed"]: 1.0, ids["n"]: -float(r["observed_rate"])})
    for pos in (2, 3):                                   # margins along team and period
        groups: dict[tuple, list] = {}
        for k in rows:
            if k[pos] != "all":
                groups.setdefault(k[:pos] + ("all",) + k[pos + 1:], []).append(k)
        for total, members in groups.items():
            for col in ("n", "observed", "not_observed"):
                terms = {var[("unit_comparison", total, col)]: 1.0}
                for k in members:
                    terms[var[("unit_comparison", k, col)]] = -1.0
                equation(terms)
    for indicator, (table, n_col, event_col) in UNIT_LINKS.items():
        outcome = [k for (t, k, c) in var if t == table and c == n_col and k[1] == "all" and k[2] != "all"]
        for year, _, region in outcome:
            unit = (indicator, region, "all", year)
            for a, b in (("n", n_col), ("observed", event_col)):
                if ("unit_comparison", unit, a) in var:
                    equation({var[("unit_comparison", unit, a)]: 1.0, var[(table, (year, "all", region), b)]: -1.0})
                else:                                    # no complete window of the region and year
                    equation({var[(table, (year, "all", region), b)]: 1.0})


def test_there_are_many_small_cells(small_cells):
    n_small = small_cells["con"].execute("""
        select count(*) from marts.outcome_time_to_closure
        where n_dossiers between 1 and 4 and registration_year <> 'all' and service <> 'all' and region <> 'all'
    """).fetchone()[0]
    assert n_small >= 12


def test_first_pass_alone_leaks_and_the_audit_sees_it(small_cells):
    # dbt's margin-wise first pass is not enough against the linear program over all tables
    assert small_cells["first_pass"], "expected the LP to pin some withheld small count after dbt alone"


def test_no_withheld_small_count_is_pinned_after_protection(small_cells):
    assert small_cells["outcome"].passed
    assert independent_audit(small_cells["con"]) == []


def test_no_small_count_shown(small_cells):
    con = small_cells["con"]
    for table, (_, cols) in TABLES.items():
        for col in cols:
            if col in COMPLEMENTS:
                continue
            shown_small = con.execute(f"""
                select count(*) filter (where r.{col} between 1 and {MIN_CELL - 1})
                from reporting.{table} as r join marts.{table} as m using ({TABLES[table][0]}, service, region)
            """).fetchone()[0]
            assert shown_small == 0, (table, col)


def test_everything_computed_from_a_withheld_count_is_withheld(small_cells):
    con = small_cells["con"]
    bad = con.execute("""
        select count(*) from reporting.outcome_time_to_closure
        where (n_dossiers is null or n_closed is null or n_censored is null)
          and (km_median_days is not null or km_p25_days is not null or km_p75_days is not null
               or km_closed_within_365d is not null)""").fetchone()[0]
    assert bad == 0
    assert con.execute("select count(*) from reporting.outcome_placement where placement_rate is not null and "
                       "(n_placed_365d is null or n_observable is null)").fetchone()[0] == 0
    assert con.execute("select count(*) from reporting.outcome_reopening where reopening_rate is not null and "
                       "(n_reopened_365d is null or n_observable is null)").fetchone()[0] == 0
    assert con.execute("select count(*) from reporting.outcome_placement where "
                       "(n_window_complete is null) <> (n_observable is null)").fetchone()[0] == 0


def test_audit_table_records_every_withheld_cell(small_cells):
    con = small_cells["con"]
    n_withheld = sum(con.execute(f"select count(*) filter (where {c} is null) from reporting.{t}").fetchone()[0]
                     for t, (_, cols) in TABLES.items() for c in cols if c not in COMPLEMENTS)
    n_withheld += con.execute("select count(*) filter (where placement_days is null) "
                              "from reporting.outcome_placement").fetchone()[0]
    # the outcome tables modelled here (the same build also fills reporting.practice_breadth, audited with them)
    recorded = con.execute("select count(*), bool_and(protected) from audit.disclosure_audit where context = 'build' "
                           f"and table_name in ({', '.join(repr(t) for t in TABLES)}) "
                           "and column_name not in ('not_placed', 'not_reopened', 'n_closed_within_365d', "
                           "'closed_after_365d', 'not_closed_within_365d')").fetchone()
    assert recorded == (n_withheld, True)
    assert con.execute("select bool_and(protected) from audit.disclosure_audit where context = 'build'").fetchone()[0]


def independent_km_audit(con) -> list[tuple[tuple, int, str, float, float, float]]:
    """The Kaplan-Meier curve of reporting.outcome_km_curve as a reader sees it, with scipy's own LP: per cohort
    (registration_year x region, service 'all') the dossiers n and those closed by each grid day c(t), with
    0 <= c(t-1) <= c(t) <= n, margins along year and region, n fixed where reporting shows it (in the curve or in
    outcome_time_to_closure), and c(t) = (1 - S(t)) x n where a point is shown and nobody of the cohort was censored
    before t (the reader is assumed to know when). Returns every small count (closed by t, not closed by t, closed
    since the previous day; true value 1..MIN_CELL-1) narrowed below [0, MIN_CELL]: (cohort, day, what, true, min, max).
    """
    mart = con.execute("select * from marts.outcome_km_grid where service = 'all'").df()
    rep = con.execute("select * from reporting.outcome_km_curve").df().set_index(["registration_year", "region", "days"])
    ttc = con.execute("select registration_year, region, n_dossiers from reporting.outcome_time_to_closure "
                      "where service = 'all'").df().set_index(["registration_year", "region"])
    days = sorted(mart.days.unique())
    cohorts = sorted({(r.registration_year, r.region) for r in mart.itertuples()})
    index = {("n", c): i for i, c in enumerate(cohorts)}
    for c in cohorts:
        for t in days:
            index[("c", c, t)] = len(index)
    true = np.zeros(len(index))
    m = mart.set_index(["registration_year", "region", "days"])
    for c in cohorts:
        true[index[("n", c)]] = m.loc[(*c, days[0]), "n_dossiers"]
        for t in days:
            true[index[("c", c, t)]] = m.loc[(*c, t), "n_closed_by_day"]
    eq, ub = [], []
    bounds = [(0.0, None)] * len(index)
    for c in cohorts:
        shown_n = ttc.n_dossiers.get(c)
        shown_n = rep.loc[(*c, days[0]), "n_dossiers"] if pd.isna(shown_n) else shown_n
        if not pd.isna(shown_n):
            bounds[index[("n", c)]] = (float(shown_n), float(shown_n))
        for i, t in enumerate(days):
            ub.append({index[("c", c, t)]: 1.0, index[("n", c)]: -1.0})                 # c(t) <= n
            if i:
                ub.append({index[("c", c, days[i - 1])]: 1.0, index[("c", c, t)]: -1.0})  # c(t-1) <= c(t)
            s = rep.loc[(*c, t), "survival"]
            if not pd.isna(s) and m.loc[(*c, t), "n_censored_before_day"] == 0:
                if pd.isna(shown_n):
                    eq.append({index[("c", c, t)]: 1.0, index[("n", c)]: -(1.0 - float(s))})
                else:       # a count: the reader rounds away the 9-decimal rounding of S(t)
                    closed = float(round((1.0 - float(s)) * float(shown_n)))
                    bounds[index[("c", c, t)]] = (closed, closed)
    for pos in range(2):                                    # margins along year and region
        groups: dict[tuple, list] = {}
        for c in cohorts:
            if c[pos] != "all":
                groups.setdefault(c[:pos] + ("all",) + c[pos + 1:], []).append(c)
        for total, members in groups.items():
            if total in cohorts:
                for name in [("n",)] + [("c", t) for t in days]:
                    terms = {index[(name[0], total, *name[1:])]: 1.0}
                    for member in members:
                        terms[index[(name[0], member, *name[1:])]] = -1.0
                    eq.append(terms)

    def matrix(rows):
        a = lil_matrix((len(rows), len(index)))
        for i, terms in enumerate(rows):
            for j, v in terms.items():
                a[i, j] += v
        return a.tocsr()

    a_eq, a_ub = matrix(eq), matrix(ub)
    assert np.allclose(a_eq @ true, 0, atol=1e-6) and (a_ub @ true <= 1e-6).all()   # the truth satisfies the model
    pinned = []
    for c in cohorts:
        for i, t in enumerate(days):
            ct = index[("c", c, t)]
            for what, terms in (("closed_by_day", {ct: 1.0}), ("not_closed_by_day", {index[("n", c)]: 1.0, ct: -1.0}),
                                ("closed_since_previous_day", {ct: 1.0, **({index[("c", c, days[i - 1])]: -1.0} if i else {})})):
                value = sum(true[j] * v for j, v in terms.items())
                if not 0 < value < MIN_CELL:
                    continue
                obj = np.zeros(len(index))
                for j, v in terms.items():
                    obj[j] = v
                low = linprog(obj, A_ub=a_ub, b_ub=np.zeros(a_ub.shape[0]), A_eq=a_eq, b_eq=np.zeros(a_eq.shape[0]),
                              bounds=bounds, method="highs")
                high = linprog(-obj, A_ub=a_ub, b_ub=np.zeros(a_ub.shape[0]), A_eq=a_eq, b_eq=np.zeros(a_eq.shape[0]),
                               bounds=bounds, method="highs")
                assert low.status == 0 and high.status in (0, 3)
                lo, hi = low.fun, (np.inf if high.status == 3 else -high.fun)
                if lo > 1e-6 or hi < MIN_CELL - 1e-6:
                    pinned.append((c, t, what, value, lo, hi))
    return pinned


def test_no_small_count_is_pinned_by_the_published_km_curves(demo_build, dbt_target, tmp_path):
    # the demo's curves as published (after the build's protection step): nothing pinned; dbt's first pass alone
    # (the two reporting models rebuilt on a copy) does pin some, which shows this audit can see a leak
    con = duckdb.connect(str(demo_build.db), read_only=True)
    try:
        shown = con.execute("select count(survival), count(*) from reporting.outcome_km_curve").fetchone()
        assert 0 < shown[0] < shown[1]      # some points published, some withheld
        assert independent_km_audit(con) == []
    finally:
        con.close()
    copy = tmp_path / "first_pass.duckdb"
    shutil.copy(demo_build.db, copy)
    run_dbt(["run", "--select", "rpt_outcome_time_to_closure", "rpt_outcome_km_curve"], copy, dbt_target)
    con = duckdb.connect(str(copy), read_only=True)
    try:
        assert independent_km_audit(con)
    finally:
        con.close()
