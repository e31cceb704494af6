"""Which tables researchers may have, and how they are read (SPEC 4, 6).

Shapes: ``(schema, name)`` pairs; the dbt manifest as a dict (``{}`` when it has not been built); SQL
text that reads a table in a fixed order with floats rounded to :data:`FLOAT_DECIMALS`.

Errors: :func:`resolve_table` raises :class:`~orchestration.settings.UsageError` (exit 2) with a message
that says what to do (an unknown, refused or restricted table, a mart without ``allow_marts``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

from orchestration import settings

FORMATS = ("csv", "parquet", "sav", "dta")
#: schemas whose tables are never exported or released (SPEC 4, 6)
REFUSED_SCHEMAS = ("restricted", "raw", "audit", "staging", "intermediate")
#: a mart with any of these columns holds restricted data (open answers) and is never exported
RESTRICTED_COLUMNS = frozenset({"answer_masked", "answer", "answer_text", "open_answer"})
#: Decimals that published floats are rounded to (reporting tables, exports and releases, SPEC 6):
#: floating-point noise of a rebuild (1e-15) never changes a released value or a release's bytes.
FLOAT_DECIMALS = 9
#: fixed Parquet writer settings: the same table gives the same bytes (release reproducibility)
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "use_dictionary": True,
                   "write_statistics": True, "version": "2.6", "data_page_version": "1.0",
                   "row_group_size": 1_000_000}
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                           "UINTEGER", "UBIGINT", "UHUGEINT"})
FLOAT_TYPES = frozenset({"DOUBLE", "FLOAT", "REAL"})
_IDENT = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)$")


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Names of the tables (and views) of ``schema``, sorted."""
    rows = con.execute("select table_name from information_schema.tables where table_schema = ? "
                       "order by table_name", [schema]).fetchall()
    return [r[0] for r in rows]


def columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[str]:
    """Column names of ``schema.name`` in table order."""
    return [c for c, _ in column_types(con, schema, name)]


