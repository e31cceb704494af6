"""One small test per dossier-extract quality rule (orchestration/quality/dossiers.py; SPEC 3.4).

Each test starts from a hand-written clean extract (three dossiers, two placements, three practice
events, as the dossier reader's ``pseudonymise_extract`` returns them: raw-table columns with
``source_line``), breaks one thing, and asserts the rule's code, verdict, severity and exact sample
lines. The dossier part of the catalogue of bad inputs is covered at the rule level. The GX context is built
once per process.

``test_benchmark_scale`` (1,000,000 dossiers / 150,000 placements / 5,000,000 events) runs only with
``SOFS_BENCH=1``.
"""
from __future__ import annotations

import datetime as dt
import os
import time

import numpy as np
import pandas as pd
import pytest

from orchestration.contracts.dossier_extract import CONTRACT, EVENT_TYPES, PLACEMENT_TYPES, REGIONS
from orchestration.quality.dossiers import DOSSIER_RULES, check_dossier_extract
from orchestration.quality.results import ERROR, WARNING, rule_table

EXTRACT = dt.date(2024, 3, 31)
FILES = {"raw.dossiers": "dossiers/2024-03-31/dossiers.csv",
         "raw.placements": "dossiers/2024-03-31/placements.csv",
         "raw.practice_events": "dossiers/2024-03-31/practice_events.csv"}
DATES = ("registration_date", "closure_date", "start_date", "end_date", "event_date")


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for col in DATES:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col])
    return df


def extract() -> dict[str, pd.DataFrame]:
    """A clean extract. Lines: dossiers 2-4, placements 2-3, events 2-4."""
    return {
        "raw.dossiers": frame([
            dict(source_line=2, dossier_key="D1", child_key="C1", service="OCJ", region="Antwerpen", team="T1",
                 registration_date="2020-01-10", closure_date="2021-06-30", closure_reason="doelen_bereikt",
                 birth_year=2012, sex="V"),
            dict(source_line=3, dossier_key="D2", child_key="C2", service="SDJ", region="Limburg", team=None,
                 registration_date="2021-03-01", closure_date=None, closure_reason=None, birth_year=2015, sex="M"),
            dict(source_line=4, dossier_key="D3", child_key="C1", service="OCJ", region="West-Vlaanderen",
                 team="T2", registration_date="2022-05-15", closure_date="2024-03-31", closure_reason=None,
                 birth_year=None, sex=None),
        ]),
        "raw.placements": frame([
            dict(source_line=2, placement_key="P1", dossier_key="D1", start_date="2020-02-01",
                 end_date="2020-12-31", placement_type="foster_family"),
            # 30 days before registration: still within the grace period
            dict(source_line=3, placement_key="P2", dossier_key="D2", start_date="2021-01-30",
                 end_date=None, placement_type="residential"),
        ]),
        "raw.practice_events": frame([
            dict(source_line=2, event_key="E1", dossier_key="D1", event_date="2020-01-20", event_type="mapping",
                 value=None, rated_by=None),
            dict(source_line=3, event_key="E2", dossier_key="D1", event_date="2020-03-01",
                 event_type="scaling_question", value=4.0, rated_by="parent"),
            dict(source_line=4, event_key="E3", dossier_key="D3", event_date="2024-03-31", event_type="safety_plan",
                 value=None, rated_by=None),
        ]),
    }


def previous() -> pd.DataFrame:
    """The previous extract's raw.dossiers rows: the same D1 and D2."""
    return frame([dict(dossier_key="D1", child_key="C1", registration_date="2020-01-10"),
                  dict(dossier_key="D2", child_key="C2", registration_date="2021-03-01")])


def run(frames=None, prev=None, first=False):
    frames = extract() if frames is None else frames
    return check_dossier_extract(frames, EXTRACT, None if first else (previous() if prev is None else prev), FILES)


def result(results, code: str):
    (found,) = [r for r in results if r.code == code]
    return found


def assert_fails(results, code: str, severity: str, lines: list[int], rows: int | None = None):
    r = result(results, code)
    assert not r.passed, f"{code} passed"
    assert r.severity == severity
    assert r.sample_lines == lines
    assert r.failing_rows == (len(lines) if rows is None else rows)
    assert r.blocks == (severity == ERROR)
    others = [x.code for x in results if not x.passed and x.code != code]
    return r, others


