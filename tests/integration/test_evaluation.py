"""Comparative case research (SPEC 9.2): the landmark comparison of marts.outcome_by_exposure on a hand-made
extract, checked against a pandas recomputation of the landmark population from the rows written here, lifelines
(Kaplan-Meier median with its CI, log-rank test) and statsmodels (Wilson intervals).
"""
from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times
from statsmodels.stats.proportion import proportion_confint

from orchestration import evaluation, history, warehouse
from tests.conftest import run_dbt

AS_OF = dt.date(2025, 12, 31)
SELECT = ["build", "--select", "+outcome_by_exposure", "--exclude", "fct_feedback+", "region_period_outcomes+"]
EVALUATION = "exposures:\n  sp_90: {event_type: safety_plan, within_days: 90}\n"


def synthetic(seed: int = 7, n: int = 240):
    """Dossiers registered 2023-2024 with random closures, safety plans and placements (seeded)."""
    rng = np.random.default_rng(seed)
    dossiers, events, placements = [], [], []
    for i in range(n):
        reg = dt.date(2023, 1, 1) + dt.timedelta(days=int(rng.integers(0, 700)))
        length = int(rng.integers(10, 900))
        closure = reg + dt.timedelta(days=length)
        closure = closure if closure <= AS_OF else None
        dossiers.append({"dossier_key": f"D{i:03d}", "child_key": f"C{i % 200:03d}", "service": ["OCJ", "SDJ"][i % 2],
                         "region": ["Antwerpen", "Limburg"][(i // 2) % 2], "team_key": "T", "team": "T",
                         "registration_date": reg, "closure_date": closure,
                         "closure_reason": "other" if closure else None, "birth_year": 2010, "sex": "V",
                         "source_line": i + 1})
        last = closure or AS_OF
        if rng.random() < 0.4:
            day = reg + dt.timedelta(days=int(rng.integers(0, 150)))
            if day <= last:
                events.append({"event_key": f"E{i:03d}", "dossier_key": f"D{i:03d}", "event_date": day,
                               "event_type": "safety_plan", "value": None, "rated_by": None, "source_line": len(events) + 1})
        if rng.random() < 0.3:
            day = reg + dt.timedelta(days=int(rng.integers(0, 500)))
            if day <= last:
                placements.append({"placement_key": f"P{i:03d}", "dossier_key": f"D{i:03d}", "start_date": day,
                                   "end_date": None, "placement_type": "residential", "source_line": len(placements) + 1})
    return pd.DataFrame(dossiers), pd.DataFrame(events), pd.DataFrame(placements)


def expected_landmark(dossiers, events, placements, within=90):
    """The landmark population of SPEC 9.2 recomputed in pandas."""
    d = dossiers.copy()
    d["landmark"] = d.registration_date + pd.to_timedelta(within, "D")
    d["landmark"] = d.landmark.map(lambda t: t.date() if hasattr(t, "date") else t)
    follow = d.apply(lambda r: ((r.closure_date or AS_OF) - r.registration_date).days, axis=1)
    closed_by = d.apply(lambda r: r.closure_date is not None and (r.closure_date - r.registration_date).days <= within, axis=1)
    d = d[(follow >= within) & ~closed_by].copy()
    sp = events[events.event_type == "safety_plan"]
    d["exposed"] = d.apply(lambda r: bool(((sp.dossier_key == r.dossier_key) & (sp.event_date <= r.landmark)).any()), axis=1)
    d["complete"] = d.landmark.map(lambda t: (AS_OF - t).days >= 365)
    d["placed"] = d.apply(lambda r: bool(((placements.dossier_key == r.dossier_key)
                                          & (placements.start_date > r.landmark)
                                          & (placements.start_date.map(lambda s: (s - r.landmark).days) <= 365)).any()), axis=1)
    d["km_time"] = d.apply(lambda r: ((r.closure_date or AS_OF) - r.landmark).days, axis=1)
    d["closed"] = d.closure_date.notna()
    return d


@pytest.fixture
def exposure_db(project_env, monkeypatch):
    path = project_env / "evaluation.yaml"
    path.write_text(EVALUATION, encoding="utf-8")
    monkeypatch.setenv("SOFS_EVALUATION_FILE", str(path))
    db = project_env / "warehouse.duckdb"
    dossiers, events, placements = synthetic()
    with warehouse.write_connection(db) as con:
        evaluation.sync_exposures(con, warn=lambda line: None)
        with warehouse.transaction(con):
            history.load_extract(con, AS_OF, AS_OF.isoformat(), "test", {
                "raw.dossiers": dossiers, "raw.practice_events": events, "raw.placements": placements})
    return db, dossiers, events, placements


def test_landmark_comparison_against_pandas_lifelines_and_statsmodels(exposure_db, dbt_target):
    db, dossiers, events, placements = exposure_db
    run_dbt(SELECT, db, dbt_target)
    want = expected_landmark(dossiers, events, placements)
    con = duckdb.connect(str(db), read_only=True)
    try:
        landmark = con.execute("select dossier_key, exposed from intermediate.int_exposure_landmark "
                               "where exposure = 'sp_90' order by 1").fetchall()
        got = con.execute("select * from marts.outcome_by_exposure where exposure = 'sp_90' and registration_year = 'all' "
                          "and service = 'all' and region = 'all' order by exposed").df()
    finally:
        con.close()
    # landmark exclusion: dossiers closed on or before day 90 (or followed up less than 90 days) are out
    assert landmark == sorted(zip(want.dossier_key, want.exposed))
    excluded = set(dossiers.dossier_key) - set(want.dossier_key)
    assert excluded and len(want) > 100
    closed_early = dossiers[dossiers.closure_date.notna() & dossiers.apply(
        lambda r: r.closure_date is not None and (r.closure_date - r.registration_date).days < 90, axis=1)]
    assert len(closed_early) > 5 and set(closed_early.dossier_key) <= excluded   # closed before day 90: out
    groups = {False: want[~want.exposed], True: want[want.exposed]}
    for row in got.itertuples():
        g = groups[bool(row.exposed)]
        assert row.n_landmark == len(g)
        complete = g[g.complete]
        assert (row.n_window_complete, row.n_placed_365d) == (len(complete), int(complete.placed.sum()))
        lo, hi = proportion_confint(int(complete.placed.sum()), len(complete), alpha=0.05, method="wilson")
        assert row.placement_rate_ci_low == pytest.approx(lo, abs=1e-12)
        assert row.placement_rate_ci_high == pytest.approx(hi, abs=1e-12)
        kmf = KaplanMeierFitter().fit(g.km_time, g.closed)
        assert row.km_median_days == kmf.median_survival_time_
        ci = median_survival_times(kmf.confidence_interval_)
        assert row.km_median_ci_low == ci["KM_estimate_lower_0.95"].iloc[0]   # the lower band reaches 0.5 first
        upper = ci["KM_estimate_upper_0.95"].iloc[0]
        assert (pd.isna(row.km_median_ci_high) and np.isinf(upper)) or row.km_median_ci_high == upper
        # a detail row's standardised rate is its crude rate; the 'all' row's stays within [0, 1]
        assert 0 <= row.placement_rate_std <= 1
        assert row.caveat == "observational: differences can reflect case mix, not the practice"
    test = logrank_test(groups[True].km_time, groups[False].km_time, groups[True].closed, groups[False].closed)
    assert got.logrank_chi2.iloc[0] == pytest.approx(test.test_statistic, rel=1e-9)
    assert got.logrank_p.iloc[0] == pytest.approx(test.p_value, rel=1e-6, abs=1e-12)


def test_wilson_bounds_against_statsmodels(tmp_path, dbt_target):
    """The wilson_low / wilson_high macros over a grid of counts, including 0 and n."""
    cases = [(0, 1), (1, 1), (0, 7), (3, 7), (7, 7), (1, 40), (25, 40), (500, 1000), (2, 3)]
    values = " union all ".join(f"select {x} as x, {n} as n" for x, n in cases)
    sql = (f"select x, n, {{{{ wilson_low('x', 'n') }}}} as lo, {{{{ wilson_high('x', 'n') }}}} as hi "
           f"from ({values}) as c order by n, x")
    db = tmp_path / "wilson.duckdb"
    proc = run_dbt(["show", "--inline", sql, "--limit", "100", "--output", "json"], db, dbt_target)
    import json
    import re

    payload = json.loads(re.search(r"\{\s*\"show\".*\}", proc.stdout, re.S).group(0))
    rows = payload["show"]
    assert len(rows) == len(cases)
    for r in rows:
        lo, hi = proportion_confint(r["x"], r["n"], alpha=0.05, method="wilson")
        assert r["lo"] == pytest.approx(lo, abs=1e-12) and r["hi"] == pytest.approx(hi, abs=1e-12)
