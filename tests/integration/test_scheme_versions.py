"""Loaded waves are never silently recoded (SPEC 3.3): through the real `sofs-warehouse run`, an
edit of the codes of a scheme a loaded wave uses stops with exit code 2 and says what changed; a labels-only
edit loads, is reported and recorded. One full pipeline run (the labels-only one); the first load is done
in process (no dbt) to keep the test short."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from orchestration import ingest, landing, schemes, settings
from tests.helpers import HEADER, MINI_INSTRUMENT, mini_survey_env, run_cli, write_export

ROWS = [["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokSecretA", "A4", "A2", "7", "1", "", "301"],
        ["2", "2021-05-04 10:11:12", "3", "nl", "1", "tokSecretB", "A5", "A1", "9", "2", "", "40"]]
SWAPPED = MINI_INSTRUMENT.replace("A2: 2, A3: 3", "A2: 3, A3: 2")
RELABELLED = MINI_INSTRUMENT.replace("3: neutraal", "3: neutraal / geen mening")


@pytest.fixture
def env(project_env, monkeypatch):
    """The mini instrument with wave w1 loaded (in process, quality gate included, no dbt)."""
    mini_survey_env(project_env, monkeypatch)
    write_export(project_env / "landing" / "surveys" / "mini_survey" / "w1" / "responses.csv", [HEADER, *ROWS])
    assert ingest.load_partition(landing.find("survey", "mini_survey/w1")).status == "loaded"
    return dict(os.environ)


def raw_state(wh: Path) -> tuple:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return (sorted(con.execute("""select item, raw_code, value from raw.survey_answers
                                      where item in ('plan_known', 'manager_support')""").fetchall()),
                con.execute("select count(*) from audit.loads").fetchone()[0])
    finally:
        con.close()


def test_recoding_edit_refused_labels_only_edit_loads(env, project_env):
    wh, definition = project_env / "warehouse.duckdb", project_env / "instruments" / "mini_survey.yaml"
    before = raw_state(wh)
    assert before[0] == [("manager_support", "A1", 1.0), ("manager_support", "A2", 2.0),
                         ("plan_known", "A4", 4.0), ("plan_known", "A5", 5.0)]

    definition.write_text(SWAPPED, encoding="utf-8")
    out = run_cli(env, "run", timeout=600)
    assert out.returncode == 2, out.stdout + out.stderr
    assert ("instrument mini_survey, scheme agree5, used by loaded wave w1 (items manager_support, plan_known): "
            "code A2 now value 3, was 2; code A3 now value 2, was 3") in out.stdout
    assert '`scheme: {"w1": agree5, default: agree5_v2}`' in out.stdout
    assert "tokSecret" not in out.stdout + out.stderr
    assert raw_state(wh) == before  # nothing loaded, not even an audit row
    with pytest.raises(settings.ConfigurationError, match="code A3 now value 2, was 3"):  # the sensor's path
        ingest.load_partition(landing.find("survey", "mini_survey/w1"))
    assert raw_state(wh) == before

    definition.write_text(RELABELLED, encoding="utf-8")
    out = run_cli(env, "run", timeout=900)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert ("NOTE: answer-scheme labels changed, codes and values unchanged (recorded in audit.scheme_changes when "
            "the wave loads again): instrument mini_survey, scheme agree5, used by loaded wave w1 (items "
            "manager_support, plan_known): label of value 3 now 'neutraal / geen mening', was 'neutraal'") in out.stdout
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("select instrument, wave, scheme, new_scheme, items, change, detail "
                           "from audit.scheme_changes").fetchall() == [
            ("mini_survey", "w1", "agree5", "agree5", "manager_support,plan_known", "labels",
             "label of value 3 now 'neutraal / geen mening', was 'neutraal'")]
        assert sorted(con.execute("""select item, raw_code, value from raw.survey_answers
                                     where item in ('plan_known', 'manager_support')""").fetchall()) == before[0]
        assert con.execute("""select value_label from marts.item_distribution
                              where item = 'plan_known' and wave = 'w1' and value = 3""").fetchall() == [
            ("neutraal / geen mening",)]
        notes = [n for (n,) in con.execute("select note from audit.load_notes").fetchall()]
        assert sum("answer scheme labels changed" in n for n in notes) == 1
        # the new labels are now the recorded version: the same definition is no change any more
        assert schemes.find_changes(con) == []
    finally:
        con.close()
