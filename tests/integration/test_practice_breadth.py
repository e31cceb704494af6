"""Breadth of practice per quarter (SPEC 5 "Breadth of practice per quarter"; marts.practice_breadth) on a
hand-made extract history of three extracts, against values worked out by hand from the rows below.

Extracts: E1 2024-03-31, E2 2024-07-15, E3 2025-01-20. Quarters whose end lies in [E1, E3]: 2024-Q1 (read from
E1), 2024-Q2 (end 2024-06-30, read from E2, the first extract on or after it), 2024-Q3 and 2024-Q4 (E3).
The warehouse is built once with E1 and E2 (quarters Q1, Q2), then E3 is loaded and it is built again: E3 revises
two things dated before 2024-06-30 and Q2 must not change.

Dossiers (region / team):
  d1 Antwerpen/A1  reg 2024-01-10, open;  mapping 2024-02-01; safety_plan 2024-08-01 (first in E3)
  d2 Antwerpen/A1  reg 2024-02-01; E1 open, E2/E3 closed 2024-06-30 (closed on Q2's end: not open at Q2);
                   mapping 2024-03-01, network_meeting 2024-05-01 (E2)
  d3 Antwerpen/A1  reg 2024-03-31 (on Q1's end: open at Q1), open; three_houses 2024-03-31 (on Q1's end: counts)
  d4 Antwerpen/A2  reg 2024-04-15 (E2), closed 2024-07-10 (after Q2, before E2: open at Q2, not at Q3);
                   mapping 2024-06-30 (counts at Q2), words_and_pictures 2024-07-01 (after Q2: not at Q2)
  d5 Antwerpen/A2  reg 2024-07-01 (E2; after Q2: not open at Q2), open; network_meeting 2024-12-31 (E3: Q4 only)
  d6 Limburg/L1    reg 2023-11-01, open; scaling_question 2024-01-05, which E3 revises to 2024-08-05
  d7 Limburg/L1    reg 2024-02-01; open in E1 and E2; E3 delivers a late closure dated 2024-05-20
  d8 Limburg/(no published team label: 'unknown') reg 2024-01-20, open; safety_plan 2024-02-10
"""
from __future__ import annotations

import math
from datetime import date

import duckdb
import pytest

from orchestration import warehouse
from tests.conftest import run_dbt
from tests.integration.test_dossier_outcomes import dossier, insert_extract

D = date.fromisoformat
E1, E2, E3 = D("2024-03-31"), D("2024-07-15"), D("2025-01-20")
STEPS = ("mapping", "three_houses", "words_and_pictures", "network_meeting", "safety_plan", "scaling_question")
SELECT = ["build", "--select", "+practice_breadth"]


def extract_rows(extract: date):
    """(dossiers, placements, events) of one extract, as the case system delivered them on that date."""
    d = [dossier("d1", "c1", "OCJ", "Antwerpen", D("2024-01-10"), team="A1"),
         dossier("d2", "c2", "OCJ", "Antwerpen", D("2024-02-01"), None if extract == E1 else D("2024-06-30"), team="A1"),
         dossier("d3", "c3", "SDJ", "Antwerpen", D("2024-03-31"), team="A1"),
         dossier("d6", "c6", "SDJ", "Limburg", D("2023-11-01"), team="L1"),
         dossier("d7", "c7", "OCJ", "Limburg", D("2024-02-01"), D("2024-05-20") if extract == E3 else None, team="L1"),
         dossier("d8", "c8", "OCJ", "Limburg", D("2024-01-20"), team=None)]
    e = [("e1", "d1", D("2024-02-01"), "mapping", None, None),
         ("e2", "d2", D("2024-03-01"), "mapping", None, None),
         ("e3", "d3", D("2024-03-31"), "three_houses", None, None),
         ("e6", "d6", D("2024-08-05") if extract == E3 else D("2024-01-05"), "scaling_question", 4.0, "worker"),
         ("e8", "d8", D("2024-02-10"), "safety_plan", None, None)]
    if extract >= E2:
        d += [dossier("d4", "c4", "SDJ", "Antwerpen", D("2024-04-15"), D("2024-07-10"), team="A2"),
              dossier("d5", "c5", "OCJ", "Antwerpen", D("2024-07-01"), team="A2")]
        e += [("e2b", "d2", D("2024-05-01"), "network_meeting", None, None),
              ("e4", "d4", D("2024-06-30"), "mapping", None, None),
              ("e4b", "d4", D("2024-07-01"), "words_and_pictures", None, None)]
    if extract >= E3:
        e += [("e1b", "d1", D("2024-08-01"), "safety_plan", None, None),
              ("e5", "d5", D("2024-12-31"), "network_meeting", None, None)]
    return d, [], e


