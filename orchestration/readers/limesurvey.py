"""LimeSurvey response export (CSV) reader, driven by an instrument definition (SPEC 3.1, 3.3).

Reads the file exactly as LimeSurvey's "Export responses" or RemoteControl ``export_responses``
writes it with question-code headings and answer codes: UTF-8 with or without BOM (cp1252 when UTF-8
fails), ``,`` or ``;`` sniffed from the header, quoted fields, CRLF or LF. The result is a
:class:`~orchestration.readers.base.SurveyRead` in the long shape shared with the SPSS reader.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from orchestration.instruments import Instrument, Item, normalise_column
from orchestration.privacy import shown_value
from orchestration.readers.base import (
    ANSWER_COLUMNS, OPEN_ANSWER_COLUMNS, RESPONSE_COLUMNS, LoadReport, ReaderError, SurveyRead, decode_text, fold,
    sniff_separator,
)
from orchestration.readers.survey_export import (
    ColumnMatch, anonymised_note, first_duplicate, match_columns, parse_timestamp,
)

# Headings LimeSurvey writes when "Headings: question text" (or abbreviated text) is chosen.
_TEXT_HEADINGS = {"RESPONSE ID", "DATE SUBMITTED", "LAST PAGE", "START LANGUAGE", "DATE STARTED",
                  "DATE LAST ACTION", "IP ADDRESS", "REFERRER URL", "ANTWOORD ID", "DATUM INGEDIEND",
                  "LAATSTE PAGINA", "STARTTAAL", "TOTAL TIME"}
_FIX_HEADINGS = ("export it again with Headings set to 'Question code' (LimeSurvey: Responses > "
                 "Export > Headings: Question code; RemoteControl: export_responses with sHeadingType='code')")
_FIX_ANSWERS = ("export it again with Responses set to 'Answer codes' (LimeSurvey: Responses > Export > "
                "Responses: Answer codes; RemoteControl: export_responses with sResponseType='short')")


def read_limesurvey_csv(path: Path, instrument: Instrument, wave: str) -> SurveyRead:
    """Read one LimeSurvey CSV response export for ``wave`` of ``instrument``.

    Returns a :class:`SurveyRead` (shapes documented there): one ``responses`` row per record, one
    ``answers`` row per record x non-text item whose source column is in the file, non-empty open
    answers separately. Incomplete responses (empty ``submitdate``) are kept with
    ``is_complete = False``; the anonymised submit date ``1980-01-01 00:00:00`` becomes NaT and is
    noted. Submit and start dates may take any form of
    :data:`~orchestration.readers.survey_export.TIMESTAMP_FORMATS`. Answer codes are recoded through the
    item's answer scheme; a code outside the scheme keeps ``raw_code`` and gets ``code_valid = False``
    (the quality gate reports it with its line). Columns no item names are listed in
    ``report.unmapped_columns``; ``ipaddr``/``refurl`` are dropped.

    Raises:
        ReaderError: not text / binary (``FILE_NOT_TEXT``); no header (``S_EMPTY``); duplicate column
            names (``S_DUPLICATE_COLUMN``); text headings (``S_TEXT_HEADINGS``) or full answer texts
            (``S_FULL_ANSWERS``) with the export option to change; an unterminated quote or a record
            with the wrong number of fields (``S_RECORD_SHAPE``, e.g. a file cut off mid-line);
            a required metadata column missing (``S_REQUIRED_COLUMN``); an unreadable date
            (``S_DATE``). Each names file, line and (where it applies) column.
    """
    instrument = instrument.for_wave(wave)  # each item's answer-scheme version for this wave (SPEC 3.3)
    path = Path(path)
    text, report = _open(path)
    header, records = _parse(path, text, report.separator)
    _check_header(path, header)
    match = _match(path, header, instrument, wave, report)
    _refuse_full_answers(path, records, match.items, header)
    token_col, dossier_col = _key_columns(path, instrument, match, report)
    responses, answers, open_answers = [], [], []
    n_anonymised = 0
    for line, row in records:
        response, anonymised = _response(path, header, match, line, row, token_col, dossier_col)
        responses.append(response)
        n_anonymised += anonymised
        _item_answers(header, match.items, line, response["response_id"], row, answers, open_answers)
    if n_anonymised:
        report.notes.append(anonymised_note(path, n_anonymised))
    report.n_rows = len(responses)
    return _survey_read(responses, answers, open_answers, report)


def _open(path: Path) -> tuple[str, LoadReport]:
    """The file's text and a report with its encoding and separator (SPEC 3.1).

    Raises:
        ReaderError: ``FILE_NOT_TEXT`` (:func:`~orchestration.readers.base.decode_text`); ``S_EMPTY``
            when the first line is blank.
    """
    text, encoding = decode_text(path)
    header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        raise ReaderError(path, "empty file: no header line", line=1, code="S_EMPTY")
    report = LoadReport(source_file=str(path), encoding=encoding, separator=sniff_separator(header_line))
    if encoding == "cp1252":
        report.notes.append(f"{path.name}: not valid UTF-8, read as cp1252")
    return text, report


def _match(path: Path, header: list[str], instrument: Instrument, wave: str, report: LoadReport) -> ColumnMatch:
    """The headings matched to the instrument; items missing and unmapped columns go into ``report``."""
    match = match_columns(header, instrument, wave)
    report.missing_items = match.missing_items
    if report.missing_items:
        report.notes.append(f"{path.name}: items of the instrument not in this export: "
                            f"{', '.join(i for i, _ in report.missing_items)}")
    report.unmapped_columns = match.unmapped
    if report.unmapped_columns:
        report.notes.append(f"{path.name}: columns no item names (not loaded): {', '.join(report.unmapped_columns)}")
    return match


def _key_columns(path: Path, instrument: Instrument, match: ColumnMatch,
                 report: LoadReport) -> tuple[int | None, int | None]:
    """Positions of the respondent token and dossier id columns (None when the instrument has none).

    Raises:
        ReaderError: ``S_REQUIRED_COLUMN`` when the instrument links responses to dossiers through a
            column the export lacks. A missing token column is only noted (responses stay unlinked).
    """
    token_col = match.position_of(instrument.respondent_key)
    dossier_col = match.position_of(instrument.dossier_key)
    if instrument.dossier_key and dossier_col is None:
        raise ReaderError(path, f"the instrument links responses to dossiers through column "
                          f"{instrument.dossier_key!r}, which is not in the export", line=1,
                          column=instrument.dossier_key, code="S_REQUIRED_COLUMN")
    if instrument.respondent_key and token_col is None:
        report.notes.append(f"{path.name}: no {instrument.respondent_key!r} column: responses of this wave "
                            "cannot be linked to the same respondent in other waves")
    return token_col, dossier_col


def _response(path: Path, header: list[str], match: ColumnMatch, line: int, row: list[str],
              token_col: int | None, dossier_col: int | None) -> tuple[dict, bool]:
    """One ``responses`` row (columns of :data:`RESPONSE_COLUMNS`) and whether its submit date is anonymised.

    Raises:
        ReaderError: ``S_REQUIRED_VALUE`` (empty id), ``S_DATE`` (unreadable submit or start date),
            ``S_TYPE`` (``lastpage`` not a page number), each with ``line`` and column.
    """
    col_of = match.position
    rid = row[col_of["ID"]].strip()
    if not rid:
        raise ReaderError(path, "empty response id", line=line, column=header[col_of["ID"]], code="S_REQUIRED_VALUE")
    submit_raw = row[col_of["SUBMITDATE"]].strip()
    submitted = None
    anonymised = submit_raw.startswith("1980-01-01")
    if submit_raw and not anonymised:
        submitted = parse_timestamp(path, submit_raw, line, header[col_of["SUBMITDATE"]])
    started = None
    if "STARTDATE" in col_of and row[col_of["STARTDATE"]].strip() and not row[col_of["STARTDATE"]].startswith("1980-01-01"):
        started = parse_timestamp(path, row[col_of["STARTDATE"]].strip(), line, header[col_of["STARTDATE"]])
    lastpage = row[col_of["LASTPAGE"]].strip()
    if lastpage and (not re.fullmatch(r"\d{1,9}", lastpage)):
        raise ReaderError(path, f"lastpage {shown_value(lastpage)} is not a page number (0 to 999999999)",
                          line=line,
                          column=header[col_of["LASTPAGE"]], code="S_TYPE")
    return {
        "source_line": line, "response_id": rid,
        "respondent_id": (row[token_col].strip() or None) if token_col is not None else None,
        "dossier_id": (row[dossier_col].strip() or None) if dossier_col is not None else None,
        "is_complete": bool(submit_raw), "lastpage": int(lastpage) if lastpage else None,
        "submitted_at": submitted, "started_at": started,
        "startlanguage": (row[col_of["STARTLANGUAGE"]].strip() or None) if "STARTLANGUAGE" in col_of else None,
    }, anonymised


def _item_answers(header: list[str], items: list[tuple[int, Item]], line: int, rid: str, row: list[str],
                  answers: list[dict], open_answers: list[dict]) -> None:
    """Append the record's ``answers`` rows (coded items, recoded) and non-empty ``open_answers`` (text items)."""
    for idx, item in items:
        cell = row[idx]
        if item.scheme.text:
            if cell.strip():
                open_answers.append({"source_line": line, "response_id": rid, "item": item.item,
                                     "source_column": header[idx], "answer": cell})
            continue
        raw = cell.strip()
        if not raw:
            value, reason, valid = None, None, True
        else:
            value, reason, valid = item.scheme.recode(raw)
        answers.append({"source_line": line, "response_id": rid, "item": item.item,
                        "source_column": header[idx], "raw_code": raw or None,
                        "value": value, "missing_reason": reason, "code_valid": valid})


