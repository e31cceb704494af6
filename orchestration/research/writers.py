"""Export writers: output paths, CSV, Parquet, SPSS ``.sav`` and Stata ``.dta`` (SPEC 6, 8).

:func:`export_table` writes one reporting table (or a mart, when asked explicitly) in one of
:data:`~orchestration.research.tables.FORMATS`. :func:`write_statistical` is shared with the wide survey
export (:mod:`orchestration.research.survey`): variable and value labels, display formats, measure
levels, user-missing codes (SPSS ``missing_ranges``; Stata extended missing ``.a``, ``.b``, ...) and
Stata value-label sets named after their variable.

Errors: :class:`~orchestration.settings.UsageError` (exit 2) for a bad format, an output name whose
extension contradicts the format, or a refused table; :class:`FileNotFoundError` for a missing output
folder (never created silently) or a missing warehouse.
"""
from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pandas as pd

import duckdb

from orchestration import settings, warehouse
from orchestration.research import labels as lb
from orchestration.research.tables import (FORMATS, INTEGER_TYPES, column_labels, column_types, load_manifest,
                                           ordered_query, resolve_table, suppression_rule, table_label,
                                           write_parquet)

STATA_MISSING_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def check_format(fmt: str) -> str:
    """The format in lower case without a leading dot. Raises settings.UsageError when it is not one of FORMATS."""
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in FORMATS:
        raise settings.UsageError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt


def output_path(out: Path | str | None, default_name: str, fmt: str) -> Path:
    """The file an export writes (absolute).

    ``out`` None: ``./<default_name>``. An existing folder, or a path ending in ``/``: ``<default_name>``
    in it. Otherwise the file itself; its extension, when it has one, must be ``.<fmt>``.

    Raises:
        settings.UsageError: the extension contradicts the format (``--out x.csv --format sav``).
        FileNotFoundError: the output folder does not exist (it is not created: a typo would scatter files).
    """
    if out is None:
        return (Path.cwd() / default_name).resolve()
    text = str(out)
    path = Path(text).expanduser()
    if path.is_dir() or text.endswith(("/", "\\")):
        folder, path = path, path / default_name
    else:
        folder = path.parent
        if path.suffix and path.suffix.lower() != f".{fmt}":
            raise settings.UsageError(f"--out {text}: the extension {path.suffix} does not match --format {fmt}; "
                                      f"name the file {path.with_suffix('.' + fmt).name} or choose the format that "
                                      f"{path.suffix} stands for. Nothing was written.")
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {folder} does not exist: create it first (it is not created "
                                "for you). Nothing was written.")
    return path.resolve()


def _missing_ranges(codes: list[float], valid: set[float]) -> list:
    """SPSS user-missing declaration for ``codes``: up to 3 discrete values, else one range that holds
    no valid value. Raises settings.UsageError when neither is possible."""
    codes = sorted(codes)
    if len(codes) <= 3:
        return [lb.as_code(c) for c in codes]
    lo, hi = codes[0], codes[-1]
    if any(lo <= v <= hi for v in valid):
        raise settings.UsageError(f"SPSS allows 3 discrete user-missing codes or one range; the codes {codes} span "
                                  f"valid values")
    return [{"lo": lb.as_code(lo), "hi": lb.as_code(hi)}]


def name_dta_variables(path: Path, names: list[str]) -> None:
    """Give the variables of a Stata 118/119 file written under placeholder names their real ``names``
    (in column order) and name every value-label set after its variable.

    pyreadstat names a label set ``<variable><n>``, which is longer than Stata's 32 characters for a long
    variable name, so the file is written with short placeholders and the fixed-width name fields (129
    bytes each in ``<varnames>``, ``<value_label_names>`` and every ``<lbl>``) are rewritten in place.
    """
    data = bytearray(Path(path).read_bytes())
    release = int(data[data.index(b"<release>") + 9:data.index(b"</release>")])
    if release not in (118, 119):
        raise ValueError(f"{path}: Stata format {release} is not 118/119")
    width = 129

    def section(tag: bytes) -> int:
        return data.index(b"<" + tag + b">") + len(tag) + 2

    vs, ls = section(b"varnames"), section(b"value_label_names")
    renamed: dict[bytes, bytes] = {}
    for i, name in enumerate(names):
        new = name.encode("utf-8").ljust(width, b"\0")
        data[vs + i * width: vs + (i + 1) * width] = new
        old = bytes(data[ls + i * width: ls + (i + 1) * width]).split(b"\0", 1)[0]
        if old:
            renamed[old] = new
            data[ls + i * width: ls + (i + 1) * width] = new
    pos = data.index(b"<value_labels>")
    while (pos := data.find(b"<lbl>", pos)) >= 0:
        name_at = pos + 5 + 4  # <lbl>, a 4-byte length, then the 129-byte name
        old = bytes(data[name_at:name_at + width]).split(b"\0", 1)[0]
        if old in renamed:
            data[name_at:name_at + width] = renamed[old]
        pos = name_at + width
    Path(path).write_bytes(bytes(data))


