"""SPSS ``.sav`` response reader, driven by an instrument definition (SPEC 3.2, 3.3).

Reads a ``responses.sav`` with pyreadstat and returns the same long
:class:`~orchestration.readers.base.SurveyRead` as the LimeSurvey CSV reader, so everything after the
reader does not care which format a wave came in.

What the format adds, and how it is kept:

- **User-defined missing values.** pyreadstat turns declared missing codes into NaN unless it is
  called with ``user_missing=True``; this reader always is, and a declared missing code becomes an
  answer with ``value`` NaN and ``missing_reason`` = the code's value label (never a silent null).
- **Value labels** come back in ``SurveyRead.labels``; where they disagree with the instrument's
  labels the load report says so. **Variable labels** are not part of the survey contract; they are
  available from :func:`read_spss_metadata`.
- **Dates.** SPSS stores date-times as seconds since 1582-10-14. pyreadstat converts the formats it
  recognises; a date variable in a format it does not recognise comes back as a plain number and is
  converted here (with a note).
- **Encoding.** A file is read with the encoding it declares; when that fails (typically a cp1252
  file that declares UTF-8) or gives garbled text, it is read again as cp1252. ``report.encoding``
  says which encoding was used.
- **Line numbers.** A ``.sav`` has no header line, but quality rules and error messages speak of
  physical lines as in a CSV export (line 1 = header). So case *n* (1-based) is reported as
  ``source_line`` *n + 1*: the first case is "line 2", exactly where it would sit in a CSV export.
"""
from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

from orchestration.instruments import AnswerScheme, Instrument, Item, normalise_column
from orchestration.privacy import shown_value
from orchestration.readers.base import (
    ANSWER_COLUMNS, OPEN_ANSWER_COLUMNS, RESPONSE_COLUMNS, LoadReport, ReaderError, SurveyRead, fold,
)
from orchestration.readers.survey_export import (
    ANONYMISED_SUBMITDATE, ColumnMatch, anonymised_note, first_duplicate, match_columns, parse_timestamp,
)

#: The day of the anonymised submit date (SPEC 3.1): a date-time on that day is not a date.
ANONYMISED_DATE = pd.Timestamp(ANONYMISED_SUBMITDATE).normalize()
#: Seconds between the SPSS epoch (1582-10-14) and the Unix epoch (1970-01-01).
SPSS_EPOCH_OFFSET_S = 12_219_379_200
#: A numeric date variable is taken as SPSS seconds when every value is at least this (year ~1900).
_MIN_SPSS_SECONDS = 1.0e10
#: Text that shows a wrong decoding: the replacement character or C1 control characters.
_GARBLED = re.compile("[\ufffd\u0080-\u009f]")
_FALLBACK_ENCODING = "cp1252"


@dataclass
class SpssMetadata:
    """What a ``.sav`` declares besides its data (SPEC 3.2).

    Attributes:
        variables: variable names in file order.
        variable_labels: variable -> label (None when the variable has none).
        value_labels: variable -> {code: label}; codes are floats for numeric variables, str for strings.
        missing: variable -> declared user-missing values as ``(lo, hi)`` pairs (a single value has
            ``lo == hi``); from ``meta.missing_ranges`` and ``meta.missing_user_values``.
        formats: variable -> SPSS print format (e.g. ``F8.2``, ``DATETIME20``, ``A16``).
        n_rows: number of cases.
        encoding: the encoding the file was read with (Python codec name, e.g. ``utf-8``, ``cp1252``).
        declared_encoding: the encoding the file declares, as pyreadstat reports it (None when the
            declared encoding could not be read at all).
        notes: sentences about the encoding decision.
    """

    variables: list[str]
    variable_labels: dict[str, str | None]
    value_labels: dict[str, dict[Any, str]]
    missing: dict[str, list[tuple[Any, Any]]]
    formats: dict[str, str]
    n_rows: int
    encoding: str
    declared_encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def read_spss_metadata(path: Path) -> SpssMetadata:
    """Read only the dictionary of a ``.sav`` (labels, missing declarations, formats), no data.

    Uses the same encoding decision as :func:`read_spss` (the declared encoding, else cp1252), but
    judged on labels only.

    Raises:
        ReaderError: ``FILE_NOT_SAV`` when the file does not exist or is not an SPSS system file
            readable in its declared encoding nor in cp1252.
    """
    _df, meta, encoding, declared, notes = _read_sav(Path(path), metadataonly=True)
    return _metadata(meta, encoding, declared, notes)


