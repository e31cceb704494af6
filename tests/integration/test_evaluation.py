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


def test_landmark_boundary_by_hand(project_env, monkeypatch, dbt_target):
    """Landmark day 90 (SPEC 9.2): a dossier enters when it is still open on day 90 and followed up at least 90 days.
    By hand: closed on day 89 or 90 -> out, closed on day 91 -> in; open and followed 89 days -> out, 90 -> in."""
    path = project_env / "evaluation.yaml"
    path.write_text(EVALUATION, encoding="utf-8")
    monkeypatch.setenv("SOFS_EVALUATION_FILE", str(path))
    db = project_env / "warehouse.duckdb"
    reg = dt.date(2024, 3, 1)
    cases = {"closed_89": (reg, reg + dt.timedelta(days=89)), "closed_90": (reg, reg + dt.timedelta(days=90)),
             "closed_91": (reg, reg + dt.timedelta(days=91)), "open_89": (AS_OF - dt.timedelta(days=89), None),
             "open_90": (AS_OF - dt.timedelta(days=90), None)}
    dossiers = pd.DataFrame([{"dossier_key": k, "child_key": f"C{i}", "service": "OCJ", "region": "Antwerpen",
                              "team_key": "T", "team": "T", "registration_date": r, "closure_date": c,
                              "closure_reason": "other" if c else None, "birth_year": 2010, "sex": "V",
                              "source_line": i + 1} for i, (k, (r, c)) in enumerate(cases.items())])
    empty_events = pd.DataFrame(columns=["event_key", "dossier_key", "event_date", "event_type", "value", "rated_by",
                                         "source_line"])
    empty_placements = pd.DataFrame(columns=["placement_key", "dossier_key", "start_date", "end_date",
                                             "placement_type", "source_line"])
    with warehouse.write_connection(db) as con:
        evaluation.sync_exposures(con, warn=lambda line: None)
        with warehouse.transaction(con):
            history.load_extract(con, AS_OF, AS_OF.isoformat(), "test", {
                "raw.dossiers": dossiers, "raw.practice_events": empty_events, "raw.placements": empty_placements})
    run_dbt(["build", "--select", "+int_exposure_landmark", "--exclude", "fct_feedback+"], db, dbt_target)
    con = duckdb.connect(str(db), read_only=True)
    try:
        entered = [r[0] for r in con.execute("select dossier_key from intermediate.int_exposure_landmark "
                                             "where exposure = 'sp_90' order by 1").fetchall()]
    finally:
        con.close()
    assert entered == ["closed_91", "open_90"]


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


def test_km_curve_and_its_bands_against_lifelines(exposure_db, dbt_target):
    db, dossiers, _, _ = exposure_db
    run_dbt(["build", "--select", "+outcome_km_curve", "outcome_placement", "outcome_reopening", "--exclude",
             "fct_feedback+"], db, dbt_target)
    d = dossiers.copy()
    d["km_time"] = d.apply(lambda r: ((r.closure_date or AS_OF) - r.registration_date).days, axis=1)
    d["closed"] = d.closure_date.notna()
    d["year"] = d.registration_date.map(lambda t: str(t.year))
    con = duckdb.connect(str(db), read_only=True)
    try:
        for year, service, subset in (("all", "all", d), ("2024", "SDJ", d[(d.year == "2024") & (d.service == "SDJ")])):
            got = con.execute("select days, n_at_risk, n_events, survival, ci_low, ci_high from marts.outcome_km_curve "
                              "where registration_year = ? and service = ? and region = 'all' order by days",
                              [year, service]).df().set_index("days")
            kmf = KaplanMeierFitter().fit(subset.km_time, subset.closed)
            table = kmf.event_table
            times = [t for t in table.index if t > 0]
            assert list(got.index) == times
            assert list(got.n_at_risk) == [int(table.at_risk[t]) for t in times]
            assert list(got.n_events) == [int(table.observed[t]) for t in times]
            sf = kmf.survival_function_["KM_estimate"]
            ci = kmf.confidence_interval_
            for t in times:
                assert got.survival[t] == pytest.approx(sf[t], abs=1e-12)
                if table.observed[:t].sum() > 0 and 0 < sf[t] < 1:
                    assert got.ci_low[t] == pytest.approx(ci["KM_estimate_lower_0.95"][t], abs=1e-9)
                    assert got.ci_high[t] == pytest.approx(ci["KM_estimate_upper_0.95"][t], abs=1e-9)
    finally:
        con.close()
    # the Wilson columns beside the outcome marts' rates (SPEC 9.3)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, num in (("outcome_placement", "n_placed_365d"), ("outcome_reopening", "n_reopened_365d")):
            rate = "placement_rate" if table == "outcome_placement" else "reopening_rate"
            rows = con.execute(f"select {num}, n_observable, {rate}_ci_low, {rate}_ci_high from marts.{table}").fetchall()
            assert rows and any(n for _, n, _, _ in rows)
            for x, n, lo, hi in rows:
                if n == 0:
                    assert lo is None and hi is None
                else:
                    want = proportion_confint(x, n, alpha=0.05, method="wilson")
                    assert (lo, hi) == pytest.approx(want, abs=1e-12)
    finally:
        con.close()


