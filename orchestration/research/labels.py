"""Labels, names, codes, formats and measure levels for SPSS ``.sav`` and Stata ``.dta`` (SPEC 3.3, 3.4, 6).

- Code lists of the dossier extract (service, region, ...) become numeric codes with value labels; the
  ``all`` rows of a margin get :data:`TOTAL_CODE` (0) labelled :data:`TOTAL_LABEL` in every coded column
  and every ``*_year`` column (documented in the codebook, ``exportConventions``).
- Names: SPSS up to 64 bytes; Stata up to 32 characters by :func:`stata_abbreviation` (readable,
  deterministic: vowels dropped from the longest words first), recorded in the codebook.
- Labels are cut only between words (:func:`fit_label`), with ``...`` where something was left out.

Shapes: value labels ``{column: {code: label}}``; formats ``{column: "F12.0"}``; measures
``{column: "nominal"|"ordinal"|"scale"}``. Nothing here reads the warehouse except
:func:`item_value_labels` and :func:`with_item_texts`.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence

import duckdb
import pandas as pd

from orchestration.contracts import dossier_extract
from orchestration.research.tables import tables

TOTAL = "all"
#: numeric code of the 'all' (total) rows when a coded column becomes numeric in .sav/.dta
TOTAL_CODE = 0
TOTAL_LABEL = "all (total)"
BOOL_LABELS = {0: "no", 1: "yes"}

#: value labels where they say more than the code itself (SPEC 0, 3.4)
_CODE_LABELS = {
    "OCJ": "OCJ - Ondersteuningscentrum Jeugdzorg (voluntary track)",
    "SDJ": "SDJ - Sociale Dienst Jeugdrechtbank (court-ordered track)",
    "kinship_foster": "kinship foster care", "mapping": "mapping (three-column assessment)",
}


def _code_list(codes: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """text code -> (numeric code 1.., label), in the order of the extract contract."""
    return {c: (i, _CODE_LABELS.get(c, c.replace("_", " "))) for i, c in enumerate(codes, start=1)}


#: code lists of the dossier extract (SPEC 3.4; :mod:`orchestration.contracts.dossier_extract`, in its
#: order): text code -> (numeric code, label) for .sav/.dta
CODE_LISTS: dict[str, dict[str, tuple[int, str]]] = {
    "service": _code_list(dossier_extract.SERVICES), "region": _code_list(dossier_extract.REGIONS),
    "sex": _code_list(dossier_extract.SEXES), "placement_type": _code_list(dossier_extract.PLACEMENT_TYPES),
    "event_type": _code_list(dossier_extract.EVENT_TYPES), "rated_by": _code_list(dossier_extract.RATERS),
}

# Name and label limits of the target formats. SPSS (bytes): names 64, variable labels 256, value labels
# 120, file label 64. Stata 14+ (characters): names 32, variable and file labels 80; value labels are
# kept at 80 so that they show whole in Stata's output.
LIMITS = {"sav": {"name": 64, "label": 256, "value_label": 120, "file_label": 64},
          "dta": {"name": 32, "label": 80, "value_label": 80, "file_label": 80}}
RESERVED = {
    "sav": {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"},
    "dta": {"_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n",
            "_N", "_pi", "_pred", "_rc", "_skip", "strL", "using", "with"},
}
_VOWELS = re.compile(r"(?<=.)[aeiouAEIOU]")


# ---------------------------------------------------------------------------------------- text

def _size(text: str, fmt: str) -> int:
    return len(text.encode("utf-8")) if fmt == "sav" else len(text)


def fit_label(text: str, limit: int, fmt: str) -> str:
    """``text`` within ``limit`` (bytes for ``sav``, characters for ``dta``), cut between words.

    When it does not fit, the longest run of whole words that fits together with ``...`` is kept
    ("Ik ben op de hoogte van ..." rather than "Ik ben op de hoo"). A single word longer than the limit
    is cut inside (nothing else is possible), at a character boundary.
    """
    text = " ".join(str(text).split())
    if _size(text, fmt) <= limit:
        return text
    room = limit - _size(" ...", fmt)
    words, kept = text.split(" "), ""
    for word in words:
        candidate = f"{kept} {word}" if kept else word
        if _size(candidate, fmt) > room:
            break
        kept = candidate
    if kept:
        return f"{kept} ..."
    out = ""
    for ch in text:  # one very long word
        if _size(out + ch, fmt) > limit - _size("...", fmt):
            break
        out += ch
    return out + "..."


def stata_abbreviation(name: str, limit: int = 32) -> str:
    """A readable, deterministic abbreviation of ``name`` in at most ``limit`` characters (Stata names).

    Words are the parts between underscores. Step 1 drops the vowels after the first letter of the
    longest words first (ties: the rightmost; words of 4 letters or more, keeping at least 3), one word
    at a time, until the name fits:
    ``days_closure_to_next_registration`` -> ``days_closure_to_next_rgstrtn``. Step 2, when still too long,
    shortens the longest word by one letter at a time (never below 3). Step 3 cuts the end.
    Names that fit are returned unchanged.
    """
    if len(name) <= limit:
        return name
    words = name.split("_")

    def total() -> int:
        return len("_".join(words))

    order = sorted(range(len(words)), key=lambda i: (-len(words[i]), -i))
    for i in order:
        if total() <= limit:
            break
        stripped = _VOWELS.sub("", words[i])
        if len(words[i]) >= 4 and len(stripped) >= 3:
            words[i] = stripped
    while total() > limit:
        i = max(range(len(words)), key=lambda k: (len(words[k]), k))
        if len(words[i]) <= 3:
            break
        words[i] = words[i][:-1]
    return "_".join(words)[:limit]


def safe_names(names: Sequence[str], fmt: str) -> dict[str, str]:
    """Column -> valid, unique variable name for ``fmt`` (letters, digits, _; length; reserved words).

    Stata names longer than 32 characters are abbreviated by :func:`stata_abbreviation`; a name already
    taken (case-insensitive) gets ``_2``, ``_3``, ... Deterministic for the same columns in the same order.
    """
    limit = LIMITS[fmt]["name"]
    reserved = RESERVED[fmt]
    used: set[str] = set()
    out = {}
    for col in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", col)
        if not base or not (base[0].isalpha() or (fmt == "dta" and base[0] == "_")):
            base = "v_" + base
        if base in reserved or base.upper() in reserved:
            base = base + "_"
        base = stata_abbreviation(base, limit) if fmt == "dta" else base.encode("utf-8")[:limit].decode("utf-8", "ignore")
        name, n = base, 2
        while name.lower() in used:
            suffix = f"_{n}"
            name = base[:limit - len(suffix)] + suffix
            n += 1
        used.add(name.lower())
        out[col] = name
    return out


def as_code(value: float) -> int | float:
    """A whole float as int (value-label keys), else the float."""
    return int(value) if float(value).is_integer() else float(value)


# ------------------------------------------------------------------------------ warehouse labels

def item_value_labels(con: duckdb.DuckDBPyConnection) -> dict[str, dict[float, str]]:
    """item -> {value: label} from marts.item_distribution; an item whose labels disagree between waves
    or instruments gets none (a single mapping per variable would mislabel some rows)."""
    if "item_distribution" not in tables(con, "marts"):
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


def with_item_texts(con: duckdb.DuckDBPyConnection, labels: dict[str, str]) -> dict[str, str]:
    """Columns without a description that are survey items (the attribute columns of
    fct_survey_response) get the item's question text; ``<item>_label`` columns say so."""
    if "item_distribution" not in tables(con, "marts"):
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