def read(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


BREADTH = ("select quarter, quarter_end, observed_extract_date, region, team, event_type, n_open, n_with_step, "
           "share_with_step, share_with_step_ci_low, share_with_step_ci_high from marts.practice_breadth "
           "order by quarter, region, team, event_type")


@pytest.fixture(scope="module")
def built(tmp_path_factory, dbt_target):
    path = tmp_path_factory.mktemp("practice_breadth") / "breadth.duckdb"
    con = duckdb.connect(str(path))
    con.execute(warehouse.RAW_DDL)
    insert_extract(con, E1, extract_rows(E1))
    insert_extract(con, E2, extract_rows(E2))
    con.close()
    run_dbt(SELECT, path, dbt_target)
    before = read(path, BREADTH)
    con = duckdb.connect(str(path))
    insert_extract(con, E3, extract_rows(E3))
    con.close()
    run_dbt(SELECT, path, dbt_target)
    return {"path": path, "before": before, "after": read(path, BREADTH)}


def counts(rows) -> dict[tuple[str, str, str], tuple[int, dict[str, int]]]:
    """(quarter, region, team) -> (n_open, {step: n_with_step} for the steps with n_with_step > 0)."""
    out: dict = {}
    for quarter, _, _, region, team, step, n_open, n_with, *_ in rows:
        n, steps = out.setdefault((quarter, region, team), (n_open, {}))
        assert n == n_open                      # n_open is the same on every step row of a cell
        if n_with:
            steps[step] = n_with
    return out


# By hand (see the module text); every cell has a row per step, those not listed have n_with_step 0.
Q1 = {  # E1: open d1 d2 d3 | d6 d7 | d8
    ("2024-Q1", "Antwerpen", "A1"): (3, {"mapping": 2, "three_houses": 1}),
    ("2024-Q1", "Antwerpen", "all"): (3, {"mapping": 2, "three_houses": 1}),
    ("2024-Q1", "Limburg", "L1"): (2, {"scaling_question": 1}),
    ("2024-Q1", "Limburg", "unknown"): (1, {"safety_plan": 1}),
    ("2024-Q1", "Limburg", "all"): (3, {"scaling_question": 1, "safety_plan": 1}),
    ("2024-Q1", "all", "all"): (6, {"mapping": 2, "three_houses": 1, "scaling_question": 1, "safety_plan": 1}),
}
Q2 = {  # E2: d2 closed on Q (out), d4 open (closure after Q), d5 registered after Q (out), d7 open
    ("2024-Q2", "Antwerpen", "A1"): (2, {"mapping": 1, "three_houses": 1}),
    ("2024-Q2", "Antwerpen", "A2"): (1, {"mapping": 1}),          # words_and_pictures 2024-07-01 is after Q
    ("2024-Q2", "Antwerpen", "all"): (3, {"mapping": 2, "three_houses": 1}),
    ("2024-Q2", "Limburg", "L1"): (2, {"scaling_question": 1}),   # E2's date of d6's scaling question
    ("2024-Q2", "Limburg", "unknown"): (1, {"safety_plan": 1}),
    ("2024-Q2", "Limburg", "all"): (3, {"scaling_question": 1, "safety_plan": 1}),
    ("2024-Q2", "all", "all"): (6, {"mapping": 2, "three_houses": 1, "scaling_question": 1, "safety_plan": 1}),
}
Q3 = {  # E3: open d1 d3 | d5 | d6 | d8 (d4 closed 07-10, d7 closed 05-20 in E3)
    ("2024-Q3", "Antwerpen", "A1"): (2, {"mapping": 1, "three_houses": 1, "safety_plan": 1}),
    ("2024-Q3", "Antwerpen", "A2"): (1, {}),
    ("2024-Q3", "Antwerpen", "all"): (3, {"mapping": 1, "three_houses": 1, "safety_plan": 1}),
    ("2024-Q3", "Limburg", "L1"): (1, {"scaling_question": 1}),   # revised date 2024-08-05 <= 2024-09-30
    ("2024-Q3", "Limburg", "unknown"): (1, {"safety_plan": 1}),
    ("2024-Q3", "Limburg", "all"): (2, {"scaling_question": 1, "safety_plan": 1}),
    ("2024-Q3", "all", "all"): (5, {"mapping": 1, "three_houses": 1, "safety_plan": 2, "scaling_question": 1}),
}
Q4 = {  # E3: as Q3, plus d5's network meeting on Q4's end
    ("2024-Q4", "Antwerpen", "A1"): (2, {"mapping": 1, "three_houses": 1, "safety_plan": 1}),
    ("2024-Q4", "Antwerpen", "A2"): (1, {"network_meeting": 1}),
    ("2024-Q4", "Antwerpen", "all"): (3, {"mapping": 1, "three_houses": 1, "safety_plan": 1, "network_meeting": 1}),
    ("2024-Q4", "Limburg", "L1"): (1, {"scaling_question": 1}),
    ("2024-Q4", "Limburg", "unknown"): (1, {"safety_plan": 1}),
    ("2024-Q4", "Limburg", "all"): (2, {"scaling_question": 1, "safety_plan": 1}),
    ("2024-Q4", "all", "all"): (5, {"mapping": 1, "three_houses": 1, "safety_plan": 2, "scaling_question": 1,
                                    "network_meeting": 1}),
}


def test_counts_against_the_hand_computation(built):
    assert counts(built["after"]) == {**Q1, **Q2, **Q3, **Q4}
    # every step of SPEC 3.4 has a row in every cell, words_and_pictures too although it is 0 everywhere
    assert len(built["after"]) == 6 * len(counts(built["after"]))
    assert {r[5] for r in built["after"]} == set(STEPS)


def test_quarters_and_the_extract_each_is_read_from(built):
    got = sorted({(r[0], r[1], r[2]) for r in built["after"]})
    assert got == [("2024-Q1", D("2024-03-31"), E1), ("2024-Q2", D("2024-06-30"), E2),
                   ("2024-Q3", D("2024-09-30"), E3), ("2024-Q4", D("2024-12-31"), E3)]
    # before E3: the latest extract is 2024-07-15, so 2024-Q3 (ends 2024-09-30) is not there yet
    assert sorted({(r[0], r[2]) for r in built["before"]}) == [("2024-Q1", E1), ("2024-Q2", E2)]
    assert counts(built["before"]) == {**Q1, **Q2}


def test_a_later_revision_leaves_an_earlier_quarter_unchanged(built):
    # E3 backdates d7's closure to 2024-05-20 and moves d6's scaling question to 2024-08-05: read from E3,
    # 2024-Q2 would have n_open 1 in L1 and no scaling question; it is read from E2 and stays as it was
    q2_before = [r for r in built["before"] if r[0] == "2024-Q2"]
    q2_after = [r for r in built["after"] if r[0] == "2024-Q2"]
    assert q2_before == q2_after and len(q2_after) == 7 * 6


def test_share_and_wilson_interval(built):
    # independent of the SQL: the Wilson score interval written out here, for 2 of 3 (Q1, Antwerpen, mapping)
    row = next(r for r in built["after"] if r[0] == "2024-Q1" and r[3:6] == ("Antwerpen", "A1", "mapping"))
    x, n, z = 2, 3, 1.959963984540054
    p = x / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert row[8] == pytest.approx(2 / 3, abs=1e-12)
    assert row[9] == pytest.approx((centre - half) / (1 + z * z / n), abs=1e-12)
    assert row[10] == pytest.approx((centre + half) / (1 + z * z / n), abs=1e-12)
    # the ends: 0 of n gives [0, .], n of n gives [., 1]
    zero = next(r for r in built["after"] if r[0] == "2024-Q1" and r[3:6] == ("all", "all", "words_and_pictures"))
    full = next(r for r in built["after"] if r[0] == "2024-Q1" and r[3:6] == ("Limburg", "unknown", "safety_plan"))
    assert (zero[8], zero[9]) == (0.0, 0.0) and (full[8], full[10]) == (1.0, 1.0)


# --- disclosure control (SPEC 6) ---------------------------------------------------------------------------------
# One extract (2024-12-31, quarter 2024-Q4), every dossier open and registered 2024-01-01. Antwerpen: team Klein with
# 3 dossiers, Midden 12, Groot 20; Limburg: Hasselt 15, Genk 9. Dossier i of a team has a mapping when i is even, a
# safety plan when i % 3 == 0, a network meeting when i % 5 == 0 (i = 0, 1, ...), dated 2024-06-01.
TEAMS = {("Antwerpen", "Klein"): 3, ("Antwerpen", "Midden"): 12, ("Antwerpen", "Groot"): 20,
         ("Limburg", "Hasselt"): 15, ("Limburg", "Genk"): 9}
RULES = {"mapping": 2, "safety_plan": 3, "network_meeting": 5}
MIN_CELL = 5


def small_team_extract():
    d, e = [], []
    for (region, team), size in TEAMS.items():
        for i in range(size):
            key = f"{team}-{i}"
            d.append(dossier(key, f"c-{key}", "OCJ", region, D("2024-01-01"), team=team))
            e += [(f"{key}-{step}", key, D("2024-06-01"), step, None, None) for step, m in RULES.items() if i % m == 0]
    return d, [], e


@pytest.fixture(scope="module")
def protected(tmp_path_factory, dbt_target):
    from orchestration.disclosure.protect import protect_reporting

    path = tmp_path_factory.mktemp("practice_breadth_sdc") / "sdc.duckdb"
    con = duckdb.connect(str(path))
    con.execute(warehouse.RAW_DDL)
    insert_extract(con, D("2024-12-31"), small_team_extract())
    con.close()
    run_dbt(["build", "--select", "+rpt_practice_breadth", "--vars", f"{{min_cell: {MIN_CELL}}}"], path, dbt_target)
    con = duckdb.connect(str(path))
    outcome = protect_reporting(con, MIN_CELL)
    con.close()
    return path, outcome


def by_hand_open(region, team):
    if region == "all":
        return sum(TEAMS.values())
    return sum(n for (r, t), n in TEAMS.items() if r == region and (team in ("all", t)))


def by_hand_with(region, team, step):
    """Dossiers i in 0..size-1 with i % m == 0: ceil(size / m) per team."""
    m = RULES.get(step)
    if m is None:
        return 0
    return sum(-(-n // m) for (r, t), n in TEAMS.items() if region in ("all", r) and team in ("all", t))


def independent_intervals(path):
    """Feasible interval of every withheld count of reporting.practice_breadth, written here from what a reader
    sees (scipy's linprog, not the product's solver): per quarter x region x team one n_open, per step n_with_step
    and n_open - n_with_step >= 0, team 'all' = the sum of the region's teams, region 'all' = the sum of the regions'
    team-'all' rows, published cells fixed, every cell >= 0. Returns {(region, team, step or '', column): (lo, hi)}
    for the withheld cells and for the complements."""
    import numpy as np
    from scipy.optimize import linprog

    rows = read(path, "select region, team, event_type, n_open, n_with_step from reporting.practice_breadth")
    var, bounds = {}, []

    def v(name, published=None):
        if name not in var:
            var[name] = len(bounds)
            bounds.append((published, published) if published is not None else (0, None))
        return var[name]

    equations = []
    for region, team, step, n_open, n_with in rows:
        o, w, c = v((region, team, "", "n_open"), n_open), v((region, team, step, "n_with_step"), n_with), \
            v((region, team, step, "without_step"))
        equations.append({o: 1.0, w: -1.0, c: -1.0})
    keys = {(r, t, s) for r, t, s, *_ in rows}
    for column in ("n_open", "n_with_step", "without_step"):
        steps = {""} if column == "n_open" else {s for *_, s in keys}
        for s in steps:
            for region in {r for r, *_ in keys if r != "all"}:
                teams = [t for r, t, _ in keys if r == region and t != "all"]
                eq = {var[(region, "all", s, column)]: 1.0}
                for t in set(teams):
                    eq[var[(region, t, s, column)]] = -1.0
                equations.append(eq)
            eq = {var[("all", "all", s, column)]: 1.0}
            for region in {r for r, *_ in keys if r != "all"}:
                eq[var[(region, "all", s, column)]] = -1.0
            equations.append(eq)
    a = np.zeros((len(equations), len(bounds)))
    for i, eq in enumerate(equations):
        for j, coef in eq.items():
            a[i, j] = coef
    b = np.zeros(len(equations))
    out = {}
    for name, j in var.items():
        if bounds[j][1] is not None:
            continue
        c = np.zeros(len(bounds))
        c[j] = 1.0
        low = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        high = linprog(-c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        assert low.status == 0 and high.status in (0, 3)
        out[name] = (low.fun, np.inf if high.status == 3 else -high.fun)
    return out


def test_the_mart_has_the_hand_counts(protected):
    path, _ = protected
    rows = read(path, "select region, team, event_type, n_open, n_with_step from marts.practice_breadth")
    assert len(rows) == (5 + 2 + 1) * 6
    for region, team, step, n_open, n_with in rows:
        assert (n_open, n_with) == (by_hand_open(region, team), by_hand_with(region, team, step)), (region, team, step)


def test_small_team_is_withheld_and_not_recoverable(protected):
    path, outcome = protected
    assert outcome.passed
    klein = read(path, "select n_open, n_with_step, share_with_step, share_with_step_ci_low, n_open_suppressed, "
                       "n_with_step_suppressed, suppressed from reporting.practice_breadth where team = 'Klein'")
    assert len(klein) == 6
    assert all(r[0] is None and r[2] is None and r[3] is None and r[4] and r[6] for r in klein)
    # Klein's 3 open dossiers (and its 2, 1 and 1 with a mapping, safety plan, network meeting, and the complements
    # 1, 2, 2 without) lie anywhere in [0, min_cell] or wider for a reader of everything published
    found = independent_intervals(path)
    for step in ("", *STEPS):
        for column in (("n_open",) if step == "" else ("n_with_step", "without_step")):
            true = by_hand_open("Antwerpen", "Klein") if column == "n_open" else \
                by_hand_with("Antwerpen", "Klein", step) if column == "n_with_step" else \
                by_hand_open("Antwerpen", "Klein") - by_hand_with("Antwerpen", "Klein", step)
            name = ("Antwerpen", "Klein", step, column)
            if 0 < true < MIN_CELL:
                lo, hi = found[name]
                assert lo <= 1e-6 and hi >= MIN_CELL - 1e-6, (name, lo, hi)
    # and so for every small withheld count of the table, as the audit recorded it
    con = duckdb.connect(str(path), read_only=True)
    try:
        audited = con.execute("select count(*), bool_and(protected) from audit.disclosure_audit "
                              "where table_name = 'practice_breadth'").fetchone()
    finally:
        con.close()
    assert audited[0] > 0 and audited[1]


def test_no_small_count_shown_and_nothing_derived_from_a_withheld_one(protected):
    path, _ = protected
    assert read(path, "select count(*) from reporting.practice_breadth where n_open between 1 and 4 "
                      "or n_with_step between 1 and 4") == [(0,)]
    assert read(path, "select count(*) from reporting.practice_breadth where (n_open is null or n_with_step is null) "
                      "and (share_with_step is not null or share_with_step_ci_low is not null "
                      "or share_with_step_ci_high is not null)") == [(0,)]
    # what is shown is the mart's value (shares rounded to 9 decimals)
    assert read(path, "select count(*) from reporting.practice_breadth as r join marts.practice_breadth as m "
                      "using (quarter, region, team, event_type) where r.n_open <> m.n_open "
                      "or r.n_with_step <> m.n_with_step or abs(r.share_with_step - m.share_with_step) > 1e-9") == [(0,)]