def test_km_grid_against_lifelines_and_its_published_points(exposure_db, dbt_target):
    """marts.outcome_km_grid read at every grid day from lifelines' curve and pandas counts of the rows written here;
    reporting.outcome_km_curve's first pass by its rule (SPEC 6), and the LP-driven step on top of it passes the audit."""
    db, dossiers, _, _ = exposure_db
    run_dbt(["build", "--select", "+rpt_outcome_km_curve", "--exclude", "fct_feedback+", "region_period_outcomes+"],
            db, dbt_target)
    d = dossiers.copy()
    d["km_time"] = d.apply(lambda r: ((r.closure_date or AS_OF) - r.registration_date).days, axis=1)
    d["closed"] = d.closure_date.notna()
    d["year"] = d.registration_date.map(lambda t: str(t.year))
    grid = sorted(set(range(0, 721, 30)) | {365})
    con = duckdb.connect(str(db))
    try:
        for year, service, region in (("all", "all", "all"), ("2024", "SDJ", "Antwerpen"), ("2023", "all", "Limburg")):
            subset = d[((d.year == year) | (year == "all")) & ((d.service == service) | (service == "all"))
                       & ((d.region == region) | (region == "all"))]
            got = con.execute("select * from marts.outcome_km_grid where registration_year = ? and service = ? "
                              "and region = ? order by days", [year, service, region]).df().set_index("days")
            assert list(got.index) == grid
            kmf = KaplanMeierFitter().fit(subset.km_time, subset.closed)
            ci = kmf.confidence_interval_
            for t in grid:
                row = got.loc[t]
                assert row.n_dossiers == len(subset)
                assert row.n_closed_by_day == int((subset.closed & (subset.km_time <= t)).sum())
                assert row.n_censored_before_day == int((~subset.closed & (subset.km_time < t)).sum())
                assert row.n_at_risk == int((subset.km_time >= t).sum())
                if t > subset.km_time.max():
                    assert pd.isna(row.survival)
                    continue
                assert row.survival == pytest.approx(float(kmf.survival_function_at_times(t).iloc[0]), abs=1e-12)
                band = ci[ci.index <= t].iloc[-1]
                if 0 < row.survival < 1:
                    assert row.ci_low == pytest.approx(band["KM_estimate_lower_0.95"], abs=1e-9)
                    assert row.ci_high == pytest.approx(band["KM_estimate_upper_0.95"], abs=1e-9)
        # first pass: per service 'all' cohort, a point is withheld when its cohort's counts are withheld in
        # reporting.outcome_time_to_closure, or when nobody was censored before it and the dossiers closed by it, not
        # closed by it or closed since the previous grid day are 1-4; then, along the year and the region margins of
        # each day, no margin group may keep exactly one hidden closed-by count (a withheld or inexact point), so
        # more exact points may be withheld, never an inexact one
        mart = con.execute("select * from marts.outcome_km_grid where service = 'all' order by registration_year, "
                           "region, days").df()
        ttc = con.execute("select registration_year, region, n_dossiers, n_closed, n_censored "
                          "from reporting.outcome_time_to_closure where service = 'all'").df()
        rep = con.execute("select registration_year, region, days, n_dossiers, survival, ci_low, survival_suppressed, "
                          "n_dossiers_suppressed from reporting.outcome_km_curve").df()
        assert len(rep) == len(mart) and set(rep.registration_year) >= {"2023", "2024", "all"}
        cohorts_shown = {(r.registration_year, r.region) for r in ttc.itertuples()
                         if not (pd.isna(r.n_dossiers) or pd.isna(r.n_closed) or pd.isna(r.n_censored))}
        n_shown = {(r.registration_year, r.region) for r in ttc.itertuples() if not pd.isna(r.n_dossiers)}
        published = {(r.registration_year, r.region, r.days): r for r in rep.itertuples()}
        small = lambda n: 0 < n < 5  # noqa: E731
        n_hidden, extra, known = 0, 0, {}
        for (year, region), cohort in mart.groupby(["registration_year", "region"]):
            previous = 0
            for r in cohort.itertuples():
                exact = r.n_censored_before_day == 0
                forced = (year, region) not in cohorts_shown or (not pd.isna(r.survival) and small(r.n_at_risk)) or (
                    exact and (small(r.n_closed_by_day) or small(r.n_dossiers - r.n_closed_by_day)
                               or small(r.n_closed_by_day - previous)))
                previous = r.n_closed_by_day
                p = published[(year, region, r.days)]
                known[(year, region, r.days)] = exact and not pd.isna(p.survival)
                if pd.isna(r.survival):
                    assert pd.isna(p.survival) and not p.survival_suppressed
                elif forced:
                    n_hidden += 1
                    assert pd.isna(p.survival) and pd.isna(p.ci_low) and p.survival_suppressed
                elif pd.isna(p.survival):           # withheld along a margin: only an exact point
                    extra += 1
                    assert exact and p.survival_suppressed
                else:
                    assert p.survival == pytest.approx(r.survival, abs=1e-9) and not p.survival_suppressed
                assert pd.isna(p.n_dossiers) == ((year, region) not in n_shown)   # as in outcome_time_to_closure
        for pos in (0, 1):                          # margins along year, then region, per day
            groups: dict[tuple, list[bool]] = {}
            for (year, region, day), is_known in known.items():
                key = (year, region)
                if key[pos] != "all":
                    total = key[:pos] + ("all",) + key[pos + 1:]
                    groups.setdefault((total, day), [known[(*total, day)]]).append(is_known)
            assert all(group.count(False) != 1 for group in groups.values())
        assert n_hidden > 0     # the hand-made cohorts are small enough that the rule bites
        from orchestration.disclosure.protect import audit_reporting, protect_reporting
        assert protect_reporting(con, 5).passed and audit_reporting(con, 5).passed
        after = con.execute("select count(*) from reporting.outcome_km_curve where survival is not null").fetchone()[0]
        assert after <= int(rep.survival.notna().sum())
    finally:
        con.close()


