"""marts.panel_participation_counts and reporting.panel_participation (SPEC 4, 6) on a hand-made marts.panel_participation,
against counts worked out by hand. Only the two models are built (dbt reads the hand-made table as its ref).

  instrument  waves  respondents by the number of waves they took part in    all   responses over all waves
  staff       3      1: 20 (8 only in w1, 7 only in w2, 5 only in w3 - one of them partial), 2: 7, 3: 3   30   43
  pair        2      1: 9, 2: 2                                                 11   13
  client      2      1: 12 (nobody took part in both: no row '2')               12   12
  once        1      1: 8                                                        8    8

A reader who knows the wave totals (reporting.item_distribution can give them) knows the responses over all waves, so
pair's 2 = 13 - 11 and, with staff's '1' and '3' withheld and '2' shown, staff's 3 = (43 - 14 - 23) / 2.
"""
from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.optimize import linprog

from tests.conftest import ROOT, run_dbt

MIN_CELL = 5
WAVES = {"staff": ["w1", "w2", "w3"], "pair": ["2024", "2025"], "client": ["2024H1", "2024H2"], "once": ["2025"]}
# instrument -> [(pattern over its waves, respondents)]: C complete, P partial, . none
PATTERNS = {"staff": [("C..", 8), (".C.", 7), ("..C", 4), ("..P", 1), ("CC.", 4), (".CP", 3), ("CCC", 3)],
            "pair": [("C.", 5), (".C", 4), ("CP", 2)],
            "client": [("C.", 7), (".P", 5)],
            "once": [("C", 8)]}
BY_HAND = {("staff", "1"): 20, ("staff", "2"): 7, ("staff", "3"): 3, ("staff", "all"): 30,
           ("pair", "1"): 9, ("pair", "2"): 2, ("pair", "all"): 11,
           ("client", "1"): 12, ("client", "all"): 12, ("once", "1"): 8, ("once", "all"): 8}
RESPONSES = {"staff": 43, "pair": 13, "client": 12, "once": 8}


def panel() -> pd.DataFrame:
    rows = []
    for instrument, patterns in PATTERNS.items():
        n = 0
        for pattern, count in patterns:
            for _ in range(count):
                n += 1
                for order, (wave, mark) in enumerate(zip(WAVES[instrument], pattern), start=1):
                    rows.append({"instrument": instrument, "respondent_key": f"{instrument}-{n}", "wave": wave,
                                 "wave_order": order, "participated": mark != ".", "is_complete": mark == "C",
                                 "pattern": pattern})
    return pd.DataFrame(rows)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory, dbt_target):
    from orchestration.disclosure.protect import protect_reporting

    path = tmp_path_factory.mktemp("panel") / "panel.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.register("p", panel())
    con.execute("create table marts.panel_participation as select * from p")
    con.close()
    run_dbt(["build", "--select", "panel_participation_counts", "rpt_panel_participation",
             "--vars", f"{{min_cell: {MIN_CELL}}}"], path, dbt_target)
    con = duckdb.connect(str(path))
    first_pass = {(i, k): v for i, k, v in con.execute(
        "select instrument, n_waves_participated, n_respondents from reporting.panel_participation").fetchall()}
    outcome = protect_reporting(con, MIN_CELL)
    con.close()
    con = duckdb.connect(str(path), read_only=True)
    yield {"con": con, "first_pass": first_pass, "outcome": outcome}
    con.close()


def test_counts_by_hand(built):
    got = built["con"].execute("select instrument, n_waves_participated, n_waves, sort_order, n_respondents, "
                               "n_participations from marts.panel_participation_counts order by instrument, sort_order"
                               ).fetchall()
    assert {(i, k): n for i, k, _, _, n, _ in got} == BY_HAND          # no row for client '2' (nobody)
    for instrument, k, n_waves, sort_order, _, responses in got:
        assert n_waves == len(WAVES[instrument]) and responses == RESPONSES[instrument]
        assert sort_order == (n_waves + 1 if k == "all" else int(k))
    # the responses over all waves are the sum of number x respondents
    for instrument, responses in RESPONSES.items():
        assert responses == sum(int(k) * v for (i, k), v in BY_HAND.items() if i == instrument and k != "all")


def test_first_pass_by_hand(built):
    # primary: staff '3' (3), pair '2' (2); the margin 'all' takes one more: pair's only other number '1', staff's
    # number first in md5 order of '1' and '2'
    partner = min(["1", "2"], key=md5)
    withheld = {("staff", "3"), ("staff", partner), ("pair", "2"), ("pair", "1")}
    assert {k for k, v in built["first_pass"].items() if v is None} == withheld
    assert all(v == BY_HAND[k] for k, v in built["first_pass"].items() if v is not None)


