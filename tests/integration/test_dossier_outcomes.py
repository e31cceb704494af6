"""Dossier outcome marts against hand-computed values (SPEC 4, 5).

A tiny warehouse with two extracts (2024-06-30 and 2024-12-31, so as_of_date = 2024-12-31) is built
once per module with ``dbt build --select @source:raw_dossiers`` (the dossier models, and the parents of every model they feed). Every expected value below was
worked out by hand from the rows in :func:`latest_rows`; the comments show the arithmetic.
"""
from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from orchestration import history, warehouse
from tests.conftest import run_dbt

AS_OF = date(2024, 12, 31)
EARLY = date(2024, 6, 30)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def dossier(key, child, service, region, registration, closure=None, team="Team"):
    return {"dossier_key": key, "child_key": child, "service": service, "region": region, "team": team, "team_key": None if team is None else f"tk-{team}",
            "registration_date": registration, "closure_date": closure,
            "closure_reason": None if closure is None else "doelen_bereikt", "birth_year": 2012, "sex": "V"}


def latest_rows():
    """Rows of the latest extract (2024-12-31)."""
    d = []
    # --- A: registration 2022, SDJ, Limburg: Kaplan-Meier with censoring and exact ties -----------
    # times: 100 E, 100 E, 200 E, 400 E, 800 C, 900 E, 900 E, 1000 C   (E = closed, C = open)
    d.append(dossier("a1", "ca1", "SDJ", "Limburg", date(2022, 1, 10), date(2022, 1, 10) + days(100)))
    d.append(dossier("a2", "ca2", "SDJ", "Limburg", date(2022, 2, 1), date(2022, 2, 1) + days(100)))
    d.append(dossier("a3", "ca3", "SDJ", "Limburg", date(2022, 3, 1), date(2022, 3, 1) + days(200)))
    d.append(dossier("a4", "ca4", "SDJ", "Limburg", date(2022, 1, 15), date(2022, 1, 15) + days(400)))
    d.append(dossier("a5", "ca5", "SDJ", "Limburg", AS_OF - days(800)))            # 2022-10-23, open
    d.append(dossier("a6", "ca6", "SDJ", "Limburg", date(2022, 1, 10), date(2022, 1, 10) + days(900)))
    d.append(dossier("a7", "ca7", "SDJ", "Limburg", date(2022, 2, 1), date(2022, 2, 1) + days(900)))
    d.append(dossier("a8", "ca8", "SDJ", "Limburg", AS_OF - days(1000)))           # 2022-04-06, open
    # --- B: registration 2023, OCJ, Antwerpen: every dossier closes, S(t) reaches 0 (d = n) -------
    d.append(dossier("b1", "cb1", "OCJ", "Antwerpen", date(2023, 3, 1), date(2023, 3, 1) + days(50)))
    d.append(dossier("b2", "cb2", "OCJ", "Antwerpen", date(2023, 4, 1), date(2023, 4, 1) + days(60)))
    d.append(dossier("b3", "cb3", "OCJ", "Antwerpen", date(2023, 5, 1), date(2023, 5, 1) + days(60)))
    # --- C: registration 2024, SDJ, Antwerpen: mostly censored, median never reached --------------
    d.append(dossier("c1", "cc1", "SDJ", "Antwerpen", date(2024, 3, 1), date(2024, 3, 31)))   # 30 E
    d.append(dossier("c2", "cc2", "SDJ", "Antwerpen", date(2024, 6, 1)))    # open: 213 C, placed 2024-08-01
    d.append(dossier("c3", "cc3", "SDJ", "Antwerpen", date(2024, 9, 1)))    # open: 121 C
    d.append(dossier("c4", "cc4", "SDJ", "Antwerpen", date(2024, 11, 15)))  # open: 46 C
    # --- R: reopening and re-entry (OCJ, Oost-Vlaanderen) -----------------------------------------
    d.append(dossier("r1", "k1", "OCJ", "Oost-Vlaanderen", date(2021, 1, 1), date(2021, 6, 30), team="Nieuw team"))
    d.append(dossier("r2", "k1", "OCJ", "Oost-Vlaanderen", date(2022, 6, 30)))   # closure + 365: reopened
    d.append(dossier("r3", "k2", "OCJ", "Oost-Vlaanderen", date(2021, 1, 1), date(2021, 6, 30)))
    d.append(dossier("r4", "k2", "OCJ", "Oost-Vlaanderen", date(2022, 7, 1)))    # closure + 366: not
    d.append(dossier("r5", "k3", "OCJ", "Oost-Vlaanderen", date(2021, 2, 1), date(2021, 8, 1)))
    d.append(dossier("r6", "k3", "OCJ", "Oost-Vlaanderen", date(2021, 8, 1)))    # on the closure day: not
    # --- N: not yet observable (SDJ, West-Vlaanderen, closed in 2024) ------------------------------
    d.append(dossier("n1", "k4", "SDJ", "West-Vlaanderen", date(2024, 1, 10), date(2024, 6, 30)))  # window open
    d.append(dossier("n2", "k5", "SDJ", "West-Vlaanderen", date(2024, 1, 10), date(2024, 5, 31)))
    d.append(dossier("n3", "k5", "SDJ", "West-Vlaanderen", date(2024, 9, 1)))    # 93 days after n2's closure
    # --- P: placements (registration 2021, SDJ, West-Vlaanderen) ----------------------------------
    d.append(dossier("p20", "kp20", "SDJ", "West-Vlaanderen", date(2021, 3, 1), date(2023, 3, 1)))
    d.append(dossier("p21", "kp21", "SDJ", "West-Vlaanderen", date(2021, 5, 1)))
    d.append(dossier("p22", "kp22", "SDJ", "West-Vlaanderen", date(2021, 6, 1)))
    d.append(dossier("p23", "kp23", "SDJ", "West-Vlaanderen", date(2021, 7, 1)))
    # --- W: complete windows at the boundary (OCJ, Vlaams-Brabant en Brussel) -----------------------
    # AS_OF - 365 days = 2024-01-01 (2024 is a leap year): a window from then ends exactly on AS_OF.
    vbb = "Vlaams-Brabant en Brussel"
    d.append(dossier("w1", "kw1", "OCJ", vbb, date(2024, 1, 1)))     # placed; window ends on AS_OF: counts
    d.append(dossier("w2", "kw2", "OCJ", vbb, date(2024, 1, 2)))     # placed; window ends AS_OF + 1: not
    d.append(dossier("w3", "kw3", "OCJ", vbb, date(2023, 6, 1), date(2024, 1, 1)))  # reopened, complete
    d.append(dossier("w4", "kw3", "OCJ", vbb, date(2024, 3, 1)))
    d.append(dossier("w5", "kw5", "OCJ", vbb, date(2023, 6, 1), date(2024, 1, 2)))  # reopened, running
    d.append(dossier("w6", "kw5", "OCJ", vbb, date(2024, 3, 1)))

    p = [  # listed out of start order on purpose: moves follow start_date, not file order
        ("pl3", "p20", date(2022, 4, 1), date(2023, 3, 1), "residential"),       # 334 days
        ("pl1", "p20", date(2021, 4, 1), date(2021, 9, 1), "foster_family"),     # 153 days, 31 days after reg.
        ("pl2", "p20", date(2021, 9, 10), date(2022, 3, 10), "kinship_foster"),  # 181 days
        ("pl4", "p21", date(2022, 5, 2), None, "residential"),                   # reg + 366; ongoing: 974 days
        ("pl5", "p22", date(2022, 6, 1), date(2022, 6, 11), "other"),            # reg + 365; 10 days
        ("pl6", "c2", date(2024, 8, 1), None, "foster_family"),                  # ongoing: 152 days
        ("plw1", "w1", date(2024, 2, 1), None, "foster_family"),
        ("plw2", "w2", date(2024, 2, 1), None, "foster_family"),
    ]
    e = [
        ("e1", "p20", date(2021, 3, 10), "mapping", None, None),
        ("e2", "p20", date(2021, 4, 1), "scaling_question", 3.0, "worker"),     # first worker score
        ("e3", "p20", date(2021, 4, 2), "scaling_question", 1.0, "parent"),
        ("e4", "p20", date(2021, 12, 1), "scaling_question", 6.0, "worker"),
        ("e5", "p20", date(2021, 12, 1), "scaling_question", 7.0, "worker"),    # same day, later line: last
        ("e6", "p20", date(2022, 1, 1), "safety_plan", None, None),
        ("e7", "p20", date(2022, 6, 1), "scaling_question", 9.0, "parent"),     # later, but not the worker
        ("e8", "p21", date(2021, 6, 1), "three_houses", None, None),
        ("e9", "p21", date(2021, 6, 2), "words_and_pictures", None, None),
        ("e10", "p21", date(2021, 7, 1), "network_meeting", None, None),
    ]
    return d, p, e


