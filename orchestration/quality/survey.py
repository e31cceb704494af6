"""Quality gate of a survey wave: rules built from the instrument definition (SPEC 3.1, 3.3).

:func:`check_survey` takes what a survey reader returned (a
:class:`~orchestration.readers.base.SurveyRead`, before pseudonymisation) and returns one
:class:`~orchestration.quality.results.RuleResult` per rule in :data:`SURVEY_RULES`, passed or not.
The value rules are Great Expectations expectations (run by :mod:`orchestration.quality.gx`) built from
the instrument: the valid values of every answer scheme the wave's items use, the respondent key.
Nothing is written per wave.

What the reader already refuses with a :class:`~orchestration.readers.base.ReaderError` (the ingest
turns it into a failed rule with
:func:`~orchestration.quality.results.from_reader_error`) is not checked again here: a binary file
(``FILE_NOT_TEXT``), an empty file (``S_EMPTY``), text headings (``S_TEXT_HEADINGS``), full answer
texts (``S_FULL_ANSWERS``), a cut-off or malformed record (``S_RECORD_SHAPE``), duplicate column
names (``S_DUPLICATE_COLUMN``), a missing ``id``/``submitdate``/``lastpage`` column
(``S_REQUIRED_COLUMN``), an empty response id (``S_REQUIRED_VALUE``), an unreadable date (``S_DATE``)
and a non-numeric ``lastpage`` (``S_TYPE``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.privacy import is_scientific_notation, shown_value
from orchestration.instruments import AnswerScheme, Instrument
from orchestration.quality import gx
from orchestration.quality.gx import A_GE_B, BETWEEN, IN_SET, MIN_ROWS, UNIQUE, Expect
from orchestration.quality.results import ERROR, WARNING, RuleResult, RuleSpec
from orchestration.readers.base import LoadReport, SurveyRead

RESPONSES, ANSWERS = "responses", "answers"


@dataclass(frozen=True)
class Wave:
    """What the survey rules know about the wave being checked."""

    instrument: Instrument
    wave: str
    today: dt.date
    fieldwork_start: dt.date | None = None
    fieldwork_end: dt.date | None = None
    report: LoadReport | None = None
    responses: pd.DataFrame | None = None
    lss_duplicates: tuple[str, ...] = ()
    dated_waves: tuple[str, ...] = ()
    order_hint: str = ""


@dataclass(frozen=True)
class Judged:
    """What a rule without expectations found: source lines, failing count, detail, columns reported."""

    lines: tuple[int, ...] = ()
    failing_rows: int = 0
    detail: str = ""
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SurveyRule:
    """One rule: its spec, the frame of the :class:`SurveyRead` it judges (``responses`` or
    ``answers``), and either the Great Expectations expectations it is made of, built for the wave, or a
    ``check`` of what the reader reported about the file as a whole (missing items, unmapped columns,
    the ``.lss``, the other waves)."""

    spec: RuleSpec
    frame: str
    expects: Callable[[Wave], tuple[Expect, ...]] = lambda _w: ()
    not_applicable: Callable[[Wave], str] | None = None
    check: Callable[[Wave], Judged] | None = None


def _missing_items(w: Wave) -> Judged:
    missing = list(w.report.missing_items) if w.report else []
    if not missing:
        return Judged()
    parts = ", ".join(f"{item} (column {col})" for item, col in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return Judged(lines=(1,), failing_rows=len(missing), columns=tuple(c for _, c in missing),
                  detail=f"Not in the export: {parts}{more}.")


def _unmapped_columns(w: Wave) -> Judged:
    cols = list(w.report.unmapped_columns) if w.report else []
    if not cols:
        return Judged()
    return Judged(lines=(1,), failing_rows=len(cols), columns=tuple(cols),
                  detail=f"Not loaded: {', '.join(cols[:10])}{' and more' if len(cols) > 10 else ''}.")


def _scientific_ids(w: Wave) -> Judged:
    if w.responses is None or not len(w.responses):
        return Judged()
    lines: list[int] = []
    columns: list[str] = []
    for col, name in (("respondent_id", w.instrument.respondent_key), ("dossier_id", w.instrument.dossier_key)):
        if col not in w.responses:
            continue
        bad = w.responses[col].map(lambda v: isinstance(v, str) and is_scientific_notation(v)).to_numpy(dtype=bool)
        if bad.any():
            lines.extend(int(x) for x in w.responses["source_line"].to_numpy()[bad])
            columns.append(name or col)
    if not lines:
        return Judged()
    return Judged(lines=tuple(sorted(set(lines))), failing_rows=len(set(lines)), columns=tuple(columns))


def _lss_duplicates(w: Wave) -> Judged:
    if not w.lss_duplicates:
        return Judged()
    return Judged(lines=(), failing_rows=len(w.lss_duplicates), columns=tuple(w.lss_duplicates),
                  detail=f"Duplicated question codes: {', '.join(w.lss_duplicates[:10])}; their labels were "
                         "not compared.")


def _undated(w: Wave) -> Judged:
    if w.fieldwork_start is not None or not w.dated_waves:
        return Judged()
    return Judged(failing_rows=1, columns=("fieldwork_start",),
                  detail=f"Waves with a fieldwork_start: {', '.join(w.dated_waves[:10])}. This wave is "
                         f"ordered {w.order_hint or 'by its name'}.")


def _scheme_expects(w: Wave) -> tuple[Expect, ...]:
    """One expectation per answer scheme the wave's (non-text) items use: value in the scheme."""
    by_scheme: dict[str, tuple[AnswerScheme, list[str]]] = {}
    for item in w.instrument.columns_for(w.wave).values():
        if item.scheme.text:
            continue
        by_scheme.setdefault(item.scheme.name, (item.scheme, []))[1].append(item.item)
    out = []
    for scheme, items in by_scheme.values():
        if scheme.codes or scheme.labels:
            out.append(Expect(IN_SET, "value", values=tuple(scheme.values()), when=("item", tuple(items))))
        else:
            out.append(Expect(BETWEEN, "value", min_value=scheme.min, max_value=scheme.max,
                              when=("item", tuple(items))))
    return tuple(out)


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max)


