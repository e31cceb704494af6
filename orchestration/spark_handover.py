"""Hand the ``raw`` schema over to Spark as parquet (SPEC 7: the same dbt models run on Spark).

``sofs-warehouse export-raw --format parquet --out DIR`` writes every table of the dbt sources in schema
``raw`` as ``DIR/<table>/part-0.parquet``, one folder per table, read from a read-only DuckDB connection.
The dbt ``spark`` target (``dbt_project/profiles.yml``, env ``SOFS_SPARK_RAW_DIR=DIR``) registers each
folder as an external parquet table ``<prefix>_raw.<table>`` before it builds (on-run-start hook
``spark_register_raw_sources`` in ``dbt_project/macros/spark.sql``).

Which tables: the ``tables`` of every source whose ``schema`` is ``raw`` in the dbt source files
``dbt_project/models/staging/*/_*__sources.yml`` (:func:`raw_source_tables`), so a source table added
to or renamed in those files is exported without a change here.

Privacy (SPEC 6): ``raw`` holds pseudonymised rows only (HMAC keys instead of ids, no names, open answers
only in ``restricted``, which is not exported). The folder is therefore a hand-over *inside* the trust
boundary, to a Spark cluster run by the same organisation under the same rules as the warehouse file;
it is not disclosure-controlled and never for sharing. Disclosure control of ``reporting`` runs on the
DuckDB side (``orchestration/disclosure``).

Layout of DIR::

    DIR/_sofs_raw_export.json          what was written: tables, rows, columns, source warehouse, time
    DIR/<table>/part-0.parquet         one file per table (DuckDB's parquet writer, snappy)

Spark ignores files whose names start with ``_`` or ``.``, so the manifest can live beside the folders.
A folder is replaced whole: the table is written to ``DIR/.<table>.partial`` and renamed into place.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from orchestration import settings

#: The file that marks a folder written by :func:`export_raw_parquet` (and says what it holds).
MANIFEST_NAME = "_sofs_raw_export.json"
#: The dbt schema handed over.
RAW_SCHEMA = "raw"
FORMATS = ("parquet",)


@dataclass(frozen=True)
class ExportedTable:
    """One table written: its name, row count, ``[name, DuckDB type]`` columns and the file (relative to DIR)."""
    table: str
    rows: int
    columns: list[list[str]]
    file: str


def source_files(dbt_dir: Path | None = None) -> list[Path]:
    """The dbt source files, ``<dbt_dir>/models/staging/*/_*__sources.yml``, sorted."""
    root = Path(dbt_dir or settings.DBT_PROJECT_DIR)
    return sorted((root / "models" / "staging").glob("*/_*__sources.yml"))


def raw_source_tables(dbt_dir: Path | None = None) -> list[str]:
    """Names of the tables of every dbt source in schema ``raw`` (a source's schema defaults to its
    name, a table's name in the database to its ``identifier``), sorted, each once.

    Raises:
        settings.ConfigurationError: no source file, a file that is not valid YAML, or no table in ``raw``.
    """
    files = source_files(dbt_dir)
    if not files:
        raise settings.ConfigurationError(
            f"no dbt source files (models/staging/*/_*__sources.yml) under {dbt_dir or settings.DBT_PROJECT_DIR}")
    tables: set[str] = set()
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise settings.ConfigurationError(f"{path} is not valid YAML: {exc}") from exc
        for source in doc.get("sources") or []:
            if str(source.get("schema", source.get("name"))) != RAW_SCHEMA:
                continue
            for table in source.get("tables") or []:
                tables.add(str(table.get("identifier") or table["name"]))
    if not tables:
        raise settings.ConfigurationError(f"the dbt source files name no table in schema {RAW_SCHEMA!r}: {files}")
    return sorted(tables)


def _check_out_dir(out: Path) -> None:
    """Refuse an ``out`` that is a file, whose parent is missing, or that holds files of something else."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a folder (it is created when missing)")
    if not out.exists():
        if not out.parent.is_dir():
            raise FileNotFoundError(f"--out {out}: its parent folder {out.parent} does not exist")
        return
    if any(out.iterdir()) and not (out / MANIFEST_NAME).exists():
        raise FileExistsError(
            f"--out {out} holds files and was not written by export-raw (no {MANIFEST_NAME}): give an empty "
            "or new folder, so that Spark never reads other files as raw tables")


def export_raw_parquet(out: Path, tables: Iterable[str] | None = None, db: Path | None = None,
                       log: Callable[[str], None] | None = None) -> list[ExportedTable]:
    """Write every raw source table (default :func:`raw_source_tables`) as ``out/<table>/part-0.parquet``.

    Reads through :func:`orchestration.warehouse.read_connection` (read-only: a running writer makes it
    fail with ``WarehouseBusy``). Each table's folder is written beside it and renamed into place, so a
    folder is always one whole table; folders of tables no longer in the sources are removed, and
    ``out/_sofs_raw_export.json`` lists what was written. Returns the tables in that order.

    Raises:
        FileNotFoundError: no warehouse yet, or ``out``'s parent folder is missing.
        NotADirectoryError / FileExistsError: ``out`` is a file, or a folder of other files.
        settings.ConfigurationError: a source table is not in the warehouse (load its kind first) or the
            source files are broken.
        orchestration.warehouse.WarehouseBusy: a writer holds the warehouse.
    """
    from orchestration import warehouse

    say = log or (lambda _m: None)
    out = Path(out).expanduser().resolve()
    names = sorted(tables) if tables is not None else raw_source_tables()
    _check_out_dir(out)
    db = Path(db or settings.warehouse_path())
    written: list[ExportedTable] = []
    with warehouse.read_connection(db) as con:
        present = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [RAW_SCHEMA]).fetchall()}
        missing = [t for t in names if t not in present]
        if missing:
            raise settings.ConfigurationError(
                f"the dbt sources name raw table(s) that the warehouse {db} does not hold: {', '.join(missing)}; "
                "load at least one partition of each kind (survey wave, dossier extract) with `sofs-warehouse run` "
                "first")
        out.mkdir(exist_ok=True)
        for name in names:
            columns = [[c, t] for c, t in con.execute(
                "select column_name, data_type from information_schema.columns where table_schema = ? "
                "and table_name = ? order by ordinal_position", [RAW_SCHEMA, name]).fetchall()]
            partial = out / f".{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            target = partial / "part-0.parquet"
            quoted = '"' + name.replace('"', '""') + '"'
            con.execute(f"copy (select * from {RAW_SCHEMA}.{quoted}) to '{_sql_string(target)}' "
                        "(format parquet, compression snappy)")
            (rows,) = con.execute(f"select count(*) from {RAW_SCHEMA}.{quoted}").fetchone()
            final = out / name
            if final.exists():
                shutil.rmtree(final)
            os.replace(partial, final)
            written.append(ExportedTable(name, int(rows), columns, f"{name}/part-0.parquet"))
            say(f"  {RAW_SCHEMA}.{name}: {rows} rows -> {final / 'part-0.parquet'}")
    for stale in sorted(p for p in out.iterdir() if p.is_dir() and p.name not in names
                        and not p.name.startswith((".", "_"))):
        if (out / MANIFEST_NAME).exists():  # only in a folder this function wrote before
            shutil.rmtree(stale)
            say(f"  removed {stale.name}/ (no longer a raw source table)")
    manifest = {
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "warehouse": str(db),
        "schema": RAW_SCHEMA,
        "format": "parquet",
        "note": "pseudonymised raw rows (SPEC 6): a hand-over inside the trust boundary, not for sharing",
        "tables": [asdict(t) for t in written],
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")
