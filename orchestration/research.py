"""Researchers' access: labelled exports, the codebook and frozen releases (SPEC 4, 6, 8; issue 6).

Everything here reads the warehouse through :func:`orchestration.warehouse.read_connection`
(read-only); nothing writes it. Three entry points, called by the CLI subcommands ``export``,
``codebook`` and ``release``:

- :func:`export_table` writes one table as CSV, Parquet, SPSS ``.sav`` or Stata ``.dta``. Tables come
  from the disclosure-controlled ``reporting`` schema (SPEC 6); a ``marts`` table only when the caller
  names it (``marts.<table>``) and passes ``allow_marts=True``, and never a table that holds
  restricted data. ``restricted``, ``raw``, ``audit``, ``staging`` and ``intermediate`` are refused.
- :func:`build_codebook` writes ``codebook.md`` and ``codebook.json`` (shaped after DDI-Codebook 2.5:
  ``codeBook/dataDscr/var`` with ``name``, ``labl``, ``qstn/qstnLit``, ``catgry`` with ``catValu``,
  ``labl``, ``catStat`` and ``missing="Y"`` for missing categories): one ``var`` per survey item and wave.
- :func:`release` freezes every reporting table and every mart as Parquet plus the codebook and a
  ``manifest.json`` with row counts and SHA-256 of every file; the same warehouse gives the same bytes.

Errors are :class:`ValueError` with a message that says what to do (unknown or refused table, bad
format, bad date, non-empty release folder); a missing warehouse raises ``FileNotFoundError`` and a
warehouse being written ``warehouse.WarehouseBusy`` (both from ``read_connection``).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from orchestration import settings, warehouse
from orchestration.quality import dossiers as dq
from orchestration.readers.base import sha256_file

FORMATS = ("csv", "parquet", "sav", "dta")
#: schemas whose tables are never exported or released (SPEC 4, 6)
REFUSED_SCHEMAS = ("restricted", "raw", "audit", "staging", "intermediate")
#: a mart with any of these columns holds restricted data (open answers) and is never exported
RESTRICTED_COLUMNS = frozenset({"answer_masked", "answer", "answer_text", "open_answer"})
TOTAL = "all"
#: numeric code of the 'all' (total) rows when a coded column becomes numeric in .sav/.dta
TOTAL_CODE = 0
TOTAL_LABEL = "all (total)"

#: value labels where they say more than the code itself (SPEC 0, 3.4)
_CODE_LABELS = {
    "OCJ": "OCJ - Ondersteuningscentrum Jeugdzorg (voluntary track)",
    "SDJ": "SDJ - Sociale Dienst Jeugdrechtbank (court-ordered track)",
    "kinship_foster": "kinship foster care", "mapping": "mapping (three-column assessment)",
}


def _code_list(codes: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """text code -> (numeric code 1.., label), in the order of the extract contract."""
    return {c: (i, _CODE_LABELS.get(c, c.replace("_", " "))) for i, c in enumerate(codes, start=1)}


#: code lists of the dossier extract (SPEC 3.4, from the quality gate's contract): text code ->
#: (numeric code, label) for .sav/.dta
CODE_LISTS: dict[str, dict[str, tuple[int, str]]] = {
    "service": _code_list(dq.SERVICES), "region": _code_list(dq.REGIONS), "sex": _code_list(dq.SEXES),
    "placement_type": _code_list(dq.PLACEMENT_TYPES), "event_type": _code_list(dq.EVENT_TYPES),
    "rated_by": _code_list(dq.RATERS),
}
BOOL_LABELS = {0: "no", 1: "yes"}

# Name and label limits of the target formats (SPSS: names 64 bytes, variable labels 256 bytes, value
# labels 120 bytes; Stata: names 32 characters, variable, value-label and file labels 80 characters).
_LIMITS = {"sav": {"name": 64, "label": 256, "value_label": 120, "file_label": 64},
           "dta": {"name": 32, "label": 80, "value_label": 80, "file_label": 80}}
_RESERVED = {
    "sav": {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"},
    "dta": {"_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n",
            "_N", "_pi", "_pred", "_rc", "_skip", "strL", "using", "with"},
}
_IDENT = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)$")

#: fixed Parquet writer settings: the same table gives the same bytes (release reproducibility)
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "use_dictionary": True,
                   "write_statistics": True, "version": "2.6", "data_page_version": "1.0",
                   "row_group_size": 1_000_000}


# ------------------------------------------------------------------------------------ resolving

def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = ? "
                       "order by table_name", [schema]).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[str]:
    rows = con.execute("select column_name from information_schema.columns where table_schema = ? "
                       "and table_name = ? order by ordinal_position", [schema, name]).fetchall()
    return [r[0] for r in rows]


def _manifest() -> dict:
    path = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _manifest_node(manifest: dict, schema: str, name: str) -> dict | None:
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("schema") == schema \
                and (node.get("alias") or node.get("name")) == name:
            return node
    return None


def _is_restricted(con: duckdb.DuckDBPyConnection, schema: str, name: str, manifest: dict) -> bool:
    """True when the table holds restricted data: a restricted column, or tag/meta ``restricted`` in dbt."""
    if schema in REFUSED_SCHEMAS:
        return True
    if RESTRICTED_COLUMNS & {c.lower() for c in _columns(con, schema, name)}:
        return True
    node = _manifest_node(manifest, schema, name) or {}
    config = node.get("config", {})
    return "restricted" in (config.get("tags") or []) or bool((config.get("meta") or {}).get("restricted"))


def resolve_table(con: duckdb.DuckDBPyConnection, table: str, allow_marts: bool = False,
                  manifest: dict | None = None) -> tuple[str, str]:
    """Check that ``table`` may be exported and return ``(schema, name)``.

    ``table`` is ``name`` (= ``reporting.name``), ``reporting.name`` or ``marts.name``. A mart needs
    ``allow_marts=True`` and must not hold restricted data (SPEC 6, issue 6 item 1).

    Raises:
        ValueError: malformed name, refused schema (restricted, raw, audit, staging, intermediate),
            a mart without ``allow_marts``, a restricted mart, or a table that does not exist (the message
            lists what does).
    """
    m = _IDENT.match(table.strip()) if isinstance(table, str) else None
    if not m:
        raise ValueError(f"not a table name: {table!r} (use <table>, reporting.<table> or marts.<table>)")
    schema, name = (m.group(1) or "reporting").lower(), m.group(2)
    if schema in REFUSED_SCHEMAS:
        raise ValueError(f"{schema}.{name} is refused: the {schema} schema is never exported (SPEC 6); "
                         f"exports come from reporting (disclosure-controlled) or, when asked explicitly, marts")
    if schema not in ("reporting", "marts"):
        raise ValueError(f"unknown schema {schema!r} in {table!r}: exports come from reporting (default) or marts")
    if schema == "marts" and not allow_marts:
        raise ValueError(f"marts.{name} is not disclosure-controlled: export reporting.{name} if it exists, or "
                         f"ask for the mart explicitly (allow_marts=True; CLI --allow-marts)")
    available = _tables(con, schema)
    if name not in available:
        hint = ""
        if schema == "reporting" and name in _tables(con, "marts"):
            hint = (f"; marts.{name} exists but is not disclosure-controlled: ask for it explicitly as "
                    f"marts.{name} with allow_marts=True (CLI --allow-marts)")
        listed = ", ".join(available) if available else "none (run `sofs-warehouse run` to build the models)"
        raise ValueError(f"unknown table {schema}.{name}{hint}. Tables in {schema}: {listed}")
    if schema == "marts" and _is_restricted(con, schema, name, manifest if manifest is not None else _manifest()):
        raise ValueError(f"marts.{name} holds restricted data (open answers) and is never exported (SPEC 6)")
    return schema, name


# --------------------------------------------------------------------------------------- labels

def _table_label(con: duckdb.DuckDBPyConnection, schema: str, name: str, manifest: dict) -> str:
    row = con.execute("select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                      [schema, name]).fetchone()
    text = (row[0] if row else None) or ((_manifest_node(manifest, schema, name) or {}).get("description"))
    return " ".join(str(text).split()) if text else f"{schema}.{name}"


def column_labels(con: duckdb.DuckDBPyConnection, schema: str, name: str,
                  manifest: dict | None = None) -> dict[str, str]:
    """Variable labels of a table: the dbt column descriptions (persisted as DuckDB column comments,
    else read from ``dbt_project/target/manifest.json``), else the column name. Whitespace collapsed."""
    manifest = manifest if manifest is not None else _manifest()
    comments = dict(con.execute("select column_name, comment from duckdb_columns() where schema_name = ? "
                                "and table_name = ?", [schema, name]).fetchall())
    node_cols = (_manifest_node(manifest, schema, name) or {}).get("columns", {})
    labels = {}
    for col in _columns(con, schema, name):
        text = comments.get(col) or (node_cols.get(col) or {}).get("description") or col
        labels[col] = " ".join(str(text).split())
    return labels


def _item_value_labels(con: duckdb.DuckDBPyConnection) -> dict[str, dict[float, str]]:
    """item -> {value: label} from marts.item_distribution; an item whose labels disagree between waves
    or instruments gets none (a single mapping per variable would mislabel some rows)."""
    if "item_distribution" not in _tables(con, "marts"):
        return {}
    # rows with value null are missing reasons (is_missing): their label is not a category of the value
    rows = con.execute("select distinct item, value, value_label from marts.item_distribution "
                       "where value_label is not null and value is not null order by 1, 2, 3").fetchall()
    out: dict[str, dict[float, str]] = {}
    conflicts: set[str] = set()
    for item, value, label in rows:
        mapping = out.setdefault(item, {})
        if value in mapping and mapping[value] != label:
            conflicts.add(item)
        mapping[float(value)] = str(label)
    return {k: v for k, v in out.items() if k not in conflicts and v}


def _with_item_texts(con: duckdb.DuckDBPyConnection, labels: dict[str, str]) -> dict[str, str]:
    """Columns without a description that are survey items (the attribute columns of
    fct_survey_response) get the item's question text; ``<item>_label`` columns say so."""
    if "item_distribution" not in _tables(con, "marts"):
        return labels
    texts = dict(con.execute("select item, min(item_text) from marts.item_distribution group by item").fetchall())
    out = dict(labels)
    for col, label in labels.items():
        if label != col:
            continue
        if col in texts:
            out[col] = texts[col] or f"{col} (survey item)"
        elif col.endswith("_label") and col[:-6] in texts:
            out[col] = f"Value label of {col[:-6]}"
    return out