def _fieldwork(w: Wave) -> tuple[Expect, ...]:
    if w.fieldwork_start is None and w.fieldwork_end is None:
        return ()
    start = dt.datetime.combine(w.fieldwork_start, dt.time.min) if w.fieldwork_start else None
    end = _end_of(w.fieldwork_end) if w.fieldwork_end else None
    return (Expect(BETWEEN, "submitted_at", min_value=start, max_value=end),)


#: Every survey rule, in the order the results are returned.
SURVEY_RULES: tuple[SurveyRule, ...] = (
    SurveyRule(RuleSpec("S_NO_RESPONSES", 1, ERROR,
                        "the export must hold at least one response; a file with only the header line is refused "
                        "(SPEC 3.1).", ()),
               RESPONSES, lambda _w: (Expect(MIN_ROWS, min_value=1),)),
    SurveyRule(RuleSpec("S_RESPONSE_ID_UNIQUE", 1, ERROR,
                        "the response id (column id) must be unique in the export (SPEC 3.1).", ("id",)),
               RESPONSES, lambda _w: (Expect(UNIQUE, "response_id"),)),
    SurveyRule(RuleSpec("S_CODE_IN_SCHEME", 1, ERROR,
                        "every answer code must be a code of the item's answer scheme in the instrument definition, "
                        "or a declared missing code (SPEC 3.3).", ()),
               ANSWERS, lambda _w: (Expect(IN_SET, "code_valid", values=(True,)),)),
    SurveyRule(RuleSpec("S_VALUE_IN_RANGE", 1, ERROR,
                        "every recoded value must be a value of the item's answer scheme (its codes or labels, or "
                        "within min..max) (SPEC 3.3).", ()),
               ANSWERS, _scheme_expects),
    SurveyRule(RuleSpec("S_RESPONDENT_ONCE", 1, WARNING,
                        "a respondent token should occur once per wave (once per dossier in an instrument linked to "
                        "dossiers, e.g. an auditor scoring several dossiers); where it occurs more often the ingest "
                        "keeps the latest complete response and logs the decision (SPEC 5).", ("token",)),
               RESPONSES, lambda _w: (Expect(UNIQUE, _RESPONDENT_DOSSIER),),
               not_applicable=lambda w: "" if w.instrument.respondent_key else
               "(the instrument has no respondent_key: responses are not linkable.)"),
    SurveyRule(RuleSpec("S_SUBMIT_NOT_FUTURE", 2, WARNING,
                        "a submit date should not be after the day of the check.", ("submitdate",)),
               RESPONSES, lambda w: (Expect(BETWEEN, "submitted_at", max_value=_end_of(w.today)),)),
    SurveyRule(RuleSpec("S_SUBMIT_AFTER_START", 2, WARNING,
                        "a response should not be submitted before it was started (submitdate >= startdate).",
                        ("startdate", "submitdate")),
               RESPONSES, lambda _w: (Expect(A_GE_B, "submitted_at", column_b="started_at"),)),
    SurveyRule(RuleSpec("S_SUBMIT_IN_FIELDWORK", 2, WARNING,
                        "a submit date should lie within the wave's fieldwork_start..fieldwork_end (wave.yaml, "
                        "SPEC 3); earlier ones are often test responses.", ("submitdate",)),
               RESPONSES, _fieldwork,
               not_applicable=lambda w: "" if (w.fieldwork_start or w.fieldwork_end) else
               "(no fieldwork dates for this wave: not checked.)"),
    SurveyRule(RuleSpec("S_ID_NOT_SCIENTIFIC", 1, ERROR,
                        "a token or dossier id must be written as delivered, not as a number in scientific notation "
                        "(such as 1,2E+10): the file went through Excel, which rounds long numbers and can make several "
                        "respondents or dossiers one. Export again from LimeSurvey, or import the column as Text "
                        "in Excel (SPEC 3.1).", ()),
               RESPONSES, check=_scientific_ids),
    SurveyRule(RuleSpec("S_ITEM_MISSING", 1, WARNING,
                        "every item the instrument asks in this wave should have its column in the export; a missing "
                        "one has no answers in this wave. If the column moved, name it for the wave in the item's "
                        "source map; if the wave did not ask it, map the item's source per wave without it "
                        "(SPEC 3.3).", ()),
               ANSWERS, check=_missing_items),
    SurveyRule(RuleSpec("S_COLUMN_UNMAPPED", 1, WARNING,
                        "every column of the export should be a LimeSurvey metadata column, one of LimeSurvey's "
                        "timing columns (interviewtime, groupTime<group id>, <question code>Time) or a column an "
                        "item of the instrument names; other columns are not loaded (SPEC 3.1, 3.3).", ()),
               ANSWERS, check=_unmapped_columns),
    SurveyRule(RuleSpec("S_LSS_DUPLICATE_CODE", 1, WARNING,
                        "question codes (titles) in survey.lss should be unique: the answer labels of a code that "
                        "two questions share are not compared with the instrument, since they cannot be told apart "
                        "(SPEC 3).", ()),
               ANSWERS, check=_lss_duplicates),
    SurveyRule(RuleSpec("S_WAVE_UNDATED", 2, WARNING,
                        "a wave should have a fieldwork_start (wave.yaml) when other waves of the instrument have "
                        "one: waves are ordered by fieldwork_start, and an undated wave by the date or year in its "
                        "name, else by its name, which may put it in the wrong place for scale_change and "
                        "wave_order (SPEC 3). `sofs-warehouse status` shows the order used.", ("fieldwork_start",)),
               RESPONSES, check=_undated),
)