def set_cell(frames, table: str, line: int, column: str, value):
    df = frames[table]
    df.loc[df["source_line"] == line, column] = value
    return frames


# --- the table itself ---------------------------------------------------------------------------

def test_clean_extract_passes_every_rule_once_in_table_order():
    results = run()
    assert [r.code for r in results] == [r.spec.code for r in DOSSIER_RULES]
    failed = [r.describe() for r in results if not r.passed]
    assert failed == []


def test_rule_table_is_data_and_built_from_the_contract():
    codes = [r.spec.code for r in DOSSIER_RULES]
    assert len(codes) == len(set(codes)) and all(c.startswith("D_") for c in codes)
    assert all(r.spec.stage in (1, 2) and r.spec.severity in (ERROR, WARNING) for r in DOSSIER_RULES)
    required = [f"D_{fc.tag}_{f.source.upper()}_REQUIRED" for fc in CONTRACT for f in fc.fields if f.required]
    assert set(required) <= set(codes)
    region = next(r for r in DOSSIER_RULES if r.spec.code == "D_DOSSIERS_REGION_IN_LIST")
    assert region.expects(EXTRACT)[0].values == REGIONS
    assert "| `D_CLOSURE_AFTER_REGISTRATION` | 2 | error |" in rule_table(DOSSIER_RULES)


def test_first_extract_without_practice_events_file():
    frames = extract()
    del frames["raw.practice_events"]
    results = run(frames, first=True)
    assert all(r.passed for r in results)
    assert "not in this extract" in result(results, "D_EVENTS_EVENT_ID_UNIQUE").message
    assert "first extract" in result(results, "D_CHILD_ID_UNCHANGED").message


def test_dates_as_python_date_objects_are_accepted():
    frames = extract()
    for df in frames.values():
        for col in DATES:
            if col in df.columns:
                df[col] = pd.Series([None if pd.isna(v) else v.date() for v in df[col]], dtype="object")
    assert all(r.passed for r in run(frames))
    frames["raw.dossiers"].loc[0, "closure_date"] = dt.date(2019, 1, 1)
    assert_fails(run(frames), "D_CLOSURE_AFTER_REGISTRATION", ERROR, [2])


# --- stage 1: required values, uniqueness, code lists, ranges -------------------------------------

def test_empty_dossiers_file_is_an_error():
    frames = {table: df.iloc[:0] for table, df in extract().items()}
    r, others = assert_fails(run(frames, first=True), "D_DOSSIERS_NOT_EMPTY", ERROR, [1], rows=1)
    assert others == [] and r.source_file == FILES["raw.dossiers"]


REQUIRED = [(fc.table, f.raw, f"D_{fc.tag}_{f.source.upper()}_REQUIRED")
            for fc in CONTRACT for f in fc.fields if f.required]


@pytest.mark.parametrize("table,column,code", REQUIRED, ids=[c for _, _, c in REQUIRED])
def test_required_value_empty(table, column, code):
    frames = set_cell(extract(), table, 3, column, None)
    r, _ = assert_fails(run(frames), code, ERROR, [3])
    assert r.stage == 1 and r.source_file == FILES[table]


def test_required_column_absent_fails_every_row():
    frames = extract()
    frames["raw.dossiers"] = frames["raw.dossiers"].drop(columns=["region"])
    assert_fails(run(frames), "D_DOSSIERS_REGION_REQUIRED", ERROR, [2, 3, 4])


def test_duplicate_dossier_id():
    frames = set_cell(extract(), "raw.dossiers", 4, "dossier_key", "D1")
    r, others = assert_fails(run(frames), "D_DOSSIERS_DOSSIER_ID_UNIQUE", ERROR, [2, 4])
    assert r.columns == ["dossier_id"] and r.stage == 1
    # consequences: D3's event now points at no dossier, and line 4 "D1" differs from the previous D1
    assert others == ["D_EVENT_DOSSIER_KNOWN", "D_REGISTRATION_DATE_UNCHANGED"]


@pytest.mark.parametrize("table,column,code", [
    ("raw.placements", "placement_key", "D_PLACEMENTS_PLACEMENT_ID_UNIQUE"),
    ("raw.practice_events", "event_key", "D_EVENTS_EVENT_ID_UNIQUE"),
])
def test_duplicate_placement_or_event_id(table, column, code):
    frames = set_cell(extract(), table, 2, column, "X")
    frames = set_cell(frames, table, 3, column, "X")
    assert_fails(run(frames), code, ERROR, [2, 3])