def early_rows():
    """The 2024-06-30 extract: what was known then, plus a dossier, a placement and an event that the
    latest extract no longer has, and an old team name: none of it may reach the marts."""
    d, p, e = latest_rows()
    d = [dict(r) for r in d if r["registration_date"] <= EARLY]
    for r in d:
        if r["closure_date"] is not None and r["closure_date"] > EARLY:
            r["closure_date"], r["closure_reason"] = None, None
        if r["dossier_key"] == "r1":
            r["team"] = "Oud team"
    d.append(dossier("x99", "kx99", "OCJ", "Limburg", date(2022, 5, 1)))
    p = [(k, dk, s, (en if en is not None and en <= EARLY else None), t) for k, dk, s, en, t in p if s <= EARLY]
    p.append(("pl_old", "p20", date(2021, 3, 5), date(2021, 3, 20), "other"))
    e = [r for r in e if r[2] <= EARLY] + [("e_old", "p20", date(2021, 5, 1), "network_meeting", None, None)]
    return d, p, e


def insert_extract(con, extract: date, rows) -> None:
    d, p, e = rows
    frames = {
        "raw.dossiers": pd.DataFrame(d),
        "raw.placements": pd.DataFrame(p, columns=["placement_key", "dossier_key", "start_date", "end_date",
                                                   "placement_type"]),
        "raw.practice_events": pd.DataFrame(e, columns=["event_key", "dossier_key", "event_date", "event_type",
                                                        "value", "rated_by"]),
    }
    for frame in frames.values():
        frame.insert(0, "partition_key", extract.isoformat())
        frame.insert(1, "extract_date", extract)
        frame["source_line"] = range(2, len(frame) + 2)
        frame["load_id"] = f"load-{extract.isoformat()}"
        for col in frame.columns:
            if col.endswith("_date"):
                frame[col] = pd.to_datetime(frame[col])
    history.load_extract(con, extract, extract.isoformat(), f"load-{extract.isoformat()}", frames)


