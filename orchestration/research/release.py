"""Frozen as-of releases for follow-up studies (SPEC 6, 8).

Layout of a release folder: ``reporting/<table>.parquet`` (and ``marts/`` with ``include_marts``),
``release.duckdb`` (the same tables in DuckDB's v1.0.0 storage format, which DuckDB 1.0 and later open:
R's duckdb package, DBeaver), ``codebook/``, ``manifest.json``. Refused (nothing written) when the
disclosure audit of the reporting tables fails.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb

from orchestration import settings, warehouse
from orchestration.readers.base import sha256_file
from orchestration.research.codebook import dump_json, write_codebook
from orchestration.research.tables import (column_labels, is_restricted, load_manifest, ordered_query,
                                           suppression_rule, table_label, tables, write_parquet)

def _disclosure_audit(con: duckdb.DuckDBPyConnection) -> dict:
    """The disclosure audit of the reporting tables before anything is released (SPEC 6): a summary for
    the manifest. Raises DisclosureAuditFailed (see :func:`orchestration.disclosure.protect.require_protected`)."""
    from orchestration.disclosure.protect import require_protected

    rule = suppression_rule(con)
    return require_protected(con, int(rule.get("min_cell") or settings.min_cell()), "release")


def latest_data_dates(con: duckdb.DuckDBPyConnection) -> dict:
    """The dates the warehouse holds data up to (release manifests, the dashboard's as-of line).

    Returns ``{"dossier_extract": ISO date or None, "survey_waves": [{"instrument", "wave",
    "data_until": ISO date or None}, ...]}`` (a wave's data reach its fieldwork end or last submission)."""
    out: dict = {"dossier_extract": None, "survey_waves": []}
    raw = set(tables(con, "raw"))
    if "dossier_extracts" in raw:
        latest = con.execute("select max(extract_date) from raw.dossier_extracts").fetchone()[0]
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


#: the DuckDB copy of a release: storage version v1.0.0, which DuckDB 1.0 and later clients can open (the
#: warehouse itself is written by DuckDB 2.0 in a storage format that DuckDB 1.x cannot read)
COMPAT_FILE = "release.duckdb"
COMPAT_STORAGE_VERSION = "v1.0.0"


def write_compatible_copy(folder: Path, table_docs: dict[str, dict],
                          descriptions: dict[str, tuple[str, dict[str, str]]]) -> dict:
    """Write ``folder/release.duckdb`` (storage version :data:`COMPAT_STORAGE_VERSION`) from the Parquet
    files of the release, with table and column comments; return its manifest entry.

    Reads only the Parquet files just written (the same snapshot); an in-memory DuckDB attaches the new
    file with ``STORAGE_VERSION`` and creates one table per Parquet file in its schema.
    """
    path = folder / COMPAT_FILE
    con = duckdb.connect()
    try:
        con.execute(f"attach '{_sql_text(str(path))}' as rel (storage_version '{COMPAT_STORAGE_VERSION}')")
        for schema in sorted({key.split(".", 1)[0] for key in table_docs}):
            con.execute(f'create schema rel."{schema}"')
        for key, doc in sorted(table_docs.items()):
            schema, name = key.split(".", 1)
            target = f'rel."{schema}"."{name}"'
            con.execute(f"create table {target} as select * from read_parquet('{_sql_text(str(folder / doc['file']))}')")
            description, col_labels = descriptions.get(key, ("", {}))
            if description:
                con.execute(f"comment on table {target} is '{_sql_text(description)}'")
            for col, label in col_labels.items():
                if label and label != col:
                    con.execute(f'comment on column {target}."{col}" is \'{_sql_text(label)}\'')
        con.execute("detach rel")
    finally:
        con.close()
    digest = sha256_file(path)
    (folder / (COMPAT_FILE + ".sha256")).write_text(f"{digest}  {COMPAT_FILE}\n", encoding="utf-8")
    return {"file": COMPAT_FILE, "storage_version": COMPAT_STORAGE_VERSION,
            "opens_with": "DuckDB 1.0 or later (Python, R and DBeaver's DuckDB JDBC driver); read-only is enough",
            "tables": sorted(table_docs), "sha256_file": COMPAT_FILE + ".sha256",
            "note": "not byte-reproducible (DuckDB writes a random file header); its tables equal the Parquet files"}


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def product_version() -> dict:
    """The product version (package metadata) and, when the code runs from a git checkout, its commit
    and whether tracked files had uncommitted changes; None where unknown."""
    import importlib.metadata
    import subprocess

    try:
        version = importlib.metadata.version("sofs-warehouse")
    except importlib.metadata.PackageNotFoundError:
        version = None
    commit, dirty = None, None
    try:
        run = dict(cwd=settings.PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"name": "sofs-warehouse", "version": version, "git_commit": commit,
            "git_uncommitted_changes": dirty if commit else None}


def release(as_of: dt.date, out_dir: Path, include_marts: bool = False) -> Path:
    """Freeze the warehouse as a release in ``out_dir``; return the path of its ``manifest.json``.

    Layout::

        out_dir/reporting/<table>.parquet   every reporting table (disclosure-controlled, audited)
        out_dir/marts/<table>.parquet       only with ``include_marts``: every mart (restricted ones
                                            excepted), NOT disclosure-controlled: a restricted release for
                                            the study team, never for sharing (the manifest says so)
        out_dir/codebook/codebook.md, codebook.json   (see build_codebook)
        out_dir/release.duckdb              the same tables in one DuckDB file of storage version
                                            v1.0.0 (opens in DuckDB 1.0 and later: R, DBeaver), with
                                            table and column descriptions; SHA-256 in release.duckdb.sha256
        out_dir/manifest.json               as_of, data dates, rule, per table rows and file,
                                            per file bytes and SHA-256, product version and git commit,
                                            software versions

    Reproducible: rows sorted by every column, fixed Parquet settings (:data:`PARQUET_OPTIONS`, no
    schema metadata), sorted JSON keys, no timestamps but ``as_of``: the same warehouse and ``as_of``
    give the same bytes (with the same duckdb/pyarrow versions, listed in the manifest), except
    ``release.duckdb``: DuckDB gives every file a random header, so that file (and its ``.sha256``) differs
    between two releases while its tables are equal to the Parquet files; the manifest leaves it out of
    ``files``.

    ``as_of`` labels the state released. The marts are computed as of the latest extract, so ``as_of``
    must not be before the latest date the warehouse holds data for (latest dossier extract date; per
    survey wave its fieldwork end or last submit date): an earlier as-of would mislabel data from after
    it (rebuild a warehouse from the partitions up to that date instead). It must not be in the future.
    All reads happen in one read-only connection (one consistent snapshot). Before anything is written
    the disclosure audit runs over the reporting tables (SPEC 6); floats are rounded to
    :data:`FLOAT_DECIMALS` decimals.

    Raises:
        DisclosureAuditFailed: the audit finds a withheld small count that the reporting tables pin.
        settings.UsageError: ``as_of`` not a date, before the data or in the future; ``out_dir`` exists and is
            not empty (a release is never overwritten).
        FileNotFoundError: no warehouse yet. warehouse.WarehouseBusy: a writer holds the file.
    """
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise settings.UsageError(f"as_of must be a date (YYYY-MM-DD), got {as_of!r}")
    if as_of > dt.date.today():
        raise settings.UsageError(f"as_of {as_of.isoformat()} is in the future")
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise settings.UsageError(f"{out_dir} exists and is not an empty folder: a release is never overwritten; "
                                  "choose a new folder")
    import pyarrow
    manifest = load_manifest()
    staging = out_dir.with_name(out_dir.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        with warehouse.read_connection() as con:
            dates = latest_data_dates(con)
            latest = max([d for d in [dates["dossier_extract"]] + [w["data_until"] for w in dates["survey_waves"]]
                          if d], default=None)
            if latest and as_of.isoformat() < latest:
                raise settings.UsageError(
                    f"as_of {as_of.isoformat()} is before the latest data in the warehouse ({latest}): the marts "
                    "hold data from after it. Release as of that date or later, or build a warehouse from "
                    "the partitions up to the date you need.")
            audit = _disclosure_audit(con)
            table_docs: dict[str, dict] = {}
            descriptions: dict[str, tuple[str, dict[str, str]]] = {}
            files: dict[str, dict] = {}
            withheld = []
            for schema in ("reporting", "marts") if include_marts else ("reporting",):
                names = tables(con, schema)
                if names:
                    (staging / schema).mkdir()
                for name in names:
                    if schema == "marts" and is_restricted(con, schema, name, manifest):
                        withheld.append(f"{schema}.{name}")
                        continue
                    arrow = con.sql(ordered_query(con, schema, name)).to_arrow_table()
                    rel = f"{schema}/{name}.parquet"
                    write_parquet(arrow, staging / rel)
                    table_docs[f"{schema}.{name}"] = {"file": rel, "rows": arrow.num_rows,
                                                      "columns": [f.name for f in arrow.schema]}
                    descriptions[f"{schema}.{name}"] = (table_label(con, schema, name, manifest),
                                                        column_labels(con, schema, name, manifest))
                    files[rel] = {"rows": arrow.num_rows}
            md, js = write_codebook(con, staging / "codebook", manifest)
            rule = suppression_rule(con)
        compat = write_compatible_copy(staging, table_docs, descriptions)
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            rel = path.relative_to(staging).as_posix()
            if rel in (COMPAT_FILE, COMPAT_FILE + ".sha256"):
                continue
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
            "tables": table_docs,
            "withheld_tables": withheld,
            "files": files,
            "duckdb_copy": compat,
            "product": product_version(),
            "software": {"duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__},
        }
        dump_json(doc, staging / "manifest.json")
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
