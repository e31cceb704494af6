"""Kaplan-Meier in SQL against lifelines on the demo dossiers (SPEC 5), and the demo data.

The demo extracts are generated into a temporary landing zone, loaded into raw with the reader and
pseudonymisation (plain Python, as the Dagster asset does), and the dossier models are built with dbt.
The reference is computed from the latest extract's ``dossiers.csv`` with pandas and lifelines only,
never from the warehouse.
"""
from __future__ import annotations

import hashlib
import math
import warnings
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration import history, warehouse
from orchestration.demo.dossiers import EXTRACT_DATES, REGIONS, write_demo_dossiers
from orchestration.readers.dossiers import pseudonymise_extract, read_dossier_extract
from tests.conftest import TEST_KEY, run_dbt

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifelines warns that it wants pandas < 3
    from lifelines import KaplanMeierFitter

pytestmark = pytest.mark.filterwarnings("ignore::lifelines.utils.ApproximationWarning")

AS_OF = EXTRACT_DATES[-1]
TOLERANCE = 1e-9  # docs/decisions.md, D7: S(t) <= 1 - q + 1e-9 at exact fractions
QUANTILES = {"km_p25_days": 0.75, "km_median_days": 0.5, "km_p75_days": 0.25}  # column -> S level


def load_landing(landing: Path, db: Path) -> None:
    """Every demo extract into raw, as the dossier asset does it (read, pseudonymise, replace)."""
    con = duckdb.connect(str(db))
    try:
        con.execute(warehouse.RAW_DDL)
        for folder in sorted((landing / "dossiers").iterdir()):
            read = read_dossier_extract(folder, date.fromisoformat(folder.name))
            frames = pseudonymise_extract(read, TEST_KEY.encode())
            for frame in frames.values():
                frame["load_id"] = f"test-{folder.name}"
            history.load_extract(con, date.fromisoformat(folder.name), folder.name, f"test-{folder.name}", frames)
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, dbt_target):
    base = tmp_path_factory.mktemp("km_demo")
    landing = base / "landing"
    files = write_demo_dossiers(landing)
    db = base / "demo.duckdb"
    load_landing(landing, db)
    run_dbt(["build", "--select", "@source:raw_dossiers"], db, dbt_target)
    con = duckdb.connect(str(db), read_only=True)
    yield {"landing": landing, "files": files, "con": con}
    con.close()


@pytest.fixture(scope="module")
def reference(demo) -> pd.DataFrame:
    """Durations from the latest extract's CSV, with pandas only: one row per dossier."""
    d = pd.read_csv(demo["landing"] / "dossiers" / AS_OF.isoformat() / "dossiers.csv", dtype=str,
                    keep_default_na=False, encoding="utf-8")
    registration = pd.to_datetime(d["registration_date"], format="%Y-%m-%d")
    closure = pd.to_datetime(d["closure_date"].replace("", None), format="%Y-%m-%d")
    end = closure.fillna(pd.Timestamp(AS_OF))
    return pd.DataFrame({
        "registration_year": registration.dt.year.astype(str), "service": d["service"], "region": d["region"],
        "duration": (end - registration).dt.days, "closed": closure.notna(),
    })


def mart_rows(con) -> list[dict]:
    cursor = con.execute("select * from marts.outcome_time_to_closure")
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def select_group(ref: pd.DataFrame, row: dict) -> pd.DataFrame:
    mask = np.ones(len(ref), dtype=bool)
    for column in ("registration_year", "service", "region"):
        if row[column] != "all":
            mask &= (ref[column] == row[column]).to_numpy()
    return ref[mask]


def test_every_km_quantile_agrees_with_lifelines(demo, reference):
    rows = mart_rows(demo["con"])
    years = sorted(reference["registration_year"].unique())
    # every cell and margin of the population is there: (years+1) x 3 x 6 at most, all margins present
    assert len({(r["registration_year"], r["service"], r["region"]) for r in rows}) == len(rows)
    assert {r["registration_year"] for r in rows} == set(years) | {"all"}
    ties = 0
    for row in rows:
        group = select_group(reference, row)
        assert (row["n_dossiers"], row["n_closed"]) == (len(group), int(group["closed"].sum())), row
        assert row["n_censored"] == len(group) - int(group["closed"].sum())
        kmf = KaplanMeierFitter().fit(group["duration"], event_observed=group["closed"])
        curve = kmf.survival_function_.iloc[:, 0]
        for column, level in QUANTILES.items():
            reached = curve.index[curve.to_numpy() <= level + TOLERANCE]
            expected = int(reached.min()) if len(reached) else None
            assert row[column] == expected, (row, column)
            lifelines_value = kmf.percentile(level)
            if expected is None:
                assert math.isinf(lifelines_value)
            elif lifelines_value != expected:
                # only where S(t) equals the level as an exact fraction and lifelines' float lands above it
                assert abs(curve.loc[expected] - level) <= TOLERANCE, (row, column, lifelines_value)
                ties += 1
        if row["km_closed_within_365d"] is None:
            assert group["duration"].max() < 365 and curve.iloc[-1] > 0, row
        else:
            assert row["km_closed_within_365d"] == pytest.approx(1 - float(kmf.predict(365)), abs=1e-9), row
        closed = group.loc[group["closed"], "duration"]
        if len(closed):
            assert row["naive_median_closed_days"] == pytest.approx(float(np.median(closed))), row
        else:
            assert row["naive_median_closed_days"] is None
    print(f"{len(rows)} rows compared; {ties} quantiles at exact ties where lifelines reports a later time")


