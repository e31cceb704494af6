"""Each hand-written rule function of the quality gates on its own: a tiny hand-made frame (or extract, or
wave), the failing rows worked out by hand. The gates' end-to-end behaviour is in test_quality_survey.py
and test_quality_dossiers.py."""
from __future__ import annotations

import datetime as dt
import inspect

import numpy as np
import pandas as pd
import pytest

from orchestration.quality import dossiers as d
from orchestration.quality import gx
from orchestration.quality import survey as s
from orchestration.quality.engine import Evidence

EXTRACT = dt.date(2024, 6, 30)
NAT = pd.NaT


def failing(expects, frame: pd.DataFrame) -> list[int]:
    """Positions failing any of ``expects`` on ``frame``, as Great Expectations judges them."""
    return [int(i) for i in gx.failing_union(gx.validate(frame, list(expects), name="test-rules"))]


def days(*values) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)), dtype="datetime64[us]")


def extract(keys: dict[str, list], previous: list | None = None) -> d.Extract:
    """An Extract holding only what the whole-file checks read: the dossier_key of each file's rows."""
    frames = {name: pd.DataFrame({"dossier_key": pd.Series(v, dtype=object)}) for name, v in keys.items()}
    prev = None if previous is None else pd.DataFrame({"dossier_key": pd.Series(previous, dtype=object)})
    return d.Extract(frames={}, extract_date=EXTRACT, previous=prev, present={n: True for n in keys},
                     keys=frames, lines={n: np.arange(2, 2 + len(v)) for n, v in keys.items()})


def wave(**kw) -> s.Wave:
    kw.setdefault("today", dt.date(2024, 6, 30))
    return s.Wave(instrument=None, wave="2024-spring", **kw)


# --- dossier extracts -----------------------------------------------------------------------------

def test_closure_after_registration():
    frame = pd.DataFrame({"registration_date": days("2024-01-10", "2024-01-10", "2024-01-10"),
                          "closure_date": days("2024-01-09", "2024-01-10", None)})
    assert failing(d.closure_after_registration(None), frame) == [0]  # same day fine, open not judged


def test_placement_end_after_start():
    frame = pd.DataFrame({"start_date": days("2024-02-01", "2024-02-01", "2024-02-01"),
                          "end_date": days("2024-01-31", "2024-02-01", None)})
    assert failing(d.placement_end_after_start(None), frame) == [0]


def test_placement_not_long_before_registration():
    # registration 2024-03-01, so registration_grace = 2024-01-31 (30 days before)
    frame = pd.DataFrame({"start_date": days("2024-01-30", "2024-01-31", "2024-03-15", "2024-01-01"),
                          "registration_grace": days("2024-01-31", "2024-01-31", "2024-01-31", None)})
    assert failing(d.placement_not_long_before_registration(None), frame) == [0]


def test_placement_not_after_closure():
    frame = pd.DataFrame({"closure_date": days("2024-03-01", "2024-03-01", None),
                          "start_date": days("2024-03-02", "2024-03-01", "2024-09-01")})
    assert failing(d.placement_not_after_closure(None), frame) == [0]


def test_registration_date_unchanged():
    frame = pd.DataFrame({"registration_date": days("2024-01-01", "2024-01-01", "2024-01-01"),
                          "previous_registration_date": days("2024-01-01", "2024-01-02", None)})
    assert failing(d.registration_date_unchanged(None), frame) == [1]  # a new dossier (no previous) is not judged


def test_child_id_unchanged():
    frame = pd.DataFrame({"child_key": pd.Series(["k1", "k1", "k1"], dtype=object),
                          "previous_child_key": pd.Series(["k1", "k2", None], dtype=object)})
    assert failing(d.child_id_unchanged(None), frame) == [1]


def test_scaling_fields():
    frame = pd.DataFrame({
        "event_type": pd.Series(["scaling_question", "scaling_question", "mapping", "mapping", None], dtype=object),
        "value": [5.0, np.nan, np.nan, 3.0, np.nan],
        "rated_by": pd.Series(["worker", "worker", None, None, "parent"], dtype=object)})
    # 1: a scaling question without value; 3: a value on another event; 4: rated_by without an event type
    assert failing(d.scaling_fields(None), frame) == [1, 3, 4]


def test_dates_not_after_extract():
    (rule,) = [r for r in d.DOSSIER_RULES if r.spec.code == "D_PLACEMENTS_DATES_NOT_AFTER_EXTRACT"]
    ctx = d.Extract(frames={}, extract_date=EXTRACT, previous=None, present={})
    frame = pd.DataFrame({"start_date": days("2024-06-30", "2024-07-01", "2024-01-01"),
                          "end_date": days(None, "2024-06-01", "2024-07-02")})
    assert failing(rule.expects(ctx), frame) == [1, 2]
    ev = Evidence(frame, np.array([1, 2]), (), ())
    assert rule.detail(ctx, ev) == "Extract date 2024-06-30."
    assert rule.detail(ctx, Evidence(frame, np.array([], dtype=np.int64), (), ())) == ""


