"""Reader for the canonical dossier extract (SPEC 3.4) and its pseudonymisation (SPEC 6).

An extract is a folder ``dossiers/<extract_date>/`` holding ``dossiers.csv``, ``placements.csv`` and,
optionally, ``practice_events.csv``: a full snapshot of the case-management system as of that date.

The files, their columns in order, which columns the header must have and how each is parsed come from
the extract contract, :mod:`orchestration.contracts.dossier_extract`.

What this module does (structure, types):
- decodes each file as UTF-8 (BOM allowed) or cp1252 (the report records which),
- sniffs the separator (``,`` or ``;``) from the header line,
- checks that every required column is present (:data:`D_REQUIRED_COLUMN`),
- parses dates written ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (:data:`D_DATE_FORMAT` for any other form and
  for impossible dates such as ``13/25/2023`` or ``2023-02-30``) and numbers (:data:`D_NUMBER`),
- numbers every record with its physical line in the file (header = line 1).

What it does not do: value rules (empty required fields, duplicate ids, closure before registration,
unknown dossier, dates after the extract date, codes outside the lists of SPEC 3.4). Those are checked by the quality suite
on the frames returned here, so that every failing row can be reported, not only the first.

Everything is vectorised in DuckDB (``read_csv`` with ``all_varchar``); the benchmark extract holds
5,000,000 practice events. No Dagster imports: the Dagster asset calls :func:`read_dossier_extract`,
then :func:`pseudonymise_extract`, adds ``load_id`` and calls ``warehouse.replace_partition``.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from orchestration import privacy
from orchestration.contracts.dossier_extract import (
    BY_NAME, CONTRACT, PARSE_DATE, PARSE_FLOAT, PARSE_ID, PARSE_INT, PARSE_TEXT, FileContract)
from orchestration.privacy import shown_value
from orchestration.readers.base import LoadReport, ReaderError, decode_text, sniff_separator

#: Quality-rule codes under which reader failures are reported (``ReaderError.code``).
D_FILE_MISSING = "D_FILE_MISSING"
D_REQUIRED_COLUMN = "D_REQUIRED_COLUMN"
D_DATE_FORMAT = "D_DATE_FORMAT"
D_NUMBER = "D_NUMBER"
D_CSV_STRUCTURE = "D_CSV_STRUCTURE"

#: Columns of the frames of :class:`DossierRead` (raw ids still present), per file's short name: the CSV
#: columns of the extract contract in file order, then ``source_line``.
READ_COLUMNS: dict[str, list[str]] = {fc.name: [*fc.source_columns, "source_line"] for fc in CONTRACT}

#: Columns of the frames returned by :func:`pseudonymise_extract`, per frame name (``raw.dossiers`` ...):
#: ``partition_key``, ``extract_date``, the contract's stored columns (the history's content columns),
#: ``source_line``. The history tables add ``load_id`` and the validity dates.
RAW_COLUMNS: dict[str, list[str]] = {
    fc.table: ["partition_key", "extract_date", *fc.stored_columns, "source_line"] for fc in CONTRACT
}

#: HMAC domain (:data:`orchestration.privacy.DOMAINS`) of each pseudonymised CSV column.
_DOMAIN: dict[str, str] = {f.source: f.domain for fc in CONTRACT for f in fc.fields if f.domain}

_DATE_ISO = r"\d{4}-\d{2}-\d{2}"
_DATE_DMY = r"\d{2}/\d{2}/\d{4}"
_NUMBER = r"[+-]?\d+([.,]\d+)?"


@dataclass
class DossierRead:
    """One dossier extract as read, before pseudonymisation (SPEC 3.4).

    Frames (one row per CSV record, in file order; column order as in :data:`READ_COLUMNS`).
    ``str`` is pandas' string dtype (Arrow-backed); a missing value is NaN / NaT / <NA>.

    ``dossiers``: dossier_id str, child_id str (raw source ids), service str, region str, team str,
        registration_date datetime64[us] (a date at midnight), closure_date datetime64[us] (NaT while
        open), closure_reason str, birth_year Int64, sex str, source_line int64.
    ``placements``: placement_id str, dossier_id str, start_date datetime64[us], end_date
        datetime64[us] (NaT while ongoing), placement_type str, source_line int64.
    ``practice_events``: event_id str, dossier_id str, event_date datetime64[us], event_type str,
        value float64 (scaling questions, 0-10; a decimal comma is accepted), rated_by str,
        source_line int64. Empty (0 rows, same columns) when ``practice_events.csv`` is absent.

    Strings are trimmed; empty fields are missing, required ones included: empty required fields are
    a rule of the quality gate, which reports every failing line. Codes (service, region,
    placement_type, event_type, rated_by, sex) are returned as written: the quality gate checks them
    against SPEC 3.4. ``source_line`` is the physical line where the record starts (header = line 1).
    ``reports`` maps file name (``dossiers.csv`` ...) to its :class:`LoadReport` (encoding,
    separator, rows, unmapped columns, notes); a missing optional file has a report with a note and
    an empty ``encoding``.
    ``findings`` (one row per suspicious cell, never its value; SPEC 3.4, 6): ``table``
    (``raw.dossiers`` ...), ``column`` (source column), ``source_line``, ``finding`` = ``identifier``
    (an e-mail address, phone number or national register number in a text or code field; ``what``
    says which), ``scientific`` (an id in scientific notation, e.g. ``8,5073E+10``: it went through
    Excel) or ``check_digits`` (a dossier_id or child_id written as a national register number whose
    check digits fail). The quality gate turns them into rules.
    """

    extract_date: date
    folder: Path
    dossiers: pd.DataFrame
    placements: pd.DataFrame
    practice_events: pd.DataFrame
    reports: dict[str, LoadReport] = field(default_factory=dict)
    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FINDING_COLUMNS))

    @property
    def partition_key(self) -> str:
        """The Dagster partition key of the extract: its date, ``YYYY-MM-DD``."""
        return self.extract_date.isoformat()

    def frames(self) -> dict[str, pd.DataFrame]:
        """The three frames by table name (``dossiers``, ``placements``, ``practice_events``)."""
        return {"dossiers": self.dossiers, "placements": self.placements,
                "practice_events": self.practice_events}


def read_dossier_extract(folder: Path, extract_date: date) -> DossierRead:
    """Read the three CSV files of one dossier extract folder (SPEC 3.4).

    Args:
        folder: ``<landing>/dossiers/<extract_date>/``.
        extract_date: the as-of date of the snapshot (the folder name); kept on the result, not checked
            against the dates in the files (that is a quality rule).

    Starts importing Great Expectations in the background (:func:`orchestration.quality.gx.prefetch`):
    the quality gate that follows needs it, and the import then overlaps with the reading.

    Returns:
        A :class:`DossierRead` (frames described there; dates as datetime64 at midnight, no units
        other than calendar days are involved).

    Raises:
        ReaderError: ``code`` one of :data:`D_FILE_MISSING` (``dossiers.csv`` or ``placements.csv``
            absent), ``FILE_NOT_TEXT`` (neither UTF-8 nor cp1252, or binary), :data:`D_CSV_STRUCTURE`
            (a record with a wrong number of fields, an empty file), :data:`D_REQUIRED_COLUMN`,
            :data:`D_DATE_FORMAT` (a date not
            ``YYYY-MM-DD`` / ``DD/MM/YYYY`` or impossible), :data:`D_NUMBER` (``birth_year`` not a
            4-digit year, ``value`` not a number). The error names file, physical line and column of
            the first offending record; the message also says how many records fail the same way.
    """
    from orchestration.quality import gx

    gx.prefetch()  # the quality gate's GX import overlaps with the reading (docs/decisions.md, D4: ~5 s, 230 MB)
    folder = Path(folder)
    frames: dict[str, pd.DataFrame] = {}
    reports: dict[str, LoadReport] = {}
    con = _connect()
    try:
        for fc in CONTRACT:
            path = folder / fc.file
            if not path.exists():
                if fc.optional:
                    report = LoadReport(source_file=str(path), encoding="", n_rows=0)
                    report.notes.append(f"{fc.file} is absent: no {fc.label} in this extract")
                    reports[fc.file] = report
                    frames[fc.name] = _empty_frame(fc.name)
                    continue
                raise ReaderError(path, f"required file {fc.file} is missing from the extract folder",
                                  code=D_FILE_MISSING)
            frames[fc.name], reports[fc.file] = _read_file(con, path, fc, fc.name)
    finally:
        con.close()
    return DossierRead(extract_date=extract_date, folder=folder, dossiers=frames["dossiers"],
                       placements=frames["placements"], practice_events=frames["practice_events"],
                       reports=reports, findings=find_suspicious_values(frames))


FINDING_COLUMNS = ["table", "column", "source_line", "finding", "what"]
#: id columns whose check digits are judged when written as national register numbers, per file
_REGISTER_NUMBER_COLUMNS = {fc.name: tuple(f.source for f in fc.fields if f.check_digits) for fc in CONTRACT}


def find_suspicious_values(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Cells that must not load as they are, found in the values as delivered (SPEC 3.4, 6).

    Args:
        frames: table name (``dossiers``, ``placements``, ``practice_events``) -> frame as read.

    Returns:
        A frame with :data:`FINDING_COLUMNS` (described on :class:`DossierRead`), in table, line order.
        Values are never copied into it. Text and code columns are judged once per distinct value
        (a handful of teams and codes); id columns vectorised with Arrow's RE2 regular expressions.
    """
    import pyarrow.compute as pc

    from orchestration.quality.dossiers import CHECK_DIGITS, IDENTIFIER, SCIENTIFIC

    out: list[pd.DataFrame] = []

    def add(table: str, column: str, lines, finding: str, what) -> None:
        lines = np.asarray(lines, dtype=np.int64)
        if len(lines):
            out.append(pd.DataFrame({"table": f"raw.{table}", "column": column, "source_line": lines,
                                     "finding": finding, "what": what}))

    for table, frame in frames.items():
        if not len(frame):
            continue
        for f in BY_NAME[table].fields:
            col, kind = f.source, f.parse
            if col not in frame.columns:
                continue
            values = frame[col]
            if kind == PARSE_TEXT:
                kinds = {v: privacy.identifier_kind(v) for v in pd.unique(values.dropna())}
                kinds = {v: k for v, k in kinds.items() if k}
                if kinds:
                    hit = values.map(kinds)
                    mask = hit.notna().to_numpy()
                    add(table, col, frame["source_line"].to_numpy()[mask], IDENTIFIER,
                        hit[mask].astype(object).to_numpy())
            elif kind == PARSE_ID:
                arr = pa.array(values, from_pandas=True, type=pa.string())
                trimmed = pc.utf8_trim_whitespace(arr)
                sci = np.asarray(pc.fill_null(pc.match_substring_regex(
                    trimmed, f"^{privacy.SCIENTIFIC_LAYOUT}$"), False), dtype=bool)
                add(table, col, frame["source_line"].to_numpy()[sci], SCIENTIFIC, "")
                if col in _REGISTER_NUMBER_COLUMNS.get(table, ()):
                    layout = np.asarray(pc.fill_null(pc.match_substring_regex(
                        trimmed, f"^{privacy.REGISTER_NUMBER_LAYOUT}$"), False), dtype=bool)
                    if layout.any():
                        digits = pc.replace_substring_regex(trimmed.filter(pa.array(layout)), "[^0-9]", "")
                        number = np.asarray(pc.cast(digits, pa.int64()), dtype=np.int64)
                        body, check = number // 100, number % 100
                        valid = (check == 97 - body % 97) | (check == 97 - (2_000_000_000 + body) % 97)
                        lines = frame["source_line"].to_numpy()[layout][~valid]
                        add(table, col, lines, CHECK_DIGITS, "")
    if not out:
        return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "source_line" else object)
                             for c in FINDING_COLUMNS})
    found = pd.concat(out, ignore_index=True)
    return found.sort_values(["table", "source_line", "column"], kind="stable").reset_index(drop=True)