@pytest.fixture(scope="module")
def wh(tmp_path_factory, dbt_target):
    path = tmp_path_factory.mktemp("dossier_outcomes") / "outcomes.duckdb"
    con = duckdb.connect(str(path))
    con.execute(warehouse.RAW_DDL)
    insert_extract(con, EARLY, early_rows())
    insert_extract(con, AS_OF, latest_rows())
    con.close()
    run_dbt(["build", "--select", "@source:raw_dossiers"], path, dbt_target)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def fct(con, key: str) -> dict:
    found = rows(con, f"select * from marts.fct_dossier where dossier_key = '{key}'")
    assert len(found) == 1, key
    return found[0]


def cell(con, table: str, year_column: str, year: str, service: str, region: str) -> dict:
    found = rows(con, f"select * from marts.{table} where {year_column} = '{year}' "
                      f"and service = '{service}' and region = '{region}'")
    assert len(found) == 1, (table, year, service, region)
    return found[0]


SPEC_COLUMNS = {
    "fct_dossier": ["dossier_key", "child_key", "service", "region", "team", "registration_date", "closure_date",
                    "as_of_date", "is_closed", "days_to_closure", "follow_up_days", "registration_year",
                    "is_reentry", "n_placements", "placed_within_365d", "days_to_first_placement",
                    "reopened_within_365d", "has_mapping", "has_safety_plan", "has_network_meeting",
                    "has_three_houses", "has_words_and_pictures", "first_scaling_score", "last_scaling_score"],
    "outcome_time_to_closure": ["registration_year", "service", "region", "n_dossiers", "n_closed", "n_censored",
                                "km_median_days", "km_p25_days", "km_p75_days", "km_closed_within_365d",
                                "naive_median_closed_days"],
    "outcome_reopening": ["closure_year", "service", "region", "n_observable", "n_reopened_365d", "reopening_rate"],
    "outcome_placement": ["registration_year", "service", "region", "n_observable", "n_placed_365d",
                          "placement_rate", "placement_days", "placement_moves", "moves_per_1000_days"],
}


