"""Scaling scores per rater in marts.fct_dossier (SPEC 3.4, 5) against hand-computed values.

A one-extract warehouse (2024-12-31) with a handful of scaling questions, built once per module with
``dbt build --select +fct_dossier``. For every rater of the extract contract (rated_by worker, parent,
child, network) the first and last score follow event_date, then file order (source_line), then
event_key; the event keys below are chosen so that key order contradicts file order on tied dates.
first_scaling_score / last_scaling_score stay the worker's.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from orchestration import history, warehouse
from orchestration.contracts.dossier_extract import RATERS
from tests.conftest import run_dbt

AS_OF = date(2024, 12, 31)


def dossier(key: str, child: str) -> dict:
    return {"dossier_key": key, "child_key": child, "service": "OCJ", "region": "Limburg", "team": "T", "team_key": "tk-T",
            "registration_date": date(2023, 1, 1), "closure_date": None, "closure_reason": None,
            "birth_year": 2012, "sex": "V"}


# (event_key, dossier_key, event_date, event_type, value, rated_by) in file order: source_line = 2, 3, ...
EVENTS = [
    ("z1", "d1", date(2024, 1, 10), "scaling_question", 4.0, "worker"),    # line 2: worker, first (tie, earlier line)
    ("a2", "d1", date(2024, 1, 10), "scaling_question", 2.0, "worker"),    # line 3: same day, later line
    ("p1", "d1", date(2024, 3, 1), "scaling_question", 6.0, "parent"),     # line 4
    ("p0", "d1", date(2024, 3, 1), "scaling_question", 8.0, "parent"),     # line 5: parent last (tie, later line)
    ("p9", "d1", date(2024, 2, 1), "scaling_question", 3.0, "parent"),     # line 6: parent first (earliest date)
    ("c1", "d1", date(2024, 5, 1), "scaling_question", 5.0, "child"),      # line 7: the only child score
    ("x1", "d1", date(2024, 6, 1), "scaling_question", 9.0, None),         # line 8: no rater: counts for none
    ("w9", "d1", date(2024, 4, 1), "scaling_question", 7.0, "worker"),     # line 9
    ("w1", "d1", date(2024, 4, 1), "scaling_question", 10.0, "worker"),    # line 10: worker last (tie, later line)
    ("m1", "d1", date(2024, 2, 15), "mapping", None, None),                # line 11: not a scaling question
    ("n9", "d2", date(2024, 2, 2), "scaling_question", 2.0, "network"),    # line 12: network first
    ("n1", "d2", date(2024, 2, 2), "scaling_question", 5.0, "network"),    # line 13: network last
    ("w5", "d2", date(2024, 3, 3), "scaling_question", None, "worker"),    # line 14: no value: counts for none
    ("c0", "d2", date(2023, 12, 1), "scaling_question", 0.0, "child"),     # line 15: a zero is a score
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory, dbt_target):
    path = tmp_path_factory.mktemp("scaling_scores") / "scaling.duckdb"
    frames = {
        "raw.dossiers": pd.DataFrame([dossier("d1", "k1"), dossier("d2", "k2"), dossier("d3", "k3")]),
        "raw.placements": pd.DataFrame(columns=["placement_key", "dossier_key", "start_date", "end_date",
                                                "placement_type"]),
        "raw.practice_events": pd.DataFrame(EVENTS, columns=["event_key", "dossier_key", "event_date", "event_type",
                                                             "value", "rated_by"]),
    }
    for frame in frames.values():
        frame.insert(0, "partition_key", AS_OF.isoformat())
        frame.insert(1, "extract_date", AS_OF)
        frame["source_line"] = range(2, len(frame) + 2)
        frame["load_id"] = "load-1"
        for col in frame.columns:
            if col.endswith("_date"):
                frame[col] = pd.to_datetime(frame[col])
    con = duckdb.connect(str(path))
    con.execute(warehouse.RAW_DDL)
    history.load_extract(con, AS_OF, AS_OF.isoformat(), "load-1", frames)
    con.close()
    run_dbt(["build", "--select", "+fct_dossier"], path, dbt_target)  # models and their dbt tests
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def fct(con, key: str) -> dict:
    cursor = con.execute("select * from marts.fct_dossier where dossier_key = ?", [key])
    names = [c[0] for c in cursor.description]
    found = [dict(zip(names, r)) for r in cursor.fetchall()]
    assert len(found) == 1, key
    return found[0]


def per_rater(row: dict, rater: str) -> tuple:
    return (row[f"n_scaling_scores_{rater}"], row[f"first_scaling_score_{rater}"], row[f"last_scaling_score_{rater}"])


def test_rater_columns_follow_the_extract_contract(wh):
    names = [r[0] for r in wh.execute("describe marts.fct_dossier").fetchall()]
    assert RATERS == ("worker", "parent", "child", "network")
    for rater in RATERS:
        for col in (f"first_scaling_score_{rater}", f"last_scaling_score_{rater}", f"n_scaling_scores_{rater}"):
            assert col in names, col
    # the new columns come right after the SPEC 4 list, which ends with last_scaling_score
    at = names.index("last_scaling_score")
    assert names[at + 1:at + 4] == ["first_scaling_score_worker", "last_scaling_score_worker",
                                    "n_scaling_scores_worker"]


def test_per_rater_first_and_last_with_ties_in_file_order(wh):
    d1 = fct(wh, "d1")
    # worker: (01-10, line 2) 4, (01-10, line 3) 2, (04-01, line 9) 7, (04-01, line 10) 10
    assert per_rater(d1, "worker") == (4, 4.0, 10.0)
    # parent: (02-01, line 6) 3 is earliest although listed last; (03-01, lines 4 and 5) 6 then 8
    assert per_rater(d1, "parent") == (3, 3.0, 8.0)
    assert per_rater(d1, "child") == (1, 5.0, 5.0)
    assert per_rater(d1, "network") == (0, None, None)  # the unrated 9 (line 8) is nobody's
    d2 = fct(wh, "d2")
    assert per_rater(d2, "network") == (2, 2.0, 5.0)    # same day: line 12 before line 13 (keys n9 > n1)
    assert per_rater(d2, "worker") == (0, None, None)   # a worker scaling question without a value
    assert per_rater(d2, "child") == (1, 0.0, 0.0)      # a score of 0 counts
    assert per_rater(d2, "parent") == (0, None, None)


def test_worker_columns_unchanged(wh):
    d1 = fct(wh, "d1")
    assert (d1["first_scaling_score"], d1["last_scaling_score"], d1["n_worker_scaling_scores"]) == (4.0, 10.0, 4)
    d2 = fct(wh, "d2")  # network and child ratings never become the worker's first/last score
    assert (d2["first_scaling_score"], d2["last_scaling_score"], d2["n_worker_scaling_scores"]) == (None, None, 0)


def test_dossier_without_events(wh):
    d3 = fct(wh, "d3")
    for rater in ("worker", "parent", "child", "network"):
        assert per_rater(d3, rater) == (0, None, None), rater
    assert (d3["first_scaling_score"], d3["last_scaling_score"]) == (None, None)