def test_unknown_region():
    frames = set_cell(extract(), "raw.dossiers", 3, "region", "Brussel")
    r, others = assert_fails(run(frames), "D_DOSSIERS_REGION_IN_LIST", ERROR, [3])
    # the value is described, never shown (SPEC 6): 7 letters
    assert "'Brussel'" not in r.message and "<value withheld: 7 characters, letters>" in r.message and others == []


def test_unknown_service():
    frames = set_cell(extract(), "raw.dossiers", 4, "service", "CBJ")
    r, others = assert_fails(run(frames), "D_DOSSIERS_SERVICE_IN_LIST", ERROR, [4])
    assert "CBJ" not in r.message and "<value withheld: 3 characters, letters>" in r.message and others == []


@pytest.mark.parametrize("table,line,column,bad,code", [
    ("raw.dossiers", 3, "sex", "F", "D_DOSSIERS_SEX_IN_LIST"),
    ("raw.placements", 3, "placement_type", "hospital", "D_PLACEMENTS_PLACEMENT_TYPE_IN_LIST"),
    ("raw.practice_events", 2, "event_type", "genogram", "D_EVENTS_EVENT_TYPE_IN_LIST"),
    ("raw.practice_events", 3, "rated_by", "teacher", "D_EVENTS_RATED_BY_IN_LIST"),
])
def test_code_outside_the_list(table, line, column, bad, code):
    frames = set_cell(extract(), table, line, column, bad)
    r, others = assert_fails(run(frames), code, ERROR, [line])
    assert repr(bad) not in r.message and f"<value withheld: {len(bad)} character" in r.message and others == []


def test_codes_lists_come_from_the_spec():
    assert "kinship_foster" in PLACEMENT_TYPES and "words_and_pictures" in EVENT_TYPES


def test_dbt_event_types_are_the_contract_list():
    # the dbt var practice_event_types (staging accepted_values, marts.practice_breadth) is the contract's list
    # (orchestration/contracts/dossier_extract.py EVENT_TYPES; dbt cannot import it)
    import yaml

    from orchestration.settings import DBT_PROJECT_DIR

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    assert tuple(project["vars"]["practice_event_types"]) == EVENT_TYPES


def test_scaling_value_out_of_range():
    frames = set_cell(extract(), "raw.practice_events", 3, "value", 11.0)
    assert_fails(run(frames), "D_EVENTS_VALUE_IN_RANGE", ERROR, [3])


def test_scaling_fields_on_other_events_or_missing_value_warn():
    frames = set_cell(extract(), "raw.practice_events", 2, "value", 5.0)           # mapping with a value
    frames = set_cell(frames, "raw.practice_events", 4, "rated_by", "worker")      # safety plan with a rater
    r, others = assert_fails(run(frames), "D_EVENTS_SCALING_FIELDS", WARNING, [2, 4])
    assert others == []
    frames = set_cell(extract(), "raw.practice_events", 3, "value", None)          # scaling without value
    assert_fails(run(frames), "D_EVENTS_SCALING_FIELDS", WARNING, [3])


# --- stage 2: dates, references, order ------------------------------------------------------------

def test_closure_before_registration():
    frames = set_cell(extract(), "raw.dossiers", 2, "closure_date", pd.Timestamp("2020-01-09"))
    r, others = assert_fails(run(frames), "D_CLOSURE_AFTER_REGISTRATION", ERROR, [2])
    assert r.stage == 2 and r.columns == ["registration_date", "closure_date"]
    assert others == ["D_PLACEMENT_NOT_AFTER_CLOSURE"]  # D1's placement now starts after its closure


def test_closure_on_registration_day_is_fine():
    frames = set_cell(extract(), "raw.dossiers", 3, "closure_date", pd.Timestamp("2021-03-01"))
    assert result(run(frames), "D_CLOSURE_AFTER_REGISTRATION").passed


def test_placement_ending_before_it_starts():
    frames = set_cell(extract(), "raw.placements", 2, "end_date", pd.Timestamp("2020-01-31"))
    r, others = assert_fails(run(frames), "D_PLACEMENT_END_AFTER_START", ERROR, [2])
    assert r.source_file == FILES["raw.placements"] and others == []