# ------------------------------------------------------------------------------------ frames

def is_year_column(name: str, series: pd.Series) -> bool:
    """A ``*_year`` text column holding years and 'all' (becomes numeric, 'all' = 0)."""
    if not name.endswith("_year") or series.dtype.kind in "iuf":
        return False
    values = {str(v) for v in series.dropna().unique()}
    return bool(values) and all(v == TOTAL or v.isdigit() for v in values)


def _is_bool_object(s: pd.Series) -> bool:
    if s.dtype != object:
        return False
    values = s.dropna()
    return len(values) > 0 and all(isinstance(v, bool) for v in values)


_NULLABLE_NUMBERS = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64")


def labelled_frame(df: pd.DataFrame, item_labels: dict[str, dict[float, str]]
                   ) -> tuple[pd.DataFrame, dict[str, dict], dict[str, str]]:
    """Turn a table into what SPSS/Stata can label: coded text -> numbers, booleans -> 0/1.

    Returns the new frame, ``{column: {code: label}}`` and ``{column: measure}`` for the columns it
    coded. Text columns named after a code list (service, region, ...) whose values all belong to it (or
    are 'all') become its numeric codes, 'all' = 0 (nominal); ``*_year`` text columns become numbers,
    'all' = 0 (ordinal); booleans 0 no / 1 yes (nominal); survey item columns (numeric, named after an
    item) and a long table's ``value`` column (when every item of the table shares one label set) keep
    their values and get the items' labels.
    """
    out = df.copy()
    value_labels: dict[str, dict] = {}
    measures: dict[str, str] = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s.dtype) or _is_bool_object(s):
            out[col] = s.astype("Float64").astype(float)
            value_labels[col] = dict(BOOL_LABELS)
            measures[col] = "nominal"
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
                measures[col] = "nominal"
        elif is_year_column(col, s):
            out[col] = s.map(lambda v: math.nan if v is None or (isinstance(v, float) and math.isnan(v))
                             else (float(TOTAL_CODE) if v == TOTAL else float(v))).astype(float)
            if (s == TOTAL).any():
                value_labels[col] = {TOTAL_CODE: TOTAL_LABEL}
            measures[col] = "ordinal"
        elif s.dtype.kind in "iuf" and col in item_labels:
            value_labels[col] = {as_code(v): t for v, t in item_labels[col].items()}
            measures[col] = "ordinal"
        elif col == "value" and s.dtype.kind in "iuf" and "item" in df.columns:
            sets = {json.dumps(sorted(item_labels.get(i, {}).items())) for i in df["item"].dropna().unique()}
            if len(sets) == 1:
                mapping = dict(json.loads(next(iter(sets))))
                if mapping:
                    value_labels[col] = {as_code(float(v)): t for v, t in mapping.items()}
    for col in out.columns:
        dtype = str(out[col].dtype)
        if dtype in _NULLABLE_NUMBERS:
            # nullable numbers -> float (SPSS numbers are doubles; NA -> system missing)
            out[col] = out[col].astype("Float64").astype(float)
        elif dtype.startswith("datetime64") and getattr(out[col].dt, "tz", None) is None:
            values = out[col].dropna()
            if len(values) and (values == values.dt.normalize()).all():  # a DATE column: keep it a date
                out[col] = pd.Series([v.date() if pd.notna(v) else None for v in out[col]], index=out.index,
                                     dtype=object)
    return out, value_labels, measures


