"""End to end: demo survey waves through `sofs-warehouse run` (Dagster in process, GX checks, dbt).

One pipeline run per module; the assertions compare with the published reference figures
(the study's published figures, copied in tests/unit/test_demo_surveys.py as ``REFERENCE_CSV``).
"""
from __future__ import annotations

import csv
import hashlib
import subprocess

import duckdb
import pytest

from orchestration.demo.surveys import write_demo_surveys
from tests.conftest import ROOT
from tests.helpers import cli_env, run_cli

REFERENCE = ROOT.parent / "shared" / "reference" / "seed_published_figures.csv"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    base = tmp_path_factory.mktemp("survey_pipeline")
    env = cli_env(base, warehouse_file="wh.duckdb", own_instruments=False)
    write_demo_surveys(base / "landing", ROOT / "data" / "instruments" / "staff_survey.yaml")
    first = run_cli(env, "run")
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-5000:]
    return base, env, first


def reference_rows() -> list[dict]:
    if REFERENCE.exists():
        with open(REFERENCE, encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    from tests.unit.test_demo_surveys import REFERENCE_CSV  # the same figures, copied for a clone without shared/
    return list(csv.DictReader(REFERENCE_CSV.strip().splitlines()))


def test_run_reports_loads(pipeline):
    _, _, first = pipeline
    assert "loaded 3, quarantined 0" in first.stdout
    assert "headline figures" in first.stdout


def test_item_distribution_reproduces_reference(pipeline):
    base, _, _ = pipeline
    rows = reference_rows()
    assert len(rows) == 55
    con = duckdb.connect(str(base / "wh.duckdb"), read_only=True)
    try:
        for ref in rows:
            got = con.execute("""select n, n_valid, pct from marts.item_distribution
                                 where instrument = 'staff_survey' and wave = '2021' and item = ? and value = ?""",
                              [ref["figure_id"], float(ref["category_code"])]).fetchall()
            assert len(got) == 1, ref
            n, n_valid, pct = got[0]
            expected_valid = sum(int(r["n"]) for r in rows if r["figure_id"] == ref["figure_id"])
            assert n == int(ref["n"]), ref
            assert n_valid == expected_valid, ref
            assert abs(pct - float(ref["pct_published"])) <= 0.1 + 1e-9, (ref, pct)
    finally:
        con.close()


def test_query_shows_implementation_plan_known(pipeline):
    _, env, _ = pipeline
    out = run_cli(env, "query", "select value, n, n_valid from marts.item_distribution where item = "
                            "'implementation_plan_known' and wave = '2021' order by value", "--csv")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()[1:]
    assert [tuple(int(float(x)) for x in ln.split(",")) for ln in lines] == [
        (1, 8, 140), (2, 20, 140), (3, 23, 140), (4, 64, 140), (5, 25, 140)]


def test_second_run_loads_nothing_and_changes_nothing(pipeline):
    base, env, _ = pipeline
    wh = base / "wh.duckdb"
    before = hashlib.sha256(wh.read_bytes()).hexdigest()
    second = run_cli(env, "run")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 partition(s) with new or changed files, 3 unchanged" in second.stdout
    assert hashlib.sha256(wh.read_bytes()).hexdigest() == before


def test_raw_tokens_never_reach_the_warehouse(pipeline):
    base, _, _ = pipeline
    tokens = set()
    for path in (base / "landing").rglob("responses.csv"):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            tokens |= {r["token"] for r in csv.DictReader(fh, delimiter=";") if r["token"]}
    assert len(tokens) > 100
    con = duckdb.connect(str(base / "wh.duckdb"), read_only=True)
    try:
        cols = con.execute("""select table_schema, table_name, column_name from information_schema.columns
                              where data_type = 'VARCHAR'""").fetchall()
        found = set()
        for schema, table, column in cols:
            values = {v for (v,) in con.execute(f'select distinct "{column}" from "{schema}"."{table}"').fetchall()}
            found |= values & tokens
    finally:
        con.close()
    assert found == set()


def test_status_lists_every_landing_file(pipeline):
    _, env, _ = pipeline
    out = run_cli(env, "status")
    assert out.returncode == 0
    files = [ln for ln in out.stdout.splitlines() if "surveys/staff_survey/" in ln]
    # responses.csv and wave.yaml of three waves, and the instrument definition each wave was read with
    assert len(files) == 9 and all(ln.split()[0] == "loaded" for ln in files)
    assert sum("(instrument staff_survey.yaml)" in ln for ln in files) == 3


def test_run_without_key_stops_with_message(pipeline):
    _, env, _ = pipeline
    out = run_cli({k: v for k, v in env.items() if k != "SOFS_PSEUDONYM_KEY"}, "run")
    assert out.returncode == 2
    assert "SOFS_PSEUDONYM_KEY is not set" in out.stdout


def test_query_refuses_writes(pipeline):
    _, env, _ = pipeline
    out = run_cli(env, "query", "delete from marts.item_distribution")
    assert out.returncode == 2
    assert "read-only" in out.stdout


def test_dbt_docs_generate_describes_every_mart_column(pipeline, tmp_path):
    import json

    from tests.conftest import DBT_BIN, DBT_DIR, dbt_env

    base, _, _ = pipeline
    proc = subprocess.run([DBT_BIN, "docs", "generate", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                           "--target-path", str(tmp_path)], env=dbt_env(base / "wh.duckdb"), cwd=DBT_DIR,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    undocumented = []
    n_columns = 0
    for uid, node in catalog["nodes"].items():
        if node["metadata"]["schema"] != "marts":
            continue
        described = {c.lower(): d.get("description", "") for c, d in manifest["nodes"][uid]["columns"].items()}
        for column in node["columns"]:
            n_columns += 1
            if not described.get(column.lower(), "").strip():
                undocumented.append(f"{node['metadata']['name']}.{column}")
    assert n_columns > 100
    assert undocumented == []


@pytest.mark.parametrize("sql", [
    "copy (select * from restricted.open_answers) to 'leak.parquet'",
    "select * from read_text('/etc/hostname')",
    "select 1; select 2",
    "attach 'other.duckdb' as o",
    "set enable_external_access = true",
    "install httpfs",
    "create temp table t as select 1 as x",
])
def test_query_refuses_everything_but_one_select(pipeline, sql):
    base, env, _ = pipeline
    out = run_cli(env, "query", sql)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "refused" in out.stdout or "disabled" in out.stdout
    assert not (ROOT / "leak.parquet").exists()


def test_query_cannot_read_landing_files(pipeline):
    base, env, _ = pipeline
    csv_path = next((base / "landing").rglob("responses.csv"))
    out = run_cli(env, "query", f"select * from '{csv_path}'")
    assert out.returncode == 2 and "tok" not in out.stdout
