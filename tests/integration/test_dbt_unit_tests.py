"""The dbt unit tests beside the models (``unit_tests:`` in dbt_project/models/**/_*__unit_tests.yml): 365-day
window edges of marts.fct_dossier, the Kaplan-Meier estimate of marts.outcome_time_to_closure (censoring, an exact
tie) and the disclosure control of reporting.outcome_time_to_closure (SPEC 5, 6). Their inputs and expected rows are
written by hand in the YAML; dbt reads the column types of the inputs from a built warehouse, so they run on a copy
of the demo's."""
from __future__ import annotations

import re
import shutil

from tests.conftest import run_dbt

UNIT_TESTS = {
    "fct_dossier_365_day_windows_at_their_edges",
    "outcome_time_to_closure_kaplan_meier_with_censoring",
    "outcome_time_to_closure_quantile_at_an_exact_tie",
    "rpt_outcome_time_to_closure_primary_and_secondary_suppression",
}


def test_every_dbt_unit_test_passes(demo_build, dbt_target, tmp_path):
    copy = tmp_path / "unit_tests.duckdb"
    shutil.copy(demo_build.db, copy)
    out = run_dbt(["test", "--select", "test_type:unit"], copy, dbt_target).stdout
    passed = set(re.findall(r"PASS \S+::(\S+)", out))
    assert passed == UNIT_TESTS, out[-3000:]
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0", out), out[-3000:]