def formats_and_measures(frame: pd.DataFrame, integer_columns: Iterable[str], value_labels: dict[str, dict],
                         coded_measures: dict[str, str], fmt: str) -> tuple[dict[str, str], dict[str, str]]:
    """Display formats and measure levels of a labelled frame.

    Formats: integer columns of the source table (counts, also with withheld nulls) and coded columns
    ``F12.0`` (Stata ``%12.0g``); other numbers ``F12.4`` in SPSS (rates and proportions). Measures:
    coded columns as :func:`labelled_frame` says; other numbers ``scale``; text ``nominal``; dates ``scale``.
    """
    integer_columns = set(integer_columns)
    formats: dict[str, str] = {}
    measures: dict[str, str] = {}
    for col in frame.columns:
        s = frame[col]
        if col in coded_measures:
            measures[col] = coded_measures[col]
        elif s.dtype.kind in "iuf" or s.dtype.kind == "M":
            measures[col] = "scale"
        else:
            values = s.dropna()
            measures[col] = "scale" if len(values) and all(hasattr(v, "isoformat") for v in values) else "nominal"
        if s.dtype.kind not in "iuf":
            continue
        if s.dtype.kind in "iu" or col in integer_columns or col in value_labels:
            formats[col] = "F12.0" if fmt == "sav" else "%12.0g"
        elif fmt == "sav":
            formats[col] = "F12.4"  # SPSS shows 2 decimals by default
    return formats, measures