def write_statistical(frame: pd.DataFrame, path: Path, fmt: str, *, column_labels: dict[str, str],
                      value_labels: dict[str, dict], formats: dict[str, str], measures: dict[str, str],
                      file_label: str, user_missing: dict[str, dict[float, str]] | None = None,
                      note: str | None = None) -> dict[str, str]:
    """Write ``frame`` (column names as they should appear) as ``.sav`` or ``.dta``; return the names used.

    ``user_missing``: ``{column: {code: reason}}``, declared missing codes held in the column as numbers.
    SPSS: the codes stay and are declared user-missing (``missing_ranges``), labelled with the reason.
    Stata: each code becomes an extended missing value, ``.a`` for the lowest code, ``.b`` for the next,
    ..., labelled with the reason. Names are made valid for the format (Stata: at most 32 characters,
    :func:`~orchestration.research.labels.stata_abbreviation`); labels are cut between words to the
    format's limits; Stata value-label sets carry their variable's name. ``note`` (SPSS only) is stored
    as a document in the file.
    """
    import pyreadstat

    lim = lb.LIMITS[fmt]
    user_missing = user_missing or {}
    names = lb.safe_names(list(frame.columns), fmt)
    frame = frame.copy()
    for col in frame.columns:  # text: missing -> "" (neither format has a missing string); dates stay dates
        values = frame[col].dropna()
        if len(values) and all(isinstance(v, (dt.date, pd.Timestamp)) for v in values):
            continue
        if frame[col].dtype.kind not in "iufbMm" and not str(frame[col].dtype).startswith("datetime"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), "").astype(str)
    vlabels = {c: {k: lb.fit_label(v, lim["value_label"], fmt) for k, v in m.items()} for c, m in value_labels.items()}
    kwargs: dict = {}
    if fmt == "sav":
        ranges = {}
        for col, codes in user_missing.items():
            valid = {float(k) for k in vlabels.get(col, {})} - {float(c) for c in codes}
            ranges[names[col]] = _missing_ranges([float(c) for c in codes], valid)
            vlabels.setdefault(col, {}).update({lb.as_code(c): lb.fit_label(r, lim["value_label"], fmt)
                                                for c, r in codes.items()})
        letters = {}
        kwargs.update(missing_ranges=ranges or None, variable_measure={names[c]: m for c, m in measures.items()} or None,
                      note=textwrap.wrap(note, 80) if note else None)  # SPSS documents: lines of 80 bytes
    else:
        letters = {}
        for col, codes in user_missing.items():
            if len(codes) > len(STATA_MISSING_LETTERS):
                raise settings.UsageError(f"{col}: more than 26 missing codes cannot be Stata extended missing values")
            letter_of = {float(c): STATA_MISSING_LETTERS[i] for i, c in enumerate(sorted(float(c) for c in codes))}
            frame[col] = frame[col].astype(object).map(
                lambda v, m=letter_of: m.get(float(v), v) if isinstance(v, (int, float)) and not pd.isna(v) else v)
            labels = {k: v for k, v in vlabels.get(col, {}).items() if float(k) not in letter_of}
            labels.update({letter_of[float(c)]: lb.fit_label(r, lim["value_label"], fmt) for c, r in codes.items()})
            vlabels[col] = labels
            letters[names[col]] = sorted(letter_of.values())
        kwargs.update(missing_user_values=letters or None)
    # Stata: written under placeholders v1, v2, ... and renamed in the file (see name_dta_variables)
    written = names if fmt == "sav" else {c: f"v{i}" for i, c in enumerate(frame.columns, start=1)}
    if fmt == "dta" and letters:
        kwargs["missing_user_values"] = {written[c]: letters[names[c]] for c in user_missing}
    frame = frame.rename(columns=written)
    kwargs.update(
        column_labels={written[c]: lb.fit_label(column_labels.get(c, c), lim["label"], fmt) for c in written},
        variable_value_labels={written[c]: m for c, m in vlabels.items() if m} or None,
        file_label=lb.fit_label(file_label, lim["file_label"], fmt),
        variable_format={written[c]: f for c, f in formats.items()} or None)
    if fmt == "sav":
        pyreadstat.write_sav(frame, str(path), **kwargs)
    else:
        pyreadstat.write_dta(frame, str(path), **kwargs)
        name_dta_variables(path, [names[c] for c in names])
    return names


