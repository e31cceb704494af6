"""The dossier change history end to end (SPEC 4, 5): the demo's extracts loaded through the ingest path,
earlier extracts reconstructed from the history equal to the files, a retraction restoring the marts, and
marts that depend only on the data, not on how many extracts came before.

Expected values come from the landing files read again and from marts built before the change under test.
"""
from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

from orchestration import history, ingest, landing
from orchestration.demo.dossiers import write_demo_dossiers
from orchestration.readers.dossiers import pseudonymise_extract, read_dossier_extract
from orchestration.teams import team_labels
from tests.conftest import TEST_KEY, run_dbt

MARTS = ["marts.fct_dossier", "marts.outcome_placement", "marts.outcome_reopening", "marts.outcome_time_to_closure"]
SELECT = ["run", "--select", "+fct_dossier", "+outcome_placement", "+outcome_reopening", "+outcome_time_to_closure"]
LAST = 4  # the demo's last four quarterly extracts keep the test quick


def marts(db) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"select * from {t} order by all").fetchall() for t in MARTS}
    finally:
        con.close()


@pytest.fixture
def extracts(project_env):
    """The demo's last LAST extracts in the landing zone (earlier ones removed); returns their dates."""
    folders = write_demo_dossiers(project_env / "landing")
    dated = sorted({p if p.is_dir() else p.parent for p in folders}, key=lambda p: p.name)
    for folder in dated[:-LAST]:
        shutil.rmtree(folder)
    return [date.fromisoformat(f.name) for f in dated[-LAST:]]


def load(d: date) -> None:
    out = ingest.load_partition(landing.find("dossier", d.isoformat()))
    assert out.status == "loaded", out.message


def test_earlier_extracts_are_reconstructed_exactly_from_the_history(project_env, extracts):
    for d in extracts:
        load(d)
    con = duckdb.connect(str(project_env / "warehouse.duckdb"), read_only=True)
    try:
        stored = sum(con.execute(f"select count(*) from {t.table}").fetchone()[0] for t in history.TABLES)
        for d in extracts:
            folder = project_env / "landing" / "dossiers" / d.isoformat()
            files = pseudonymise_extract(read_dossier_extract(folder, d), TEST_KEY.encode(), team_labels())
            got = history.as_of(con, d)
            for name, frame in files.items():
                cols = list(history.BY_FRAME[name].content)
                want = frame[cols].astype(str).sort_values(cols).reset_index(drop=True)
                have = got[name][cols].astype(str).sort_values(cols).reset_index(drop=True)
                # dates come back as dates, the reader's frames hold timestamps at midnight
                want = want.replace(r" 00:00:00$", "", regex=True)
                assert len(have) == len(want) and have.equals(want), (d, name)
        delivered = sum(len(f) for d in extracts for f in history.as_of(con, d).values())
    finally:
        con.close()
    assert stored < 0.5 * delivered  # versions, not copies


def test_retracting_the_latest_extract_restores_the_previous_marts(project_env, extracts, dbt_target):
    db = project_env / "warehouse.duckdb"
    for d in extracts[:-1]:
        load(d)
    run_dbt(SELECT, db, dbt_target)
    before = marts(db)
    load(extracts[-1])
    run_dbt(SELECT, db, dbt_target)
    assert marts(db) != before  # the new extract changes the figures, so the comparison below can fail
    shutil.move(str(project_env / "landing" / "dossiers" / extracts[-1].isoformat()), str(project_env / "aside"))
    assert ingest.retract_partition("dossier", extracts[-1].isoformat()) > 0
    run_dbt(SELECT, db, dbt_target)
    assert marts(db) == before


def test_marts_depend_on_the_latest_extract_not_on_the_history_before_it(project_env, extracts, dbt_target, monkeypatch):
    """The same latest extract gives the same marts whether three extracts came before it or none."""
    db = project_env / "warehouse.duckdb"
    for d in extracts:
        load(d)
    run_dbt(SELECT, db, dbt_target)
    with_history = marts(db)
    alone = project_env / "alone.duckdb"
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(alone))
    load(extracts[-1])
    run_dbt(SELECT, alone, dbt_target)
    assert marts(alone) == with_history


def test_a_retracted_extract_put_back_is_loaded_again(project_env, extracts):
    """SPEC 3.3's way of correcting a delivery: move the folder out, retract, put it back, run."""
    for d in extracts:
        load(d)
    folder = project_env / "landing" / "dossiers" / extracts[-1].isoformat()
    shutil.move(str(folder), str(project_env / "aside"))
    ingest.retract_partition("dossier", extracts[-1].isoformat())
    shutil.move(str(project_env / "aside"), str(folder))
    load(extracts[-1])   # not "unchanged": the retraction came after its last load
    con = duckdb.connect(str(project_env / "warehouse.duckdb"), read_only=True)
    try:
        assert [d for (d,) in con.execute("select extract_date from raw.dossier_extracts order by 1").fetchall()] \
            == extracts
    finally:
        con.close()
