"""The dossier quality gate judging only new and changed rows with Great Expectations
(``check_dossier_extract(..., changed=...)``, orchestration/quality/dossiers.py; SPEC 3.4).

Row rules (code lists, required values, date order, cross-file and cross-extract comparisons) judge the
rows the ``changed`` masks select; whole-file rules (not empty, unique ids, known dossiers, previous
dossiers present) read every row whatever the masks say. Same clean extract as
test_quality_dossiers.py (dossiers on lines 2-4, placements 2-3, events 2-4).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestration.quality.dossiers import check_dossier_extract
from orchestration.quality.results import ERROR, WARNING
from tests.unit.test_quality_dossiers import EXTRACT, FILES, assert_fails, extract, previous, result, set_cell


def run(frames, changed):
    return check_dossier_extract(frames, EXTRACT, previous(), FILES, changed=changed)


def none_changed(frames):
    return {t: np.zeros(len(df), dtype=bool) for t, df in frames.items()}


def test_unchanged_rows_are_not_judged_by_row_rules():
    frames = set_cell(extract(), "raw.dossiers", 3, "region", "Brussel")
    results = run(frames, none_changed(frames))
    assert all(r.passed for r in results)


def test_changed_row_is_judged_with_its_own_line():
    frames = set_cell(extract(), "raw.dossiers", 3, "region", "Brussel")
    changed = none_changed(frames)
    changed["raw.dossiers"][1] = True  # line 3
    r, others = assert_fails(run(frames, changed), "D_DOSSIERS_REGION_IN_LIST", ERROR, [3])
    assert others == [] and "<value withheld: 7 characters, letters>" in r.message


def test_whole_file_rules_read_every_row():
    frames = set_cell(extract(), "raw.dossiers", 4, "dossier_key", "D1")          # repeated id
    frames = set_cell(frames, "raw.placements", 3, "dossier_key", "D9")           # unknown dossier
    results = run(frames, none_changed(frames))
    assert_fails(results, "D_DOSSIERS_DOSSIER_ID_UNIQUE", ERROR, [2, 4])
    assert_fails(results, "D_PLACEMENT_DOSSIER_KNOWN", ERROR, [3])
    assert_fails(results, "D_EVENT_DOSSIER_KNOWN", ERROR, [4])  # D3's event: D3 is gone


def test_previous_dossier_missing_is_counted_whatever_the_masks():
    frames = extract()
    prev = pd.concat([previous(), pd.DataFrame([dict(dossier_key="D0", child_key="C0",
                                                     registration_date=pd.Timestamp("2019-05-01"))])])
    results = check_dossier_extract(frames, EXTRACT, prev, FILES, changed=none_changed(frames))
    assert_fails(results, "D_PREVIOUS_DOSSIERS_PRESENT", WARNING, [], rows=1)


def test_empty_file_fails_whatever_the_masks():
    frames = {table: df.iloc[:0] for table, df in extract().items()}
    results = check_dossier_extract(frames, EXTRACT, None, FILES, changed=none_changed(frames))
    assert_fails(results, "D_DOSSIERS_NOT_EMPTY", ERROR, [1], rows=1)


def test_placement_is_judged_again_when_only_its_dossier_changed():
    # D2 now registered 2021-03-05: its unchanged placement P2 (line 3, 2021-01-30) starts 34 days before
    frames = set_cell(extract(), "raw.dossiers", 3, "registration_date", pd.Timestamp("2021-03-05"))
    changed = none_changed(frames)
    changed["raw.dossiers"][1] = True
    results = run(frames, changed)
    assert_fails(results, "D_PLACEMENT_NOT_LONG_BEFORE_REGISTRATION", WARNING, [3])
    assert_fails(results, "D_REGISTRATION_DATE_UNCHANGED", WARNING, [3])


def test_all_rows_selected_gives_the_results_of_no_selection():
    frames = set_cell(extract(), "raw.practice_events", 2, "value", 5.0)
    frames = set_cell(frames, "raw.placements", 2, "end_date", pd.Timestamp("2020-01-31"))
    frames = set_cell(frames, "raw.dossiers", 4, "sex", "F")
    everything = {t: np.ones(len(df), dtype=bool) for t, df in frames.items()}
    assert run(frames, everything) == run(frames, None)
    partial = {"raw.practice_events": np.ones(3, dtype=bool)}  # frames not named are judged whole
    assert run(frames, partial) == run(frames, None)


def test_mask_of_the_wrong_length_is_refused():
    frames = extract()
    with pytest.raises(ValueError, match="mask of raw.dossiers has 2 values for 3 rows"):
        run(frames, {"raw.dossiers": np.array([True, False])})


def test_failing_row_found_among_many_unchanged_keeps_its_line():
    frames = set_cell(extract(), "raw.practice_events", 4, "event_type", "genogram")
    changed = none_changed(frames)
    changed["raw.practice_events"][2] = True  # line 4
    r = result(run(frames, changed), "D_EVENTS_EVENT_TYPE_IN_LIST")
    assert not r.passed and r.sample_lines == [4] and r.failing_rows == 1


def test_gx_prefetch_builds_the_one_context_in_the_background():
    from orchestration.quality import gx

    thread = gx.prefetch()
    if thread is not None:
        thread.join(120)
    ctx = gx.context()
    assert gx.prefetch() is None and gx.context() is ctx