def read_spss(path: Path, instrument: Instrument, wave: str) -> SurveyRead:
    """Read one SPSS ``responses.sav`` for ``wave`` of ``instrument`` (SPEC 3.2).

    Variables are matched to the instrument's source columns for ``wave`` on the normalised key
    (:func:`~orchestration.instruments.normalise_column`: ``L2_SQ001`` is ``L2[SQ001]``). LimeSurvey
    metadata variables (``id``, ``submitdate``, ``lastpage``, ``startlanguage``, ``token``,
    ``startdate``) are used when present; the respondent token and the dossier id come from the
    instrument's ``respondent_key`` / ``dossier_key`` variables.

    Returns:
        A :class:`SurveyRead` in the shapes documented there:

        - ``responses``: one row per case. ``source_line`` = case number + 1 (first case = 2, as in a
          CSV export with its header line). ``response_id`` is ``id`` as text (``1.0`` -> ``"1"``),
          or the case number when the file has no ``id``. ``is_complete`` is True when ``submitdate``
          holds a value (the anonymised ``1980-01-01`` included: the response was submitted, its date
          is unknown); without a ``submitdate`` variable every case counts as complete (noted).
          ``submitted_at`` / ``started_at`` are ``datetime64[us]``, NaT when empty or anonymised.
        - ``answers``: one row per case x non-text item whose variable is in the file. Numbers are
          recoded through the item's answer scheme from their text form (``3.0`` -> ``"3"``); for a
          scheme with export ``codes`` (``A1``..) a number that is one of the scheme's values is
          accepted as that value (SPSS exports store list answers as numbers). A declared user-missing
          value gives ``value`` NaN and ``missing_reason`` = its value label (else the scheme's
          reason, else ``"missing code <x>"``). System-missing (empty) gives ``raw_code`` None.
        - ``open_answers``: non-empty answers of text items.
        - ``labels``: ``item, value (float64), label`` from the ``.sav`` value labels of mapped
          non-text items (declared missing codes excluded: they are missing reasons, not values).

        ``report``: ``encoding`` used, ``separator`` None, ``n_rows``, ``unmapped_columns``
        (variables no item, key or metadata field names; ``ipaddr``/``refurl`` and timing variables
        are dropped silently as in SPEC 3.1) and notes (encoding retry, anonymised dates, numeric
        dates converted, items absent from the file, value-label disagreements with the instrument,
        declared missing codes that are valid scheme values).

    Raises:
        ReaderError: ``FILE_NOT_SAV`` (missing file, not a ``.sav``, undecodable in the declared
            encoding and in cp1252); ``S_DUPLICATE_COLUMN`` (two variables with one normalised
            name); ``S_REQUIRED_VALUE`` (a case without ``id``); ``S_TYPE`` (``lastpage`` not a whole
            number); ``S_DATE`` (a date variable that cannot be read as a date). Row errors carry
            ``line`` = case number + 1.
    """
    instrument = instrument.for_wave(wave)  # each item's answer-scheme version for this wave (SPEC 3.3)
    path = Path(path)
    df, meta, encoding, declared, notes = _read_sav(path, metadataonly=False)
    md = _metadata(meta, encoding, declared, notes)
    report = LoadReport(source_file=str(path), encoding=encoding, separator=None, n_rows=len(df))
    report.notes.extend(notes)

    variables = list(df.columns)
    match = _match(path, variables, instrument, wave, report)
    var_of = {key: variables[i] for key, i in match.position.items()}
    token_var, dossier_var = _key_variables(path, instrument, variables, match, report)
    report.unmapped_columns = match.unmapped
    if report.unmapped_columns:
        report.notes.append(f"{path.name}: variables no item names (not loaded): {', '.join(report.unmapped_columns)}")

    lines = np.arange(2, len(df) + 2, dtype="int64")
    responses = _responses(path, df, var_of, token_var, dossier_var, lines, report)
    mapped = [(variables[i], item) for i, item in match.items]
    answers, open_answers, label_rows = _item_rows(path, df, mapped, md, lines, responses["response_id"].tolist(),
                                                   report)
    return _survey_read(responses, answers, open_answers, label_rows, report)


