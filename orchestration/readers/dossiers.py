"""Reader for the canonical dossier extract (SPEC 3.4) and its pseudonymisation (SPEC 6).

An extract is a folder ``dossiers/<extract_date>/`` holding ``dossiers.csv``, ``placements.csv`` and,
optionally, ``practice_events.csv``: a full snapshot of the case-management system as of that date.

What this module does (structure, types):
- decodes each file as UTF-8 (BOM allowed) or cp1252 (the report records which),
- sniffs the separator (``,`` or ``;``) from the header line,
- checks that every required column is present (:data:`D_REQUIRED_COLUMN`) and that required fields
  are not empty (:data:`D_REQUIRED_VALUE`),
- parses dates written ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (:data:`D_DATE_FORMAT` for any other form and
  for impossible dates such as ``13/25/2023`` or ``2023-02-30``) and numbers (:data:`D_NUMBER`),
- numbers every record with its physical line in the file (header = line 1).

What it does not do: value rules (duplicate ids, closure before registration, unknown dossier, dates
after the extract date, codes outside the lists of SPEC 3.4). Those are checked by the quality suite
on the frames returned here, so that every failing row can be reported, not only the first.

Everything is vectorised in DuckDB (``read_csv`` with ``all_varchar``); the benchmark extract holds
5,000,000 practice events. No Dagster imports: the Dagster asset calls :func:`read_dossier_extract`,
then :func:`pseudonymise_extract`, adds ``load_id`` and calls ``warehouse.replace_partition``.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.privacy import DOMAINS
from orchestration.readers.base import LoadReport, ReaderError, decode_text, sniff_separator

#: Quality-rule codes under which reader failures are reported (``ReaderError.code``).
D_FILE_MISSING = "D_FILE_MISSING"
D_REQUIRED_COLUMN = "D_REQUIRED_COLUMN"
D_REQUIRED_VALUE = "D_REQUIRED_VALUE"
D_DATE_FORMAT = "D_DATE_FORMAT"
D_NUMBER = "D_NUMBER"
D_CSV_STRUCTURE = "D_CSV_STRUCTURE"

# column kinds: id / text (trimmed string, empty -> None), date, int, float
_SPECS: dict[str, dict] = {
    "dossiers": {
        "file": "dossiers.csv", "optional_file": False,
        "columns": [  # (name, kind, column required, value required)
            ("dossier_id", "id", True, True), ("child_id", "id", True, True),
            ("service", "text", True, True), ("region", "text", True, True),
            ("team", "text", False, False), ("registration_date", "date", True, True),
            ("closure_date", "date", False, False), ("closure_reason", "text", False, False),
            ("birth_year", "int", False, False), ("sex", "text", False, False),
        ],
    },
    "placements": {
        "file": "placements.csv", "optional_file": False,
        "columns": [
            ("placement_id", "id", True, True), ("dossier_id", "id", True, True),
            ("start_date", "date", True, True), ("end_date", "date", True, False),
            ("placement_type", "text", True, True),
        ],
    },
    "practice_events": {
        "file": "practice_events.csv", "optional_file": True,
        "columns": [
            ("event_id", "id", True, True), ("dossier_id", "id", True, True),
            ("event_date", "date", True, True), ("event_type", "text", True, True),
            ("value", "float", False, False), ("rated_by", "text", False, False),
        ],
    },
}

#: Columns of the frames of :class:`DossierRead` (raw ids still present), per table.
READ_COLUMNS: dict[str, list[str]] = {
    name: [c[0] for c in spec["columns"]] + ["source_line"] for name, spec in _SPECS.items()
}

#: Columns of the frames returned by :func:`pseudonymise_extract` (raw table columns minus ``load_id``).
RAW_COLUMNS: dict[str, list[str]] = {
    "raw.dossiers": ["partition_key", "extract_date", "dossier_key", "child_key", "service", "region",
                     "team", "registration_date", "closure_date", "closure_reason", "birth_year", "sex",
                     "source_line"],
    "raw.placements": ["partition_key", "extract_date", "placement_key", "dossier_key", "start_date",
                       "end_date", "placement_type", "source_line"],
    "raw.practice_events": ["partition_key", "extract_date", "event_key", "dossier_key", "event_date",
                            "event_type", "value", "rated_by", "source_line"],
}

# Python's str.strip() removes these (privacy.pseudonymise strips with it); trim the same set in SQL
# so that the pseudonyms made in DuckDB equal privacy.pseudonymise() byte for byte.
_WS = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]"
_DATE_ISO = r"\d{4}-\d{2}-\d{2}"
_DATE_DMY = r"\d{2}/\d{2}/\d{4}"


@dataclass
class DossierRead:
    """One dossier extract as read, before pseudonymisation (SPEC 3.4).

    Frames (one row per CSV record, in file order; column order as in :data:`READ_COLUMNS`):

    ``dossiers``: dossier_id str, child_id str (raw source ids), service str, region str, team str|None,
        registration_date datetime64 (a date at midnight), closure_date datetime64|NaT (open dossier),
        closure_reason str|None, birth_year Int64|<NA>, sex str|None, source_line int64.
    ``placements``: placement_id str, dossier_id str, start_date datetime64, end_date datetime64|NaT
        (ongoing), placement_type str, source_line int64.
    ``practice_events``: event_id str, dossier_id str, event_date datetime64, event_type str,
        value float64|NaN (scaling questions, 0-10), rated_by str|None, source_line int64.
        Empty (0 rows, same columns) when ``practice_events.csv`` is absent.

    Strings are trimmed; empty fields are None. Codes (service, region, placement_type, event_type,
    rated_by, sex) are returned as written: the quality suite checks them against SPEC 3.4.
    ``source_line`` is the physical line of the record's first line in the file (header = line 1).
    ``reports`` maps file name (``dossiers.csv`` ...) to its :class:`LoadReport` (encoding,
    separator, rows, unmapped columns, notes); a missing optional file has a report with a note.
    """

    extract_date: date
    folder: Path
    dossiers: pd.DataFrame
    placements: pd.DataFrame
    practice_events: pd.DataFrame
    reports: dict[str, LoadReport] = field(default_factory=dict)

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

    Returns:
        A :class:`DossierRead` (frames described there; dates as datetime64 at midnight, no units
        other than calendar days are involved).

    Raises:
        ReaderError: ``code`` one of :data:`D_FILE_MISSING` (``dossiers.csv`` or ``placements.csv``
            absent), ``FILE_NOT_TEXT`` (neither UTF-8 nor cp1252, or binary), :data:`D_CSV_STRUCTURE`
            (a record with a wrong number of fields, an empty file), :data:`D_REQUIRED_COLUMN`,
            :data:`D_REQUIRED_VALUE` (an empty required field), :data:`D_DATE_FORMAT` (a date not
            ``YYYY-MM-DD`` / ``DD/MM/YYYY`` or impossible), :data:`D_NUMBER` (``birth_year`` not a
            4-digit year, ``value`` not a number). The error names file, physical line and column of
            the first offending record; the message also says how many records fail the same way.
    """
    folder = Path(folder)
    frames: dict[str, pd.DataFrame] = {}
    reports: dict[str, LoadReport] = {}
    con = duckdb.connect()
    try:
        for table, spec in _SPECS.items():
            path = folder / spec["file"]
            if not path.exists():
                if spec["optional_file"]:
                    report = LoadReport(source_file=str(path), encoding="", n_rows=0)
                    report.notes.append(f"{spec['file']} is absent: no practice events in this extract")
                    reports[spec["file"]] = report
                    frames[table] = _empty_frame(table)
                    continue
                raise ReaderError(path, f"required file {spec['file']} is missing from the extract folder",
                                  code=D_FILE_MISSING)
            frames[table], reports[spec["file"]] = _read_file(con, path, spec, table)
    finally:
        con.close()
    return DossierRead(extract_date=extract_date, folder=folder, dossiers=frames["dossiers"],
                       placements=frames["placements"], practice_events=frames["practice_events"],
                       reports=reports)