def column_types(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[tuple[str, str]]:
    """``[(column, DuckDB type), ...]`` of ``schema.name`` in table order."""
    return con.execute("select column_name, data_type from information_schema.columns where table_schema = ? "
                       "and table_name = ? order by ordinal_position", [schema, name]).fetchall()


def load_manifest() -> dict:
    """``dbt_project/target/manifest.json`` as a dict; ``{}`` when missing or unreadable."""
    path = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def manifest_node(manifest: dict, schema: str, name: str) -> dict | None:
    """The dbt model node that builds ``schema.name``, or None."""
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("schema") == schema \
                and (node.get("alias") or node.get("name")) == name:
            return node
    return None


def is_restricted(con: duckdb.DuckDBPyConnection, schema: str, name: str, manifest: dict) -> bool:
    """True when the table holds restricted data: a refused schema, a restricted column, or tag/meta
    ``restricted`` in dbt (SPEC 6)."""
    if schema in REFUSED_SCHEMAS:
        return True
    if RESTRICTED_COLUMNS & {c.lower() for c in columns(con, schema, name)}:
        return True
    node = manifest_node(manifest, schema, name) or {}
    config = node.get("config", {})
    return "restricted" in (config.get("tags") or []) or bool((config.get("meta") or {}).get("restricted"))


def resolve_table(con: duckdb.DuckDBPyConnection, table: str, allow_marts: bool = False,
                  manifest: dict | None = None) -> tuple[str, str]:
    """Check that ``table`` may be exported and return ``(schema, name)``.

    ``table`` is ``name`` (= ``reporting.name``), ``reporting.name`` or ``marts.name``. A mart needs
    ``allow_marts=True`` and must not hold restricted data (SPEC 6).

    Raises:
        settings.UsageError: malformed name, refused schema (restricted, raw, audit, staging, intermediate),
            a mart without ``allow_marts``, a restricted mart, or a table that does not exist (the message
            lists what does).
    """
    m = _IDENT.match(table.strip()) if isinstance(table, str) else None
    if not m:
        raise settings.UsageError(f"not a table name: {table!r} (use <table>, reporting.<table> or marts.<table>)")
    schema, name = (m.group(1) or "reporting").lower(), m.group(2)
    if schema in REFUSED_SCHEMAS:
        raise settings.UsageError(f"{schema}.{name} is refused: the {schema} schema is never exported (SPEC 6); "
                                  "exports come from reporting (disclosure-controlled) or, when asked explicitly, "
                                  "marts")
    if schema not in ("reporting", "marts"):
        raise settings.UsageError(f"unknown schema {schema!r} in {table!r}: exports come from reporting (default) "
                                  "or marts")
    if schema == "marts" and not allow_marts:
        controlled = (f"export reporting.{name} (its disclosure-controlled version)" if name in tables(con, "reporting")
                      else f"there is no reporting.{name}")
        raise settings.UsageError(f"marts.{name} is not disclosure-controlled: {controlled}; to export the mart itself "
                                  "(microdata, not for sharing) add --allow-marts")
    available = tables(con, schema)
    if name not in available:
        hint = ""
        if schema == "reporting" and name in tables(con, "marts"):
            hint = (f"; marts.{name} exists but is not disclosure-controlled: ask for it explicitly as "
                    f"marts.{name} with allow_marts=True (CLI --allow-marts)")
        listed = ", ".join(available) if available else "none (run `sofs-warehouse run` to build the models)"
        raise settings.UsageError(f"unknown table {schema}.{name}{hint}. Tables in {schema}: {listed}")
    if schema == "marts" and is_restricted(con, schema, name, manifest if manifest is not None else load_manifest()):
        raise settings.UsageError(f"marts.{name} holds restricted data (open answers) and is never exported (SPEC 6)")
    return schema, name


def ordered_query(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    """SQL reading every column, floats rounded to :data:`FLOAT_DECIMALS`, rows sorted by every column."""
    select = [f'round("{c}", {FLOAT_DECIMALS}) as "{c}"' if t in FLOAT_TYPES else f'"{c}"'
              for c, t in column_types(con, schema, name)]
    return f'select {", ".join(select)} from "{schema}"."{name}" order by all'


def write_parquet(table, path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write an Arrow table with :data:`PARQUET_OPTIONS` (reproducible bytes); schema metadata only the
    given ``metadata`` (e.g. a note that a file is not disclosure-controlled)."""
    import pyarrow.parquet as pq

    table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in metadata.items()} if metadata else None)
    pq.write_table(table, str(path), **PARQUET_OPTIONS)


def table_label(con: duckdb.DuckDBPyConnection, schema: str, name: str, manifest: dict) -> str:
    """The table's description (DuckDB comment, else the dbt manifest), whitespace collapsed; else its name."""
    row = con.execute("select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                      [schema, name]).fetchone()
    text = (row[0] if row else None) or ((manifest_node(manifest, schema, name) or {}).get("description"))
    return " ".join(str(text).split()) if text else f"{schema}.{name}"


def column_labels(con: duckdb.DuckDBPyConnection, schema: str, name: str,
                  manifest: dict | None = None) -> dict[str, str]:
    """Variable labels of a table: the dbt column descriptions (persisted as DuckDB column comments,
    else read from ``dbt_project/target/manifest.json``), else the column name. Whitespace collapsed."""
    manifest = manifest if manifest is not None else load_manifest()
    comments = dict(con.execute("select column_name, comment from duckdb_columns() where schema_name = ? "
                                "and table_name = ?", [schema, name]).fetchall())
    node_cols = (manifest_node(manifest, schema, name) or {}).get("columns", {})
    labels = {}
    for col in columns(con, schema, name):
        text = comments.get(col) or (node_cols.get(col) or {}).get("description") or col
        labels[col] = " ".join(str(text).split())
    return labels


def suppression_rule(con: duckdb.DuckDBPyConnection) -> dict:
    """The one row of ``reporting.suppression_rule`` as a dict (min_cell, ...); ``{}`` when not built."""
    if "suppression_rule" not in tables(con, "reporting"):
        return {}
    df = con.sql("select * from reporting.suppression_rule").df()
    if df.empty:
        return {}
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in df.iloc[0].to_dict().items()}
