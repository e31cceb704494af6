"""The change history of dossier extracts (SPEC 4): one row per version, not one copy per snapshot.

Every quarter the case system delivers a full snapshot. Storing each snapshot in full makes storage and
rebuild cost grow with history; this module keeps, per extract file, one row per *version* of an entity
(a dossier, a placement spell, a practice event) with the extract in which that version appeared and the
one in which it changed or vanished (slowly changing dimension, type 2):

=================================  ==============  ==========================================================
history table                      entity key      extract file (frame of :func:`pseudonymise_extract`)
=================================  ==============  ==========================================================
``raw.dossier_versions``           dossier_key     ``dossiers.csv`` (``raw.dossiers`` frame)
``raw.dossier_placement_versions`` placement_key   ``placements.csv`` (``raw.placements`` frame)
``raw.dossier_event_versions``     event_key       ``practice_events.csv`` (``raw.practice_events`` frame)
``raw.dossier_extracts``           extract_date    one row per loaded extract (what it held and changed)
=================================  ==============  ==========================================================

Columns of a version: the entity's columns as the extract delivered them (pseudonymised), ``source_line``
and ``load_id`` of the load that first recorded this content (provenance), ``valid_from`` (date of that
extract) and ``valid_to`` (date of the first later loaded extract in which the entity changed or was
absent; null while it is in the latest extract). Two rows of one entity are versions of each other when any
content column differs (null equals null); ``source_line`` is provenance, so a row that only moved in the
file is the same version.

As of a loaded extract date ``E`` (:func:`as_of_sql`), the snapshot is every version with
``valid_from <= E and (valid_to is null or valid_to > E)``: exactly the rows (content columns) that
extract delivered. Loading the extract after the latest touches only what changed (close the versions that
changed or vanished, insert the new ones); retracting the latest is its exact inverse. An extract loaded
out of order, reloaded with other content, or retracted from the middle peels the later extracts off
(snapshots kept in temporary tables), applies the change and loads them back, so every extract stays
reconstructible exactly.

All functions take an open read-write DuckDB connection; call them inside
:func:`orchestration.warehouse.transaction` with the load's audit rows, so a load is all or nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from orchestration import settings
from orchestration.contracts.dossier_extract import CONTRACT

#: columns that are not content, after the content columns of a history table: provenance and validity,
#: as ``(name, DuckDB type, not null)``
_PROVENANCE_COLUMNS = (("source_line", "bigint", True), ("load_id", "varchar", True))
_VALIDITY_COLUMNS = (("valid_from", "date", True), ("valid_to", "date", False))
PROVENANCE = tuple(name for name, _t, _n in _PROVENANCE_COLUMNS)
VALIDITY = tuple(name for name, _t, _n in _VALIDITY_COLUMNS)


@dataclass(frozen=True)
class HistoryTable:
    """One extract file's history: ``table`` (schema-qualified), its entity ``key`` and ``content`` columns."""

    frame: str            # the name of the extract frame (``raw.dossiers``, ``raw.placements``, ``raw.practice_events``)
    table: str
    key: str
    content: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the history table, in table order: content, provenance, validity."""
        return self.content + PROVENANCE + VALIDITY


#: the three extract files and their history tables, from the extract contract
#: (:mod:`orchestration.contracts.dossier_extract`): frame name, history table, entity key, and as content
#: the columns of SPEC 3.4 as stored (:attr:`FileContract.stored_columns`; also
#: :data:`orchestration.readers.dossiers.RAW_COLUMNS` without ``partition_key``, ``extract_date``, ``source_line``)
TABLES: tuple[HistoryTable, ...] = tuple(
    HistoryTable(fc.table, fc.history_table, fc.key.raw, fc.stored_columns) for fc in CONTRACT)
BY_FRAME = {t.frame: t for t in TABLES}
EXTRACTS = "raw.dossier_extracts"

#: the counts per file recorded in ``raw.dossier_extracts`` (rows the extract delivered)
_COUNT_COLUMN = {fc.table: fc.count_column for fc in CONTRACT}


def _create_table(table: str, columns) -> str:
    """``create table if not exists`` of ``table`` with ``columns`` = ``(name, DuckDB type, not null)``."""
    body = ",\n    ".join(f"{name} {sql_type}{' not null' if not_null else ''}" for name, sql_type, not_null in columns)
    return f"create table if not exists {table} (\n    {body}\n);\n"


#: The DDL of the dossier tables in ``raw`` (part of :data:`orchestration.warehouse.RAW_DDL`), generated
#: from the extract contract: ``raw.dossier_extracts`` (one row per loaded extract: extract_date,
#: partition_key, load_id, the rows of each file, versions added and closed, recorded_at) and per file its
#: history table (the contract's stored columns with their types, NOT NULL where the value is required, then
#: ``source_line``, ``load_id``, ``valid_from``, ``valid_to``). The schema ``raw`` must exist.
DDL: str = (
    "-- dossier extracts as a change history (SPEC 4, orchestration/history.py), generated from the extract\n"
    "-- contract (orchestration/contracts/dossier_extract.py)\n"
    + _create_table(EXTRACTS, (("extract_date", "date", True), ("partition_key", "varchar", True),
                               ("load_id", "varchar", True),
                               *((fc.count_column, "bigint", True) for fc in CONTRACT),
                               ("n_new_versions", "bigint", True), ("n_closed_versions", "bigint", True),
                               ("recorded_at", "timestamp", True)))
    + "".join(_create_table(fc.history_table, fc.raw_columns + _PROVENANCE_COLUMNS + _VALIDITY_COLUMNS)
              for fc in CONTRACT)
)


@dataclass
class ExtractChange:
    """What loading or retracting an extract did: per frame name, ``rows`` the extract holds, ``inserted``
    new versions and ``closed`` versions (changed or vanished). Extracts peeled off and loaded back (an
    extract out of order) are in ``replayed``."""

    rows: dict[str, int]
    inserted: dict[str, int]
    closed: dict[str, int]
    replayed: list[dt.date]

    def describe(self) -> str:
        """What changed with this extract, per file: ``"versions begun / ended: dossiers 12 / 3, placements
        1 / 0, practice events 40 / 2"`` (versions dated this extract: new or changed entities begin a
        version, changed or absent ones end one)."""
        names = {fc.table: fc.label for fc in CONTRACT}
        text = "versions begun / ended: " + ", ".join(
            f"{names[f]} {self.inserted.get(f, 0):,} / {self.closed.get(f, 0):,}" for f in names)
        if self.replayed:
            text += f"; later extracts {', '.join(d.isoformat() for d in self.replayed)} applied again"
        return text


def extract_dates(con) -> list[dt.date]:
    """Dates of the loaded dossier extracts, ascending."""
    return [r[0] for r in con.execute(f"select extract_date from {EXTRACTS} order by extract_date").fetchall()]


def as_of_condition(extract_date_sql: str, alias: str = "") -> str:
    """SQL condition selecting the versions that were in the extract dated ``extract_date_sql`` (an SQL
    expression: a parameter ``?``, a column or a literal). The same rule as the dbt models use (SPEC 4)."""
    a = f"{alias}." if alias else ""
    return (f"{a}valid_from <= {extract_date_sql} and "
            f"({a}valid_to is null or {a}valid_to > {extract_date_sql})")


def as_of_sql(frame: str, columns: tuple[str, ...] | None = None) -> str:
    """``select`` of one extract file's rows as of the extract date bound to the single ``?`` parameter.

    ``columns`` defaults to the content columns plus ``source_line`` (in :data:`TABLES` order). The
    condition uses the parameter twice: bind ``[extract_date, extract_date]``.
    """
    t = BY_FRAME[frame]
    cols = columns or (t.content + ("source_line",))
    return f"select {', '.join(cols)} from {t.table} where {as_of_condition('?')}"


def as_of(con, extract_date: dt.date | str) -> dict[str, pd.DataFrame]:
    """The extract dated ``extract_date`` (a date or ``YYYY-MM-DD``) as loaded: frame name -> DataFrame of the
    content columns and ``source_line`` (the line where the version was first recorded), ordered by the
    entity key.

    Raises:
        settings.UsageError: no extract with that date is loaded, or the text is not a date.
    """
    if isinstance(extract_date, str):
        try:
            extract_date = dt.date.fromisoformat(extract_date)
        except ValueError as exc:
            raise settings.UsageError(f"{extract_date!r} is not an extract date YYYY-MM-DD") from exc
    if extract_date not in extract_dates(con):
        raise settings.UsageError(f"no dossier extract dated {extract_date.isoformat()} is loaded")
    return {t.frame: con.execute(as_of_sql(t.frame) + f" order by {t.key}", [extract_date, extract_date]).df() for t in TABLES}


def unchanged_mask(con, frame_name: str, frame: pd.DataFrame) -> pd.Series:
    """For the rows of an incoming extract file: True where the row equals (content columns, null equals
    null) the version of its entity in the latest loaded extract, so it would add no version.

    ``frame`` has at least the content columns of ``frame_name``'s history table. Returns a boolean
    Series aligned with ``frame.index``; all False when nothing is loaded yet. The quality gate uses it to
    validate only new and changed rows with Great Expectations.
    """
    t = BY_FRAME[frame_name]
    if len(frame) == 0:
        return pd.Series([], dtype=bool, index=frame.index)
    incoming = frame[list(t.content)].reset_index(drop=True)
    incoming["_pos"] = range(len(incoming))
    con.register("_incoming_rows", incoming)
    try:
        same = " and ".join(f"h.{c} is not distinct from n.{c}" for c in t.content)
        hits = con.execute(f"""select n._pos from _incoming_rows n join {t.table} h
                               on h.{t.key} = n.{t.key} and h.valid_to is null and {same}""").fetchall()
    finally:
        con.unregister("_incoming_rows")
    mask = pd.Series(False, index=range(len(frame)))
    mask.iloc[[p for (p,) in hits]] = True
    mask.index = frame.index
    return mask


# ------------------------------------------------------------------------------------------- loading

def load_extract(con, extract_date: dt.date, partition_key: str, load_id: str,
                 frames: dict[str, pd.DataFrame]) -> ExtractChange:
    """Record the extract dated ``extract_date`` in the history (a reload replaces what it held).

    Args:
        con: read-write connection, inside a transaction.
        extract_date: the extract's as-of date; ``partition_key`` its landing folder name.
        load_id: the load's id, stored as provenance of the versions it inserts.
        frames: frame name (``raw.dossiers``, ``raw.placements``, ``raw.practice_events``) -> DataFrame with
            the content columns of :data:`TABLES` and ``source_line``; a missing frame is an empty file.

    Returns the :class:`ExtractChange`.

    Raises:
        ValueError: an unknown frame name, a frame without a content column, or an entity key that is
            null or repeated in a frame (the quality gate refuses such extracts before this).
    """
    for name, frame in frames.items():
        if name not in BY_FRAME:
            raise ValueError(f"{name} is not a dossier extract file ({', '.join(BY_FRAME)})")
        t = BY_FRAME[name]
        missing = [c for c in t.content + ("source_line",) if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}: missing columns {missing}")
        keys = frame[t.key]
        if keys.isna().any() or keys.duplicated().any():
            raise ValueError(f"{name}: {t.key} must be present and unique within an extract")
    for t in TABLES:
        _stage(con, f"_new_{_short(t)}", t, frames.get(t.frame), load_id)
    return _apply_with_replay(con, extract_date, partition_key, load_id, incoming="_new")


def remove_extract(con, extract_date: dt.date) -> ExtractChange:
    """Take the extract dated ``extract_date`` out of the history, restoring exactly the state before it
    was loaded (``sofs-warehouse retract dossier DATE``). Returns the :class:`ExtractChange` (``closed``
    counts versions reopened, ``inserted`` versions deleted).

    Raises:
        settings.UsageError: no extract with that date is loaded.
    """
    dates = extract_dates(con)
    if extract_date not in dates:
        raise settings.UsageError(f"no dossier extract dated {extract_date.isoformat()} is loaded")
    later = [d for d in dates if d > extract_date]
    peeled = _peel(con, later)
    rows = _extract_rows(con, extract_date)
    inserted, closed = _retract_latest(con, extract_date)
    _replay(con, peeled)
    return ExtractChange(rows=rows, inserted=inserted, closed=closed, replayed=later)


def _apply_with_replay(con, extract_date: dt.date, partition_key: str, load_id: str, incoming: str) -> ExtractChange:
    dates = extract_dates(con)
    later = [d for d in dates if d > extract_date]
    peeled = _peel(con, later)
    if extract_date in dates:
        _retract_latest(con, extract_date)
    inserted, closed = _append_latest(con, extract_date, incoming)
    rows = {t.frame: con.execute(f"select count(*) from {incoming}_{_short(t)}").fetchone()[0] for t in TABLES}
    _record_extract(con, extract_date, partition_key, load_id, rows, inserted, closed)
    _replay(con, peeled)
    return ExtractChange(rows=rows, inserted=inserted, closed=closed, replayed=later)


def _short(t: HistoryTable) -> str:
    return t.frame.split(".", 1)[1]


def _stage(con, name: str, t: HistoryTable, frame: pd.DataFrame | None, load_id: str) -> None:
    """A temporary table ``name`` with the history table's content and provenance columns (cast to the history
    table's own types), filled from ``frame`` (empty when None).

    Created in one ``create ... as select`` from the frame: DuckDB 2.0.0 drops the rows beyond its first row
    group (122,880) when they are inserted from a pandas frame into an empty temporary table inside a
    transaction (a regression test in tests/unit/test_history.py loads 130,000 rows)."""
    cols = t.content + PROVENANCE
    if frame is None or len(frame) == 0:
        con.execute(f"create or replace temp table {name} as select {', '.join(cols)} from {t.table} limit 0")
        return
    types = _column_types(con, t.table)
    con.register("_stage_frame", frame)
    try:
        select = ", ".join(f'cast("{c}" as {types[c]}) as {c}' for c in t.content + ("source_line",))
        con.execute(f"create or replace temp table {name} as select {select}, "
                    f"cast(? as {types['load_id']}) as load_id from _stage_frame", [load_id])
    finally:
        con.unregister("_stage_frame")


def _column_types(con, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a schema-qualified table."""
    schema, name = table.split(".")
    return dict(con.execute("select column_name, data_type from information_schema.columns "
                            "where table_schema = ? and table_name = ?", [schema, name]).fetchall())