def _match(path: Path, variables: list[str], instrument: Instrument, wave: str, report: LoadReport) -> ColumnMatch:
    """The variables matched to the instrument; the items missing from the file go into ``report``.

    Raises:
        ReaderError: ``S_DUPLICATE_COLUMN`` when two variables normalise to one column name.
    """
    duplicate = first_duplicate([normalise_column(v) for v in variables])
    if duplicate is not None:
        first, second = duplicate
        raise ReaderError(path, f"two variables normalise to the same column {normalise_column(variables[second])!r} "
                          f"({variables[first]!r} and {variables[second]!r})", column=variables[second],
                          code="S_DUPLICATE_COLUMN")
    match = match_columns(variables, instrument, wave)
    report.missing_items = match.missing_items
    if report.missing_items:
        report.notes.append(f"{path.name}: items of the instrument not in this file (wave {wave}): "
                            f"{', '.join(i for i, _ in report.missing_items)}")
    return match


def _key_variables(path: Path, instrument: Instrument, variables: list[str], match: ColumnMatch,
                   report: LoadReport) -> tuple[str | None, str | None]:
    """The respondent token and dossier id variables (None when absent; noted when the instrument names one)."""
    found = []
    for key_name in ("respondent_key", "dossier_key"):
        wanted = getattr(instrument, key_name)
        position = match.position_of(wanted)
        if wanted and position is None:
            report.notes.append(f"{path.name}: the instrument's {key_name} variable {wanted!r} is not in the "
                                "file: responses cannot be linked")
        found.append(variables[position] if position is not None else None)
    return found[0], found[1]


def _item_rows(path: Path, df: pd.DataFrame, mapped: list[tuple[str, Item]], md: SpssMetadata, lines: np.ndarray,
               rids: list[str], report: LoadReport) -> tuple[list[dict], list[dict], list[dict]]:
    """``(answers, open_answers, labels)`` rows of the mapped items; label disagreements go into ``report``.

    ``mapped``: ``(variable, item)`` pairs; ``lines``/``rids``: source line and response id of each case.
    """
    answers: list[dict] = []
    open_answers: list[dict] = []
    label_rows: list[dict] = []
    for var, item in mapped:
        column = df[var]
        if item.scheme.text:
            for i, cell in enumerate(column.tolist()):
                text = _cell_text(cell)
                if text is not None and text.strip():
                    open_answers.append({"source_line": int(lines[i]), "response_id": rids[i], "item": item.item,
                                         "source_column": var, "answer": text})
            continue
        ranges = md.missing.get(var, [])
        sav_labels = md.value_labels.get(var, {})
        for i, cell in enumerate(column.tolist()):
            answers.append(_answer(cell, item, var, ranges, sav_labels) | {
                "source_line": int(lines[i]), "response_id": rids[i]})
        label_rows.extend(_labels_of(item, sav_labels, ranges))
        report.notes.extend(_label_notes(path, item, var, sav_labels, ranges))
    return answers, open_answers, label_rows


def _survey_read(responses: pd.DataFrame, answers: list[dict], open_answers: list[dict], label_rows: list[dict],
                 report: LoadReport) -> SurveyRead:
    """The rows as the typed frames of :class:`SurveyRead` (None stays None in text columns)."""
    ans = pd.DataFrame(answers, columns=ANSWER_COLUMNS)
    for col in ("response_id", "item", "source_column", "raw_code", "missing_reason"):
        ans[col] = pd.Series([r[col] for r in answers], dtype=object)  # None stays None (contract: str|None)
    ans["source_line"] = ans["source_line"].astype("int64")
    ans["value"] = ans["value"].astype("float64")
    ans["code_valid"] = ans["code_valid"].astype(bool)
    opn = pd.DataFrame(open_answers, columns=OPEN_ANSWER_COLUMNS)
    opn["source_line"] = opn["source_line"].astype("int64")
    labels = pd.DataFrame(label_rows, columns=["item", "value", "label"])
    labels["value"] = labels["value"].astype("float64")
    return SurveyRead(responses=responses, answers=ans, open_answers=opn, report=report, labels=labels)


# --------------------------------------------------------------------------------------------------
# reading and encoding