def _is_year_column(name: str, series: pd.Series) -> bool:
    if not name.endswith("_year") or series.dtype.kind in "iuf":
        return False
    values = {str(v) for v in series.dropna().unique()}
    return bool(values) and all(v == TOTAL or v.isdigit() for v in values)


def _labelled_frame(df: pd.DataFrame, item_labels: dict[str, dict[float, str]]
                    ) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Turn a frame into what SPSS/Stata can label: coded text -> numbers, booleans -> 0/1.

    Returns the new frame and ``{column: {code: label}}``. Text columns named after a code list
    (service, region, ...) whose values all belong to it (or are 'all') become its numeric codes, 'all'
    = 0; ``*_year`` text columns become numbers, 'all' = 0; survey item columns (numeric, named after an
    item) and a long table's ``value`` column (when every item of the table shares one label set) keep
    their values and get the items' labels.
    """
    out = df.copy()
    value_labels: dict[str, dict] = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s.dtype) or _is_bool_object(s):
            out[col] = s.astype("Float64").astype(float)
            value_labels[col] = dict(BOOL_LABELS)
        elif col in CODE_LISTS and s.dtype.kind not in "iufb":
            codes = CODE_LISTS[col]
            present = {str(v) for v in s.dropna().unique()}
            if present <= set(codes) | {TOTAL}:
                mapping = {k: float(c) for k, (c, _) in codes.items()} | {TOTAL: float(TOTAL_CODE)}
                out[col] = s.map(lambda v, m=mapping: m.get(v) if isinstance(v, str) else math.nan).astype(float)
                labels = {c: label for _, (c, label) in codes.items()}
                if TOTAL in present:
                    labels[TOTAL_CODE] = TOTAL_LABEL
                value_labels[col] = dict(sorted(labels.items()))
        elif _is_year_column(col, s):
            out[col] = s.map(lambda v: math.nan if v is None or (isinstance(v, float) and math.isnan(v))
                             else (float(TOTAL_CODE) if v == TOTAL else float(v))).astype(float)
            if (s == TOTAL).any():
                value_labels[col] = {TOTAL_CODE: TOTAL_LABEL}
        elif s.dtype.kind in "iuf" and col in item_labels:
            value_labels[col] = {_as_code(v): t for v, t in item_labels[col].items()}
        elif col == "value" and s.dtype.kind in "iuf" and "item" in df.columns:
            sets = {json.dumps(sorted(item_labels.get(i, {}).items())) for i in df["item"].dropna().unique()}
            if len(sets) == 1:
                mapping = dict(json.loads(next(iter(sets))))
                if mapping:
                    value_labels[col] = {_as_code(float(v)): t for v, t in mapping.items()}
    for col in out.columns:
        dtype = str(out[col].dtype)
        if dtype in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64"):
            # nullable numbers -> float (SPSS numbers are doubles; NA -> system missing)
            out[col] = out[col].astype("Float64").astype(float)
        elif dtype.startswith("datetime64") and getattr(out[col].dt, "tz", None) is None:
            values = out[col].dropna()
            if len(values) and (values == values.dt.normalize()).all():  # a DATE column: keep it a date
                out[col] = pd.Series([v.date() if pd.notna(v) else None for v in out[col]], index=out.index,
                                     dtype=object)
    return out, value_labels


def _formats(df: pd.DataFrame, original: pd.DataFrame, value_labels: dict[str, dict], fmt: str) -> dict[str, str]:
    """Display formats: whole-number columns (counts, codes, years, flags) without decimals."""
    formats = {}
    for col in df.columns:
        s = df[col]
        if s.dtype.kind != "f":
            continue
        values = s.dropna()
        whole = bool(len(values)) and bool((values == values.round()).all()) and bool((values.abs() < 1e15).all())
        if whole and (col in value_labels or original[col].dtype.kind in "iub" or str(original[col].dtype)
                      in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "boolean")):
            formats[col] = "F12.0" if fmt == "sav" else "%12.0g"
        elif fmt == "sav":
            formats[col] = "F12.4"  # rates and proportions: SPSS shows 2 decimals by default
    return formats


def _is_bool_object(s: pd.Series) -> bool:
    if s.dtype != object:
        return False
    values = s.dropna()
    return len(values) > 0 and all(isinstance(v, bool) for v in values)


def _as_code(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _truncate(text: str, limit: int, fmt: str) -> str:
    if fmt == "sav":  # SPSS limits are in bytes
        data = text.encode("utf-8")
        if len(data) <= limit:
            return text
        return data[:limit].decode("utf-8", errors="ignore")
    return text[:limit]


def _safe_names(columns: Sequence[str], fmt: str) -> dict[str, str]:
    """Column -> valid, unique variable name for ``fmt`` (letters, digits, _; length; reserved words)."""
    limit = _LIMITS[fmt]["name"]
    reserved = _RESERVED[fmt]
    used: set[str] = set()
    names = {}
    for col in columns:
        base = re.sub(r"[^A-Za-z0-9_]", "_", col)
        if not base or not (base[0].isalpha() or (fmt == "dta" and base[0] == "_")):
            base = "v_" + base
        if base in reserved or base.upper() in reserved:
            base = base + "_"
        base = base[:limit]
        name, n = base, 2
        while name.lower() in used:
            suffix = f"_{n}"
            name = base[:limit - len(suffix)] + suffix
            n += 1
        used.add(name.lower())
        names[col] = name
    return names


# --------------------------------------------------------------------------------------- writing

#: Decimals that published floats are rounded to (reporting tables and releases, SPEC 6): floating-point
#: noise of a rebuild (1e-15) never changes a released value or a release's bytes.
FLOAT_DECIMALS = 9


def _ordered_query(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    """Every column, floats rounded to :data:`FLOAT_DECIMALS`, rows sorted by every column."""
    cols = con.execute("select column_name, data_type from information_schema.columns where table_schema = ? "
                       "and table_name = ? order by ordinal_position", [schema, name]).fetchall()
    select = [f'round("{c}", {FLOAT_DECIMALS}) as "{c}"' if t in ("DOUBLE", "FLOAT", "REAL") else f'"{c}"'
              for c, t in cols]
    return f'select {", ".join(select)} from "{schema}"."{name}" order by all'


def _write_parquet(table, path: Path) -> None:
    """Write an Arrow table with :data:`PARQUET_OPTIONS` and no schema metadata (reproducible bytes)."""
    import pyarrow.parquet as pq

    pq.write_table(table.replace_schema_metadata(None), str(path), **PARQUET_OPTIONS)


def _write_statistical(df: pd.DataFrame, path: Path, fmt: str, labels: dict[str, str],
                       item_labels: dict[str, dict[float, str]], file_label: str) -> None:
    import pyreadstat

    lim = _LIMITS[fmt]
    frame, value_labels = _labelled_frame(df, item_labels)
    names = _safe_names(list(frame.columns), fmt)
    frame = frame.rename(columns=names)
    column_labels = {names[c]: _truncate(labels.get(c, c), lim["label"], fmt) for c in df.columns}
    vlabels = {names[c]: {k: _truncate(v, lim["value_label"], fmt) for k, v in m.items()}
               for c, m in value_labels.items()}
    for col in frame.columns:  # text: missing -> "" (neither format has a missing string); dates stay dates
        values = frame[col].dropna()
        if len(values) and all(isinstance(v, dt.date) for v in values):
            continue
        if frame[col].dtype.kind not in "iufbMm" and not str(frame[col].dtype).startswith("datetime"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), "").astype(str)
    formats = {names[c]: f for c, f in _formats(frame.rename(columns={v: k for k, v in names.items()}), df,
                                                 value_labels, fmt).items()}
    kwargs = dict(column_labels=column_labels, variable_value_labels=vlabels or None,
                  file_label=_truncate(file_label, lim["file_label"], fmt), variable_format=formats or None)
    if fmt == "sav":
        pyreadstat.write_sav(frame, str(path), **kwargs)
    else:
        pyreadstat.write_dta(frame, str(path), **kwargs)


def export_table(table: str, fmt: str, out: Path | None = None, allow_marts: bool = False) -> Path:
    """Export one table as ``csv``, ``parquet``, ``sav`` (SPSS) or ``dta`` (Stata); return the file written.

    Args:
        table: ``name`` or ``reporting.name`` (disclosure-controlled, SPEC 6), or ``marts.name`` together
            with ``allow_marts=True``.
        fmt: one of :data:`FORMATS`.
        out: the file to write; a folder (existing, or ending in ``/``) gets ``<name>.<fmt>`` in it; default
            ``./<name>.<fmt>`` (``marts_<name>.<fmt>`` for a mart).
        allow_marts: permit a ``marts.`` table (one without restricted data).

    Rows are sorted by every column (the same table gives the same file). CSV: UTF-8, comma, header,
    empty = null. ``.sav`` / ``.dta``: variable labels = the dbt column descriptions; value labels for
    code lists (service, region, ... as numeric codes, 'all' = 0 "all (total)"), ``*_year`` columns
    (numbers, 'all' = 0), booleans (0 no / 1 yes) and survey items (labels of marts.item_distribution);
    names and labels cut to the format's limits (Stata: names 32, labels 80 characters; SPSS: names 64 bytes).

    Raises:
        ValueError: bad format, or a table refused or unknown (see :func:`resolve_table`).
        FileNotFoundError: no warehouse yet.
    """
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    manifest = _manifest()
    with warehouse.read_connection() as con:
        schema, name = resolve_table(con, table, allow_marts=allow_marts, manifest=manifest)
        default_name = f"{name}.{fmt}" if schema == "reporting" else f"{schema}_{name}.{fmt}"
        if out is None:
            path = Path.cwd() / default_name
        else:
            path = Path(out)
            if path.is_dir() or str(out).endswith(("/", "\\")):
                path = path / default_name
        path = path.expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        query = _ordered_query(con, schema, name)
        if fmt == "parquet":
            _write_parquet(con.sql(query).to_arrow_table(), path)
            return path
        df = con.sql(query).df()
        if fmt == "csv":
            df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
            return path
        labels = _with_item_texts(con, column_labels(con, schema, name, manifest))
        item_labels = _item_value_labels(con)
        file_label = _table_label(con, schema, name, manifest)
    _write_statistical(df, path, fmt, labels, item_labels, file_label)
    return path


# ----------------------------------------------------------------------------- suppression (ref)

def secondary_suppression(cells: pd.DataFrame, keys: Sequence[str], dims: Sequence[str],
                          value: str = "cell_value", min_cell: int | None = None,
                          suppress_zero: bool = False, total: str = TOTAL,
                          max_passes: int | None = None) -> pd.Series:
    """The reporting schema's suppression rule in Python (reference for tests; codebook fallback).

    ``cells``: one row per cell with ``keys`` (never varied), ``dims`` (text; ``total`` marks the margin
    total) and the count in ``value``. Returns a boolean Series (same index): True = withhold.
    Primary: 0 < count < min_cell (also 0 with ``suppress_zero``), and null counts. Secondary: per
    dimension, a group (cells sharing keys and the other dims) with exactly one withheld cell also
    withholds its smallest visible non-zero non-total cell (by count, then by the dimension value), else
    the total; a zero is never withheld; passes over all dims repeat until nothing changes (or
    ``max_passes``). This is the first pass only: :mod:`orchestration.disclosure` adds what the
    relations between columns and tables need.
    This is the same algorithm as ``macros/reporting/suppression.sql`` (SPEC 6, issue 6 item 2).
    """
    min_cell = settings.min_cell() if min_cell is None else min_cell
    v = cells[value]
    small = (v < min_cell) & ((v >= 0) if suppress_zero else (v > 0))
    hidden = (v.isna() | small.fillna(False)).astype(bool).copy()
    passes = 0
    while max_passes is None or passes < max_passes:
        passes += 1
        changed = False
        for d in dims:
            others = [c for c in list(keys) + list(dims) if c != d]
            frame = cells.assign(_h=hidden, _tot=(cells[d] == total).astype(int),
                                 _zero=(cells[value] == 0).astype(int))
            groups = frame.groupby(others, sort=False, dropna=False) if others else [(None, frame)]
            for _, g in groups:
                if int(g["_h"].sum()) != 1:
                    continue
                visible = g[~g["_h"] & (g[value] != 0)]
                if visible.empty:
                    continue
                pick = visible.sort_values(["_tot", value, d], kind="mergesort").index[0]
                hidden.loc[pick] = True
                changed = True
        if not changed:
            break
    return hidden


# --------------------------------------------------------------------------------------- codebook

def _fmt_code(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    f = float(value)
    return str(int(f)) if f.is_integer() else repr(f)


def _declared_missing(scheme_labels) -> dict[str, str]:
    """Declared missing codes -> reasons of one item in one wave, from the scheme version the wave was
    loaded with (``raw.survey_items.scheme_labels``, SPEC 3.3); empty when not recorded."""
    if not isinstance(scheme_labels, str) or not scheme_labels:
        return {}
    try:
        return {str(k): str(v) for k, v in (json.loads(scheme_labels).get("missing") or {}).items()}
    except (ValueError, AttributeError):
        return {}


def _codebook_data(con: duckdb.DuckDBPyConnection, manifest: dict) -> dict:
    """Collect everything the codebook shows, deterministically ordered."""
    min_cell = _rule(con).get("min_cell", settings.min_cell())
    if "survey_items" not in _tables(con, "raw"):
        items = pd.DataFrame(columns=["instrument", "wave", "item", "item_text", "role", "construct", "reverse",
                                      "scheme", "scheme_min", "scheme_max", "is_nominal", "is_text",
                                      "source_column", "instrument_version", "scheme_labels"])
        waves = pd.DataFrame(columns=["instrument", "wave", "population", "title", "fieldwork_start",
                                      "fieldwork_end", "anonymised"])
        constructs = pd.DataFrame(columns=["instrument", "wave", "construct", "label"])
        value_labels = pd.DataFrame(columns=["instrument", "wave", "item", "value", "label"])
    else:
        items = con.sql("""select instrument, wave, item, item_text, role, construct, reverse, scheme, scheme_min,
                                  scheme_max, is_nominal, is_text, source_column, instrument_version,
                                  scheme_labels
                           from raw.survey_items order by all""").df()
        waves = con.sql("""select instrument, wave, population, title, fieldwork_start, fieldwork_end, anonymised
                           from raw.survey_waves order by all""").df()
        constructs = con.sql("select distinct instrument, wave, construct, label from raw.survey_constructs "
                             "order by all").df()
        value_labels = con.sql("select distinct instrument, wave, item, value, label from raw.survey_value_labels "
                               "order by all").df()
    source = None
    # Counts only from reporting (disclosure-controlled, audited; SPEC 6): categories are the rows with a
    # value, missing reasons the is_missing rows. Without reporting the codebook lists no counts.
    freq = pd.DataFrame(columns=["instrument", "wave", "item", "value", "value_label", "n", "n_valid", "pct",
                                 "n_suppressed"])
    missing = pd.DataFrame(columns=["instrument", "wave", "item", "missing_reason", "n", "n_suppressed"])
    if "item_distribution" in _tables(con, "reporting"):
        source = "reporting.item_distribution"
        freq = con.sql("""select instrument, wave, item, value, value_label, n, n_valid, pct, n_suppressed
                          from reporting.item_distribution where value is not null order by all""").df()
        if "is_missing" in _columns(con, "reporting", "item_distribution"):
            missing = con.sql("""select instrument, wave, item, value_label as missing_reason, n, n_suppressed
                                 from reporting.item_distribution where is_missing order by all""").df()
    return {"items": items, "waves": waves, "constructs": constructs, "freq": freq, "missing": missing,
            "value_labels": value_labels,
            "source": source, "min_cell": int(min_cell)}


def _num(value):
    """A JSON-safe number: int for whole numbers, float otherwise, None for null/NaN/NA."""
    if value is None or value is pd.NA:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _iso(value) -> str | None:
    """A date (date, Timestamp, datetime64) as YYYY-MM-DD; None for null."""
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date().isoformat()


def _text(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _codebook_document(data: dict, tables: list[dict]) -> dict:
    items, waves, freq, missing = data["items"], data["waves"], data["freq"], data["missing"]
    construct_labels = {(r.instrument, r.wave, r.construct): _text(r.label)
                        for r in data["constructs"].itertuples(index=False)}
    file_dscr, variables, groups = [], [], {}
    for w in waves.itertuples(index=False):
        versions = sorted({_text(v) or "" for v in items.loc[(items["instrument"] == w.instrument)
                                                             & (items["wave"] == w.wave), "instrument_version"]})
        file_dscr.append({
            "ID": f"F_{w.instrument}_{w.wave}", "instrument": w.instrument, "wave": w.wave,
            "fileTxt": {"fileName": f"{w.instrument}/{w.wave}", "fileCont": _text(w.title)},
            "population": _text(w.population), "instrumentVersion": ", ".join(versions) or None,
            "fieldworkStart": _iso(w.fieldwork_start), "fieldworkEnd": _iso(w.fieldwork_end),
            "anonymised": None if pd.isna(w.anonymised) else bool(w.anonymised),
        })
    freq_by = {k: g for k, g in freq.groupby(["instrument", "wave", "item"], sort=True)} if len(freq) else {}
    miss_by = {k: g for k, g in missing.groupby(["instrument", "wave", "item"], sort=True)} if len(missing) else {}
    vl = data["value_labels"]
    labels_by = {k: g for k, g in vl.groupby(["instrument", "wave", "item"], sort=True)} if len(vl) else {}
    min_cell = data["min_cell"]
    for it in items.sort_values(["instrument", "item", "wave"], kind="mergesort").itertuples(index=False):
        key = (it.instrument, it.wave, it.item)
        version = _text(it.instrument_version)
        declared = _declared_missing(getattr(it, "scheme_labels", None))
        text = _text(it.item_text) or ""
        var = {
            "ID": f"V_{it.instrument}_{it.wave}_{it.item}", "name": it.item, "files": f"F_{it.instrument}_{it.wave}",
            "instrument": it.instrument, "wave": it.wave, "instrumentVersion": version,
            "labl": (text if len(text) <= 80 else text[:77] + "...") or it.item,
            "qstn": {"qstnLit": text}, "role": it.role, "scheme": it.scheme,
            "sourceColumn": _text(it.source_column), "reverseScored": bool(it.reverse),
            "concept": construct_labels.get(key[:2] + (it.construct,)) or _text(it.construct),
            "construct": _text(it.construct),
        }
        if bool(it.is_text):
            var.update({"varFormat": {"type": "character"}, "intrvl": "contin", "catgry": [],
                        "notes": "open answer: stored masked in restricted.open_answers only; never exported (SPEC 6)"})
            variables.append(var)
            continue
        var.update({"varFormat": {"type": "numeric"}, "intrvl": "discrete",
                    "nature": "nominal" if bool(it.is_nominal) else "ordinal",
                    "valrng": {"min": _num(it.scheme_min), "max": _num(it.scheme_max)}})
        valid: dict[float, dict] = {}
        lg = labels_by.get(key)
        if lg is not None:  # every labelled category of the scheme, also when no frequency is available
            for r in lg.itertuples(index=False):
                valid[float(r.value)] = {"catValu": _fmt_code(r.value), "labl": _text(r.label), "missing": "N",
                                         "catStat": [{"type": "freq", "value": None, "suppressed": False},
                                                     {"type": "percent", "value": None}]}
        g = freq_by.get(key)
        n_valid, n_valid_suppressed = None, False
        if g is not None:
            for r in g.itertuples(index=False):
                suppressed = bool(r.n_suppressed) if hasattr(r, "n_suppressed") else False
                valid[float(r.value)] = {
                    "catValu": _fmt_code(r.value), "labl": _text(r.value_label), "missing": "N",
                    "catStat": [{"type": "freq", "value": _num(r.n), "suppressed": suppressed},
                                {"type": "percent", "value": _num(r.pct)}]}
            n_valid = _num(g["n_valid"].iloc[0])
            n_valid_suppressed = n_valid is None
        cats = [valid[v] for v in sorted(valid)]
        # missing reasons as reporting shows them (n withheld there below min_cell); declared codes that
        # nobody used are listed with 0; the code of a reason comes from the wave's recorded scheme
        code_of = {reason: code for code, reason in declared.items()}
        missing_rows: dict[str, tuple[float | None, bool]] = {}
        mg = miss_by.get(key)
        if mg is not None:
            for r in mg.itertuples(index=False):
                missing_rows[_text(r.missing_reason) or ""] = (_num(r.n), bool(r.n_suppressed))
        for code, reason in declared.items():
            missing_rows.setdefault(reason, (0, False))
        n_invalid, invalid_withheld = 0, False
        for reason, (n, withheld) in sorted(missing_rows.items(), key=lambda kv: (code_of.get(kv[0], ""), kv[0])):
            if n is None:
                invalid_withheld = True
            else:
                n_invalid += n
            cats.append({"catValu": code_of.get(reason, ""), "labl": reason, "missing": "Y",
                         "catStat": [{"type": "freq", "value": n, "suppressed": withheld}]})
        var["catgry"] = cats
        # the invalid total is withheld whenever one of its parts is (it would give the part back)
        var["sumStat"] = [{"type": "vald", "value": n_valid, "suppressed": n_valid_suppressed},
                          {"type": "invd", "value": None if invalid_withheld or 0 < n_invalid < min_cell else n_invalid,
                           "suppressed": invalid_withheld or 0 < n_invalid < min_cell}]
        variables.append(var)
        if it.construct is not None and not (isinstance(it.construct, float) and math.isnan(it.construct)):
            gid = f"G_{it.instrument}_{it.wave}_{it.construct}"
            groups.setdefault(gid, {"ID": gid, "name": it.construct,
                                    "labl": construct_labels.get(key[:2] + (it.construct,)) or it.construct,
                                    "var": []})["var"].append(var["ID"])
    return {
        "codeBook": {
            "docDscr": {"citation": {"titlStmt": {"titl": "sofs-warehouse codebook"}},
                        "notes": (f"Frequencies from {data['source'] or 'no item distribution (not built)'}; "
                                  f"counts below {data['min_cell']} withheld (null, suppressed = true) with "
                                  "secondary suppression (SPEC 6). Missing categories: declared missing codes "
                                  "(missing = Y) with the number of answers that used them.")},
            "stdyDscr": {"citation": {"titlStmt": {"titl": "Signs of Safety outcome evaluation (sofs-warehouse)"}}},
            "fileDscr": file_dscr,
            "dataDscr": {"varGrp": [groups[k] for k in sorted(groups)], "var": variables},
        },
        "tables": tables,
    }


def _table_dictionary(con: duckdb.DuckDBPyConnection, manifest: dict) -> list[dict]:
    """Every reporting table and mart with its description and column descriptions (for the codebook)."""
    out = []
    for schema in ("reporting", "marts"):
        for name in _tables(con, schema):
            if schema == "marts" and _is_restricted(con, schema, name, manifest):
                continue
            labels = column_labels(con, schema, name, manifest)
            out.append({"name": f"{schema}.{name}", "description": _table_label(con, schema, name, manifest),
                        "columns": [{"name": c, "description": labels[c]} for c in _columns(con, schema, name)]})
    return out


def _md_escape(text) -> str:
    return "" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def _codebook_markdown(doc: dict) -> str:
    cb = doc["codeBook"]
    lines = ["# Codebook", "", cb["docDscr"]["notes"], ""]
    files = {f["ID"]: f for f in cb["fileDscr"]}
    by_instrument: dict[str, list[dict]] = {}
    for var in cb["dataDscr"]["var"]:
        by_instrument.setdefault(var["instrument"], []).append(var)
    for instrument in sorted(by_instrument):
        lines += [f"## Instrument `{instrument}`", "", "| wave | title | population | instrument version | fieldwork |",
                  "|---|---|---|---|---|"]
        for f in sorted((f for f in files.values() if f["instrument"] == instrument), key=lambda f: f["wave"]):
            fieldwork = " to ".join(x for x in (f["fieldworkStart"], f["fieldworkEnd"]) if x) or "-"
            lines.append(f"| {_md_escape(f['wave'])} | {_md_escape(f['fileTxt']['fileCont'])} | "
                         f"{_md_escape(f['population'])} | {_md_escape(f['instrumentVersion'])} | {fieldwork} |")
        lines.append("")
        current = None
        for var in by_instrument[instrument]:
            if var["name"] != current:
                current = var["name"]
                lines += [f"### `{var['name']}`", ""]
                if var.get("construct"):
                    lines += [f"Construct: {var['construct']} ({_md_escape(var.get('concept'))})", ""]
            lines += [f"#### {var['name']}, wave {var['wave']}", "",
                      f"- Question: {_md_escape(var['qstn']['qstnLit']) or '-'}",
                      f"- Label: {_md_escape(var['labl'])}",
                      f"- Role: {var['role']}; scheme: {var['scheme']}; source column: "
                      f"{_md_escape(var.get('sourceColumn')) or '-'}; reverse-scored: "
                      f"{'yes' if var['reverseScored'] else 'no'}; instrument version: "
                      f"{_md_escape(var['instrumentVersion']) or '-'}"]
            if var.get("notes"):
                lines += [f"- {var['notes']}", ""]
                continue
            vald = next(s for s in var["sumStat"] if s["type"] == "vald")
            lines += [f"- Valid answers: {_show(vald['value'], vald['suppressed'])}", "",
                      "| code | label | missing | n | % |", "|---|---|---|---|---|"]
            for c in var["catgry"]:
                freq = next(s for s in c["catStat"] if s["type"] == "freq")
                pct = next((s["value"] for s in c["catStat"] if s["type"] == "percent"), None)
                lines.append(f"| {_md_escape(c['catValu'])} | {_md_escape(c['labl'])} | "
                             f"{'yes' if c['missing'] == 'Y' else ''} | {_show(freq['value'], freq['suppressed'])} | "
                             f"{'' if pct is None else f'{pct:.1f}'} |")
            lines.append("")
    if doc.get("tables"):
        lines += ["## Tables", ""]
        for t in doc["tables"]:
            lines += [f"### `{t['name']}`", "", _md_escape(t["description"]), "", "| column | description |",
                      "|---|---|"]
            lines += [f"| `{c['name']}` | {_md_escape(c['description'])} |" for c in t["columns"]]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _show(value, suppressed: bool) -> str:
    if suppressed:
        return "suppressed"
    return "-" if value is None else str(value)


def _dump_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_codebook(con: duckdb.DuckDBPyConnection, out_dir: Path, manifest: dict) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = _codebook_document(_codebook_data(con, manifest), _table_dictionary(con, manifest))
    md, js = out_dir / "codebook.md", out_dir / "codebook.json"
    md.write_text(_codebook_markdown(doc), encoding="utf-8")
    _dump_json(doc, js)
    return md, js


def build_codebook(out_dir: Path) -> tuple[Path, Path]:
    """Write ``codebook.md`` and ``codebook.json`` into ``out_dir``; return both paths (Markdown, JSON).

    One variable per survey item and wave (SPEC 3.3, 4, 5; issue 6 item 3), shaped after DDI-Codebook:
    ``codeBook.dataDscr.var[]`` with ``name`` (item id), ``labl``, ``qstn.qstnLit`` (literal question
    text), ``catgry[]`` (``catValu`` code, ``labl`` label, ``catStat`` [{type freq, value, suppressed},
    {type percent, value}], ``missing`` "N"/"Y"), ``sumStat`` (vald / invd counts), plus ``instrument``,
    ``wave``, ``instrumentVersion``, ``scheme``, ``sourceColumn``, ``reverseScored``, ``construct``;
    ``varGrp`` per construct; ``fileDscr`` per instrument x wave (fieldwork dates, population, version);
    ``tables``: every reporting table and mart with its column descriptions.

    Sources: raw.survey_items / survey_waves / survey_constructs (texts, schemes, versions),
    reporting.item_distribution only for every count (categories, and missing reasons from its
    ``is_missing`` rows: disclosure-controlled and audited, SPEC 6; without reporting no counts are
    listed), and each wave's recorded answer-scheme version (``raw.survey_items.scheme_labels``, SPEC 3.3)
    for the codes of missing reasons and declared codes that nobody used. The invalid total is withheld
    when any missing count is. Deterministic: sorted, no timestamps.

    Raises:
        FileNotFoundError: no warehouse yet.
    """
    out_dir = Path(out_dir)
    with warehouse.read_connection() as con:
        return _write_codebook(con, out_dir, _manifest())


# ---------------------------------------------------------------------------------------- release

def _disclosure_audit(con: duckdb.DuckDBPyConnection) -> dict:
    """Audit what the reporting tables show (SPEC 6) before anything is released.

    Returns a summary for the manifest (withheld cells audited, all protected).
    Raises:
        DisclosureAuditFailed: a withheld count below min_cell can be narrowed below [0, min_cell]
            from what is published (the message names the cells, never their values).
    """
    from orchestration.disclosure.protect import DisclosureAuditFailed, audit_reporting

    rule = _rule(con)
    min_cell = int(rule.get("min_cell") or settings.min_cell())
    outcome = audit_reporting(con, min_cell)
    if not outcome.passed:
        raise DisclosureAuditFailed(
            "release refused: the disclosure audit of the reporting tables failed: " + outcome.failures()
            + ". Rebuild the reporting tables (`sofs-warehouse run --rebuild`), which withholds more cells, "
            "and release again.")
    return {"method": "feasible interval of every withheld cell by linear programming (HiGHS) over all "
                      "reporting tables; a count below min_cell must keep [0, min_cell]",
            "withheld_cells": int(len(outcome.audit)), "min_cell": min_cell, "passed": True}


def _rule(con: duckdb.DuckDBPyConnection) -> dict:
    if "suppression_rule" not in _tables(con, "reporting"):
        return {}
    df = con.sql("select * from reporting.suppression_rule").df()
    if df.empty:
        return {}
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in df.iloc[0].to_dict().items()}


def _latest_data_dates(con: duckdb.DuckDBPyConnection) -> dict:
    """The dates the warehouse holds data up to: latest dossier extract, survey fieldwork per wave."""
    out: dict = {"dossier_extract": None, "survey_waves": []}
    raw = set(_tables(con, "raw"))
    if "dossiers" in raw:
        latest = con.execute("select max(extract_date) from raw.dossiers").fetchone()[0]
        out["dossier_extract"] = latest.isoformat() if latest else None
    if "survey_waves" in raw:
        rows = con.execute("""
            select w.instrument, w.wave, w.fieldwork_start, w.fieldwork_end,
                   (select max(cast(r.submitted_at as date)) from raw.survey_responses r
                    where r.instrument = w.instrument and r.wave = w.wave) as last_submit
            from raw.survey_waves w order by 1, 2""").fetchall() if "survey_responses" in raw else []
        for instrument, wave, start, end, last_submit in rows:
            dates = [d for d in (end, last_submit, start) if d is not None]
            out["survey_waves"].append({"instrument": instrument, "wave": wave,
                                        "data_until": max(dates).isoformat() if dates else None})
    return out


def release(as_of: dt.date, out_dir: Path, include_marts: bool = False) -> Path:
    """Freeze the warehouse as a release in ``out_dir``; return the path of its ``manifest.json``.

    Layout (issue 6 item 6)::

        out_dir/reporting/<table>.parquet   every reporting table (disclosure-controlled, audited)
        out_dir/marts/<table>.parquet       only with ``include_marts``: every mart (restricted ones
                                            excepted), NOT disclosure-controlled: a restricted release for
                                            the study team, never for sharing (the manifest says so)
        out_dir/codebook/codebook.md, codebook.json   (see build_codebook)
        out_dir/manifest.json               as_of, data dates, rule, per table rows and file,
                                            per file bytes and SHA-256, software versions

    Reproducible: rows sorted by every column, fixed Parquet settings (:data:`PARQUET_OPTIONS`, no
    schema metadata), sorted JSON keys, no timestamps but ``as_of``: the same warehouse and ``as_of``
    give the same bytes (with the same duckdb/pyarrow versions, listed in the manifest).

    ``as_of`` labels the state released. The marts are computed as of the latest extract, so ``as_of``
    must not be before the latest date the warehouse holds data for (latest dossier extract date; per
    survey wave its fieldwork end or last submit date): an earlier as-of would mislabel data from after
    it (rebuild a warehouse from the partitions up to that date instead). It must not be in the future.
    All reads happen in one read-only connection (one consistent snapshot). Before anything is written
    the disclosure audit runs over the reporting tables (SPEC 6); floats are rounded to
    :data:`FLOAT_DECIMALS` decimals.

    Raises:
        DisclosureAuditFailed: the audit finds a withheld small count that the reporting tables pin.
        ValueError: ``as_of`` not a date, before the data or in the future; ``out_dir`` exists and is
            not empty (a release is never overwritten).
        FileNotFoundError: no warehouse yet. warehouse.WarehouseBusy: a writer holds the file.
    """
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise ValueError(f"as_of must be a date (YYYY-MM-DD), got {as_of!r}")
    if as_of > dt.date.today():
        raise ValueError(f"as_of {as_of.isoformat()} is in the future")
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(f"{out_dir} exists and is not an empty folder: a release is never overwritten; "
                         "choose a new folder")
    import pyarrow
    manifest = _manifest()
    staging = out_dir.with_name(out_dir.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        with warehouse.read_connection() as con:
            dates = _latest_data_dates(con)
            latest = max([d for d in [dates["dossier_extract"]] + [w["data_until"] for w in dates["survey_waves"]]
                          if d], default=None)
            if latest and as_of.isoformat() < latest:
                raise ValueError(
                    f"as_of {as_of.isoformat()} is before the latest data in the warehouse ({latest}): the marts "
                    "hold data from after it. Release as of that date or later, or build a warehouse from "
                    "the partitions up to the date you need.")
            audit = _disclosure_audit(con)
            tables: dict[str, dict] = {}
            files: dict[str, dict] = {}
            withheld = []
            for schema in ("reporting", "marts") if include_marts else ("reporting",):
                names = _tables(con, schema)
                if names:
                    (staging / schema).mkdir()
                for name in names:
                    if schema == "marts" and _is_restricted(con, schema, name, manifest):
                        withheld.append(f"{schema}.{name}")
                        continue
                    arrow = con.sql(_ordered_query(con, schema, name)).to_arrow_table()
                    rel = f"{schema}/{name}.parquet"
                    _write_parquet(arrow, staging / rel)
                    tables[f"{schema}.{name}"] = {"file": rel, "rows": arrow.num_rows,
                                                  "columns": [f.name for f in arrow.schema]}
                    files[rel] = {"rows": arrow.num_rows}
            md, js = _write_codebook(con, staging / "codebook", manifest)
            rule = _rule(con)
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            rel = path.relative_to(staging).as_posix()
            files.setdefault(rel, {}).update({"bytes": path.stat().st_size, "sha256": sha256_file(path)})
        doc = {
            "format": "sofs-warehouse release 1",
            "as_of": as_of.isoformat(),
            "data_dates": dates,
            "disclosure_control": rule,
            "disclosure_audit": audit,
            "restricted": include_marts,
            "restricted_note": ("contains marts that are NOT disclosure-controlled: for the study team only, "
                                "never for sharing (SPEC 6)") if include_marts else None,
            "tables": tables,
            "withheld_tables": withheld,
            "files": files,
            "software": {"duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__},
        }
        _dump_json(doc, staging / "manifest.json")
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir / "manifest.json"


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative path (to compare two releases)."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


__all__: Iterable[str] = ["FORMATS", "export_table", "build_codebook", "release", "resolve_table",
                          "column_labels", "secondary_suppression", "file_digests"]