def _append_latest(con, extract_date: dt.date, incoming: str) -> tuple[dict[str, int], dict[str, int]]:
    """Apply the snapshot in temp tables ``<incoming>_<file>`` as the newest extract: close the open
    versions that changed or vanished, insert the new versions. Returns (inserted, closed) per frame."""
    inserted, closed = {}, {}
    for t in TABLES:
        new = f"{incoming}_{_short(t)}"
        same = " and ".join(f"h.{c} is not distinct from n.{c}" for c in t.content if c != t.key)
        closed[t.frame] = con.execute(f"""
            update {t.table} as h set valid_to = ?
            where h.valid_to is null and not exists (
                select 1 from {new} as n where n.{t.key} = h.{t.key} {('and ' + same) if same else ''})
        """, [extract_date]).fetchone()[0]
        cols = ", ".join(t.content + PROVENANCE)
        inserted[t.frame] = con.execute(f"""
            insert into {t.table} ({cols}, valid_from, valid_to)
            select {', '.join('n.' + c for c in t.content + PROVENANCE)}, ?, null from {new} as n
            where not exists (select 1 from {t.table} as h where h.valid_to is null and h.{t.key} = n.{t.key})
        """, [extract_date]).fetchone()[0]
    return inserted, closed


def _retract_latest(con, extract_date: dt.date) -> tuple[dict[str, int], dict[str, int]]:
    """Undo :func:`_append_latest` of the newest extract: delete the versions it inserted, reopen the ones
    it closed, forget the extract. Returns (deleted, reopened) per frame."""
    deleted, reopened = {}, {}
    for t in TABLES:
        deleted[t.frame] = con.execute(f"delete from {t.table} where valid_from = ?", [extract_date]).fetchone()[0]
        reopened[t.frame] = con.execute(f"update {t.table} set valid_to = null where valid_to = ?",
                                        [extract_date]).fetchone()[0]
    con.execute(f"delete from {EXTRACTS} where extract_date = ?", [extract_date])
    return deleted, reopened


