"""Quality gate of a survey wave: rules built from the instrument definition (SPEC 3.1, 3.3).

:func:`check_survey` takes what a survey reader returned (a
:class:`~orchestration.readers.base.SurveyRead`, before pseudonymisation) and returns one
:class:`~orchestration.quality.results.RuleResult` per rule in :data:`SURVEY_RULES`, passed or not.
The value rules are Great Expectations expectations (run by :mod:`orchestration.quality.gx`) built from
the instrument: the valid values of every answer scheme the wave's items use, the respondent key.
Nothing is written per wave.

Each rule is an :class:`~orchestration.quality.engine.Rule` run by
:func:`~orchestration.quality.engine.run_rules`: the rule's expectations (or its check of what the
reader reported about the file as a whole) are the small named functions below, and a rule's reporting
hooks (which answer codes failed, the respondent key column, why a rule did not apply) travel with it.

What the reader already refuses with a :class:`~orchestration.readers.base.ReaderError` (the ingest
turns it into a failed rule with :func:`~orchestration.quality.results.from_reader_error`: a binary
file, text headings, full answer texts, a cut-off record ...) is not checked again here; those codes
are registered in :data:`orchestration.quality.rules.FILE_RULES`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from orchestration.privacy import is_scientific_notation, shown_value
from orchestration.instruments import AnswerScheme, Instrument
from orchestration.quality.engine import Evidence, Found, Frame, Rule, run_rules
from orchestration.quality.gx import A_GE_B, BETWEEN, IN_SET, MIN_ROWS, UNIQUE, Expect
from orchestration.quality.results import ERROR, WARNING, RuleResult, RuleSpec
from orchestration.readers.base import LoadReport, SurveyRead

RESPONSES, ANSWERS = "responses", "answers"


@dataclass(frozen=True)
class Wave:
    """What the survey rules know about the wave being checked: the context of :data:`SURVEY_RULES`.

    Attributes:
        instrument: the instrument definition, resolved for this wave (SPEC 3.3).
        wave: the wave name.
        today: the day of the check (``S_SUBMIT_NOT_FUTURE``).
        fieldwork_start, fieldwork_end: from ``wave.yaml`` (SPEC 3), or None.
        report: the reader's load report (missing items, unmapped columns).
        responses: the reader's ``responses`` frame as read (ids not yet pseudonymised).
        lss_duplicates: question codes several questions of ``survey.lss`` share.
        dated_waves, order_hint: the instrument's other waves with a ``fieldwork_start``, and how this
            wave is ordered without one (``S_WAVE_UNDATED``).
    """

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


# --- rules without expectations: what the reader reported about the file as a whole --------------

def missing_items(w: Wave) -> Found:
    """``S_ITEM_MISSING``: the items of this wave whose column the export lacks
    (:attr:`LoadReport.missing_items <orchestration.readers.base.LoadReport>`), reported at line 1 (the
    header) with their columns; the first ten are named in the detail (SPEC 3.3)."""
    missing = list(w.report.missing_items) if w.report else []
    if not missing:
        return Found(failing_rows=0)
    parts = ", ".join(f"{item} (column {col})" for item, col in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return Found(lines=(1,), failing_rows=len(missing), columns=tuple(c for _, c in missing),
                 detail=f"Not in the export: {parts}{more}.")


def unmapped_columns(w: Wave) -> Found:
    """``S_COLUMN_UNMAPPED``: the export's columns no item names and LimeSurvey does not define
    (:attr:`LoadReport.unmapped_columns <orchestration.readers.base.LoadReport>`), at line 1 (SPEC 3.1,
    3.3)."""
    cols = list(w.report.unmapped_columns) if w.report else []
    if not cols:
        return Found(failing_rows=0)
    return Found(lines=(1,), failing_rows=len(cols), columns=tuple(cols),
                 detail=f"Not loaded: {', '.join(cols[:10])}{' and more' if len(cols) > 10 else ''}.")


def scientific_ids(w: Wave) -> Found:
    """``S_ID_NOT_SCIENTIFIC``: responses whose token or dossier id is a number in scientific notation
    (:func:`orchestration.privacy.is_scientific_notation`), with the export columns concerned (SPEC 3.1)."""
    if w.responses is None or not len(w.responses):
        return Found(failing_rows=0)
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
        return Found(failing_rows=0)
    return Found(lines=tuple(sorted(set(lines))), failing_rows=len(set(lines)), columns=tuple(columns))


def lss_duplicates(w: Wave) -> Found:
    """``S_LSS_DUPLICATE_CODE``: question codes that several questions of ``survey.lss`` share
    (:attr:`orchestration.readers.lss.LssStructure.duplicate_codes`); no line (SPEC 3)."""
    if not w.lss_duplicates:
        return Found(failing_rows=0)
    return Found(failing_rows=len(w.lss_duplicates), columns=tuple(w.lss_duplicates),
                 detail=f"Duplicated question codes: {', '.join(w.lss_duplicates[:10])}; their labels were "
                        "not compared.")


def wave_undated(w: Wave) -> Found:
    """``S_WAVE_UNDATED`` (stage 2): this wave has no ``fieldwork_start`` while other waves of its
    instrument have one; one failing row, no line, the detail names the dated waves and how this one is
    ordered (SPEC 3)."""
    if w.fieldwork_start is not None or not w.dated_waves:
        return Found(failing_rows=0)
    return Found(failing_rows=1, columns=("fieldwork_start",),
                 detail=f"Waves with a fieldwork_start: {', '.join(w.dated_waves[:10])}. This wave is "
                        f"ordered {w.order_hint or 'by its name'}.")


# --- expectations ---------------------------------------------------------------------------------

def no_responses(_w: Wave) -> tuple[Expect, ...]:
    """``S_NO_RESPONSES``: the responses frame has at least one row (a table verdict: line 1, SPEC 3.1)."""
    return (Expect(MIN_ROWS, min_value=1),)


def response_id_unique(_w: Wave) -> tuple[Expect, ...]:
    """``S_RESPONSE_ID_UNIQUE``: ``response_id`` (the export's ``id``) is unique; every row of a repeated
    id fails (SPEC 3.1)."""
    return (Expect(UNIQUE, "response_id"),)


def code_in_scheme(_w: Wave) -> tuple[Expect, ...]:
    """``S_CODE_IN_SCHEME``: the reader found every answer code in its item's scheme
    (``code_valid`` is True, SPEC 3.3)."""
    return (Expect(IN_SET, "code_valid", values=(True,)),)


def value_in_range(w: Wave) -> tuple[Expect, ...]:
    """``S_VALUE_IN_RANGE``: one expectation per answer scheme the wave's (non-text) items use, on the
    answers of those items: ``value`` in the scheme's values (codes or labels), else within
    ``min..max`` (SPEC 3.3)."""
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


def respondent_once(_w: Wave) -> tuple[Expect, ...]:
    """``S_RESPONDENT_ONCE``: the respondent token, joined with the dossier id where a response names
    one (:func:`with_respondent_dossier`), is unique; null tokens are not judged (SPEC 5)."""
    return (Expect(UNIQUE, _RESPONDENT_DOSSIER),)


def submit_not_future(w: Wave) -> tuple[Expect, ...]:
    """``S_SUBMIT_NOT_FUTURE`` (stage 2): ``submitted_at`` is not after the end of the day of the check
    (:attr:`Wave.today`); responses without a submit date are not judged."""
    return (Expect(BETWEEN, "submitted_at", max_value=_end_of(w.today)),)


def submit_after_start(_w: Wave) -> tuple[Expect, ...]:
    """``S_SUBMIT_AFTER_START`` (stage 2): ``submitted_at >= started_at`` where both are given."""
    return (Expect(A_GE_B, "submitted_at", column_b="started_at"),)


def submit_in_fieldwork(w: Wave) -> tuple[Expect, ...]:
    """``S_SUBMIT_IN_FIELDWORK`` (stage 2): ``submitted_at`` within ``fieldwork_start`` (from its first
    instant) .. ``fieldwork_end`` (to its last instant) of ``wave.yaml`` (SPEC 3); either bound may be
    absent; no expectation (the rule passes) when both are."""
    if w.fieldwork_start is None and w.fieldwork_end is None:
        return ()
    start = dt.datetime.combine(w.fieldwork_start, dt.time.min) if w.fieldwork_start else None
    end = _end_of(w.fieldwork_end) if w.fieldwork_end else None
    return (Expect(BETWEEN, "submitted_at", min_value=start, max_value=end),)


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max)


# --- reporting hooks ------------------------------------------------------------------------------

def _answer_columns(_w: Wave, ev: Evidence) -> tuple[str, ...]:
    """The export columns of the failing answers (of every answer when none fails), in order of first use."""
    cols = ev.frame["source_column"] if not len(ev.failing) else ev.frame["source_column"].iloc[ev.failing]
    return tuple(str(c) for c in pd.unique(cols.dropna()))


def _bad_codes(_w: Wave, ev: Evidence, limit: int = 5) -> str:
    """``Found column=code (line n), ...`` for the first failing answers; empty when none fails."""
    if not len(ev.failing):
        return ""
    rows = ev.frame.iloc[ev.failing[:limit]]
    parts = [f"{r.source_column}={shown_value(r.raw_code)} (line {int(r.source_line)})" for r in rows.itertuples()]
    more = f" and {len(ev.failing) - limit} more" if len(ev.failing) > limit else ""
    return f"Found {', '.join(parts)}{more}."


def _respondent_column(w: Wave, _ev: Evidence) -> tuple[str, ...] | None:
    """The instrument's respondent key column (the spec's ``token`` when it has none)."""
    return (w.instrument.respondent_key,) if w.instrument.respondent_key else None


def _unlinkable(w: Wave, _ev: Evidence) -> str:
    return "" if w.instrument.respondent_key else "(the instrument has no respondent_key: responses are not linkable.)"


def _no_fieldwork(w: Wave, _ev: Evidence) -> str:
    return "" if (w.fieldwork_start or w.fieldwork_end) else "(no fieldwork dates for this wave: not checked.)"


#: Every survey rule, in the order the results are returned.
SURVEY_RULES: tuple[Rule[Wave], ...] = (
    Rule(RuleSpec("S_NO_RESPONSES", 1, ERROR,
                  "the export must hold at least one response; a file with only the header line is refused "
                  "(SPEC 3.1).", ()),
         RESPONSES, expects=no_responses),
    Rule(RuleSpec("S_RESPONSE_ID_UNIQUE", 1, ERROR,
                  "the response id (column id) must be unique in the export (SPEC 3.1).", ("id",)),
         RESPONSES, expects=response_id_unique),
    Rule(RuleSpec("S_CODE_IN_SCHEME", 1, ERROR,
                  "every answer code must be a code of the item's answer scheme in the instrument definition, "
                  "or a declared missing code (SPEC 3.3).", ()),
         ANSWERS, expects=code_in_scheme, detail=_bad_codes, columns=_answer_columns),
    Rule(RuleSpec("S_VALUE_IN_RANGE", 1, ERROR,
                  "every recoded value must be a value of the item's answer scheme (its codes or labels, or "
                  "within min..max) (SPEC 3.3).", ()),
         ANSWERS, expects=value_in_range, detail=_bad_codes, columns=_answer_columns),
    Rule(RuleSpec("S_RESPONDENT_ONCE", 1, WARNING,
                  "a respondent token should occur once per wave (once per dossier in an instrument linked to "
                  "dossiers, e.g. an auditor scoring several dossiers); where it occurs more often the ingest "
                  "keeps the latest complete response and logs the decision (SPEC 5).", ("token",)),
         RESPONSES, expects=respondent_once, detail=_unlinkable, columns=_respondent_column),
    Rule(RuleSpec("S_SUBMIT_NOT_FUTURE", 2, WARNING,
                  "a submit date should not be after the day of the check.", ("submitdate",)),
         RESPONSES, expects=submit_not_future),
    Rule(RuleSpec("S_SUBMIT_AFTER_START", 2, WARNING,
                  "a response should not be submitted before it was started (submitdate >= startdate).",
                  ("startdate", "submitdate")),
         RESPONSES, expects=submit_after_start),
    Rule(RuleSpec("S_SUBMIT_IN_FIELDWORK", 2, WARNING,
                  "a submit date should lie within the wave's fieldwork_start..fieldwork_end (wave.yaml, "
                  "SPEC 3); earlier ones are often test responses.", ("submitdate",)),
         RESPONSES, expects=submit_in_fieldwork, detail=_no_fieldwork),
    Rule(RuleSpec("S_ID_NOT_SCIENTIFIC", 1, ERROR,
                  "a token or dossier id must be written as delivered, not as a number in scientific notation "
                  "(such as 1,2E+10): the file went through Excel, which rounds long numbers and can make several "
                  "respondents or dossiers one. Export again from LimeSurvey, or import the column as Text "
                  "in Excel (SPEC 3.1).", ()),
         RESPONSES, check=scientific_ids),
    Rule(RuleSpec("S_ITEM_MISSING", 1, WARNING,
                  "every item the instrument asks in this wave should have its column in the export; a missing "
                  "one has no answers in this wave. If the column moved, name it for the wave in the item's "
                  "source map; if the wave did not ask it, map the item's source per wave without it "
                  "(SPEC 3.3).", ()),
         ANSWERS, check=missing_items),
    Rule(RuleSpec("S_COLUMN_UNMAPPED", 1, WARNING,
                  "every column of the export should be a LimeSurvey metadata column, one of LimeSurvey's "
                  "timing columns (interviewtime, groupTime<group id>, <question code>Time) or a column an "
                  "item of the instrument names; other columns are not loaded (SPEC 3.1, 3.3).", ()),
         ANSWERS, check=unmapped_columns),
    Rule(RuleSpec("S_LSS_DUPLICATE_CODE", 1, WARNING,
                  "question codes (titles) in survey.lss should be unique: the answer labels of a code that "
                  "two questions share are not compared with the instrument, since they cannot be told apart "
                  "(SPEC 3).", ()),
         ANSWERS, check=lss_duplicates),
    Rule(RuleSpec("S_WAVE_UNDATED", 2, WARNING,
                  "a wave should have a fieldwork_start (wave.yaml) when other waves of the instrument have "
                  "one: waves are ordered by fieldwork_start, and an undated wave by the date or year in its "
                  "name, else by its name, which may put it in the wrong place for scale_change and "
                  "wave_order (SPEC 3). `sofs-warehouse status` shows the order used.", ("fieldwork_start",)),
         RESPONSES, check=wave_undated),
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
    responses = with_respondent_dossier(read.responses.reset_index(drop=True))
    answers = read.answers.reset_index(drop=True)
    frames = {RESPONSES: Frame(responses, responses["source_line"].to_numpy(), source_file),
              ANSWERS: Frame(answers, answers["source_line"].to_numpy(), source_file)}
    return run_rules(SURVEY_RULES, w, frames, suite=f"survey-{instrument.instrument}")


def _as_date(value) -> dt.date | None:
    """A date from a ``datetime.date``/``datetime``/Timestamp/ISO string; None for None, NaT or ``""``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp.date()
