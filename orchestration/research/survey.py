"""The wide survey file: one row per response, one variable per item (SPEC 3.3, 4, 6).

``sofs-warehouse export survey INSTRUMENT [--wave W] --format sav|dta|csv|parquet --allow-marts``.

Shape: one row per current response of ``marts.fct_survey_response`` (a respondent who answered a wave
twice keeps the latest complete response, SPEC 5), columns ``wave``, ``response_key``,
``respondent_key``, ``dossier_key`` (when the instrument links dossiers), ``is_complete``, ``lastpage``,
``submitted_at``, then every non-text item of the instrument (attributes such as function or region
included) named by its item id, values from ``marts.fct_item_response``. Open answers (``text`` items)
are never exported.

Labels and codes come from the answer-scheme version each wave was loaded with
(``raw.survey_items.scheme_coding`` / ``scheme_labels``, SPEC 3.3): value labels, the measure level
(nominal schemes: nominal; labelled: ordinal; ``min..max``: scale) and the declared missing codes. A
missing reason is written as a code (:func:`missing_export_codes`): SPSS declares it user-missing, Stata
gets extended missing ``.a``, ``.b``, ... in the order of the codes, CSV and Parquet keep the value empty
and name the reason in ``<item>_missing``. Without ``--wave`` every wave is stacked, which is refused
when an item's coding or labels differ between waves (values are never pooled across scheme versions).

This is respondent-level microdata with pseudonymous keys: NOT disclosure-controlled (SPEC 6). Like a
mart it is exported only when asked explicitly (``allow_microdata=True``, CLI ``--allow-marts``); the
file label and the SPSS document say so.

Errors: :class:`~orchestration.settings.UsageError`, exit 2 (no explicit permission, unknown instrument or
wave, incomparable waves, bad format or extension); :class:`FileNotFoundError` (no warehouse, missing output folder).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from orchestration import settings, warehouse
from orchestration.research import labels as lb
from orchestration.research.tables import tables, write_parquet
from orchestration.research.writers import check_format, output_path, write_statistical

MICRODATA_NOTE = ("Respondent-level microdata with pseudonymous keys: NOT disclosure-controlled (SPEC 6). "
                  "For the study team only, never for sharing. Open answers are not included.")
META_LABELS = {
    "wave": "Wave of the survey",
    "response_key": "Response (pseudonymous key)",
    "respondent_key": "Respondent (pseudonymous key, the same in every wave)",
    "dossier_key": "Dossier (pseudonymous key, joins marts.fct_dossier)",
    "is_complete": "Response completed and submitted",
    "lastpage": "Last page reached",
    "submitted_at": "Submitted at",
}


@dataclass
class SurveyVariable:
    """One item of the wide file: its labels, codes and measure level (the same in every wave exported)."""

    item: str
    role: str
    text: str
    scheme: str
    measure: str                                   # nominal | ordinal | scale
    labels: dict[float, str]                       # valid value -> label
    missing: dict[float, str]                      # export code -> missing reason
    source_codes: dict[str, float] = field(default_factory=dict)  # declared code -> export code
    whole: bool = True                             # every valid value a whole number


@dataclass
class WideSurvey:
    """What :func:`build_wide` read: the frame (missing reasons as their export codes) and its variables."""

    instrument: str
    waves: list[str]
    title: str
    frame: pd.DataFrame
    variables: dict[str, SurveyVariable]
    reasons: pd.DataFrame                          # response x item -> missing reason (CSV/Parquet)


def _json(text) -> dict:
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def missing_export_codes(declared: dict[str, str], valid: set[float], extra_reasons=()) -> dict[str, float]:
    """Numeric export code of every declared missing code (and of reasons given without a declared code).

    A declared code that is a whole number and no valid value keeps its number (``-9`` -> -9, ``9`` -> 9
    on a 1..5 scale). Other codes (``A9``) and undeclared reasons get -1, -2, ... in the order of their
    code, skipping numbers already taken or valid. Returns ``{declared code or reason: export code}``.
    """
    out: dict[str, float] = {}
    taken = set(valid)
    rest = []
    for code in sorted(declared):
        try:
            number = float(code)
        except ValueError:
            number = math.nan
        if not math.isnan(number) and number.is_integer() and number not in taken:
            out[code] = number
            taken.add(number)
        else:
            rest.append(code)
    rest += sorted(r for r in set(extra_reasons) if r not in declared.values() and r not in declared)
    candidate = -1.0
    for key in rest:
        while candidate in taken:
            candidate -= 1
        out[key] = candidate
        taken.add(candidate)
    return out


def _valid_values(coding: dict, labels: dict[float, str]) -> set[float]:
    values = {float(v) for v in coding.get("values") or []} | set(labels)
    lo, hi = coding.get("min"), coding.get("max")
    if lo is not None and hi is not None and float(hi) - float(lo) <= 1000:
        values |= {float(v) for v in range(math.ceil(float(lo)), math.floor(float(hi)) + 1)}
    return values


def instrument_waves(con: duckdb.DuckDBPyConnection, instrument: str) -> list[str]:
    """Waves of ``instrument`` that have responses, in wave order.

    Raises:
        settings.UsageError: an unknown instrument.
    """
    if "fct_survey_response" not in tables(con, "marts") or "survey_items" not in tables(con, "raw"):
        raise settings.UsageError("no survey marts yet: run `sofs-warehouse run` first")
    rows = con.execute("select wave from marts.fct_survey_response where instrument = ? group by wave "
                       "order by min(wave_order), wave", [instrument]).fetchall()
    if not rows:
        known = [r[0] for r in con.execute("select distinct instrument from marts.fct_survey_response "
                                           "order by 1").fetchall()]
        raise settings.UsageError(f"unknown instrument {instrument!r}: the warehouse holds "
                                  f"{', '.join(known) or 'none'}")
    return [r[0] for r in rows]


def survey_variables(con: duckdb.DuckDBPyConnection, instrument: str, waves: list[str],
                     extra_reasons: dict[str, set[str]] | None = None) -> dict[str, SurveyVariable]:
    """The non-text items of ``instrument`` in ``waves`` (in the order they were loaded), each with the
    labels and codes of the scheme version the waves were loaded with (SPEC 3.3).

    Raises:
        settings.UsageError: an item whose coding, labels or missing codes differ between the waves (export one
            wave at a time with ``--wave``).
    """
    extra_reasons = extra_reasons or {}
    marks = ", ".join("?" for _ in waves)
    rows = con.execute(f"""
        select item, wave, role, item_text, scheme, is_nominal, scheme_coding, scheme_labels, min(rowid) over (
               partition by item) as pos
        from raw.survey_items where instrument = ? and wave in ({marks}) and not is_text
        order by pos, item, wave""", [instrument, *waves]).fetchall()
    order = {w: i for i, w in enumerate(waves)}
    by_item: dict[str, list] = {}
    for row in rows:
        by_item.setdefault(row[0], []).append(row)
    out: dict[str, SurveyVariable] = {}
    for item, versions in by_item.items():
        versions.sort(key=lambda r: order[r[1]])
        kinds = {(r[6], r[7]) for r in versions}
        if len(kinds) > 1:
            detail = ", ".join(f"{r[1]}: {r[4]}" for r in versions)
            raise settings.UsageError(f"item {item} of {instrument} is coded or labelled differently between the waves "
                                      f"({detail}); values are never pooled across answer-scheme versions (SPEC 3.3): "
                                      "export one wave at a time with --wave")
        latest = versions[-1]
        coding, texts = _json(latest[6]), _json(latest[7])
        labels = {float(k): str(v) for k, v in (texts.get("labels") or {}).items()}
        declared = {str(k): str(v) for k, v in (texts.get("missing") or {}).items()}
        valid = _valid_values(coding, labels)
        codes = missing_export_codes(declared, valid, extra_reasons.get(item, ()))
        missing = {code: declared.get(key, key) for key, code in codes.items()}
        nominal = bool(coding.get("nominal", latest[5]))
        measure = "nominal" if nominal else ("ordinal" if labels else "scale")
        out[item] = SurveyVariable(item=item, role=latest[2], text=" ".join(str(latest[3] or item).split()),
                                   scheme=latest[4], measure=measure, labels=labels, missing=missing,
                                   source_codes=codes, whole=all(float(v).is_integer() for v in valid))
    return out


def export_names(con: duckdb.DuckDBPyConnection, instrument: str) -> dict[str, dict[str, str]]:
    """``{item: {"sav": name, "dta": name}}``: the names the items of ``instrument`` get in the wide file of
    all its waves (Stata: abbreviated to 32 characters, :func:`~orchestration.research.labels.safe_names`)."""
    items = [r[0] for r in con.execute(
        "select item from raw.survey_items where instrument = ? and not is_text group by item "
        "order by min(rowid), item", [instrument]).fetchall()]
    cols = list(META_LABELS) + items
    sav, dta = lb.safe_names(cols, "sav"), lb.safe_names(cols, "dta")
    return {i: {"sav": sav[i], "dta": dta[i]} for i in items}


def build_wide(con: duckdb.DuckDBPyConnection, instrument: str, wave: str | None = None) -> WideSurvey:
    """Read the wide file of ``instrument`` (one wave, or every wave when ``wave`` is None).

    Raises:
        settings.UsageError: unknown instrument or wave; items coded differently between the waves.
    """
    waves = instrument_waves(con, instrument)
    if wave is not None:
        if wave not in waves:
            raise settings.UsageError(f"{instrument} has no wave {wave!r}: its waves are {', '.join(waves)}")
        waves = [wave]
    marks = ", ".join("?" for _ in waves)
    responses = con.execute(f"""
        select wave, response_key, respondent_key, dossier_key, is_complete, lastpage, submitted_at
        from marts.fct_survey_response where instrument = ? and wave in ({marks})
        order by wave_order, wave, response_key""", [instrument, *waves]).df()
    answers = con.execute(f"""
        select a.response_key, a.item, a.value, a.missing_reason, a.raw_code
        from marts.fct_item_response a
        join marts.fct_survey_response r on r.response_key = a.response_key
        where a.instrument = ? and a.wave in ({marks}) and r.instrument = ?""",
                          [instrument, *waves, instrument]).df()
    title = con.execute(f"select max(title) from raw.survey_waves where instrument = ? and wave in ({marks})",
                        [instrument, *waves]).fetchone()[0] or instrument
    reasons_given = answers.dropna(subset=["missing_reason"]).groupby("item")["missing_reason"].agg(set).to_dict()
    variables = survey_variables(con, instrument, waves, reasons_given)
    frame = responses.copy()
    for col in ("respondent_key", "dossier_key"):
        if frame[col].isna().all():
            frame = frame.drop(columns=col)
    frame["is_complete"] = frame["is_complete"].astype("boolean")
    reasons = pd.DataFrame(index=frame.index)
    position = {k: i for i, k in enumerate(frame["response_key"])}
    answers = answers[answers["response_key"].isin(position) & answers["item"].isin(variables)]
    rows = answers["response_key"].map(position)
    for item, var in variables.items():
        values = pd.Series(math.nan, index=frame.index, dtype=float)
        why = pd.Series(None, index=frame.index, dtype=object)
        mine = answers["item"] == item
        for idx, value, reason, raw in zip(rows[mine], answers.loc[mine, "value"], answers.loc[mine, "missing_reason"],
                                           answers.loc[mine, "raw_code"]):
            if value is not None and not pd.isna(value):
                values.iat[idx] = float(value)
            elif isinstance(reason, str):
                code = var.source_codes.get(str(raw)) if raw is not None else None
                if code is None or var.missing.get(code) != reason:
                    code = next((c for c, r in sorted(var.missing.items()) if r == reason), None)
                values.iat[idx] = code if code is not None else math.nan
                why.iat[idx] = reason
        frame[item] = values
        reasons[item] = why
    return WideSurvey(instrument=instrument, waves=waves, title=str(title), frame=frame, variables=variables,
                      reasons=reasons)


def _statistical_parts(wide: WideSurvey, fmt: str):
    frame = wide.frame.copy()
    labels = {c: META_LABELS.get(c, c) for c in frame.columns}
    value_labels: dict[str, dict] = {"is_complete": dict(lb.BOOL_LABELS)}
    frame["is_complete"] = frame["is_complete"].astype("Float64").astype(float)
    frame["lastpage"] = frame["lastpage"].astype("Float64").astype(float)
    formats = {"is_complete": "F1.0", "lastpage": "F12.0"} if fmt == "sav" else {"is_complete": "%1.0g",
                                                                                 "lastpage": "%12.0g"}
    measures = {"wave": "nominal", "response_key": "nominal", "respondent_key": "nominal", "dossier_key": "nominal",
                "is_complete": "nominal", "lastpage": "ordinal", "submitted_at": "scale"}
    user_missing: dict[str, dict[float, str]] = {}
    for item, var in wide.variables.items():
        labels[item] = var.text
        if var.labels:
            value_labels[item] = {lb.as_code(v): t for v, t in sorted(var.labels.items())}
        if var.missing:
            user_missing[item] = dict(var.missing)
        measures[item] = var.measure
        formats[item] = ("F8.0" if var.whole else "F8.2") if fmt == "sav" else ("%8.0g" if var.whole else "%9.2f")
    measures = {c: m for c, m in measures.items() if c in frame.columns}
    return frame, labels, value_labels, formats, measures, user_missing


def export_survey(instrument: str, fmt: str, wave: str | None = None, out: Path | str | None = None,
                  allow_microdata: bool = False) -> Path:
    """Write the wide respondent x item file of ``instrument`` (one wave, or all); return the file written.

    Args:
        instrument: the instrument id (``staff_survey``).
        fmt: ``sav``, ``dta``, ``csv`` or ``parquet``.
        wave: one wave; None stacks every wave (refused when an item's scheme differs between them).
        out: file or existing folder (see :func:`~orchestration.research.writers.output_path`); default
            ``./survey_<instrument>_<wave or all_waves>.<fmt>``.
        allow_microdata: must be True: the file is respondent-level microdata, not disclosure-controlled.

    Raises:
        settings.UsageError: no ``allow_microdata``, unknown instrument or wave, items incomparable between waves,
            a bad format or an extension that contradicts it.
        FileNotFoundError: no warehouse yet, or the output folder does not exist.
    """
    fmt = check_format(fmt)
    if not allow_microdata:
        raise settings.UsageError("export survey writes respondent-level microdata (one row per response, "
                                  "pseudonymous keys) that is NOT disclosure-controlled (SPEC 6): like a mart it is "
                                  "for the study team only. Confirm with --allow-marts (allow_microdata=True); for "
                                  "sharing use the reporting tables (e.g. item_distribution).")
    default_name = f"survey_{instrument}_{wave or 'all_waves'}.{fmt}"
    path = output_path(out, default_name, fmt)
    with warehouse.read_connection() as con:
        wide = build_wide(con, instrument, wave)
    which = wave or "all waves"
    if fmt in ("csv", "parquet"):
        frame = wide.frame.copy()
        for item, var in wide.variables.items():
            if var.missing:  # the value stays empty; the reason gets a column of its own
                frame.loc[wide.reasons[item].notna(), item] = math.nan
                pos = frame.columns.get_loc(item) + 1
                frame.insert(pos, f"{item}_missing", wide.reasons[item])
        if fmt == "csv":
            frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        else:
            import pyarrow as pa

            write_parquet(pa.Table.from_pandas(frame, preserve_index=False), path,
                          {"sofs_note": MICRODATA_NOTE, "sofs_source": f"{wide.instrument}, {which}"})
        return path
    frame, labels, value_labels, formats, measures, user_missing = _statistical_parts(wide, fmt)
    file_label = f"Microdata, not for sharing: {wide.instrument} {which}"
    note = (f"{wide.title} ({wide.instrument}, {which}). {MICRODATA_NOTE} Variables are the items (item ids); "
            "declared missing codes are user-missing values. See the codebook (sofs-warehouse codebook).")
    write_statistical(frame, path, fmt, column_labels=labels, value_labels=value_labels, formats=formats,
                      measures=measures, file_label=file_label, user_missing=user_missing, note=note)
    return path