@pytest.mark.parametrize("table", sorted(SPEC_COLUMNS))
def test_spec_columns_present_in_order(wh, table):
    names = [r[0] for r in wh.execute(f"describe marts.{table}").fetchall()]
    assert names[:len(SPEC_COLUMNS[table])] == SPEC_COLUMNS[table]


def test_latest_extract_only(wh):
    keys = {r["dossier_key"] for r in rows(wh, "select dossier_key from marts.fct_dossier")}
    assert len(keys) == 34 and "x99" not in keys
    assert {r["as_of_date"] for r in rows(wh, "select distinct as_of_date from marts.fct_dossier")} == {AS_OF}
    assert fct(wh, "r1")["team"] == "Nieuw team"
    # a7 closed on 2024-07-20: open in the early extract, closed in the latest
    assert fct(wh, "a7")["is_closed"] is True and fct(wh, "a7")["closure_date"] == date(2024, 7, 20)
    assert cell(wh, "outcome_time_to_closure", "registration_year", "all", "all", "all")["n_dossiers"] == 34


def test_closure_times_and_censoring(wh):
    a4 = fct(wh, "a4")
    assert (a4["is_closed"], a4["days_to_closure"], a4["follow_up_days"], a4["registration_year"]) == (True, 400, 400, 2022)
    a5 = fct(wh, "a5")  # open: censored at as_of_date - registration_date
    assert (a5["is_closed"], a5["days_to_closure"], a5["follow_up_days"]) == (False, None, 800)


def test_kaplan_meier_with_censoring_and_exact_ties(wh):
    # n=8. t=100: d=2, n=8 -> S = 6/8 = 0.75 exactly (p25 reached at 100, the tie of docs/decisions.md, D7)
    #      t=200: d=1, n=6 -> S = 0.75 * 5/6 = 0.625
    #      t=400: d=1, n=5 -> S = 0.625 * 4/5 = 0.5 exactly (median reached at 400)
    #      t=800: censored (n=4), t=900: d=2, n=3 -> S = 0.5 * 1/3 = 1/6 (p75 at 900); t=1000 censored
    # 1 - S(365) = 1 - 0.625; naive median of closed times (100,100,200,400,900,900) = (200+400)/2
    a = cell(wh, "outcome_time_to_closure", "registration_year", "2022", "SDJ", "Limburg")
    assert (a["n_dossiers"], a["n_closed"], a["n_censored"]) == (8, 6, 2)
    assert (a["km_p25_days"], a["km_median_days"], a["km_p75_days"]) == (100, 400, 900)
    assert a["km_closed_within_365d"] == pytest.approx(0.375, abs=1e-12)
    assert a["naive_median_closed_days"] == 300.0
    # the margins that hold exactly group A give the same curve
    for year, service, region in (("2022", "all", "Limburg"), ("all", "SDJ", "Limburg"), ("all", "all", "Limburg")):
        margin = cell(wh, "outcome_time_to_closure", "registration_year", year, service, region)
        assert (margin["km_p25_days"], margin["km_median_days"], margin["km_p75_days"]) == (100, 400, 900)


def test_kaplan_meier_curve_reaching_zero(wh):
    # t=50: d=1, n=3 -> S = 2/3; t=60: d=2, n=2 -> S = 0 (d = n: no ln(0))
    b = cell(wh, "outcome_time_to_closure", "registration_year", "2023", "OCJ", "Antwerpen")
    assert (b["km_p25_days"], b["km_median_days"], b["km_p75_days"]) == (50, 60, 60)
    assert b["km_closed_within_365d"] == 1.0  # nobody followed 365 days, but the curve is at 0
    assert b["naive_median_closed_days"] == 60.0


def test_kaplan_meier_median_not_reached_and_365_not_estimable(wh):
    # times 30 E, 46 C, 121 C, 213 C: t=30 d=1 n=4 -> S = 0.75; never <= 0.5
    c = cell(wh, "outcome_time_to_closure", "registration_year", "2024", "SDJ", "Antwerpen")
    assert (c["n_dossiers"], c["n_closed"], c["n_censored"]) == (4, 1, 3)
    assert (c["km_p25_days"], c["km_median_days"], c["km_p75_days"]) == (30, None, None)
    assert c["km_closed_within_365d"] is None   # longest follow-up 213 days, S > 0
    assert c["naive_median_closed_days"] == 30.0  # the biased figure: only the closed dossier