def _survey_read(responses: list[dict], answers: list[dict], open_answers: list[dict],
                 report: LoadReport) -> SurveyRead:
    """The rows as the typed frames of :class:`SurveyRead`."""
    resp = pd.DataFrame(responses, columns=RESPONSE_COLUMNS)
    resp["submitted_at"] = pd.to_datetime(resp["submitted_at"])
    resp["started_at"] = pd.to_datetime(resp["started_at"])
    resp["lastpage"] = resp["lastpage"].astype("Int64")
    resp["is_complete"] = resp["is_complete"].astype(bool)
    ans = pd.DataFrame(answers, columns=ANSWER_COLUMNS)
    ans["value"] = ans["value"].astype("float64")
    ans["code_valid"] = ans["code_valid"].astype(bool)
    return SurveyRead(responses=resp, answers=ans, open_answers=pd.DataFrame(open_answers, columns=OPEN_ANSWER_COLUMNS),
                      report=report)


def _parse(path: Path, text: str, sep: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(physical line of the record's start, fields)`` pairs; strict about quotes and shape."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"', strict=True)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    prev_end = 0
    try:
        for row in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if header is None:
                header = row
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line (e.g. trailing)
            if len(row) != len(header):
                raise ReaderError(path, f"record has {len(row)} fields, the header has {len(header)}"
                                  " (file cut off, or an unquoted separator inside a field?)",
                                  line=start, code="S_RECORD_SHAPE")
            records.append((start, row))
    except csv.Error as exc:
        raise ReaderError(path, f"malformed CSV ({exc}); the file may be cut off in the middle of a record",
                          line=prev_end + 1, code="S_RECORD_SHAPE") from exc
    if header is None:
        raise ReaderError(path, "empty file: no header line", line=1, code="S_EMPTY")
    return header, records


def _check_header(path: Path, header: list[str]) -> None:
    """Refuse a header with a column twice, text headings, or without a required metadata column.

    Raises:
        ReaderError: ``S_DUPLICATE_COLUMN``, ``S_TEXT_HEADINGS`` (with the export option to change),
            ``S_REQUIRED_COLUMN`` (``id``, ``submitdate``, ``lastpage``), each on line 1.
    """
    keys = [normalise_column(h) for h in header]
    duplicate = first_duplicate(keys)
    if duplicate is not None:
        first, second = duplicate
        raise ReaderError(path, f"duplicate column name (columns {first + 1} and {second + 1})", line=1,
                          column=header[second], code="S_DUPLICATE_COLUMN")
    seen = set(keys)
    if "ID" not in seen or "SUBMITDATE" not in seen:
        if any(k in _TEXT_HEADINGS for k in keys) or sum(" " in h.strip() for h in header) > len(header) / 3:
            raise ReaderError(path, "the export has question-text headings instead of question codes: "
                              + _FIX_HEADINGS, line=1, code="S_TEXT_HEADINGS")
    for required in ("ID", "SUBMITDATE", "LASTPAGE"):
        if required not in seen:
            raise ReaderError(path, f"required LimeSurvey column {required.lower()!r} is missing", line=1,
                              column=required.lower(), code="S_REQUIRED_COLUMN")


def _refuse_full_answers(path: Path, records: list[tuple[int, list[str]]], item_cols: list[tuple[int, Item]],
                         header: list[str]) -> None:
    """Refuse an export made with full answer texts: a coded item holding one of its scheme's labels.

    Labels are compared folded (:func:`~orchestration.readers.base.fold`).

    Raises:
        ReaderError: ``S_FULL_ANSWERS`` with the export option to change, naming line and column.
    """
    for idx, item in item_cols:
        scheme = item.scheme
        if scheme.text or not scheme.labels:
            continue
        labels = {fold(t) for t in scheme.labels.values()} | {fold(t) for t in scheme.missing.values()}
        for line, row in records:
            raw = row[idx].strip()
            if raw and scheme.recode(raw)[2] is False and fold(raw) in labels:
                raise ReaderError(path, f"answer {shown_value(raw)} is an answer text, not a code: the export has full "
                                  "answer texts; " + _FIX_ANSWERS, line=line, column=header[idx],
                                  code="S_FULL_ANSWERS")