def test_placement_of_unknown_dossier():
    frames = set_cell(extract(), "raw.placements", 3, "dossier_key", "D9")
    r, others = assert_fails(run(frames), "D_PLACEMENT_DOSSIER_KNOWN", ERROR, [3])
    assert r.columns == ["dossier_id"] and others == []


def test_event_of_unknown_dossier():
    frames = set_cell(extract(), "raw.practice_events", 4, "dossier_key", "D9")
    assert_fails(run(frames), "D_EVENT_DOSSIER_KNOWN", ERROR, [4])


@pytest.mark.parametrize("table,line,column,code", [
    ("raw.dossiers", 3, "closure_date", "D_DOSSIERS_DATES_NOT_AFTER_EXTRACT"),
    ("raw.dossiers", 4, "registration_date", "D_DOSSIERS_DATES_NOT_AFTER_EXTRACT"),
    ("raw.placements", 3, "end_date", "D_PLACEMENTS_DATES_NOT_AFTER_EXTRACT"),
    ("raw.practice_events", 4, "event_date", "D_EVENTS_DATES_NOT_AFTER_EXTRACT"),
])
def test_date_after_the_extract_date(table, line, column, code):
    frames = set_cell(extract(), table, line, column, pd.Timestamp("2024-04-01"))
    r, _ = assert_fails(run(frames), code, ERROR, [line])
    assert "2024-03-31" in r.message and r.stage == 2


def test_placement_more_than_30_days_before_registration_warns():
    frames = set_cell(extract(), "raw.placements", 3, "start_date", pd.Timestamp("2021-01-29"))  # 31 days
    r, others = assert_fails(run(frames), "D_PLACEMENT_NOT_LONG_BEFORE_REGISTRATION", WARNING, [3])
    assert others == [] and r.source_file == FILES["raw.placements"]


def test_placement_after_closure_warns():
    frames = set_cell(extract(), "raw.placements", 2, "start_date", pd.Timestamp("2021-07-01"))
    frames = set_cell(frames, "raw.placements", 2, "end_date", pd.Timestamp("2021-08-01"))
    r, others = assert_fails(run(frames), "D_PLACEMENT_NOT_AFTER_CLOSURE", WARNING, [2])
    assert others == []


# --- stage 2: cross-extract consistency -----------------------------------------------------------

def test_dossier_of_previous_extract_missing_warns():
    prev = pd.concat([previous(), frame([dict(dossier_key="D0", child_key="C0", registration_date="2019-05-01")])])
    r, others = assert_fails(run(prev=prev), "D_PREVIOUS_DOSSIERS_PRESENT", WARNING, [], rows=1)
    assert "1 of 3 dossiers" in r.message and others == []


def test_registration_date_changed_since_previous_extract_warns():
    prev = previous()
    prev.loc[prev["dossier_key"] == "D2", "registration_date"] = pd.Timestamp("2021-02-01")
    r, others = assert_fails(run(prev=prev), "D_REGISTRATION_DATE_UNCHANGED", WARNING, [3])
    assert others == []


def test_child_id_changed_since_previous_extract_warns():
    prev = previous()
    prev.loc[prev["dossier_key"] == "D1", "child_key"] = "C7"
    r, others = assert_fails(run(prev=prev), "D_CHILD_ID_UNCHANGED", WARNING, [2])
    assert r.columns == ["dossier_id", "child_id"] and others == []


def test_new_dossier_is_not_a_change():
    # D3 is not in the previous extract: new, not changed
    results = run()
    assert result(results, "D_REGISTRATION_DATE_UNCHANGED").passed
    assert result(results, "D_CHILD_ID_UNCHANGED").passed


def test_warnings_alone_do_not_block():
    prev = previous()
    prev.loc[prev["dossier_key"] == "D1", "child_key"] = "C7"
    results = run(prev=prev)
    assert any(not r.passed for r in results) and not any(r.blocks for r in results)


# --- benchmark scale (SOFS_BENCH=1) ---------------------------------------------------------------