def test_demo_population_is_plausible(demo, reference):
    ref = reference
    assert 5500 <= len(ref) <= 6500
    assert set(ref["region"]) == set(REGIONS) and set(ref["service"]) == {"OCJ", "SDJ"}
    assert ref["registration_year"].min() == "2019" and ref["registration_year"].max() == "2025"
    assert 0.6 < ref["closed"].mean() < 0.9  # most closed, some open
    closed = ref.loc[ref["closed"], "duration"]
    assert closed.min() < 30 and closed.max() > 3 * 365  # weeks to years
    con = demo["con"]
    placed, reopened, practice_2019, practice_2025 = con.execute("""
        select avg(case when n_placements > 0 then 1.0 else 0 end),
               avg(case when reopened_within_365d then 1.0 when reopened_within_365d is not null then 0.0 end),
               avg(case when registration_year = 2019 then (n_practice_events > 0)::int end),
               avg(case when registration_year = 2025 then (n_practice_events > 0)::int end)
        from marts.fct_dossier""").fetchall()[0]
    assert 0.09 < placed < 0.16          # roughly one dossier in eight
    assert 0.12 < reopened < 0.22        # roughly one observable closed dossier in six
    assert practice_2019 < 0.25 < 0.6 < practice_2025  # the SofS practice share grows


def test_demo_extracts_agree_with_each_other(demo):
    """A closure, once shown, stays (same date) in later extracts, except the few corrected records."""
    con = demo["con"]
    changed = con.execute("""
        select count(*) from raw.dossier_versions a join raw.dossier_versions b
          on a.dossier_key = b.dossier_key and b.valid_from > a.valid_from
        where a.closure_date is not null and (b.closure_date is null or b.closure_date <> a.closure_date)
    """).fetchall()[0][0]
    assert changed == 0
    n_extracts, corrected, vanished = con.execute("""
        with first_last as (
            select dossier_key, count(distinct registration_date) as n_reg, count(distinct child_key) as n_child,
                   count(*) filter (where valid_to is null) as n_open
            from raw.dossier_versions group by dossier_key)
        select (select count(*) from raw.dossier_extracts),
               count(*) filter (where n_reg > 1 or n_child > 1),
               count(*) filter (where n_open = 0)
        from first_last""").fetchall()[0]
    assert n_extracts == 16
    assert 5 <= corrected <= 20   # a few corrected registration dates and child ids
    assert vanished == 2          # two dossiers registered in error