def _extract_rows(con, extract_date: dt.date) -> dict[str, int]:
    row = con.execute(f"select {', '.join(_COUNT_COLUMN.values())} from {EXTRACTS} where extract_date = ?",
                      [extract_date]).fetchone()
    return {frame: int(n or 0) for frame, n in zip(_COUNT_COLUMN, row)}


def _record_extract(con, extract_date, partition_key, load_id, rows, inserted, closed) -> None:
    con.execute(f"delete from {EXTRACTS} where extract_date = ?", [extract_date])
    counts = ", ".join(_COUNT_COLUMN.values())
    con.execute(f"""insert into {EXTRACTS} (extract_date, partition_key, load_id, {counts}, n_new_versions,
                    n_closed_versions, recorded_at)
                    values (?, ?, ?, {', '.join('?' for _ in _COUNT_COLUMN)}, ?, ?, current_timestamp)""",
                [extract_date, partition_key, load_id, *(rows[f] for f in _COUNT_COLUMN),
                 sum(inserted.values()), sum(closed.values())])


@dataclass
class _Peeled:
    extract_date: dt.date
    partition_key: str
    load_id: str
    prefix: str


def _peel(con, later: list[dt.date]) -> list[_Peeled]:
    """Keep the snapshots of the extracts dated ``later`` (ascending) in temp tables and take them out of
    the history, newest first. Returns what :func:`_replay` needs to load them back."""
    peeled = []
    for i, d in enumerate(later):
        pk, lid = con.execute(f"select partition_key, load_id from {EXTRACTS} where extract_date = ?", [d]).fetchone()
        prefix = f"_peeled{i}"
        for t in TABLES:
            cols = ", ".join(t.content + PROVENANCE)
            con.execute(f"create or replace temp table {prefix}_{_short(t)} as "
                        f"select {cols} from {t.table} where {as_of_condition('?')}", [d, d])
        peeled.append(_Peeled(d, pk, lid, prefix))
    for p in reversed(peeled):
        _retract_latest(con, p.extract_date)
    return peeled


