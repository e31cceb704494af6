"""Quality gate of a survey wave: rules built from the instrument definition (SPEC 3.1, 3.3; issue 4).

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

from orchestration.privacy import shown_value
from orchestration.instruments import AnswerScheme, Instrument
from orchestration.quality import gx
from orchestration.quality.gx import A_GE_B, BETWEEN, IN_SET, MIN_ROWS, UNIQUE, Expect
from orchestration.quality.results import ERROR, WARNING, RuleResult, RuleSpec
from orchestration.readers.base import SurveyRead

RESPONSES, ANSWERS = "responses", "answers"


@dataclass(frozen=True)
class Wave:
    """What the survey rules know about the wave being checked."""

    instrument: Instrument
    wave: str
    today: dt.date
    fieldwork_start: dt.date | None = None
    fieldwork_end: dt.date | None = None


@dataclass(frozen=True)
class SurveyRule:
    """One rule: its spec, the frame of the :class:`SurveyRead` it judges (``responses`` or
    ``answers``), and the Great Expectations expectations it is made of, built for the wave."""

    spec: RuleSpec
    frame: str
    expects: Callable[[Wave], tuple[Expect, ...]]
    not_applicable: Callable[[Wave], str] | None = None


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
                        "a respondent token should occur once per wave; where it occurs more often the ingest keeps "
                        "the latest complete response and logs the decision (SPEC 5).", ("token",)),
               RESPONSES, lambda _w: (Expect(UNIQUE, "respondent_id"),),
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
)


def check_survey(read: SurveyRead, instrument: Instrument, wave: str, source_file: str, *,
                 today: dt.date | None = None, fieldwork_start: dt.date | None = None,
                 fieldwork_end: dt.date | None = None) -> list[RuleResult]:
    """Run every rule of :data:`SURVEY_RULES` on one wave as read (SPEC 3.1, 3.3, 5; issue 4 items 1, 5).

    Args:
        read: the reader's output (shapes in :class:`~orchestration.readers.base.SurveyRead`); the
            ``responses`` and ``answers`` frames carry ``source_line``.
        instrument: the instrument definition the wave was read with (answer schemes, respondent key).
        wave: the wave name (selects each item's source column).
        source_file: the landing file, reported with each result.
        today: the day of the check for ``S_SUBMIT_NOT_FUTURE`` (default: today).
        fieldwork_start, fieldwork_end: the wave's fieldwork dates from ``wave.yaml``, if any
            (``datetime.date``, a Timestamp or an ISO string; None or empty when not given).

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
             _as_date(fieldwork_end))
    frames = {RESPONSES: read.responses.reset_index(drop=True), ANSWERS: read.answers.reset_index(drop=True)}
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