def test_placement_dossier_known():
    ex = extract({d.DOSSIERS: ["a", "b"], d.PLACEMENTS: ["a", "c", None, "b", "c"], d.EVENTS: []})
    assert d.placement_dossier_known(ex).positions.tolist() == [1, 4]  # an empty dossier_key is another rule


def test_event_dossier_known():
    ex = extract({d.DOSSIERS: ["a"], d.PLACEMENTS: [], d.EVENTS: ["z", "a"]})
    assert d.event_dossier_known(ex).positions.tolist() == [0]
    assert d.event_dossier_known(extract({d.DOSSIERS: ["a"], d.PLACEMENTS: [], d.EVENTS: []})).positions.tolist() == []


def test_previous_dossiers_present():
    ex = extract({d.DOSSIERS: ["a", "d"], d.PLACEMENTS: [], d.EVENTS: []}, previous=["a", "b", "b", "c", None])
    found = d.previous_dossiers_present(ex)
    assert found.failing_rows == 2 and len(found.positions) == 0 and found.lines == ()  # b and c, once each
    assert found.detail == ("(2 of 3 dossiers of the previous extract are not in this one; they have no line "
                            "in this file.)")
    first = d.previous_dossiers_present(extract({d.DOSSIERS: ["a"], d.PLACEMENTS: [], d.EVENTS: []}))
    assert (first.failing_rows, first.detail) == (None, "(first extract: nothing to compare.)")


# --- survey waves ---------------------------------------------------------------------------------

def test_submit_not_future():
    frame = pd.DataFrame({"submitted_at": days("2024-06-30 23:59:59", "2024-07-01 00:00:00", None)})
    assert failing(s.submit_not_future(wave(today=dt.date(2024, 6, 30))), frame) == [1]


def test_submit_after_start():
    frame = pd.DataFrame({"submitted_at": days("2024-03-10 10:00", "2024-03-10 09:00", "2024-03-10 10:00"),
                          "started_at": days("2024-03-10 09:50", "2024-03-10 09:50", None)})
    assert failing(s.submit_after_start(wave()), frame) == [1]


def test_submit_in_fieldwork():
    frame = pd.DataFrame({"submitted_at": days("2024-02-29 23:59:59", "2024-03-01 00:00:00",
                                               "2024-03-31 23:59:59", "2024-04-01 00:00:00", None)})
    both = wave(fieldwork_start=dt.date(2024, 3, 1), fieldwork_end=dt.date(2024, 3, 31))
    assert failing(s.submit_in_fieldwork(both), frame) == [0, 3]
    assert failing(s.submit_in_fieldwork(wave(fieldwork_end=dt.date(2024, 3, 31))), frame) == [3]
    assert s.submit_in_fieldwork(wave()) == ()


def test_wave_undated():
    found = s.wave_undated(wave(dated_waves=("2023-autumn",), order_hint="by the year 2024 in its name"))
    assert (found.failing_rows, found.columns) == (1, ("fieldwork_start",))
    assert found.detail == ("Waves with a fieldwork_start: 2023-autumn. This wave is ordered by the year 2024 "
                            "in its name.")
    assert s.wave_undated(wave(dated_waves=("2023-autumn",), fieldwork_start=dt.date(2024, 3, 1))).failing_rows == 0
    assert s.wave_undated(wave()).failing_rows == 0  # no wave is dated: nothing to compare


# --- every hand-written rule is a named function with a docstring and a test here -----------------

def _hand_written():
    """(code, function) of every rule not generated from the extract contract."""
    generated = {"_required", "_in_list", "_in_range", "_dates_not_after_extract", "_not_empty", "_unique", "_finding"}
    out = []
    for rule in (*s.SURVEY_RULES, *d.DOSSIER_RULES):
        fn = rule.expects or rule.check
        if fn.__qualname__.split(".")[0] in generated:
            continue
        out.append((rule.spec, fn))
    return out


@pytest.mark.parametrize("spec, fn", _hand_written(), ids=lambda x: getattr(x, "code", ""))
def test_hand_written_rules_are_named_documented_functions(spec, fn):
    assert fn.__name__ != "<lambda>" and "<locals>" not in fn.__qualname__, f"{spec.code}: not a named function"
    assert (fn.__doc__ or "").startswith(f"``{spec.code}``"), f"{fn.__name__}: docstring must start with its code"


def test_every_hand_written_stage_2_rule_has_its_own_test_here():
    tests = {name for name, obj in globals().items() if name.startswith("test_") and inspect.isfunction(obj)}
    stage2 = [fn.__name__ for spec, fn in _hand_written() if spec.stage == 2]
    assert len(stage2) == 13
    assert [name for name in stage2 if f"test_{name}" not in tests] == []