def _require_protected(con: duckdb.DuckDBPyConnection, what: str) -> None:
    """Run the disclosure audit (SPEC 6) before a reporting table leaves the warehouse."""
    from orchestration.disclosure.protect import require_protected

    require_protected(con, int(suppression_rule(con).get("min_cell") or settings.min_cell()), what)


def export_table(table: str, fmt: str, out: Path | str | None = None, allow_marts: bool = False) -> Path:
    """Export one table as ``csv``, ``parquet``, ``sav`` (SPSS) or ``dta`` (Stata); return the file written.

    Args:
        table: ``name`` or ``reporting.name`` (disclosure-controlled, SPEC 6), or ``marts.name`` together
            with ``allow_marts=True``.
        fmt: one of :data:`~orchestration.research.tables.FORMATS`.
        out: the file to write (its extension, if any, must be ``.<fmt>``); an existing folder, or a path
            ending in ``/``, gets ``<name>.<fmt>`` in it; default ``./<name>.<fmt>`` (``marts_<name>.<fmt>``
            for a mart). The folder must exist.
        allow_marts: permit a ``marts.`` table (one without restricted data).

    Rows are sorted by every column (the same table gives the same file); floats rounded to 9 decimals.
    CSV: UTF-8, comma, header, empty = null. ``.sav`` / ``.dta``: variable labels = the dbt column
    descriptions; value labels for code lists (service, region, ... as numeric codes, 'all' = 0
    "all (total)"), ``*_year`` columns (numbers, 'all' = 0), booleans (0 no / 1 yes) and survey items
    (labels of marts.item_distribution); measure levels (coded: nominal, years: ordinal, numbers: scale);
    integer columns (counts) ``F12.0``; names and labels within the format's limits, cut between words
    (Stata: names of at most 32 characters, abbreviated as the codebook records).

    Raises:
        settings.UsageError: bad format, an extension that contradicts it, or a table refused or unknown (see
            :func:`~orchestration.research.tables.resolve_table`).
        FileNotFoundError: no warehouse yet, or the output folder does not exist.
    """
    fmt = check_format(fmt)
    manifest = load_manifest()
    with warehouse.read_connection() as con:
        schema, name = resolve_table(con, table, allow_marts=allow_marts, manifest=manifest)
        default_name = f"{name}.{fmt}" if schema == "reporting" else f"{schema}_{name}.{fmt}"
        path = output_path(out, default_name, fmt)
        if schema == "reporting":
            _require_protected(con, f"export of reporting.{name}")
        query = ordered_query(con, schema, name)
        if fmt == "parquet":
            write_parquet(con.sql(query).to_arrow_table(), path)
            return path
        df = con.sql(query).df()
        if fmt == "csv":
            df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
            return path
        labels = lb.with_item_texts(con, column_labels(con, schema, name, manifest))
        item_labels = lb.item_value_labels(con)
        file_label = table_label(con, schema, name, manifest)
        integers = [c for c, t in column_types(con, schema, name) if t in INTEGER_TYPES]
    frame, value_labels, coded = lb.labelled_frame(df, item_labels)
    formats, measures = lb.formats_and_measures(frame, integers, value_labels, coded, fmt)
    write_statistical(frame, path, fmt, column_labels=labels, value_labels=value_labels, formats=formats,
                      measures=measures, file_label=file_label)
    return path
