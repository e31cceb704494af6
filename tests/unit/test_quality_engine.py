"""The one rule loop of both quality gates (orchestration/quality/engine.py): hand-made rules and frames,
expected results worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestration.quality import engine, gx
from orchestration.quality.engine import Evidence, Found, Frame, Rule, run_rules
from orchestration.quality.gx import MIN_ROWS, NOT_NULL, Expect
from orchestration.quality.results import ERROR, WARNING, RuleSpec

SPEC = RuleSpec("X_A_REQUIRED", 1, ERROR, "a must not be empty.", ("a",))


def spec(code: str, severity: str = ERROR, columns: tuple[str, ...] = ("a",)) -> RuleSpec:
    return RuleSpec(code, 1, severity, f"{code} message.", columns)


def not_null_a(_ctx) -> tuple[Expect, ...]:
    return (Expect(NOT_NULL, "a"),)


def test_a_rule_is_expectations_or_a_check_never_both_or_neither():
    with pytest.raises(ValueError, match="X_A_REQUIRED: give exactly one of expects and check"):
        Rule(SPEC, "f")
    with pytest.raises(ValueError, match="exactly one"):
        Rule(SPEC, "f", expects=not_null_a, check=lambda _c: Found())
    with pytest.raises(ValueError, match="a check reports its own detail"):
        Rule(SPEC, "f", check=lambda _c: Found(), detail=lambda _c, _e: "x")


def test_failing_rows_are_reported_by_the_lines_of_the_file_they_stand_for():
    # rows 0 and 1 of the judged frame are rows 3 and 7 of the file; the file's row i is on line i + 2
    data = pd.DataFrame({"a": ["x", None]})
    frame = Frame(data, np.arange(2, 12), "f.csv", positions=np.array([3, 7]))
    (r,) = run_rules([Rule(SPEC, "f", expects=not_null_a)], None, {"f": frame})
    assert (r.code, r.passed, r.failing_rows, r.sample_lines, r.source_file) == ("X_A_REQUIRED", False, 1, [9], "f.csv")
    assert r.columns == ["a"] and r.message == "a must not be empty."


def test_a_table_verdict_fails_the_file_once_at_line_1():
    rows = Rule(spec("X_ROWS", columns=()), "f", expects=lambda _c: (Expect(MIN_ROWS, min_value=1),))
    frame = Frame(pd.DataFrame({"a": pd.Series([], dtype=object)}), np.array([], dtype=np.int64), "f.csv")
    (r,) = run_rules([rows], None, {"f": frame})
    assert (r.passed, r.failing_rows, r.sample_lines, r.columns) == (False, 1, [1], [])


def test_a_frame_without_rows_is_not_handed_to_gx_for_row_expectations(monkeypatch):
    def boom(*_a, **_k):
        raise AssertionError("GX called on an empty frame")
    monkeypatch.setattr(gx, "validate", boom)
    frame = Frame(pd.DataFrame({"a": pd.Series([], dtype=object)}), np.array([], dtype=np.int64), "f.csv",
                  note="(f.csv is not in this extract.)")
    (r,) = run_rules([Rule(SPEC, "f", expects=not_null_a)], None, {"f": frame})
    assert r.passed and r.failing_rows == 0
    assert r.message == "a must not be empty. (f.csv is not in this extract.)"


def test_hooks_give_detail_and_columns_from_the_evidence():
    seen: list[Evidence] = []

    def detail(ctx, ev: Evidence) -> str:
        seen.append(ev)
        return f"{ctx}: {len(ev.failing)} failing of {len(ev.frame)}." if len(ev.failing) else ""

    def columns(_ctx, ev: Evidence):
        return tuple(ev.frame["col"].iloc[ev.failing]) if len(ev.failing) else None

    rule = Rule(SPEC, "f", expects=not_null_a, detail=detail, columns=columns)
    data = pd.DataFrame({"a": [None, "y", None], "col": ["Q1", "Q2", "Q3"]})
    frame = Frame(data, np.array([2, 3, 4]), "f.csv", note="never shown when there is a detail")
    (r,) = run_rules([rule], "ctx", {"f": frame})
    assert r.message == "a must not be empty. ctx: 2 failing of 3."
    assert r.columns == ["Q1", "Q3"] and r.sample_lines == [2, 4]
    (ev,) = seen
    assert list(ev.failing) == [0, 2] and ev.expects == (Expect(NOT_NULL, "a"),) and len(ev.verdicts) == 1

    (ok,) = run_rules([rule], "ctx", {"f": Frame(data.assign(a="z"), np.array([2, 3, 4]), "f.csv", note="(n)")})
    assert ok.passed and ok.columns == ["a"] and ok.message == "a must not be empty. (n)"


def test_checks_report_positions_or_their_own_lines_and_counts():
    frame = Frame(pd.DataFrame(), np.array([2, 5, 9]), "f.csv")
    by_position = Rule(spec("X_POS"), "f", check=lambda _c: Found(np.array([2, 0]), columns=("b",)))
    by_line = Rule(spec("X_LINE", WARNING), "f", check=lambda _c: Found(lines=(1,), failing_rows=4, detail="4 of them."))
    passing = Rule(spec("X_OK"), "f", check=lambda _c: Found(failing_rows=0))
    r1, r2, r3 = run_rules([by_position, by_line, passing], None, {"f": frame})
    assert (r1.sample_lines, r1.failing_rows, r1.columns) == ([2, 9], 2, ["b"])
    assert (r2.sample_lines, r2.failing_rows, r2.blocks, r2.message) == ([1], 4, False, "X_LINE message. 4 of them.")
    assert (r3.passed, r3.sample_lines, r3.columns) == (True, [], ["a"])


def test_results_follow_the_rule_order_across_frames_and_kinds():
    frames = {"f": Frame(pd.DataFrame({"a": ["x"]}), np.array([2]), "f.csv"),
              "g": Frame(pd.DataFrame({"a": [None]}), np.array([7]), "g.csv")}
    order = [Rule(spec("X_1"), "g", expects=not_null_a), Rule(spec("X_2"), "f", check=lambda _c: Found()),
             Rule(spec("X_3"), "f", expects=not_null_a), Rule(spec("X_4"), "g", check=lambda _c: Found())]
    results = run_rules(order, None, frames)
    assert [(r.code, r.passed, r.source_file) for r in results] == [
        ("X_1", False, "g.csv"), ("X_2", True, "f.csv"), ("X_3", True, "f.csv"), ("X_4", True, "g.csv")]
    assert results[0].sample_lines == [7]


def test_a_rule_on_an_unknown_frame_is_a_key_error():
    with pytest.raises(KeyError):
        run_rules([Rule(SPEC, "nowhere", expects=not_null_a)], None, {})


def test_engine_knows_no_rule_code():
    import inspect
    import re
    assert re.findall(r"\b(?:S|D|FILE|RAW)_[A-Z_]+", inspect.getsource(engine)) == []
