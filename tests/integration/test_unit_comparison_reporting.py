"""reporting.unit_comparison (SPEC 9.3, 6) on a hand-made extract, against values worked out by hand from the rows below.

One extract, 2025-12-31. Every dossier OCJ, born 2012, open; registered 2023-03-01 (its 365-day placement window is
complete) unless said otherwise; a placed dossier has a placement starting 2023-06-01.

  region           team as delivered (key)        published label   dossiers  placed
  Antwerpen        tk-AG                           A-Groot                 20       8   (+ 6 registered 2025-02-01:
                                                                                          windows still running)
  Antwerpen        tk-AM                           A-Midden                12       6
  Antwerpen        tk-AK                           A-Klein                  3       1
  Limburg          tk-LC                           L-Centrum               10       5
  Limburg          tk-LC2 (renamed, same label)    L-Centrum                6       2
  Limburg          tk-LX (not on the label list)   -                        6       3
  Limburg          no team                         -                        5       2
  West-Vlaanderen  tk-W1                           W1                       3       1

Reference rate of the one stratum (placement_365d, OCJ, age band 6-11, 2023): 28 placed of 65 = 28/65; expected of a
unit = n x 28/65. marts.unit_comparison has one team row per key (8); marts.unit_comparison_by_label one per label:
Limburg's L-Centrum 16 (7) and 'unknown' 11 (5), which no longer hold a count below 5.
"""
from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import pytest
import yaml

from orchestration import warehouse
from tests.conftest import ROOT, run_dbt
from tests.integration.test_disclosure_audit import independent_audit
from tests.integration.test_dossier_outcomes import dossier, insert_extract

AS_OF = date(2025, 12, 31)
MIN_CELL = 5
REG, PLACED, RUNNING = date(2023, 3, 1), date(2023, 6, 1), date(2025, 2, 1)
RATE = 28 / 65
# (region, label, key) -> (dossiers, placed)
TEAMS = {("Antwerpen", "A-Groot", "tk-AG"): (20, 8), ("Antwerpen", "A-Midden", "tk-AM"): (12, 6),
         ("Antwerpen", "A-Klein", "tk-AK"): (3, 1), ("Limburg", "L-Centrum", "tk-LC"): (10, 5),
         ("Limburg", "L-Centrum", "tk-LC2"): (6, 2), ("Limburg", None, "tk-LX"): (6, 3), ("Limburg", None, None): (5, 2),
         ("West-Vlaanderen", "W1", "tk-W1"): (3, 1)}
# by label ('unknown' for no label) and region ('all')
BY_LABEL = {("Antwerpen", "A-Groot"): (20, 8), ("Antwerpen", "A-Midden"): (12, 6), ("Antwerpen", "A-Klein"): (3, 1),
            ("Antwerpen", "all"): (35, 15), ("Limburg", "L-Centrum"): (16, 7), ("Limburg", "unknown"): (11, 5),
            ("Limburg", "all"): (27, 12), ("West-Vlaanderen", "W1"): (3, 1), ("West-Vlaanderen", "all"): (3, 1)}
COLUMNS = ["indicator", "unit_level", "region", "team", "period", "n", "observed", "expected", "oe_ratio",
           "observed_rate", "expected_rate", "limit95_low", "limit95_high", "limit998_low", "limit998_high", "flag",
           "n_suppressed", "observed_suppressed", "suppressed"]