def pseudonymise_extract(read: DossierRead, key: bytes) -> dict[str, pd.DataFrame]:
    """Replace source ids by keyed pseudonyms and shape the frames as the raw tables (SPEC 4, 6).

    ``dossier_id`` -> ``dossier_key`` (domain ``dossier``, in all three tables, so keys join),
    ``child_id`` -> ``child_key`` (``child``), ``placement_id`` -> ``placement_key`` (``placement``),
    ``event_id`` -> ``event_key`` (``event``): HMAC-SHA256 exactly as
    :func:`orchestration.privacy.pseudonymise` (computed in DuckDB for speed: ~1 s per million ids).

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
    hmac_sql = _HmacSql(key)
    con = duckdb.connect()
    out: dict[str, pd.DataFrame] = {}
    try:
        ids = {"dossiers": [("dossier_id", "dossier_key", "dossier"), ("child_id", "child_key", "child")],
               "placements": [("placement_id", "placement_key", "placement"),
                              ("dossier_id", "dossier_key", "dossier")],
               "practice_events": [("event_id", "event_key", "event"), ("dossier_id", "dossier_key", "dossier")]}
        for table, frame in read.frames().items():
            raw_name = f"raw.{table}"
            con.register("_frame", frame)
            replaced = {src: f"{hmac_sql.expr(f'_frame.{src}', kind)} as {dst}" for src, dst, kind in ids[table]}
            select = []
            for col in RAW_COLUMNS[raw_name]:
                if col == "partition_key":
                    select.append(f"'{read.partition_key}'::varchar as partition_key")
                elif col == "extract_date":
                    select.append(f"date '{read.extract_date.isoformat()}' as extract_date")
                else:
                    src = next((s for s, d, _ in ids[table] if d == col), col)
                    select.append(replaced.get(src, f"_frame.{col}"))
            result = con.execute(f"select {', '.join(select)} from _frame").df()
            con.unregister("_frame")
            result["source_line"] = result["source_line"].astype("int64")
            out[raw_name] = result
    finally:
        con.close()
    return out


class _HmacSql:
    """SQL expression computing HMAC-SHA256(key, domain + 0x1f + trimmed value) as lowercase hex.

    HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m)), K' = K (or H(K) when longer than the
    64-byte block) padded with zeros to 64 bytes (RFC 2104). Equal to ``privacy.pseudonymise``.
    """

    def __init__(self, key: bytes):
        k = hashlib.sha256(key).digest() if len(key) > 64 else key
        k = k.ljust(64, b"\x00")
        self.ipad = bytes(b ^ 0x36 for b in k).hex()
        self.opad = bytes(b ^ 0x5C for b in k).hex()

    def expr(self, column: str, kind: str) -> str:
        domain = DOMAINS[kind].replace("'", "''")
        value = f"regexp_replace({column}, '^{_WS}+|{_WS}+$', '', 'g')"
        inner = f"sha256(unhex('{self.ipad}') || encode('{domain}' || chr(31) || {value}))"
        return (f"case when {column} is null or {value} = '' then null "
                f"else sha256(unhex('{self.opad}') || unhex({inner})) end")


# --------------------------------------------------------------------------------------------------
# one file

def _empty_frame(table: str) -> pd.DataFrame:
    kinds = {c[0]: c[1] for c in _SPECS[table]["columns"]}
    data = {}
    for col in READ_COLUMNS[table]:
        kind = kinds.get(col, "line")
        dtype = {"date": "datetime64[us]", "int": "Int64", "float": "float64", "line": "int64"}.get(kind, "object")
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


def _read_file(con: duckdb.DuckDBPyConnection, path: Path, spec: dict, table: str) -> tuple[pd.DataFrame, LoadReport]:
    encoding, n_lines, first, tail = _scan(path)
    tmp_dir = None
    text: str | None = None
    csv_path = path
    if not encoding:
        text, encoding = decode_text(path)  # raises ReaderError when neither UTF-8 nor cp1252
        tmp_dir = tempfile.TemporaryDirectory(prefix="sofs_dossier_")
        csv_path = Path(tmp_dir.name) / path.name
        csv_path.write_text(text, encoding="utf-8", newline="")
        n_lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        tail = text[-4096:].encode("utf-8")
        header_line = text.split("\n", 1)[0]
    else:
        header_line = first.decode("utf-8", errors="replace")
        if header_line.startswith("\ufeff"):
            header_line = header_line[1:]
    header_line = header_line.rstrip("\r")
    try:
        if not header_line.strip():
            raise ReaderError(path, "the file is empty or its first line (the header) is blank",
                              line=1, code=D_CSV_STRUCTURE)
        sep = sniff_separator(header_line)
        header = next(csv.reader([header_line], delimiter=sep, quotechar='"'))
        names = [h.strip().lstrip("\ufeff").lower() for h in header]
        report = LoadReport(source_file=str(path), encoding=encoding, separator=sep)
        wanted = {c[0] for c in spec["columns"]}
        for col, _kind, col_required, _ in spec["columns"]:
            if col not in names and col_required:
                raise ReaderError(path, f"required column {col!r} is missing (header has: {', '.join(names)})",
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
        for col, _kind, col_required, _ in spec["columns"]:
            if col not in names and not col_required:
                report.notes.append(f"{path.name}: optional column {col!r} absent, read as empty")

        columns = {f"c{i}": "VARCHAR" for i in range(len(names))}
        try:
            con.execute("drop table if exists _f")
            con.execute(
                "create temp table _f as select * from read_csv(?, delim=?, header=true, auto_detect=false, "
                "quote='\"', escape='\"', columns=?, strict_mode=true)",
                [str(csv_path), sep, columns])
        except duckdb.Error as exc:
            raise _csv_error(path, exc, sep, text) from exc
        n_rows = con.execute("select count(*) from _f").fetchone()[0]
        report.n_rows = n_rows
        # physical line of each record: rowid + 2 unless quoted newlines or blank lines shift them
        if n_rows == n_lines - 1 - _trailing_blank_lines(tail):
            line_expr = "(rowid + 2)"
            join = ""
        else:
            if text is None:
                text = decode_text(path)[0]
            starts = _record_start_lines(text, sep)
            if len(starts) != n_rows:
                raise ReaderError(path, f"cannot align records with lines ({n_rows} records read by DuckDB, "
                                  f"{len(starts)} by the csv module): check quoting", code=D_CSV_STRUCTURE)
            con.execute("drop table if exists _lines")
            con.register("_starts", pd.DataFrame({"rec": range(n_rows), "line": starts}))
            con.execute("create temp table _lines as select rec::bigint as rec, line::bigint as line from _starts")
            con.unregister("_starts")
            line_expr = "_lines.line"
            join = " join _lines on _lines.rec = _f.rowid"
        index = {n: i for i, n in enumerate(names)}
        exprs = [f"{line_expr} as source_line"]
        checks = []  # (sql condition over _v, column, code, message)
        for col, kind, _col_required, value_required in spec["columns"]:
            if col not in index:
                exprs.append(f"null::varchar as {col}")
                continue
            raw = f"_f.c{index[col]}"
            exprs.append(f"nullif(regexp_replace({raw}, '^{_WS}+|{_WS}+$', '', 'g'), '') as {col}")
        con.execute(f"create or replace temp view _v as select {', '.join(exprs)} from _f{join}")
        select = []
        for col, kind, _col_required, value_required in spec["columns"]:
            if value_required:
                checks.append((f"{col} is null", col, D_REQUIRED_VALUE, "is empty; it is required"))
            if kind == "date":
                parsed = (f"case when regexp_full_match({col}, '{_DATE_ISO}') then try_strptime({col}, '%Y-%m-%d')::date "
                          f"when regexp_full_match({col}, '{_DATE_DMY}') then try_strptime({col}, '%d/%m/%Y')::date end")
                checks.append((f"{col} is not null and ({parsed}) is null", col, D_DATE_FORMAT,
                               "is not a valid date (expected YYYY-MM-DD or DD/MM/YYYY, a real calendar day)"))
                select.append(f"{parsed} as {col}")
            elif kind == "int":
                checks.append((f"{col} is not null and not regexp_full_match({col}, '\\d{{4}}')", col, D_NUMBER,
                               "is not a year (four digits)"))
                select.append(f"try_cast({col} as integer) as {col}")
            elif kind == "float":
                num = r"[+-]?\d+([.,]\d+)?"
                checks.append((f"{col} is not null and not regexp_full_match({col}, '{num}')", col, D_NUMBER,
                               "is not a number"))
                select.append(f"try_cast(replace({col}, ',', '.') as double) as {col}")
            else:
                select.append(col)
        select.append("source_line")
        for condition, col, code, message in checks:
            row = con.execute(f"select min(source_line), count(*) from _v where {condition}").fetchone()
            if row[1]:
                value = con.execute(f"select {col} from _v where source_line = ?", [row[0]]).fetchone()[0]
                shown = "empty" if value is None else repr(value)
                more = f" ({row[1]} records fail the same way)" if row[1] > 1 else ""
                raise ReaderError(path, f"{col} {shown} {message}{more}", line=int(row[0]), column=col, code=code)
        frame = con.execute(f"select {', '.join(select)} from _v order by source_line").df()
        con.execute("drop view if exists _v")
        con.execute("drop table if exists _f")
        con.execute("drop table if exists _lines")
    finally:
        if tmp_dir is not None:
            tmp_dir.cleanup()
    return _typed(frame, spec), report


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


def _typed(frame: pd.DataFrame, spec: dict) -> pd.DataFrame:
    for col, kind, _, _ in spec["columns"]:
        if kind == "date":
            frame[col] = frame[col].astype("datetime64[us]")
        elif kind == "int":
            frame[col] = frame[col].astype("Int64")
        elif kind == "float":
            frame[col] = frame[col].astype("float64")
        else:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
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