def independent_intervals(con) -> dict[tuple[str, str], tuple[float, float]]:
    """Feasible interval of every withheld n_respondents from what a reader sees (scipy, not the product's solver):
    per instrument, 'all' = the sum of the numbers and the responses over all waves (known) = the sum of number x
    respondents, published cells fixed, every cell >= 0."""
    rows = con.execute("select instrument, n_waves_participated, n_respondents from reporting.panel_participation"
                       ).fetchall()
    index = {(i, k): j for j, (i, k, _) in enumerate(rows)}
    bounds = [(v, v) if v is not None else (0, None) for _, _, v in rows]
    a, b = [], []
    for instrument in {i for i, _, _ in rows}:
        margin, weighted = np.zeros(len(rows)), np.zeros(len(rows))
        for (i, k), j in index.items():
            if i == instrument:
                margin[j] = 1.0 if k == "all" else -1.0
                weighted[j] = 0.0 if k == "all" else float(k)
        a += [margin, weighted]
        b += [0.0, float(RESPONSES[instrument])]
    out = {}
    for (i, k), j in index.items():
        if bounds[j][1] is not None:
            continue
        c = np.zeros(len(rows))
        c[j] = 1.0
        low = linprog(c, A_eq=np.array(a), b_eq=np.array(b), bounds=bounds, method="highs")
        high = linprog(-c, A_eq=np.array(a), b_eq=np.array(b), bounds=bounds, method="highs")
        assert low.status == 0 and high.status in (0, 3)
        out[(i, k)] = (low.fun, np.inf if high.status == 3 else -high.fun)
    return out


def test_first_pass_alone_gives_the_small_numbers_back(built, tmp_path):
    # the first pass as dbt wrote it, audited by the test's own LP: pair's 2 and staff's 3 are pinned
    con = duckdb.connect(str(tmp_path / "fp.duckdb"))
    con.execute("create schema reporting")
    con.execute("create table reporting.panel_participation (instrument varchar, n_waves_participated varchar, "
                "n_respondents bigint)")
    con.executemany("insert into reporting.panel_participation values (?, ?, ?)",
                    [(i, k, v) for (i, k), v in built["first_pass"].items()])
    found = independent_intervals(con)
    assert found[("pair", "2")] == pytest.approx((2, 2)) and found[("staff", "3")] == pytest.approx((3, 3))


def test_protected_by_hand(built):
    con, outcome = built["con"], built["outcome"]
    assert outcome.passed
    got = {(i, k): v for i, k, v in con.execute(
        "select instrument, n_waves_participated, n_respondents from reporting.panel_participation").fetchall()}
    # by hand: pair's 2 takes 'all' (its only shown cell); staff's 3 takes the number dbt left shown
    assert {k for k, v in got.items() if v is None} == {("staff", "1"), ("staff", "2"), ("staff", "3"),
                                                          ("pair", "1"), ("pair", "2"), ("pair", "all")}
    assert all(v == BY_HAND[k] for k, v in got.items() if v is not None)
    found = independent_intervals(con)
    # pair: n1 + 2 n2 = 13 alone: n2 in [0, 6.5]; staff: n1 + n2 + n3 = 30, n1 + 2 n2 + 3 n3 = 43: n3 in [0, 6.5]
    assert found[("pair", "2")] == pytest.approx((0, 6.5)) and found[("staff", "3")] == pytest.approx((0, 6.5))
    for (i, k), (lo, hi) in found.items():
        if 0 < BY_HAND[(i, k)] < MIN_CELL:
            assert lo <= 1e-6 and hi >= MIN_CELL - 1e-6, (i, k, lo, hi)
    flags = con.execute("select count(*) from reporting.panel_participation where n_respondents_suppressed <> "
                        "(n_respondents is null) or suppressed <> n_respondents_suppressed").fetchone()[0]
    assert flags == 0


def test_every_column_is_documented(built):
    """Every column of reporting.panel_participation and marts.panel_participation_counts has a description."""
    docs = {}
    for schema, path, key in (
            ("reporting", ROOT / "dbt_project" / "models" / "reporting" / "_rpt_panel_participation.yml", "models"),
            ("marts", ROOT / "dbt_project" / "models" / "marts" / "surveys" / "_surveys__marts.yml", "models")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))[key]:
            table = model.get("config", {}).get("alias", model["name"])
            if table in ("panel_participation", "panel_participation_counts") and (schema, table) != \
                    ("marts", "panel_participation"):
                docs[schema, table] = {c["name"]: (c.get("description") or "").strip() for c in model["columns"]}
    assert set(docs) == {("reporting", "panel_participation"), ("marts", "panel_participation_counts")}
    for (schema, table), described in docs.items():
        columns = [r[0] for r in built["con"].execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table]).fetchall()]
        assert columns and [c for c in columns if not described.get(c)] == [], (schema, table)
        assert set(described) <= set(columns), (schema, table)