def _replay(con, peeled: list[_Peeled]) -> None:
    """Load the peeled extracts back, oldest first (their versions keep their recorded provenance)."""
    for p in peeled:
        inserted, closed = _append_latest(con, p.extract_date, p.prefix)
        rows = {t.frame: con.execute(f"select count(*) from {p.prefix}_{_short(t)}").fetchone()[0] for t in TABLES}
        _record_extract(con, p.extract_date, p.partition_key, p.load_id, rows, inserted, closed)
        for t in TABLES:
            con.execute(f"drop table if exists {p.prefix}_{_short(t)}")


# ------------------------------------------------------------------------------------------ migration

def migrate_snapshots(con, say=print) -> int:
    """Turn a warehouse made before the change history (full copies in ``raw.dossiers``,
    ``raw.placements``, ``raw.practice_events``, one per extract) into versions, extract by extract in date
    order, then drop the copies. Nothing is lost: every extract is reconstructible as before. Returns the
    number of extracts migrated (0 when there is nothing to migrate). Call inside a transaction."""
    old = {r[0] for r in con.execute("""select table_name from information_schema.tables
                                        where table_schema = 'raw' and table_name in
                                        ('dossiers', 'placements', 'practice_events')""").fetchall()}
    if "dossiers" not in old:
        return 0
    # copies made before the team key existed lack the column (it was added by an alter table then)
    con.execute("alter table raw.dossiers add column if not exists team_key varchar")
    extracts = con.execute("""select extract_date::date, any_value(partition_key), any_value(load_id)
                              from raw.dossiers group by 1 order by 1""").fetchall()
    for i, (d, pk, lid) in enumerate(extracts, 1):
        say(f"history: migrating dossier extract {d.isoformat()} ({i} of {len(extracts)}) to versions")
        for t in TABLES:
            name = _short(t)
            src = f"raw.{name}"
            if name in old:  # one create ... as select (see _stage)
                con.execute(f"create or replace temp table _mig_{name} as select {', '.join(t.content + PROVENANCE)} "
                            f"from {src} where extract_date::date = ?", [d])
            else:
                con.execute(f"create or replace temp table _mig_{name} as "
                            f"select {', '.join(t.content + PROVENANCE)} from {t.table} limit 0")
        # in date order onto an empty history this appends; copies written by an older version of the product
        # after a conversion (an extract older than, or equal to, one in the history) are placed where they belong
        _apply_with_replay(con, d, pk, lid, incoming="_mig")
    for name in sorted(old):
        con.execute(f"drop table raw.{name}")
    return len(extracts)