def _read_sav(path: Path, metadataonly: bool):
    """``(df, meta, encoding, declared_encoding, notes)``: declared encoding first, cp1252 as fallback."""
    if not path.exists():
        raise ReaderError(path, "file does not exist", code="FILE_NOT_SAV")
    notes: list[str] = []
    first_error: Exception | None = None
    try:
        df, meta = _pyreadstat(path, metadataonly, None)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeError, LookupError) as exc:
        first_error = exc
        df = meta = None
    if meta is not None:
        declared = meta.file_encoding
        bad = _garbled_sample(df, meta)
        if not bad:
            return df, meta, _codec_name(declared), declared, notes
        try:
            df2, meta2 = _pyreadstat(path, metadataonly, _FALLBACK_ENCODING)
        except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeError, LookupError):
            df2 = meta2 = None
        if meta2 is not None and not _garbled_sample(df2, meta2):
            notes.append(f"{path.name}: text read in the declared encoding {declared} is garbled "
                         f"(in {bad}); read as cp1252")
            return df2, meta2, _FALLBACK_ENCODING, declared, notes
        notes.append(f"{path.name}: some text looks garbled in the declared encoding {declared} "
                     f"(in {bad}) and cp1252 does not read it better; kept {declared}")
        return df, meta, _codec_name(declared), declared, notes
    try:
        df, meta = _pyreadstat(path, metadataonly, _FALLBACK_ENCODING)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeError, LookupError) as exc:
        raise ReaderError(path, f"not a readable SPSS .sav file ({first_error}; as cp1252: {exc})",
                          code="FILE_NOT_SAV") from exc
    notes.append(f"{path.name}: cannot be read in the encoding the file declares ({first_error}); "
                 "read as cp1252")
    return df, meta, _FALLBACK_ENCODING, None, notes


def _pyreadstat(path: Path, metadataonly: bool, encoding: str | None):
    # user_missing=True: otherwise declared missing codes silently become NaN (docs/decisions.md, D6).
    # dates_as_pandas_datetime=True: DATE-formatted variables as datetime64 rather than datetime.date.
    return pyreadstat.read_sav(str(path), metadataonly=metadataonly, user_missing=True,
                               dates_as_pandas_datetime=True, encoding=encoding)


def _garbled_sample(df: pd.DataFrame | None, meta) -> str | None:
    """Where text shows a wrong decoding (e.g. ``"values of variable OPM"``), or None.

    Names the place, never the text itself: string values may be open answers, and load notes are
    not a restricted table (SPEC 6).
    """
    for var, label in zip(meta.column_names, meta.column_labels or []):
        if label and _GARBLED.search(label):
            return f"the variable label of {var}"
    for var, labels in (meta.variable_value_labels or {}).items():
        if any(_GARBLED.search(str(t)) for t in labels.values()):
            return f"the value labels of {var}"
    if df is not None:
        for col in df.columns:
            if df[col].dtype == object or pd.api.types.is_string_dtype(df[col].dtype):
                if any(isinstance(v, str) and _GARBLED.search(v) for v in df[col].dropna().unique().tolist()):
                    return f"the values of variable {col}"
    return None


def _codec_name(name: str | None) -> str:
    if not name:
        return "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def _metadata(meta, encoding: str, declared: str | None, notes: list[str]) -> SpssMetadata:
    missing: dict[str, list[tuple[Any, Any]]] = {}
    for var, ranges in (meta.missing_ranges or {}).items():
        missing.setdefault(var, []).extend((r["lo"], r["hi"]) for r in ranges)
    for var, values in (getattr(meta, "missing_user_values", None) or {}).items():
        missing.setdefault(var, []).extend((v, v) for v in values)
    return SpssMetadata(
        variables=list(meta.column_names),
        variable_labels=dict(meta.column_names_to_labels),
        value_labels={k: dict(v) for k, v in (meta.variable_value_labels or {}).items()},
        missing=missing,
        formats=dict(meta.original_variable_types or {}),
        n_rows=int(meta.number_rows or 0),
        encoding=encoding, declared_encoding=declared, notes=list(notes),
    )


# --------------------------------------------------------------------------------------------------
# responses