def benchmark_frames(n_dossiers: int, n_placements: int, n_events: int, seed: int = 7, key_dtype: str = "str"):
    """Valid frames at scale shaped like ``pseudonymise_extract``'s: 64-hex keys (pandas ``str``, Arrow),
    codes as ``str``, datetime64 dates. ``key_dtype="object"`` gives Python-object keys instead."""
    rng = np.random.default_rng(seed)
    last = pd.Timestamp(EXTRACT)

    def keys(prefix: str, idx) -> pd.Series:
        return pd.Series([f"{prefix}{i:060x}" for i in idx], dtype=key_dtype)

    dossier_keys = keys("d000", range(n_dossiers))
    reg = pd.Series(pd.Timestamp("2014-01-01") + pd.to_timedelta(rng.integers(0, 3700, n_dossiers), unit="D"))
    closure = reg + pd.to_timedelta(rng.integers(0, 900, n_dossiers), unit="D")
    closure = closure.where((rng.random(n_dossiers) < 0.6) & (closure <= last))
    dossiers = pd.DataFrame({
        "source_line": np.arange(2, n_dossiers + 2), "dossier_key": dossier_keys,
        "child_key": keys("c000", rng.integers(0, int(n_dossiers * 0.8), n_dossiers)),
        "service": pd.Series(np.array(["OCJ", "SDJ"])[rng.integers(0, 2, n_dossiers)], dtype="str"),
        "region": pd.Series(np.array(REGIONS)[rng.integers(0, 5, n_dossiers)], dtype="str"),
        "team": np.array([f"team {i}" for i in range(40)])[rng.integers(0, 40, n_dossiers)],
        "registration_date": reg, "closure_date": closure, "closure_reason": None,
        "birth_year": rng.integers(2000, 2024, n_dossiers),
        "sex": np.array(["M", "V", "X"])[rng.integers(0, 3, n_dossiers)]})
    which = rng.integers(0, n_dossiers, n_placements)
    start = (reg.iloc[which].reset_index(drop=True)
             + pd.to_timedelta(rng.integers(0, 300, n_placements), unit="D")).clip(upper=last)
    end = (start + pd.to_timedelta(rng.integers(0, 400, n_placements), unit="D"))
    end = end.where((rng.random(n_placements) < 0.7) & (end <= last))
    placements = pd.DataFrame({
        "source_line": np.arange(2, n_placements + 2), "placement_key": keys("p000", range(n_placements)),
        "dossier_key": dossier_keys.iloc[which].reset_index(drop=True), "start_date": start, "end_date": end,
        "placement_type": pd.Series(np.array(PLACEMENT_TYPES)[rng.integers(0, 5, n_placements)], dtype="str")})
    which = rng.integers(0, n_dossiers, n_events)
    types = np.array(EVENT_TYPES)[rng.integers(0, 6, n_events)]
    scaling = types == "scaling_question"
    events = pd.DataFrame({
        "source_line": np.arange(2, n_events + 2), "event_key": keys("e000", range(n_events)),
        "dossier_key": dossier_keys.iloc[which].reset_index(drop=True),
        "event_date": (reg.iloc[which].reset_index(drop=True)
                       + pd.to_timedelta(rng.integers(0, 200, n_events), unit="D")).clip(upper=last),
        "event_type": pd.Series(types, dtype="str"), "value": np.where(scaling, rng.integers(0, 11, n_events), np.nan),
        "rated_by": np.where(scaling, np.array(["worker", "parent", "child", "network"])[rng.integers(0, 4, n_events)],
                             None)})
    prev = dossiers[["dossier_key", "child_key", "registration_date"]].iloc[: int(n_dossiers * 0.95)].copy()
    return {"raw.dossiers": dossiers, "raw.placements": placements, "raw.practice_events": events}, prev


@pytest.mark.skipif(os.environ.get("SOFS_BENCH") != "1", reason="benchmark scale: set SOFS_BENCH=1")
@pytest.mark.parametrize("key_dtype", ["str", "object"])
def test_benchmark_scale(key_dtype):
    frames, prev = benchmark_frames(1_000_000, 150_000, 5_000_000, key_dtype=key_dtype)
    from orchestration.quality import gx

    gx.context()  # GX import and context, once per process, not part of the suite
    started = time.perf_counter()
    results = check_dossier_extract(frames, EXTRACT, prev, FILES)
    elapsed = time.perf_counter() - started
    print(f"\ndossier suite ({key_dtype} keys): {len(results)} rules on 1,000,000 dossiers / 150,000 "
          f"placements / 5,000,000 events in {elapsed:.1f} s")
    for r in results:
        if not r.passed:
            print("  ", r.describe())
    assert not any(r.blocks for r in results)
    assert elapsed < 120