def test_unit_comparison_and_implementation_panel_on_a_hand_case(project_env, monkeypatch, dbt_target):
    """Two regions (one team each), one registration year and age band, two services:
    OCJ: Antwerpen 5/10 placed, Limburg 1/10 -> reference 6/20 = 0.3; SDJ: Antwerpen 8/10, Limburg 2/5 -> 10/15.
    Antwerpen: n 20, O 13, E = 10 x 0.3 + 10 x 2/3 = 9.667; Limburg: n 15, O 3, E = 10 x 0.3 + 5 x 2/3 = 6.333.
    Funnel limits: quantiles of Binomial(n, E / n) (scipy) divided by E."""
    from scipy.stats import binom

    impl = project_env / "implementation.yaml"
    impl.write_text("rollout:\n  Antwerpen: 2023-04-01\n", encoding="utf-8")
    monkeypatch.setenv("SOFS_IMPLEMENTATION_FILE", str(impl))
    reg, start = dt.date(2023, 3, 1), dt.date(2023, 4, 1)
    dossiers, placements = [], []
    for region, team, service, n, placed in (("Antwerpen", "TA", "OCJ", 10, 5), ("Limburg", "TB", "OCJ", 10, 1),
                                             ("Antwerpen", "TA", "SDJ", 10, 8), ("Limburg", "TB", "SDJ", 5, 2)):
        for i in range(n):
            key = f"{region[:3]}{service}{i}"
            dossiers.append({"dossier_key": key, "child_key": "C" + key, "service": service, "region": region,
                             "team_key": team, "team": team, "registration_date": reg, "closure_date": None,
                             "closure_reason": None, "birth_year": 2012, "sex": "M", "source_line": len(dossiers) + 1})
            if i < placed:
                placements.append({"placement_key": "P" + key, "dossier_key": key, "start_date": start, "end_date": None,
                                   "placement_type": "residential", "source_line": len(placements) + 1})
    db = project_env / "warehouse.duckdb"
    with warehouse.write_connection(db) as con:
        evaluation.sync_rollout(con, warn=lambda line: None)
        with warehouse.transaction(con):
            history.load_extract(con, AS_OF, AS_OF.isoformat(), "test", {
                "raw.dossiers": pd.DataFrame(dossiers), "raw.placements": pd.DataFrame(placements)})
    run_dbt(["build", "--select", "+unit_comparison", "+implementation_panel", "--exclude", "fct_feedback+"], db, dbt_target)
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = con.execute("select unit_level, region, n, observed, expected, oe_ratio, limit95_low, limit95_high, "
                          "limit998_low, limit998_high, flag from marts.unit_comparison "
                          "where indicator = 'placement_365d' and period = 'all' order by region, unit_level").fetchall()
        panel = con.execute("select quarter, registrations, placements_started, event_time_quarters, rollout_period "
                            "from marts.implementation_panel where region = 'Antwerpen' and service = 'OCJ' "
                            "order by quarter limit 2").fetchall()
        limburg = con.execute("select distinct rollout_period from marts.implementation_panel "
                              "where region = 'Limburg'").fetchall()
    finally:
        con.close()
    for unit_level in ("region", "team"):
        rows = [r for r in got if r[0] == unit_level]
        for (_, region, n, o, e, oe, l95, h95, l998, h998, flag), (want_n, want_o, want_e) in zip(
                rows, [(20, 13, 10 * 0.3 + 10 * 2 / 3), (15, 3, 10 * 0.3 + 5 * 2 / 3)]):
            assert (n, o) == (want_n, want_o) and e == pytest.approx(want_e, abs=1e-12)
            assert oe == pytest.approx(want_o / want_e, abs=1e-12)
            q = {a: binom.ppf(a, want_n, want_e / want_n) for a in (0.025, 0.975, 0.001, 0.999)}
            assert (l95, h95, l998, h998) == pytest.approx(
                (q[0.025] / want_e, q[0.975] / want_e, q[0.001] / want_e, q[0.999] / want_e), abs=1e-12)
            want_flag = ("above_99.8" if o > q[0.999] else "below_99.8" if o < q[0.001] else
                         "above_95" if o > q[0.975] else "below_95" if o < q[0.025] else "within")
            assert flag == want_flag
    # 10 OCJ registrations in 2023-Q1, 5 placements in 2023-Q2; roll-out 2023-04-01 = 2023-Q2 (event time 0)
    assert panel == [("2023-Q1", 10, 0, -1, "pre"), ("2023-Q2", 0, 5, 0, "post")]
    assert limburg == [(None,)]   # no roll-out date for Limburg