def extract():
    d, p = [], []
    for (region, label, key), (size, placed) in TEAMS.items():
        for i in range(size):
            k = f"{key or 'none'}-{region[:3]}-{i}"
            d.append({**dossier(k, f"c-{k}", "OCJ", region, REG), "team": label, "team_key": key})
            if i < placed:
                p.append((f"p-{k}", k, PLACED, None, "foster_family"))
    for i in range(6):
        d.append({**dossier(f"run-{i}", f"c-run-{i}", "OCJ", "Antwerpen", RUNNING), "team": "A-Groot", "team_key": "tk-AG"})
    return d, p, []


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def rows(con, sql, params=()):
    cur = con.execute(sql, list(params))
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def built(tmp_path_factory, dbt_target):
    from orchestration.disclosure.protect import protect_reporting

    path = tmp_path_factory.mktemp("unit_comparison") / "uc.duckdb"
    con = duckdb.connect(str(path))
    con.execute(warehouse.RAW_DDL)
    insert_extract(con, AS_OF, extract())
    con.close()
    run_dbt(["build", "--select", "+rpt_unit_comparison", "+rpt_outcome_placement", "+rpt_outcome_reopening",
             "--vars", f"{{min_cell: {MIN_CELL}}}"], path, dbt_target)
    con = duckdb.connect(str(path))
    first_pass = rows(con, "select * from reporting.unit_comparison order by region, team, period")
    first_pass_pinned = independent_audit(con)
    outcome = protect_reporting(con, MIN_CELL)
    con.close()
    con = duckdb.connect(str(path), read_only=True)
    yield {"con": con, "first_pass": first_pass, "first_pass_pinned": first_pass_pinned, "outcome": outcome}
    con.close()


def test_mart_per_team_key_by_hand(built):
    got = rows(built["con"], "select unit_level, region, team, team_key, period, n, observed, expected "
                             "from marts.unit_comparison where indicator = 'placement_365d'")
    assert len(got) == (8 + 3) * 2        # 8 team keys (the no-team row included) and 3 regions, 2023 and 'all'
    assert rows(built["con"], "select count(*) as n from marts.unit_comparison where indicator = 'reopening_365d'") \
        == [{"n": 0}]                     # nothing closed
    for r in got:
        if r["unit_level"] == "team":
            label, (size, placed) = next((lb, v) for (rg, lb, k), v in TEAMS.items()
                                         if rg == r["region"] and k == r["team_key"])
            assert r["team"] == label
        else:
            assert (r["team"], r["team_key"]) == ("all", None)
            size, placed = BY_LABEL[(r["region"], "all")]
        assert (r["n"], r["observed"]) == (size, placed), r
        assert r["expected"] == pytest.approx(size * RATE, abs=1e-12)


def test_mart_per_label_by_hand(built):
    from scipy.stats import binom

    got = rows(built["con"], "select * from marts.unit_comparison_by_label order by region, team, period")
    assert len(got) == len(BY_LABEL) * 2
    for r in got:
        n, o = BY_LABEL[(r["region"], r["team"])]
        e = n * RATE
        assert (r["n"], r["observed"], r["unit_level"]) == (n, o, "region" if r["team"] == "all" else "team")
        assert r["expected"] == pytest.approx(e, abs=1e-12) and r["oe_ratio"] == pytest.approx(o / e, abs=1e-12)
        assert r["observed_rate"] == pytest.approx(o / n) and r["expected_rate"] == pytest.approx(RATE)
        q = {a: binom.ppf(a, n, e / n) for a in (0.025, 0.975, 0.001, 0.999)}
        assert (r["limit95_low"], r["limit95_high"], r["limit998_low"], r["limit998_high"]) == pytest.approx(
            (q[0.025] / e, q[0.975] / e, q[0.001] / e, q[0.999] / e), abs=1e-12)
        assert r["flag"] == ("above_99.8" if o > q[0.999] else "below_99.8" if o < q[0.001] else
                             "above_95" if o > q[0.975] else "below_95" if o < q[0.025] else "within")


def test_first_pass_by_hand(built):
    # primary: A-Klein (3, 1, not observed 2) and West-Vlaanderen (3, 1, 2: its team and its region row). A-Klein's
    # team margin takes the shown team first in md5 order of the team names; period 2023 and 'all' go together
    partner = min(["A-Groot", "A-Midden"], key=md5)
    withheld = {("Antwerpen", "A-Klein"), ("Antwerpen", partner), ("West-Vlaanderen", "W1"), ("West-Vlaanderen", "all")}
    for r in built["first_pass"]:
        hidden = (r["region"], r["team"]) in withheld
        assert (r["n"] is None, r["observed"] is None, r["n_suppressed"], r["observed_suppressed"], r["suppressed"]) \
            == (hidden,) * 5, r