def test_demo_files_mix_formats_and_are_deterministic(demo, tmp_path):
    files = demo["files"]
    assert len(files) == 48
    first = files[0].read_bytes()
    assert b";" in first.split(b"\r\n", 1)[0] and b"/" in first.split(b"\r\n")[1]  # 2022: ';', DD/MM/YYYY
    last = files[-3].read_bytes()
    assert last.startswith(b"dossier_id,") and b"2025-" in last                    # 2025: ',', ISO
    assert any(b"\x96" in f.read_bytes() for f in files if "2022-" in str(f))   # cp1252 en dash
    again = write_demo_dossiers(tmp_path / "again")
    assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in again] == \
           [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    other = write_demo_dossiers(tmp_path / "other", seed=7)
    assert other[-3].read_bytes() != files[-3].read_bytes()


def outcome_reference(folder: Path, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-dossier 365-day placement and reopening flags (SPEC 5) from the extract's CSVs, pandas only.

    Placement: a placement starts in [registration_date, registration_date + 365]; the window is
    complete when registration_date + 365 <= as_of. Reopening (closed dossiers): the same child_id has
    a dossier registered in (closure_date, closure_date + 365]; complete when closure_date + 365 <= as_of.
    """
    read = dict(dtype=str, keep_default_na=False, encoding="utf-8")
    d = pd.read_csv(folder / "dossiers.csv", **read)
    p = pd.read_csv(folder / "placements.csv", **read)
    end_of_data = pd.Timestamp(as_of)
    year = pd.Timedelta(days=365)
    registration = pd.to_datetime(d["registration_date"], format="%Y-%m-%d")
    closure = pd.to_datetime(d["closure_date"].replace("", None), format="%Y-%m-%d")

    spells = p.assign(start=pd.to_datetime(p["start_date"], format="%Y-%m-%d")).merge(
        pd.DataFrame({"dossier_id": d["dossier_id"], "registration": registration}), on="dossier_id")
    in_window = (spells["start"] >= spells["registration"]) & (spells["start"] <= spells["registration"] + year)
    placed = d["dossier_id"].isin(set(spells.loc[in_window, "dossier_id"]))
    placement = pd.DataFrame({
        "registration_year": registration.dt.year.astype(str), "service": d["service"], "region": d["region"],
        "complete": (registration + year <= end_of_data).to_numpy(), "event": placed.to_numpy(),
    })

    closed = pd.DataFrame({"dossier_id": d["dossier_id"], "child_id": d["child_id"], "closure": closure,
                           "service": d["service"], "region": d["region"]})[closure.notna()]
    later = closed[["dossier_id", "child_id", "closure"]].merge(
        pd.DataFrame({"child_id": d["child_id"], "other_registration": registration}), on="child_id")
    hit = (later["other_registration"] > later["closure"]) & (later["other_registration"] <= later["closure"] + year)
    reopened = closed["dossier_id"].isin(set(later.loc[hit, "dossier_id"]))
    reopening = pd.DataFrame({
        "closure_year": closed["closure"].dt.year.astype(str), "service": closed["service"],
        "region": closed["region"], "complete": (closed["closure"] + year <= end_of_data).to_numpy(),
        "event": reopened.to_numpy(),
    })
    return placement.reset_index(drop=True), reopening.reset_index(drop=True)


def cells_with_margins(ref: pd.DataFrame, keys: tuple[str, ...]) -> set[tuple[str, ...]]:
    cells = set()
    for combo in ref[list(keys)].drop_duplicates().itertuples(index=False):
        for mask in range(2 ** len(keys)):
            cells.add(tuple("all" if mask >> i & 1 else value for i, value in enumerate(combo)))
    return cells


def select_cell(ref: pd.DataFrame, keys: tuple[str, ...], row: dict) -> pd.DataFrame:
    mask = np.ones(len(ref), dtype=bool)
    for column in keys:
        if row[column] != "all":
            mask &= (ref[column] == row[column]).to_numpy()
    return ref[mask]


@pytest.mark.parametrize("mart, keys, n_total, n_event, rate", [
    ("outcome_placement", ("registration_year", "service", "region"), "n_dossiers", "n_placed_365d",
     "placement_rate"),
    ("outcome_reopening", ("closure_year", "service", "region"), "n_closed", "n_reopened_365d",
     "reopening_rate"),
])
def test_complete_window_rates_agree_with_pandas(demo, mart, keys, n_total, n_event, rate):
    """SPEC 5 complete-window rule, every row and margin, recomputed from the latest extract's CSVs."""
    placement, reopening = outcome_reference(demo["landing"] / "dossiers" / AS_OF.isoformat(), AS_OF)
    ref = placement if mart == "outcome_placement" else reopening
    cursor = demo["con"].execute(f"select * from marts.{mart}")
    names = [c[0] for c in cursor.description]
    rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    assert {tuple(str(r[k]) for k in keys) for r in rows} == cells_with_margins(ref, keys)
    assert len(rows) == len(cells_with_margins(ref, keys))
    for row in rows:
        group = select_cell(ref, keys, {k: str(row[k]) for k in keys})
        complete = group[group["complete"]]
        n_complete, n_events = len(complete), int(complete["event"].sum())
        expected = {n_total: len(group), "n_window_complete": n_complete,
                    "n_window_running": len(group) - n_complete, "n_observable": n_complete, n_event: n_events}
        assert {k: row[k] for k in expected} == expected, row
        if n_complete:
            assert row[rate] == pytest.approx(n_events / n_complete, abs=1e-12), row
        else:
            assert row[rate] is None, row


def test_demo_placement_rate_over_complete_windows(demo):
    """Published check: 0.124 over complete windows (0.149 under the old rule that counted running ones)."""
    (value,) = demo["con"].execute("""
        select placement_rate from marts.outcome_placement
        where registration_year = 'all' and service = 'all' and region = 'all'""").fetchone()
    assert value == pytest.approx(0.124, abs=5e-4)
