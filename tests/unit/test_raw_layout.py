"""The raw layout (orchestration/warehouse.py RAW_DDL, SPEC 4) and what reads it agree: the dbt sources, the
columns the staging models select, and the change history's columns (orchestration/history.py)."""
from __future__ import annotations

import re

import duckdb
import pytest

from orchestration import history, warehouse
from orchestration.readers.dossiers import RAW_COLUMNS
from orchestration.settings import DBT_PROJECT_DIR
from orchestration.spark_handover import raw_source_tables

STAGING = DBT_PROJECT_DIR / "models" / "staging"
_SOURCE = re.compile(r"source\('(\w+)',\s*'(\w+)'\)")
_CAST = re.compile(r"cast\((\w+) as ")


@pytest.fixture(scope="module")
def raw_columns() -> dict[str, list[str]]:
    con = duckdb.connect()
    con.execute(warehouse.RAW_DDL)
    rows = con.execute("select table_name, column_name from information_schema.columns "
                       "where table_schema = 'raw' order by table_name, ordinal_position").fetchall()
    con.close()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def test_every_raw_table_is_a_dbt_source_and_every_source_exists(raw_columns):
    assert sorted(raw_columns) == raw_source_tables()


def test_staging_models_select_only_columns_of_their_raw_table(raw_columns):
    checked = 0
    for sql_file in sorted(STAGING.glob("*/*.sql")):
        sql = sql_file.read_text(encoding="utf-8")
        sources = _SOURCE.findall(sql)
        if len(sources) != 1:
            continue  # a model over several sources (none today) would need its own check
        table = sources[0][1]
        missing = sorted(set(_CAST.findall(sql)) - set(raw_columns[table]))
        assert not missing, f"{sql_file.name} selects {missing}, not columns of raw.{table}"
        checked += 1
    assert checked >= 10  # every dossier and survey staging model


def test_history_columns_are_the_extract_columns(raw_columns):
    for t in history.TABLES:
        assert tuple(raw_columns[t.table.split(".")[1]]) == t.columns, t.table
        delivered = [c for c in RAW_COLUMNS[t.frame] if c not in ("partition_key", "extract_date", "source_line")]
        assert list(t.content) == delivered, t.frame