def test_reopening_at_365_and_366_days_and_on_the_closure_day(wh):
    assert fct(wh, "r1")["reopened_within_365d"] is True     # r2 registered closure + 365
    assert fct(wh, "r3")["reopened_within_365d"] is False    # r4 registered closure + 366
    assert fct(wh, "r5")["reopened_within_365d"] is False    # r6 registered on the closure day
    assert fct(wh, "r2")["is_reentry"] is True
    assert fct(wh, "r4")["is_reentry"] is False
    assert fct(wh, "r6")["is_reentry"] is False
    assert fct(wh, "r1")["is_reentry"] is False
    assert fct(wh, "r2")["reopened_within_365d"] is None     # open dossier
    r = cell(wh, "outcome_reopening", "closure_year", "2021", "OCJ", "Oost-Vlaanderen")
    assert (r["n_observable"], r["n_reopened_365d"]) == (3, 1)
    assert r["reopening_rate"] == pytest.approx(1 / 3)


def test_running_windows_are_in_no_rate_even_with_the_event(wh):
    # SPEC 5: complete windows only. The per-dossier flag still says true once the event happened.
    assert fct(wh, "n1")["reopened_within_365d"] is None    # closed 2024-06-30, window ends 2025-06-30
    assert fct(wh, "n2")["reopened_within_365d"] is True    # window still runs, but the reopening happened
    assert fct(wh, "n2")["reopening_window_complete"] is False
    assert fct(wh, "n3")["is_reentry"] is True              # 93 days after n2's closure
    n = cell(wh, "outcome_reopening", "closure_year", "2024", "SDJ", "West-Vlaanderen")
    # n1 and n2 both run: no complete window, so no rate (was 1/1 = 1.0 under the old rule)
    assert (n["n_observable"], n["n_reopened_365d"], n["reopening_rate"], n["n_closed"]) == (0, 0, None, 2)
    assert (n["n_window_complete"], n["n_window_running"]) == (0, 2)
    # all closed dossiers: 18; windows running: n1, n2, c1 (closed 2024-03-31), a6 (2024-06-28),
    # a7 (2024-07-20), w5 (2024-01-02) -> 12 complete, of which reopened: r1 and w3 -> 2/12
    total = cell(wh, "outcome_reopening", "closure_year", "all", "all", "all")
    assert (total["n_closed"], total["n_observable"], total["n_reopened_365d"]) == (18, 12, 2)
    assert (total["n_window_complete"], total["n_window_running"]) == (12, 6)
    assert total["reopening_rate"] == pytest.approx(2 / 12)
    # placement window: c1..c4 registered 2024-03-01 or later: every window runs; c2 placed after 61 days
    assert [fct(wh, k)["placed_within_365d"] for k in ("c1", "c2", "c3", "c4")] == [None, True, None, None]
    assert [fct(wh, k)["placement_window_complete"] for k in ("c1", "c2", "c3", "c4")] == [False] * 4
    assert fct(wh, "c2")["days_to_first_placement"] == 61
    c = cell(wh, "outcome_placement", "registration_year", "2024", "SDJ", "Antwerpen")
    assert (c["n_observable"], c["n_placed_365d"], c["placement_rate"]) == (0, 0, None)
    assert (c["n_dossiers"], c["n_window_complete"], c["n_window_running"]) == (4, 0, 4)