def pseudonymise_extract(read: DossierRead, key: bytes,
                         team_labels: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Replace source ids by keyed pseudonyms and shape the frames as the raw tables (SPEC 4, 6).

    ``dossier_id`` -> ``dossier_key`` (domain ``dossier``, in all three tables, so keys join),
    ``child_id`` -> ``child_key`` (``child``), ``placement_id`` -> ``placement_key`` (``placement``),
    ``event_id`` -> ``event_key`` (``event``): HMAC-SHA256 exactly as
    :func:`orchestration.privacy.pseudonymise` (computed in DuckDB for speed: ~1 s per million ids),
    dossier and child ids written as national register numbers reduced to their 11 digits first.
    ``team`` (free text in the case system) -> ``team_key`` (domain ``team``) and ``team`` = the
    published label of ``team_labels`` (:func:`orchestration.teams.team_labels`; value as delivered,
    stripped -> label), null for a team the list does not name. ``closure_reason`` is returned as
    delivered: the quality gate warns about codes outside the list and
    :func:`orchestration.quality.dossiers.store_codes` replaces them before anything is written.

    Returns:
        ``{"raw.dossiers": df, "raw.placements": df, "raw.practice_events": df}``, each with exactly the
        columns of :data:`RAW_COLUMNS` (the raw table's columns without ``load_id``, which the caller
        adds): ``partition_key`` str (``YYYY-MM-DD``), ``extract_date`` datetime64, the keys (64 hex
        chars), the other values as read, ``source_line`` int64. No raw id is left in any frame.

    Raises:
        ValueError: ``key`` is empty.
    """
    if not key:
        raise ValueError("an empty pseudonymisation key is not allowed (SPEC 6)")
    hmac_sql = privacy.HmacSql(key)
    con = _connect()
    out: dict[str, pd.DataFrame] = {}
    try:
        for table, frame in read.frames().items():
            con.register(f"_in_{table}", frame)
        # every dossier id once (the events table repeats each dossier many times)
        con.execute(
            "create temp table _dossier_keys as select dossier_id, "
            f"{hmac_sql.expr('dossier_id', _DOMAIN['dossier_id'])} as dossier_key from ("
            "select dossier_id from _in_dossiers union select dossier_id from _in_placements "
            "union select dossier_id from _in_practice_events) where dossier_id is not null")
        # child ids and teams once each too (a child has several dossiers; a few dozen teams): one HMAC
        # per distinct value, joined back; the published team label per distinct team
        con.execute(
            "create temp table _child_keys as select child_id, "
            f"{hmac_sql.expr('child_id', _DOMAIN['child_id'])} as child_key from ("
            "select distinct child_id from _in_dossiers where child_id is not null)")
        teams = con.execute(
            f"select team, {privacy.strip_sql('team')}, {hmac_sql.expr('team', _DOMAIN['team'])} from ("
            "select distinct team from _in_dossiers where team is not null)").fetchall()
        labels = team_labels or {}
        con.register("_team_keys", pa.table({
            "team": pa.array([t for t, _s, _k in teams], type=pa.string()),
            "team_key": pa.array([k for _t, _s, k in teams], type=pa.string()),
            "label": pa.array([labels.get(s) if s is not None else None for _t, s, _k in teams], type=pa.string())}))
        # each file's own id (the dossier key of dossiers.csv comes from the join above, shared by the files)
        own_key = {fc.name: (fc.key.source, fc.key.raw, fc.key.domain) for fc in CONTRACT
                   if fc.key.raw != "dossier_key"}
        for table in read.frames():
            raw_name = f"raw.{table}"
            src, dst, kind = own_key.get(table, (None, None, None))
            select = []
            for col in RAW_COLUMNS[raw_name]:
                if col == "partition_key":
                    select.append(f"'{read.partition_key}'::varchar as partition_key")
                elif col == "extract_date":
                    select.append(f"timestamp '{read.extract_date.isoformat()}' as extract_date")
                elif col == "dossier_key":
                    select.append("k.dossier_key")
                elif col == "child_key":
                    select.append("c.child_key")
                elif col == dst:
                    select.append(f"{hmac_sql.expr(f'f.{src}', kind)} as {dst}")
                elif col == "team_key":
                    select.append("t.team_key")
                elif col == "team":  # the published label, never the team as delivered
                    select.append("t.label as team")
                else:
                    select.append(f"f.{col}")
            joins = "left join _dossier_keys k on k.dossier_id = f.dossier_id"
            if table == "dossiers":
                joins += (" left join _child_keys c on c.child_id = f.child_id"
                          " left join _team_keys t on t.team = f.team")
            frame = _fetch(con, f"select {', '.join(select)} from _in_{table} f {joins} order by f.source_line")
            if "birth_year" in frame:
                frame["birth_year"] = frame["birth_year"].astype("Int64")
            out[raw_name] = frame
        con.unregister("_team_keys")
        for table in read.frames():
            con.unregister(f"_in_{table}")
    finally:
        con.close()
    return out


def _fetch(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """Run ``query`` and return a DataFrame through Arrow (5x faster than ``.df()`` on strings).

    Strings become pandas' ``str`` dtype (Arrow-backed, missing = NaN); timestamps datetime64[us].
    """
    table = con.sql(query).to_arrow_table()
    mapping = {pa.string(): _STR, pa.large_string(): _STR, pa.string_view(): _STR}
    frame = table.to_pandas(types_mapper=mapping.get)
    for name, dtype in zip(table.column_names, table.schema.types):
        if pa.types.is_timestamp(dtype):
            frame[name] = frame[name].astype("datetime64[us]")
    return frame


_STR = pd.StringDtype("pyarrow", na_value=float("nan"))


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    return con


# --------------------------------------------------------------------------------------------------
# one file

def _empty_frame(table: str) -> pd.DataFrame:
    """The frame of an absent optional file: no rows, the columns of :data:`READ_COLUMNS` with their dtypes."""
    kinds = {f.source: f.parse for f in BY_NAME[table].fields}
    data = {}
    for col in READ_COLUMNS[table]:
        kind = kinds.get(col, "line")
        dtype = {PARSE_DATE: "datetime64[us]", PARSE_INT: "Int64", PARSE_FLOAT: "float64",
                 "line": "int64"}.get(kind, "str")
        data[col] = pd.Series([], dtype=dtype)
    return pd.DataFrame(data)


def _scan(path: Path) -> tuple[str, int, bytes, bytes]:
    """Stream the file once (4 MiB blocks, no full copy in memory).

    Returns ``(encoding, physical line count, first line bytes, last 4 KiB)``; encoding is
    ``utf-8-sig`` / ``utf-8``, or ``""`` when the bytes are not clean UTF-8 (NUL byte or invalid
    sequence): the caller then falls back to :func:`decode_text`, which decodes cp1252 or raises.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = 0
    first = b""
    tail = b""
    bom = False
    with open(path, "rb") as fh:
        start = True
        while True:
            block = fh.read(1 << 22)
            if not block:
                break
            if start:
                bom = block.startswith(b"\xef\xbb\xbf")
                end = block.find(b"\n")
                first = block if end < 0 else block[:end]
                start = False
            if b"\x00" in block:
                return "", 0, first, b""
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return "", 0, first, b""
            newlines += block.count(b"\n")
            tail = (tail + block)[-4096:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "", 0, first, b""
    lines = newlines + (1 if tail and not tail.endswith(b"\n") else 0)
    return ("utf-8-sig" if bom else "utf-8"), lines, first, tail


def _record_start_lines(text: str, sep: str) -> list[int]:
    """Physical start line of every data record (quoted newlines, blank lines). Slow path, rare files."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"', doublequote=True)
    starts: list[int] = []
    previous_end = 0
    for row in reader:
        begin = previous_end + 1
        previous_end = reader.line_num
        if not row or (len(row) == 1 and row[0] == ""):
            continue
        starts.append(begin)
    return starts[1:]  # the first record is the header


def _read_file(con: duckdb.DuckDBPyConnection, path: Path, spec: FileContract,
               table: str) -> tuple[pd.DataFrame, LoadReport]:
    """Read one CSV file of the extract as ``spec`` declares it (the frame of ``table``) and its report.

    Steps: decode (:func:`_open_source`), check the header (:func:`_header`), load every field trimmed
    (:func:`_load_trimmed`, temp table ``_s``), number the records with their physical lines
    (:func:`_line_numbers`), type the values with one flag per check (:func:`_load_typed`, temp table
    ``_t``), refuse the first failing check (:func:`_refuse_first_bad`), fetch the frame.

    Raises:
        ReaderError: as :func:`read_dossier_extract` says, naming file, line and column.
    """
    source = _open_source(path)
    try:
        sep, names, report = _header(path, source.header_line, spec, source.encoding)
        n_rows = _load_trimmed(con, path, source, sep, names, spec)
        report.n_rows = n_rows
        line_expr, join = _line_numbers(con, path, source, sep, n_rows)
        checks = _load_typed(con, spec, line_expr, join)
        _refuse_first_bad(con, path, checks)
        order = " order by source_line" if join else ""
        kinds = {f.source: f.parse for f in spec.fields}
        columns_out = ", ".join(f"{c}::timestamp as {c}" if kinds.get(c) == PARSE_DATE else c
                                for c in READ_COLUMNS[table])
        frame = _fetch(con, f"select {columns_out} from _t{order}")
        for name in ("_t", "_s", "_lines"):
            con.execute(f"drop table if exists {name}")
    finally:
        if source.tmp_dir is not None:
            source.tmp_dir.cleanup()
    return _typed(frame, spec), report


@dataclass
class _Source:
    """One extract file ready for DuckDB: the file itself when it is clean UTF-8, else a UTF-8 copy.

    ``csv_path``: what DuckDB reads; ``encoding``: ``utf-8-sig``, ``utf-8`` or ``cp1252``; ``n_lines``:
    physical lines; ``tail``: the last 4 KiB (UTF-8); ``header_line``: the first line without BOM and
    ``\\r``; ``text``: the decoded text when it was needed (else None, decoded later only if needed);
    ``tmp_dir``: the folder of the UTF-8 copy, to clean up.
    """

    path: Path
    csv_path: Path
    encoding: str
    n_lines: int
    tail: bytes
    header_line: str
    text: str | None = None
    tmp_dir: tempfile.TemporaryDirectory | None = None


def _open_source(path: Path) -> _Source:
    """Scan ``path`` once; when it is not clean UTF-8, decode it (cp1252) into a temporary UTF-8 copy.

    Raises:
        ReaderError: ``FILE_NOT_TEXT`` (:func:`~orchestration.readers.base.decode_text`).
    """
    encoding, n_lines, first, tail = _scan(path)
    if encoding:
        header_line = first.decode("utf-8", errors="replace")
        if header_line.startswith("\ufeff"):
            header_line = header_line[1:]
        return _Source(path=path, csv_path=path, encoding=encoding, n_lines=n_lines, tail=tail,
                       header_line=header_line.rstrip("\r"))
    text, encoding = decode_text(path)  # raises ReaderError when neither UTF-8 nor cp1252
    tmp_dir = tempfile.TemporaryDirectory(prefix="sofs_dossier_")
    csv_path = Path(tmp_dir.name) / path.name
    csv_path.write_text(text, encoding="utf-8", newline="")
    n_lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return _Source(path=path, csv_path=csv_path, encoding=encoding, n_lines=n_lines,
                   tail=text[-4096:].encode("utf-8"), header_line=text.split("\n", 1)[0].rstrip("\r"),
                   text=text, tmp_dir=tmp_dir)


def _header(path: Path, header_line: str, spec: FileContract, encoding: str) -> tuple[str, list[str], LoadReport]:
    """``(separator, column names lower case, report)`` of the header line, checked against ``spec``.

    The report gets the columns the contract does not name (``unmapped_columns``, ignored) and a note per
    absent optional column.

    Raises:
        ReaderError: :data:`D_CSV_STRUCTURE` (blank header line, a contract column twice),
            :data:`D_REQUIRED_COLUMN` (a required column absent), on line 1.
    """
    if not header_line.strip():
        raise ReaderError(path, "the file is empty or its first line (the header) is blank",
                          line=1, code=D_CSV_STRUCTURE)
    sep = sniff_separator(header_line)
    header = next(csv.reader([header_line], delimiter=sep, quotechar='"'))
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    report = LoadReport(source_file=str(path), encoding=encoding, separator=sep)
    wanted = set(spec.source_columns)
    for f in spec.fields:
        col = f.source
        if col not in names and f.column_required:
            required = [g.source for g in spec.fields if g.column_required]
            raise ReaderError(path, f"required column {col!r} is missing (the header line has {len(names)} "
                              f"field(s), not shown; the required columns are {', '.join(required)})",
                              line=1, column=col, code=D_REQUIRED_COLUMN)
    seen: set[str] = set()
    for n in names:
        if n in seen and n in wanted:
            raise ReaderError(path, f"column {n!r} appears twice in the header", line=1, column=n,
                              code=D_CSV_STRUCTURE)
        seen.add(n)
    report.unmapped_columns = [h for h, n in zip(header, names) if n not in wanted]
    if report.unmapped_columns:
        report.notes.append(f"{path.name}: columns not in the contract, ignored: "
                            f"{', '.join(report.unmapped_columns)}")
    for f in spec.fields:
        col = f.source
        if col not in names and not f.column_required:
            report.notes.append(f"{path.name}: optional column {col!r} absent, read as empty")
    return sep, names, report


def _load_trimmed(con: duckdb.DuckDBPyConnection, path: Path, source: _Source, sep: str, names: list[str],
                  spec: FileContract) -> int:
    """Pass 1: temp table ``_s`` with the contract's columns, trimmed text, in record order
    (``_s.rowid`` = record number from 0); an absent optional column is NULL. Returns the record count.

    Raises:
        ReaderError: :data:`D_CSV_STRUCTURE` for a malformed record, with its physical line.
    """
    columns = {f"c{i}": "VARCHAR" for i in range(len(names))}
    index = {n: i for i, n in enumerate(names)}
    trimmed = ", ".join(f"{privacy.strip_sql(f'c{index[col]}')} as {col}" if col in index else f"null::varchar as {col}"
                        for col in spec.source_columns)
    try:
        con.execute(
            f"create or replace temp table _s as select {trimmed} from read_csv(?, delim=?, header=true, "
            "auto_detect=false, quote='\"', escape='\"', columns=?, strict_mode=true)",
            [str(source.csv_path), sep, columns])
    except duckdb.Error as exc:
        raise _csv_error(path, exc, sep, source.text) from exc
    return con.execute("select count(*) from _s").fetchall()[0][0]


def _line_numbers(con: duckdb.DuckDBPyConnection, path: Path, source: _Source, sep: str,
                  n_rows: int) -> tuple[str, str]:
    """``(SQL expression of a record's physical line, join that provides it)``.

    ``rowid + 2`` when records and lines agree (the common case); otherwise (quoted newlines, blank
    lines) each record's start line from the csv module, in temp table ``_lines``.

    Raises:
        ReaderError: :data:`D_CSV_STRUCTURE` when DuckDB and the csv module count different records.
    """
    if n_rows == source.n_lines - 1 - _trailing_blank_lines(source.tail):
        return "(_s.rowid + 2)", ""
    text = source.text if source.text is not None else decode_text(path)[0]
    starts = _record_start_lines(text, sep)
    if len(starts) != n_rows:
        raise ReaderError(path, f"cannot align records with lines ({n_rows} records read by DuckDB, "
                          f"{len(starts)} by the csv module): check quoting", code=D_CSV_STRUCTURE)
    con.register("_starts", pd.DataFrame({"rec": range(n_rows), "line": starts}))
    con.execute("create or replace temp table _lines as "
                "select rec::bigint as rec, line::bigint as line from _starts")
    con.unregister("_starts")
    return "_lines.line", " join _lines on _lines.rec = _s.rowid"


def _load_typed(con: duckdb.DuckDBPyConnection, spec: FileContract, line_expr: str,
                join: str) -> list[tuple[str, str, str, str]]:
    """Pass 2: temp table ``_t`` with ``_rec``, ``source_line``, the typed values and one boolean flag column
    per typed column (true where a value is present but does not parse).

    Returns:
        ``(flag column, column, rule code, message)`` per check: dates (:data:`D_DATE_FORMAT`,
        ``YYYY-MM-DD`` or ``DD/MM/YYYY``, a real calendar day), years and numbers (:data:`D_NUMBER`).
    """
    select_t = ["_s.rowid as _rec", f"{line_expr} as source_line"]
    checks = []  # (flag column, column, code, message)
    for f in spec.fields:
        col, kind = f.source, f.parse
        x = f"_s.{col}"
        if kind == PARSE_DATE:
            # the shape check (length, separators) then DuckDB's strict parser: 2023-02-30 -> null
            typed = (f"case when length({x}) = 10 and {x}[5] = '-' and {x}[8] = '-' "
                     f"and regexp_full_match({x}, '{_DATE_ISO}') then try_cast({x} as date) "
                     f"when length({x}) = 10 and {x}[3] = '/' and {x}[6] = '/' "
                     f"and regexp_full_match({x}, '{_DATE_DMY}') then try_strptime({x}, '%d/%m/%Y')::date end")
            message = "is not a valid date (expected YYYY-MM-DD or DD/MM/YYYY, a real calendar day)"
        elif kind == PARSE_INT:
            typed = f"case when regexp_full_match({x}, '\\d{{4}}') then {x}::integer end"
            message = "is not a year (four digits)"
        elif kind == PARSE_FLOAT:
            typed = f"case when regexp_full_match({x}, '{_NUMBER}') then replace({x}, ',', '.')::double end"
            message = "is not a number"
        else:
            select_t.append(f"{x} as {col}")
            continue
        select_t.append(f"{typed} as {col}")
        select_t.append(f"{x} is not null and ({typed}) is null as _bad_{col}")
        checks.append((f"_bad_{col}", col, D_DATE_FORMAT if kind == PARSE_DATE else D_NUMBER, message))
    con.execute(f"create or replace temp table _t as select {', '.join(select_t)} from _s{join}")
    return checks


def _refuse_first_bad(con: duckdb.DuckDBPyConnection, path: Path, checks: list[tuple[str, str, str, str]]) -> None:
    """Raise for the first check (in contract column order) that any record fails.

    Raises:
        ReaderError: the check's code, naming the first failing record's line and the column, the value
            described (:func:`~orchestration.privacy.shown_value`), and how many records fail the same way.
    """
    if not checks:
        return
    aggregates = ", ".join(f"min(case when {flag} then source_line end), count_if({flag})"
                           for flag, *_ in checks)
    found = con.execute(f"select {aggregates} from _t").fetchall()[0]
    for i, (_flag, col, code, message) in enumerate(checks):
        first_line, n_bad = found[2 * i], found[2 * i + 1]
        if not n_bad:
            continue
        rec = con.execute("select _rec from _t where source_line = ?", [first_line]).fetchall()[0][0]
        value = con.execute(f"select {col} from _s where rowid = ?", [rec]).fetchall()[0][0]
        shown = shown_value(value)
        more = f" ({n_bad} records fail the same way)" if n_bad > 1 else ""
        raise ReaderError(path, f"{col} {shown} {message}{more}", line=int(first_line), column=col,
                          code=code)


def _trailing_blank_lines(tail: bytes) -> int:
    """How many empty physical lines end the file (DuckDB skips them; they shift no record)."""
    parts = tail.split(b"\n")
    if tail.endswith(b"\n"):
        parts = parts[:-1]
    count = 0
    for part in reversed(parts):
        if part.strip(b"\r \t"):
            break
        count += 1
    return count


def _typed(frame: pd.DataFrame, spec: FileContract) -> pd.DataFrame:
    """``frame`` with the dtypes of its parse kinds (described on :class:`DossierRead`)."""
    for f in spec.fields:
        col, kind = f.source, f.parse
        if kind == PARSE_DATE:
            frame[col] = frame[col].astype("datetime64[us]")
        elif kind == PARSE_INT:
            frame[col] = frame[col].astype("Int64")
        elif kind == PARSE_FLOAT:
            frame[col] = frame[col].astype("float64")
        else:
            frame[col] = frame[col].astype("str")
    frame["source_line"] = frame["source_line"].astype("int64")
    return frame.reset_index(drop=True)


_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")


def _csv_error(path: Path, exc: duckdb.Error, sep: str, text: str | None) -> ReaderError:
    """Turn a DuckDB CSV error into a ReaderError with the physical line (DuckDB counts records)."""
    message = str(exc).split("\n")
    first = message[0]
    detail = next((m.strip() for m in message[1:] if m.strip().startswith("Expected Number of Columns")), "")
    match = _LINE_RE.search(str(exc))
    line = None
    if match:
        record = int(match.group(1))  # header = 1, first data record = 2
        try:
            if text is None:
                text = decode_text(path)[0]
            starts = _record_start_lines(text, sep)
            line = starts[record - 2] if 0 <= record - 2 < len(starts) else record
        except (ReaderError, csv.Error):
            line = record
    what = detail or first
    return ReaderError(path, f"malformed CSV record ({what}; separator {sep!r})", line=line, code=D_CSV_STRUCTURE)