def _responses(path: Path, df: pd.DataFrame, var_of: dict[str, str], token_var: str | None,
               dossier_var: str | None, lines: np.ndarray, report: LoadReport) -> pd.DataFrame:
    n = len(df)
    if "ID" in var_of:
        rids = []
        for i, cell in enumerate(df[var_of["ID"]].tolist()):
            text = _cell_text(cell)
            if text is None or not text.strip():
                raise ReaderError(path, "empty response id", line=int(lines[i]), column=var_of["ID"],
                                  code="S_REQUIRED_VALUE")
            rids.append(text.strip())
    else:
        rids = [str(i + 1) for i in range(n)]
        report.notes.append(f"{path.name}: no 'id' variable: the case number is the response id")

    if "SUBMITDATE" in var_of:
        submitted = _dates(path, df[var_of["SUBMITDATE"]], var_of["SUBMITDATE"], lines, report)
        is_complete = submitted.notna()
        anonymised = submitted.notna() & (submitted.dt.normalize() == ANONYMISED_DATE)
        if anonymised.any():
            report.notes.append(anonymised_note(path, int(anonymised.sum())))
        submitted = submitted.mask(anonymised)
    else:
        submitted = pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]")
        is_complete = pd.Series(True, index=df.index)
        report.notes.append(f"{path.name}: no 'submitdate' variable: every case counted as a complete response")

    if "STARTDATE" in var_of:
        started = _dates(path, df[var_of["STARTDATE"]], var_of["STARTDATE"], lines, report)
        started = started.mask(started.notna() & (started.dt.normalize() == ANONYMISED_DATE))
    else:
        started = pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]")

    lastpage: list[int | None] = [None] * n
    if "LASTPAGE" in var_of:
        var = var_of["LASTPAGE"]
        for i, cell in enumerate(df[var].tolist()):
            text = _cell_text(cell)
            if text is None or not text.strip():
                continue
            if not re.fullmatch(r"-?\d+", text.strip()):
                raise ReaderError(path, f"lastpage {shown_value(text)} is not a whole number", line=int(lines[i]),
                                  column=var, code="S_TYPE")
            lastpage[i] = int(text.strip())

    def texts(var: str | None) -> list[str | None]:
        if var is None:
            return [None] * n
        out = []
        for cell in df[var].tolist():
            text = _cell_text(cell)
            out.append(text.strip() if text is not None and text.strip() else None)
        return out

    resp = pd.DataFrame({
        "source_line": lines,
        "response_id": pd.Series(rids, dtype="str"),
        "respondent_id": pd.Series(texts(token_var), dtype=object),
        "dossier_id": pd.Series(texts(dossier_var), dtype=object),
        "is_complete": is_complete.to_numpy(dtype=bool),
        "lastpage": pd.array(lastpage, dtype="Int64"),
        "submitted_at": submitted.to_numpy(),
        "started_at": started.to_numpy(),
        "startlanguage": pd.Series(texts(var_of.get("STARTLANGUAGE")), dtype=object),
    }, columns=RESPONSE_COLUMNS)
    resp["submitted_at"] = resp["submitted_at"].astype("datetime64[us]")
    resp["started_at"] = resp["started_at"].astype("datetime64[us]")
    return resp