#: the derived column of the responses frame that ``S_RESPONDENT_ONCE`` judges
_RESPONDENT_DOSSIER = "respondent_dossier"


def with_respondent_dossier(responses: pd.DataFrame) -> pd.DataFrame:
    """A copy of the reader's ``responses`` frame with ``respondent_dossier``: the respondent token, joined
    with the dossier id when the response names one (null when the token is null). One respondent answers a
    wave once per dossier (SPEC 5): an auditor scores several dossiers in one wave."""
    out = responses.copy()
    token = out["respondent_id"]
    dossier = out["dossier_id"] if "dossier_id" in out else pd.Series(None, index=out.index, dtype=object)
    joined = token.astype(object).where(dossier.isna(), token.astype(str) + "\x1f" + dossier.astype(str))
    out[_RESPONDENT_DOSSIER] = joined.where(token.notna(), None)
    return out


def check_survey(read: SurveyRead, instrument: Instrument, wave: str, source_file: str, *,
                 today: dt.date | None = None, fieldwork_start: dt.date | None = None,
                 fieldwork_end: dt.date | None = None, lss_duplicates: tuple[str, ...] | list[str] = (),
                 dated_waves: tuple[str, ...] | list[str] = (), order_hint: str = "") -> list[RuleResult]:
    """Run every rule of :data:`SURVEY_RULES` on one wave as read (SPEC 3.1, 3.3, 5).

    Args:
        read: the reader's output (shapes in :class:`~orchestration.readers.base.SurveyRead`); the
            ``responses`` and ``answers`` frames carry ``source_line``.
        instrument: the instrument definition the wave was read with (answer schemes, respondent key).
        wave: the wave name (selects each item's source column).
        source_file: the landing file, reported with each result.
        today: the day of the check for ``S_SUBMIT_NOT_FUTURE`` (default: today).
        fieldwork_start, fieldwork_end: the wave's fieldwork dates from ``wave.yaml``, if any
            (``datetime.date``, a Timestamp or an ISO string; None or empty when not given).
        lss_duplicates: question codes that more than one question of the wave's ``survey.lss`` carries
            (:attr:`orchestration.readers.lss.LssStructure.duplicate_codes`).
        dated_waves: the other waves of the instrument that have a ``fieldwork_start`` (for
            ``S_WAVE_UNDATED``); ``order_hint`` says how this wave is ordered without one.

    ``read.report`` supplies the items whose column the export lacks (``S_ITEM_MISSING``) and the
    columns no item names (``S_COLUMN_UNMAPPED``); these rules report line 1 (the header) and the columns.

    Returns:
        One :class:`RuleResult` per rule, in :data:`SURVEY_RULES` order. Sample lines are the first
        physical source lines (ascending) of the failing responses or answers. A rule that judges
        the whole file (``S_NO_RESPONSES``) reports one failing row at line 1 (the header). ``S_CODE_IN_SCHEME`` and ``S_VALUE_IN_RANGE``
        report the item columns they read: the failing ones when they fail.

    Raises:
        orchestration.quality.gx.GXRunError: Great Expectations could not evaluate an expectation.
    """
    instrument = instrument.for_wave(wave)  # each item's answer-scheme version for this wave (SPEC 3.3)
    w = Wave(instrument, wave, _as_date(today) or dt.date.today(), _as_date(fieldwork_start),
             _as_date(fieldwork_end), report=read.report, responses=read.responses,
             lss_duplicates=tuple(lss_duplicates), dated_waves=tuple(dated_waves), order_hint=order_hint)
    frames = {RESPONSES: with_respondent_dossier(read.responses.reset_index(drop=True)),
              ANSWERS: read.answers.reset_index(drop=True)}
    found: dict[int, tuple[np.ndarray, list[gx.Verdict]]] = {}
    for name, frame in frames.items():
        rules = [(k, r) for k, r in enumerate(SURVEY_RULES) if r.frame == name]
        expects = [(k, e) for k, r in rules for e in r.expects(w)]
        verdicts = gx.validate(frame, [e for _, e in expects], name=f"survey-{instrument.instrument}-{name}")
        for k, _r in rules:
            mine = [v for (kk, _), v in zip(expects, verdicts) if kk == k]
            found[k] = (gx.failing_union(mine), mine)

    results = []
    for k, rule in enumerate(SURVEY_RULES):
        if rule.check is not None:
            judged = rule.check(w)
            results.append(rule.spec.outcome(list(judged.lines), source_file, failing_rows=judged.failing_rows,
                                             detail=judged.detail,
                                             columns=list(judged.columns) if judged.columns is not None else None))
            continue
        positions, verdicts = found[k]
        frame = frames[rule.frame]
        lines = frame["source_line"].to_numpy()[positions] if len(positions) else np.empty(0, dtype=np.int64)
        detail = rule.not_applicable(w) if rule.not_applicable else ""
        columns = None
        failing_rows = None
        if not len(positions) and not all(v.success for v in verdicts):  # a table verdict: the file fails
            lines, failing_rows = np.array([1]), 1
        elif rule.frame == ANSWERS:
            columns = _item_columns(frame, positions)
            if len(positions):
                detail = _bad_codes(frame, positions)
        elif rule.spec.code == "S_RESPONDENT_ONCE" and instrument.respondent_key:
            columns = [instrument.respondent_key]
        results.append(rule.spec.outcome(lines, source_file, failing_rows=failing_rows, detail=detail,
                                         columns=columns))
    return results


def _as_date(value) -> dt.date | None:
    """A date from a ``datetime.date``/``datetime``/Timestamp/ISO string; None for None, NaT or ``""``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp.date()


def _item_columns(answers: pd.DataFrame, positions: np.ndarray) -> list[str]:
    """The export columns of the answers at ``positions`` (all answers when none), in order of first use."""
    cols = answers["source_column"] if not len(positions) else answers["source_column"].iloc[positions]
    return [str(c) for c in pd.unique(cols.dropna())]


def _bad_codes(answers: pd.DataFrame, positions: np.ndarray, limit: int = 5) -> str:
    """``Found column=code (line n), ...`` for the first failing answers."""
    rows = answers.iloc[positions[:limit]]
    parts = [f"{r.source_column}={shown_value(r.raw_code)} (line {int(r.source_line)})" for r in rows.itertuples()]
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return f"Found {', '.join(parts)}{more}."
