"""What `sofs-warehouse demo` prints and publishes (README "Demo", SPEC 8, 9), read from the session's demo build:
the per-region summary with breadth, depth and experience side by side, the study's follow-up flow, one exposure
comparison with its caveat, and the disclosure control of reporting.outcome_by_exposure (SPEC 6, 9.2).
"""
from __future__ import annotations

import re

import duckdb
import pytest

MIN_CELL = 5


@pytest.fixture(scope="module")
def demo(demo_build):
    con = duckdb.connect(str(demo_build.db), read_only=True)
    yield demo_build.stdout, con
    con.close()


def test_summary_shows_breadth_depth_and_experience_side_by_side(demo):
    out, _ = demo
    block = out[out.index("per region, side by side"):]
    header = block.splitlines()[1].split()
    # hard outcomes, breadth (case system), depth (case audits) and experience (each population's constructs)
    for column in ("dossiers", "km_median_d", "placed_365_pct", "mapping_pct", "safety_plan_pct", "depth",
                   "staff_wellbeing", "leader_steering", "partner_collaboration", "client_partnership",
                   "child_participation"):
        assert column in header, column
    regions = [line.split()[0] for line in block.splitlines()[2:8]]
    assert regions[-1] == "all" and len(regions) == 6


def test_study_flow_and_exposure_comparison_with_its_caveat(demo):
    out, con = demo
    assert "study family_followup_2024" in out and "follow-up flow" in out
    flow = out[out.index("follow-up flow"):].splitlines()[1:5]
    assert flow[0].split()[:4] == ["month", "enrolled", "due", "observed"]
    printed = {int(line.split()[0]): line.split()[1:5] for line in flow[1:]}
    published = con.execute("select follow_up_month, n_enrolled, n_due, n_observed, n_lost from reporting.study_attrition "
                            "where study = 'family_followup_2024' order by 1").fetchall()
    assert {m: [str(v) for v in rest] for m, *rest in published} == printed   # the flow printed is the published one
    # the comparison's own heading: dbt's progress lines may name a model such as "outcome_by_exposure OK"
    heading = re.search(r"^exposure (\S+) \(landmark comparison", out, re.M)
    assert heading, out[-3000:]
    block, name = out[heading.start():], heading.group(1)
    arms = con.execute("select n_landmark from reporting.outcome_by_exposure where exposure = ? and registration_year "
                       "= 'all' and service = 'all' and region = 'all' order by exposed desc", [name]).fetchall()
    # the first exposure whose two arms are published (disclosure control may withhold one of another)
    assert all(n is not None for (n,) in arms), name
    assert f"exposed     n={arms[0][0]:,}" in block and f"not exposed n={arms[1][0]:,}" in block
    assert "log-rank test" in block
    assert "caveat: observational: differences can reflect case mix, not the practice" in block


def test_outcome_by_exposure_shows_no_small_count_and_nothing_computed_from_a_withheld_one(demo):
    _, con = demo
    counts = ["n_landmark", "n_window_complete", "n_placed_365d", "n_reopened_365d", "n_closed"]
    small = con.execute("select count(*) from reporting.outcome_by_exposure where "
                        + " or ".join(f"{c} between 1 and {MIN_CELL - 1}" for c in counts)).fetchone()[0]
    assert small == 0
    assert con.execute("select count(*) from reporting.outcome_by_exposure where placement_rate is not null "
                       "and (n_placed_365d is null or n_window_complete is null)").fetchone()[0] == 0
    assert con.execute("select count(*) from reporting.outcome_by_exposure where km_median_days is not null "
                       "and (n_landmark is null or n_closed is null)").fetchone()[0] == 0
    # every row of the mart that reporting publishes is there, and a withheld count has its flag
    assert con.execute("select count(*) from reporting.outcome_by_exposure").fetchone()[0] > 0
    for c in counts:
        assert con.execute(f"select count(*) from reporting.outcome_by_exposure r join marts.outcome_by_exposure m "
                           f"using (exposure, exposed, registration_year, service, region) "
                           f"where r.{c} is null and m.{c} is not null and not r.{c}_suppressed").fetchone()[0] == 0
    # the build's audit covers the table and found every withheld cell protected
    audited = con.execute("select count(*), bool_and(protected) from audit.disclosure_audit where context = 'build' "
                          "and table_name = 'outcome_by_exposure'").fetchone()
    assert audited[0] > 0 and audited[1]