def test_first_pass_alone_gives_west_vlaanderen_away_through_outcome_placement(built):
    # outcome_placement withholds West-Vlaanderen's 3 and, in its region margin, the region first in md5 order; but
    # unit_comparison shows both other regions' row (35 and 27), the same counts: 65 - 35 - 27 = 3
    pinned = {(t, k, c): (lo, hi) for t, k, c, _, lo, hi in built["first_pass_pinned"]}
    assert pinned[("outcome_placement", ("2023", "all", "West-Vlaanderen"), "n_observable")] == pytest.approx((3, 3))


def test_protected_and_not_recoverable_through_the_links(built):
    con, outcome = built["con"], built["outcome"]
    assert outcome.passed
    assert independent_audit(con) == []          # the test's own LP over unit_comparison and the outcome tables
    # West-Vlaanderen's region count is withheld in both tables that count it
    west = rows(con, "select n, observed, n_suppressed from reporting.unit_comparison "
                     "where region = 'West-Vlaanderen' and team = 'all'")
    assert west and all(r["n"] is None and r["observed"] is None and r["n_suppressed"] for r in west)
    assert rows(con, "select n_observable, n_placed_365d from reporting.outcome_placement where registration_year = "
                     "'2023' and service = 'all' and region = 'West-Vlaanderen'") == \
        [{"n_observable": None, "n_placed_365d": None}]
    recorded = rows(con, "select count(*) as n, bool_and(protected) as ok from audit.disclosure_audit "
                         "where context = 'build' and table_name = 'unit_comparison'")[0]
    assert recorded["n"] > 0 and recorded["ok"]


def test_published_columns_and_nothing_small_or_derived_from_a_withheld_count(built):
    con = built["con"]
    cols = [r["column_name"] for r in rows(con, "select column_name from information_schema.columns where "
                                                "table_schema = 'reporting' and table_name = 'unit_comparison' "
                                                "order by ordinal_position")]
    assert cols == COLUMNS                                       # team_key is not published
    got = rows(con, "select * from reporting.unit_comparison")
    assert len(got) == len(BY_LABEL) * 2                         # the rows of marts.unit_comparison_by_label
    for r in got:
        for c in ("n", "observed"):
            assert r[c] is None or not 0 < r[c] < MIN_CELL, r
        if r["n"] is None:
            assert all(r[c] is None for c in ("expected", "expected_rate", "limit95_low", "limit95_high",
                                              "limit998_low", "limit998_high")), r
        if r["n"] is None or r["observed"] is None:
            assert r["oe_ratio"] is None and r["observed_rate"] is None and r["flag"] is None, r
        else:
            n, o = BY_LABEL[(r["region"], r["team"])]
            assert (r["n"], r["observed"]) == (n, o) and r["expected"] == pytest.approx(n * RATE, abs=1e-9)
            assert r["flag"] is not None
        assert r["suppressed"] == (r["n_suppressed"] or r["observed_suppressed"])
    assert {r["team"] for r in got if r["region"] == "Limburg"} == {"L-Centrum", "unknown", "all"}


def test_every_column_is_documented(built):
    """Every column of reporting.unit_comparison and marts.unit_comparison_by_label has a description in its YAML."""
    docs = {}
    for schema, path in (("reporting", ROOT / "dbt_project" / "models" / "reporting" / "_rpt_unit_comparison.yml"),
                         ("marts", ROOT / "dbt_project" / "models" / "marts" / "evaluation" / "_evaluation__marts.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            table = model.get("config", {}).get("alias", model["name"])
            if table in ("unit_comparison", "unit_comparison_by_label"):
                docs[schema, table] = {c["name"]: (c.get("description") or "").strip() for c in model["columns"]}
    assert set(docs) == {("reporting", "unit_comparison"), ("marts", "unit_comparison"),
                         ("marts", "unit_comparison_by_label")}
    for (schema, table), described in docs.items():
        columns = [r["column_name"] for r in rows(built["con"], "select column_name from information_schema.columns "
                                                               "where table_schema = ? and table_name = ?",
                                                  [schema, table])]
        assert columns and [c for c in columns if not described.get(c)] == [], (schema, table)
        assert set(described) <= set(columns), (schema, table)
