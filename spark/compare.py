"""Compare the tables dbt built on two engines, row by row (SPEC 7: the same models on Spark give the same
tables as on DuckDB).

A table is read through DuckDB from either side: a schema of a DuckDB warehouse file, or the parquet
folder Spark wrote for it (``<spark.sql.warehouse.dir>/<database>.db/<table>/``). Two tables are equal when

* they have the same column names and each column the same kind of type (integer, float, decimal, string,
  boolean, date, timestamp; the width of an integer may differ: DuckDB's sums are HUGEINT, Spark's BIGINT);
* they have the same number of rows;
* after sorting both on every non-float column (then on the float columns, rounded to 9 significant
  digits, for ties), integers, strings, booleans, dates and timestamps are equal exactly and floats within
  ``tolerance`` (absolute or relative: ``|a - b| <= tolerance * max(1, |a|, |b|)``), nulls matching nulls.

:func:`compare_table` returns a :class:`TableComparison` with the first differing rows; ``tolerance=0``
asks for bit-identical floats (used to check that a change of the models leaves DuckDB's figures as they were).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

#: Type kinds; an integer column may be INTEGER on one engine and BIGINT or HUGEINT on the other.
_INTEGER = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT"}
_FLOAT = {"FLOAT", "DOUBLE", "REAL"}


def type_kind(duckdb_type: str) -> str:
    """The kind of a DuckDB type name: integer, float, decimal, string, boolean, date, timestamp or the name."""
    t = duckdb_type.upper()
    if t in _INTEGER:
        return "integer"
    if t in _FLOAT:
        return "float"
    if t.startswith("DECIMAL"):
        return "decimal"
    if t == "VARCHAR":
        return "string"
    if t == "BOOLEAN":
        return "boolean"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    return t.lower()


@dataclass
class TableData:
    """A table as read: ``columns`` maps name -> type kind (in column order), ``rows`` are tuples in that order."""
    columns: dict[str, str]
    rows: list[tuple]


@dataclass
class TableComparison:
    """The outcome of :func:`compare_table`: ``equal``, the row count (left side), the largest float
    difference seen (absolute) and messages (the first differing rows)."""
    name: str
    equal: bool
    n_rows: int = 0
    max_float_diff: float = 0.0
    messages: list[str] = field(default_factory=list)


def _normalised_select(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[str, dict[str, str]]:
    """``select`` over ``relation`` with integers as HUGEINT (Python ints), floats and decimals kept, timestamps as plain
    TIMESTAMP in UTC; returns the SQL and the column kinds."""
    described = con.execute(f"describe select * from {relation}").fetchall()
    kinds, exprs = {}, []
    for name, dtype, *_ in described:
        kind = type_kind(dtype)
        kinds[name] = kind
        q = '"' + name.replace('"', '""') + '"'
        if kind == "integer":
            exprs.append(f"cast({q} as hugeint) as {q}")
        elif kind == "timestamp":
            exprs.append(f"cast({q} as timestamp) as {q}")  # with time zone: the session is UTC
        else:
            exprs.append(q)
    return f"select {', '.join(exprs) or '*'} from {relation}", kinds


def read_relation(con: duckdb.DuckDBPyConnection, relation: str) -> TableData:
    """Read ``relation`` (a table name or ``read_parquet(...)``) from ``con`` (its TimeZone set to UTC)."""
    con.execute("set TimeZone = 'UTC'")
    sql, kinds = _normalised_select(con, relation)
    return TableData(kinds, con.execute(sql).fetchall())


def spark_table_relation(spark_warehouse: Path, database: str, table: str) -> str | None:
    """``read_parquet(...)`` over the parquet files Spark wrote for ``database.table``, or None when the
    folder is missing. An empty table may have no part file: then the relation is None as well."""
    folder = Path(spark_warehouse) / f"{database}.db" / table
    files = sorted(p for p in folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return None
    listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    return f"read_parquet([{listed}])"


def spark_tables(spark_warehouse: Path, database: str) -> list[str]:
    """The table folders Spark wrote for ``database`` (views have none)."""
    folder = Path(spark_warehouse) / f"{database}.db"
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))) \
        if folder.is_dir() else []


def _sort_key(row: tuple, exact_idx: list[int], float_idx: list[int]) -> tuple:
    key = []
    for i in exact_idx:
        v = row[i]
        key.append((0, "") if v is None else (1, v))
    for i in float_idx:
        v = row[i]
        key.append((0, 0.0) if v is None or (isinstance(v, float) and math.isnan(v))
                   else (1, float(f"{float(v):.9g}")))
    return tuple(key)


def _float_diff(a, b) -> float | None:
    """Absolute difference of two floats, 0.0 for two nulls (or NaNs), None when only one is null."""
    a_null = a is None or (isinstance(a, float) and math.isnan(a))
    b_null = b is None or (isinstance(b, float) and math.isnan(b))
    if a_null or b_null:
        return 0.0 if a_null and b_null else None
    return abs(float(a) - float(b))


def compare_data(name: str, left: TableData, right: TableData, tolerance: float = 1e-9,
                 max_messages: int = 5, labels: tuple[str, str] = ("duckdb", "spark")) -> TableComparison:
    """Compare two tables read with :func:`read_relation` (see the module docstring for the rules)."""
    res = TableComparison(name, True, len(left.rows))
    lname, rname = labels
    if set(left.columns) != set(right.columns):
        only_l = sorted(set(left.columns) - set(right.columns))
        only_r = sorted(set(right.columns) - set(left.columns))
        res.equal = False
        res.messages.append(f"columns differ: only in {lname}: {only_l or '-'}; only in {rname}: {only_r or '-'}")
        return res
    names = list(left.columns)
    kind_diffs = [f"{c} ({left.columns[c]} in {lname}, {right.columns[c]} in {rname})"
                  for c in names if left.columns[c] != right.columns[c]]
    if kind_diffs:
        res.equal = False
        res.messages.append("column types differ: " + ", ".join(kind_diffs))
        return res
    if len(left.rows) != len(right.rows):
        res.equal = False
        res.messages.append(f"row counts differ: {len(left.rows)} in {lname}, {len(right.rows)} in {rname}")
        return res
    # the right side in the left side's column order
    r_index = [list(right.columns).index(c) for c in names]
    right_rows = [tuple(row[i] for i in r_index) for row in right.rows]
    float_idx = [i for i, c in enumerate(names) if left.columns[c] in ("float", "decimal")]
    exact_idx = [i for i in range(len(names)) if i not in float_idx]
    lsorted = sorted(left.rows, key=lambda r: _sort_key(r, exact_idx, float_idx))
    rsorted = sorted(right_rows, key=lambda r: _sort_key(r, exact_idx, float_idx))
    for n, (a, b) in enumerate(zip(lsorted, rsorted)):
        bad = []
        for i in exact_idx:
            if a[i] != b[i]:
                bad.append(names[i])
        for i in float_idx:
            d = _float_diff(a[i], b[i])
            if d is None:
                bad.append(names[i])
                continue
            if d > 0:
                res.max_float_diff = max(res.max_float_diff, d)
                scale = max(1.0, abs(float(a[i])), abs(float(b[i])))
                if d > tolerance * scale:
                    bad.append(names[i])
        if bad:
            res.equal = False
            if len(res.messages) < max_messages:
                res.messages.append(
                    f"row {n + 1} (sorted) differs in {', '.join(bad)}:\n"
                    f"      {lname}: {_show(names, a)}\n      {rname}: {_show(names, b)}")
    return res


def _show(names: list[str], row: tuple, width: int = 400) -> str:
    text = ", ".join(f"{c}={v!r}" for c, v in zip(names, row))
    return text if len(text) <= width else text[:width] + " ..."


def compare_table(name: str, con_left: duckdb.DuckDBPyConnection, left_relation: str | None,
                  con_right: duckdb.DuckDBPyConnection, right_relation: str | None,
                  tolerance: float = 1e-9, labels: tuple[str, str] = ("duckdb", "spark")) -> TableComparison:
    """Read both relations (None: the table is missing on that side) and compare them."""
    if left_relation is None or right_relation is None:
        missing = labels[0] if left_relation is None else labels[1]
        return TableComparison(name, False, 0, 0.0, [f"no table {name} in {missing}"])
    return compare_data(name, read_relation(con_left, left_relation), read_relation(con_right, right_relation),
                        tolerance, labels=labels)
