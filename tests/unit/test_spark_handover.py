"""The hand-over of ``raw`` to Spark (SPEC 7): which tables (from the dbt source files), the parquet
folders export-raw writes, its refusals, and the table comparison make test-spark uses (spark/compare.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration import settings
from orchestration.cli import main
from orchestration.spark_handover import MANIFEST_NAME, export_raw_parquet, raw_source_tables
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "spark"))
from compare import compare_data, read_relation  # noqa: E402


def test_raw_tables_come_from_every_source_file_in_schema_raw():
    expected = set()
    for path in (ROOT / "dbt_project" / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            if source.get("schema", source["name"]) == "raw":
                expected |= {t.get("identifier", t["name"]) for t in source["tables"]}
    got = raw_source_tables()
    assert got == sorted(expected)
    assert {"survey_responses", "survey_answers", "survey_waves"} <= set(got)


def test_raw_tables_follow_the_yaml(tmp_path):
    folder = tmp_path / "models" / "staging" / "things"
    folder.mkdir(parents=True)
    (folder / "_things__sources.yml").write_text(
        "version: 2\nsources:\n"
        "  - name: raw_things\n    schema: raw\n    tables:\n      - name: b_table\n      - name: alias\n"
        "        identifier: a_table\n"
        "  - name: elsewhere\n    schema: audit\n    tables:\n      - name: loads\n")
    assert raw_source_tables(tmp_path) == ["a_table", "b_table"]
    with pytest.raises(settings.ConfigurationError, match="no dbt source files"):
        raw_source_tables(tmp_path / "nothing")


def make_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    con.execute("create table raw.t1 (k varchar, n bigint, d date, ts timestamp, x double, b boolean)")
    con.execute("insert into raw.t1 values ('a', 1, date '2024-01-31', timestamp '2024-01-31 10:00:00', 0.5, true),"
                " ('b', null, null, null, null, null)")
    con.execute("create table raw.t2 (k varchar)")  # empty: written with its columns
    con.close()
    return path


def test_export_writes_one_parquet_folder_per_table(tmp_path):
    wh = make_warehouse(tmp_path / "wh.duckdb")
    out = tmp_path / "raw"
    written = export_raw_parquet(out, tables=["t1", "t2"], db=wh)
    assert [(t.table, t.rows) for t in written] == [("t1", 2), ("t2", 0)]
    con = duckdb.connect()
    assert con.execute(f"select * from read_parquet('{out}/t1/*.parquet') order by k").fetchall() == \
        duckdb.connect(str(wh), read_only=True).execute("select * from raw.t1 order by k").fetchall()
    assert con.execute(f"select count(*) from read_parquet('{out}/t2/*.parquet')").fetchone() == (0,)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert [t["table"] for t in manifest["tables"]] == ["t1", "t2"]
    assert "not for sharing" in manifest["note"]
    # again into the same folder: the folders are replaced, a table no longer exported goes
    export_raw_parquet(out, tables=["t1"], db=wh)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, "t1"]


def test_export_refuses_other_folders_and_unknown_tables(tmp_path):
    wh = make_warehouse(tmp_path / "wh.duckdb")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not written by export-raw"):
        export_raw_parquet(other, tables=["t1"], db=wh)
    with pytest.raises(FileNotFoundError, match="parent folder"):
        export_raw_parquet(tmp_path / "missing" / "raw", tables=["t1"], db=wh)
    with pytest.raises(settings.ConfigurationError, match="does not hold: t3"):
        export_raw_parquet(tmp_path / "raw", tables=["t1", "t3"], db=wh)
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())


def test_cli_export_raw_usage_errors_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(tmp_path / "none.duckdb"))
    assert main(["export-raw", "--format", "parquet", "--out", str(tmp_path / "raw")]) == 2
    assert "no warehouse" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["export-raw", "--format", "csv", "--out", str(tmp_path / "raw")])
    assert exc.value.code == 2


def test_cli_export_raw_help_says_trust_boundary(capsys):
    with pytest.raises(SystemExit):
        main(["export-raw", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "inside the trust boundary" in text and "pseudonymised" in text


def table(con: duckdb.DuckDBPyConnection, sql: str):
    return read_relation(con, f"({sql})")


def test_compare_accepts_float_noise_and_integer_widths_and_row_order():
    con = duckdb.connect()
    a = table(con, "select 'r1' as k, cast(1 as bigint) as n, cast(0.1 as double) + cast(0.2 as double) as x "
                   "union all select 'r2', 2, null")
    b = table(con, "select 'r2' as k, cast(2 as integer) as n, cast(null as double) as x "
                   "union all select 'r1', 1, cast(0.3 as double)")
    res = compare_data("t", a, b)
    assert res.equal, res.messages
    assert 0 < res.max_float_diff < 1e-15
    assert not compare_data("t", a, b, tolerance=0).equal


def test_compare_finds_letters_in_another_order_types_and_counts():
    con = duckdb.connect()
    a = table(con, "select 'r1' as k, 'C.P' as pattern")
    res = compare_data("panel", a, table(con, "select 'r1' as k, 'P.C' as pattern"))
    assert not res.equal and "pattern" in res.messages[0] and "'C.P'" in res.messages[0]
    dec = table(con, "select 'r1' as k, 33.333333 as pct")
    dbl = table(con, "select 'r1' as k, 100 * cast(1 as double) / 3 as pct")
    assert "column types differ" in compare_data("t", dbl, dec).messages[0]
    assert "row counts differ" in compare_data("t", a, table(con, "select 'r1' as k, 'C.P' as pattern "
                                                                 "union all select 'r2', 'C'")).messages[0]
    assert "columns differ" in compare_data("t", a, table(con, "select 'r1' as k")).messages[0]