def test_window_ending_exactly_on_as_of_date_counts_one_day_later_does_not(wh):
    vbb = "Vlaams-Brabant en Brussel"
    # placement: w1 registered 2024-01-01 (window ends 2024-12-31 = AS_OF), w2 2024-01-02; both placed
    assert (fct(wh, "w1")["placement_window_complete"], fct(wh, "w1")["placed_within_365d"]) == (True, True)
    assert (fct(wh, "w2")["placement_window_complete"], fct(wh, "w2")["placed_within_365d"]) == (False, True)
    # cohort 2024: w1 (complete, placed), w2, w4, w6 (running) -> 1 of 1
    p = cell(wh, "outcome_placement", "registration_year", "2024", "OCJ", vbb)
    assert (p["n_dossiers"], p["n_window_complete"], p["n_window_running"]) == (4, 1, 3)
    assert (p["n_observable"], p["n_placed_365d"], p["placement_rate"]) == (1, 1, 1.0)
    # reopening: w3 closed 2024-01-01 (window ends on AS_OF), w5 closed 2024-01-02; both children came back
    assert (fct(wh, "w3")["reopening_window_complete"], fct(wh, "w3")["reopened_within_365d"]) == (True, True)
    assert (fct(wh, "w5")["reopening_window_complete"], fct(wh, "w5")["reopened_within_365d"]) == (False, True)
    assert fct(wh, "w4")["reopening_window_complete"] is False   # open dossier
    r = cell(wh, "outcome_reopening", "closure_year", "2024", "OCJ", vbb)
    assert (r["n_closed"], r["n_window_complete"], r["n_window_running"]) == (2, 1, 1)
    assert (r["n_observable"], r["n_reopened_365d"], r["reopening_rate"]) == (1, 1, 1.0)
    # the 'all' rows count complete windows only: placement over every cohort and region
    # complete: a1-a8 (8), b1-b3 (3), r1-r6 (6), p20-p23 (4), w1, w3, w5 (3) = 24; placed among them:
    # p20, p22, w1 -> 3/24 (c2 and w2 were placed too, but their windows run)
    allrow = cell(wh, "outcome_placement", "registration_year", "all", "all", "all")
    assert (allrow["n_dossiers"], allrow["n_window_complete"], allrow["n_placed_365d"]) == (34, 24, 3)
    assert allrow["placement_rate"] == pytest.approx(3 / 24)


def test_placements_moves_window_and_ongoing_days(wh):
    p20 = fct(wh, "p20")
    assert (p20["n_placements"], p20["placement_moves"], p20["placement_days"]) == (3, 2, 153 + 181 + 334)
    assert (p20["placed_within_365d"], p20["days_to_first_placement"]) == (True, 31)
    assert fct(wh, "p21")["placed_within_365d"] is False   # first placement at registration + 366
    assert fct(wh, "p21")["placement_days"] == 974         # ongoing: 2022-05-02 .. as_of 2024-12-31
    assert fct(wh, "p22")["placed_within_365d"] is True    # placement at registration + 365
    assert fct(wh, "p23")["placed_within_365d"] is False   # no placement, window passed
    assert fct(wh, "p23")["n_placements"] == 0 and fct(wh, "p23")["days_to_first_placement"] is None
    p = cell(wh, "outcome_placement", "registration_year", "2021", "SDJ", "West-Vlaanderen")
    assert (p["n_observable"], p["n_placed_365d"], p["placement_rate"]) == (4, 2, 0.5)
    assert (p["placement_days"], p["placement_moves"]) == (1652, 2)  # 668 + 974 + 10
    assert p["moves_per_1000_days"] == pytest.approx(1000 * 2 / 1652)
    c = cell(wh, "outcome_placement", "registration_year", "2024", "SDJ", "Antwerpen")
    assert (c["placement_days"], c["placement_moves"], c["moves_per_1000_days"]) == (152, 0, 0.0)
    b = cell(wh, "outcome_placement", "registration_year", "2023", "OCJ", "Antwerpen")
    assert (b["placement_days"], b["moves_per_1000_days"]) == (0, None)  # no placement days: null rate


def test_practice_breadth_and_worker_scaling_scores(wh):
    p20 = fct(wh, "p20")
    assert (p20["has_mapping"], p20["has_safety_plan"], p20["has_network_meeting"],
            p20["has_three_houses"], p20["has_words_and_pictures"]) == (True, True, False, False, False)
    assert (p20["first_scaling_score"], p20["last_scaling_score"]) == (3.0, 7.0)
    p21 = fct(wh, "p21")
    assert (p21["has_mapping"], p21["has_network_meeting"], p21["has_three_houses"],
            p21["has_words_and_pictures"]) == (False, True, True, True)
    assert (p21["first_scaling_score"], p21["last_scaling_score"]) == (None, None)
    a1 = fct(wh, "a1")
    assert (a1["has_mapping"], a1["first_scaling_score"]) == (False, None)


def test_every_margin_present(wh):
    # 8 grouping levels; e.g. the 'all' x 'all' x 'all' row and one per service
    got = rows(wh, "select service, n_dossiers from marts.outcome_time_to_closure "
                   "where registration_year = 'all' and region = 'all' order by service")
    assert [(r["service"], r["n_dossiers"]) for r in got] == [("OCJ", 15), ("SDJ", 19), ("all", 34)]
