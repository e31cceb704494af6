"""What every reader returns and raises.

Survey readers (LimeSurvey CSV, SPSS ``.sav``) return a :class:`SurveyRead` in one long shape, so
everything after the reader (pseudonymisation, checks, raw tables, dbt) is the same for both.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


class ReaderError(ValueError):
    """A file that cannot be read as the contract says (SPEC 3).

    Attributes:
        path: the file.
        line: 1-based physical line in the file (1 = header), or None when it concerns the whole file.
        column: the column name concerned, or None.
        code: the quality rule code this failure is reported under (e.g. ``S_DATE``).
        detail: the message without the location prefix.
    """

    def __init__(self, path: Path | str, message: str, *, line: int | None = None,
                 column: str | None = None, code: str = "READ"):
        self.path = Path(path)
        self.line = line
        self.column = column
        self.code = code
        self.detail = message
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


@dataclass
class LoadReport:
    """What a reader noticed: encoding, separator, counts and notes for ``audit`` (SPEC 3, 4).

    ``notes`` are human-readable sentences (unmapped columns, unknown submit dates, decisions); they
    are stored in ``audit.load_notes`` and printed by ``sofs-warehouse run``.
    """

    source_file: str
    encoding: str = "utf-8"
    separator: str | None = None
    n_rows: int = 0
    unmapped_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: ``(item, source column)`` of every item the instrument asks in this wave whose column the file lacks
    missing_items: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SurveyRead:
    """A survey wave as read from one export file, before pseudonymisation.

    ``responses`` (one row per response):
        source_line int64 (physical line of the record), response_id str, respondent_id str|None
        (raw token, replaced at ingest), dossier_id str|None (raw, client/child instruments),
        is_complete bool, lastpage Int64, submitted_at datetime64|NaT (None for the anonymised 1980
        date), started_at datetime64|NaT, startlanguage str|None.
    ``answers`` (one row per response x item, every non-text item of the instrument present in the file):
        source_line int64, response_id str, item str, source_column str, raw_code str|None (as
        exported; None when empty), value float64 (NaN unless valid), missing_reason str|None
        (declared missing code's reason), code_valid bool (False: code outside the answer scheme).
    ``open_answers`` (text items, non-empty only): source_line, response_id, item, source_column, answer str.
    ``labels`` (optional, from SPSS metadata or ``.lss``): item str, value float64, label str.
    """

    responses: pd.DataFrame
    answers: pd.DataFrame
    open_answers: pd.DataFrame
    report: LoadReport
    labels: pd.DataFrame | None = None


RESPONSE_COLUMNS = ["source_line", "response_id", "respondent_id", "dossier_id", "is_complete",
                    "lastpage", "submitted_at", "started_at", "startlanguage"]
ANSWER_COLUMNS = ["source_line", "response_id", "item", "source_column", "raw_code", "value",
                  "missing_reason", "code_valid"]
OPEN_ANSWER_COLUMNS = ["source_line", "response_id", "item", "source_column", "answer"]


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, hex (the change detector of the landing zone, SPEC 3)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode_text(path: Path, data: bytes | None = None) -> tuple[str, str]:
    """Decode a text export: UTF-8 (BOM removed) first, cp1252 when UTF-8 fails (SPEC 3.1, 3.4).

    Returns ``(text, encoding)`` with encoding ``"utf-8-sig"``, ``"utf-8"`` or ``"cp1252"``.

    Raises:
        ReaderError: the file holds NUL bytes (a binary file named ``.csv``) or is not text in
            either encoding; the message says at which byte.
    """
    if data is None:
        data = Path(path).read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReaderError(path, "the file is UTF-16 (it starts with a UTF-16 byte-order mark): save it again as "
                          "UTF-8 (e.g. Excel: 'CSV UTF-8') or export it again from the source", line=1,
                          code="FILE_NOT_TEXT")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ReaderError(path, f"binary content (NUL byte at offset {nul}): this is not a CSV text export",
                          line=line, code="FILE_NOT_TEXT")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise _undecodable(path, data, exc, 3) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise _undecodable(path, data, exc, 0) from exc


def _undecodable(path: Path, data: bytes, exc: UnicodeDecodeError, offset: int) -> ReaderError:
    pos = exc.start + offset
    line = data.count(b"\n", 0, pos) + 1
    return ReaderError(path, f"not text in UTF-8 or cp1252 (byte 0x{data[pos]:02x} at offset {pos})",
                       line=line, code="FILE_NOT_TEXT")


def sniff_separator(header_line: str) -> str:
    """``;`` or ``,``: whichever occurs more often outside double quotes in the header line (SPEC 3.1)."""
    counts = {";": 0, ",": 0}
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return ";" if counts[";"] > counts[","] else ","


def fold(text: object) -> str:
    """A label as compared with another: lower case, runs of blanks one blank, no blanks at the ends.

    Labels of the instrument, of a ``.sav`` and of a ``.lss``, and answer texts in a CSV export, count as
    the same when their folds are equal (SPEC 3.1, 3.2): ``" Helemaal  Akkoord"`` and ``"helemaal akkoord"``.
    """
    return " ".join(str(text).lower().split())