def _dates(path: Path, column: pd.Series, var: str, lines: np.ndarray, report: LoadReport) -> pd.Series:
    """A date variable as ``datetime64[us]`` (NaT when empty), whatever form pyreadstat gave it in."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.astype("datetime64[us]").reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.astype("float64")
        present = values.dropna()
        if len(present) and (present < _MIN_SPSS_SECONDS).any():
            i = int(np.flatnonzero(values.notna().to_numpy() & (values < _MIN_SPSS_SECONDS).to_numpy())[0])
            raise ReaderError(path, f"{shown_value(values.iloc[i])} is a number, not an SPSS date-time (seconds since "
                              "1582-10-14)", line=int(lines[i]), column=var, code="S_DATE")
        if len(present):
            report.notes.append(f"{path.name}: variable {var!r} has a date format pyreadstat does not "
                                "recognise; its numbers were read as SPSS seconds since 1582-10-14")
        micros = ((values - SPSS_EPOCH_OFFSET_S) * 1_000_000).round()
        out = pd.to_datetime(micros, unit="us")
        return out.astype("datetime64[us]").reset_index(drop=True)
    out: list[pd.Timestamp | None] = []
    for i, cell in enumerate(column.tolist()):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pd.NaT:
            out.append(None)
            continue
        if not isinstance(cell, str):
            try:
                out.append(pd.Timestamp(cell))
                continue
            except (TypeError, ValueError):
                cell = str(cell)
        raw = cell.strip()
        if not raw:
            out.append(None)
            continue
        out.append(parse_timestamp(path, raw, int(lines[i]), var))
    return pd.Series(pd.to_datetime(pd.Series(out, dtype=object)), dtype="datetime64[us]")


# --------------------------------------------------------------------------------------------------
# answers and labels

def _is_missing(cell: Any) -> bool:
    if cell is None or cell is pd.NaT:
        return True
    if isinstance(cell, float) and math.isnan(cell):
        return True
    return False


def _cell_text(cell: Any) -> str | None:
    """One cell as export text: None when system-missing; whole floats without ``.0``."""
    if _is_missing(cell):
        return None
    if isinstance(cell, (bool, np.bool_)):
        return str(int(cell))
    if isinstance(cell, (int, np.integer)):
        return str(int(cell))
    if isinstance(cell, (float, np.floating)):
        return _number_text(float(cell))
    if isinstance(cell, pd.Timestamp):
        return cell.isoformat(sep=" ")
    return str(cell)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _declared_missing(cell: Any, ranges: list[tuple[Any, Any]]) -> bool:
    for lo, hi in ranges:
        try:
            if lo == hi:
                if cell == lo:
                    return True
            elif lo <= cell <= hi:
                return True
        except TypeError:
            continue
    return False


def _recode(scheme: AnswerScheme, cell: Any) -> tuple[float | None, str | None, bool]:
    """Recode one non-missing cell; numbers through their text form, codes-schemes accept their values."""
    text = _cell_text(cell)
    value, reason, valid = scheme.recode(text)
    if not valid and scheme.codes and isinstance(cell, (int, float, np.integer, np.floating)):
        if float(cell) in set(scheme.codes.values()):
            return float(cell), None, True
    return value, reason, valid


def _missing_reason(cell: Any, sav_labels: dict[Any, str], scheme: AnswerScheme) -> str:
    label = sav_labels.get(cell)
    if label is None and isinstance(cell, str):
        label = sav_labels.get(cell.strip())
    if label:
        return str(label)
    text = _cell_text(cell) or ""
    value, reason, _valid = scheme.recode(text) if text.strip() else (None, None, False)
    if reason:
        return reason
    return f"missing code {text}"


def _answer(cell: Any, item: Item, var: str, ranges: list[tuple[Any, Any]], sav_labels: dict[Any, str]) -> dict:
    row = {"item": item.item, "source_column": var}
    text = _cell_text(cell)
    if text is not None and isinstance(cell, str):
        text = text.strip()
    if text is None or text == "":
        return row | {"raw_code": None, "value": None, "missing_reason": None, "code_valid": True}
    if ranges and _declared_missing(cell, ranges):
        return row | {"raw_code": text, "value": None,
                      "missing_reason": _missing_reason(cell, sav_labels, item.scheme), "code_valid": True}
    value, reason, valid = _recode(item.scheme, cell.strip() if isinstance(cell, str) else cell)
    return row | {"raw_code": text, "value": value, "missing_reason": reason, "code_valid": valid}


def _labels_of(item: Item, sav_labels: dict[Any, str], ranges: list[tuple[Any, Any]]) -> list[dict]:
    rows = []
    for code, label in sav_labels.items():
        if ranges and _declared_missing(code, ranges):
            continue
        value, reason, valid = _recode(item.scheme, code)
        if reason is not None:
            continue
        if value is None:
            try:
                value = float(code)
            except (TypeError, ValueError):
                continue
        rows.append({"item": item.item, "value": float(value), "label": str(label)})
    return rows


def _label_notes(path: Path, item: Item, var: str, sav_labels: dict[Any, str],
                 ranges: list[tuple[Any, Any]]) -> list[str]:
    """Sentences where the ``.sav`` value labels and the instrument's scheme disagree."""
    scheme = item.scheme
    notes: list[str] = []
    for code, label in sav_labels.items():
        code_text = _cell_text(code) or ""
        if ranges and _declared_missing(code, ranges):
            value, reason, valid = scheme.recode(code_text) if code_text.strip() else (None, None, False)
            if valid and value is not None:
                notes.append(f"{path.name}: item {item.item} (variable {var}): code {code_text} is declared "
                             f"missing in the .sav ({label!r}) but is the valid value {_number_text(value)} "
                             f"in the instrument's scheme {scheme.name!r}; read as missing")
            elif reason is not None and fold(reason) != fold(label):
                notes.append(f"{path.name}: item {item.item} (variable {var}): missing code {code_text} is "
                             f"labelled {label!r} in the .sav but {reason!r} in the instrument")
            continue
        value, reason, valid = _recode(scheme, code)
        if reason is not None:
            if fold(reason) != fold(label):
                notes.append(f"{path.name}: item {item.item} (variable {var}): missing code {code_text} is "
                             f"labelled {label!r} in the .sav but {reason!r} in the instrument")
            continue
        if not valid or value is None:
            notes.append(f"{path.name}: item {item.item} (variable {var}): the .sav labels code {code_text} "
                         f"({label!r}), which is not in the instrument's scheme {scheme.name!r}")
            continue
        expected = scheme.labels.get(value)
        if expected is not None and fold(expected) != fold(label):
            notes.append(f"{path.name}: item {item.item} (variable {var}): value {_number_text(value)} is "
                         f"labelled {label!r} in the .sav but {expected!r} in the instrument")
    return notes
