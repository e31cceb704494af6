"""LimeSurvey structure files (``survey.lss``): question texts and answer labels (SPEC 3).

A ``.lss`` is an XML export of the survey definition. Its tables (``questions``, ``subquestions``,
``answers``, ...) each hold ``<rows><row>..</row></rows>``; every field of a row is a child element
(usually CDATA). Two layouts exist:

- before LimeSurvey 4 the texts sit on the rows themselves: ``questions/row/question`` and
  ``answers/row/answer``, with one row per language;
- from LimeSurvey 4 on they sit in separate tables: ``question_l10ns`` (qid, question, language) and
  ``answer_l10ns`` (aid, answer, language), while ``answers`` rows carry an ``aid``.

Sub-questions (rows with ``parent_qid`` != 0) get the code ``PARENT_SUB``, the key that
:func:`~orchestration.instruments.normalise_column` gives ``PARENT[SUB]`` in a CSV heading. Parsing
uses :mod:`xml.etree.ElementTree` and iterates ``row`` elements, so a table with a single row is a
list of one (the pitfall of dict-based XML parsers does not arise).
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from orchestration.instruments import Instrument, normalise_column
from orchestration.readers.base import ReaderError, fold

QUESTION_COLUMNS = ["code", "question_text", "language", "parent", "type", "qid"]
ANSWER_COLUMNS = ["code", "answer_code", "label", "language", "scale_id"]
_TAG = re.compile(r"<[^>]+>")


@dataclass
class LssStructure:
    """What a ``.lss`` says about questions and answer labels.

    Attributes:
        questions: one row per question or sub-question x language. Columns ``code`` (normalised:
            ``L2``, ``L2_SQ001``), ``question_text`` (HTML tags removed, entities decoded, blanks
            collapsed; ``""`` when the file has no text), ``language`` (``nl``; None when the file
            gives no text row), ``parent`` (normalised parent code for a sub-question, else None),
            ``type`` (LimeSurvey question type letter), ``qid`` (int).
        answers: one row per answer option x language, attached to the question that owns the
            answer list (the parent for array sub-questions). Columns ``code`` (normalised question
            code), ``answer_code`` (``A1``, ``1``), ``label`` (plain text as above), ``language``,
            ``scale_id`` (int, 0 unless a dual-scale array).
        base_language: the survey's base language (``surveys/row/language``, else the first
            ``languages/language``), or None.
        languages: every language the file names, base language first.
        db_version: ``DBVersion`` of the export, or None.
        layout: ``"l10n"`` (LimeSurvey 4+ ``*_l10ns`` tables) or ``"pre4"``.
        duplicate_codes: normalised codes that more than one question (distinct ``qid``) carries, sorted.
            Their rows stay in ``questions``/``answers``, but :func:`compare_labels` does not compare them
            (the answers of two questions would be mixed) and the quality gate warns
            (``S_LSS_DUPLICATE_CODE``).
    """

    questions: pd.DataFrame
    answers: pd.DataFrame
    base_language: str | None = None
    languages: list[str] = field(default_factory=list)
    db_version: int | None = None
    layout: str = "pre4"
    duplicate_codes: list[str] = field(default_factory=list)


def read_lss(path: Path) -> LssStructure:
    """Parse a LimeSurvey structure file, either layout (module docstring).

    Returns:
        An :class:`LssStructure`. Questions without any text row still appear once (text ``""``,
        language None); answers without a text are left out.

    Raises:
        ReaderError: ``S_LSS`` when the file is missing, not well-formed XML (the ``line`` of the
            parse error is given), or not a LimeSurvey structure document (no ``questions`` table).
    """
    path = Path(path)
    root = _parse(path)
    db_version = _int(_text(root.find("DBVersion")))
    layout = "l10n" if root.find("question_l10ns") is not None or root.find("answer_l10ns") is not None else "pre4"
    qrows = _rows(root, "questions") + _rows(root, "subquestions")
    codes = _QuestionCodes(qrows)
    questions = _questions(root, layout, qrows, codes)
    answers = _answers(root, codes)
    base, languages = _languages(root)

    qdf = _frame(questions, QUESTION_COLUMNS, nullable=("language", "parent", "type"))
    qdf["qid"] = qdf["qid"].astype("Int64")
    adf = _frame(answers, ANSWER_COLUMNS, nullable=("language",)).drop_duplicates(ignore_index=True)
    adf["scale_id"] = adf["scale_id"].astype("int64")
    return LssStructure(questions=qdf, answers=adf, base_language=base, languages=languages,
                        db_version=db_version, layout=layout, duplicate_codes=codes.duplicates())


def _parse(path: Path) -> ET.Element:
    """The document's root element.

    Raises:
        ReaderError: ``S_LSS`` (file unreadable, not well-formed XML with the parse error's line, or no
            ``questions`` table).
    """
    try:
        root = ET.fromstring(path.read_bytes())
    except OSError as exc:
        raise ReaderError(path, f"cannot read the .lss file: {exc}", code="S_LSS") from exc
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ReaderError(path, f"not well-formed XML: {exc}", line=line, code="S_LSS") from exc
    if root.find("questions") is None:
        raise ReaderError(path, f"not a LimeSurvey structure file: root <{root.tag}> has no <questions> table",
                          code="S_LSS")
    return root


class _QuestionCodes:
    """Question and sub-question ids (``qid``) -> normalised codes (``L2``, ``L2_SQ001``), parents, types."""

    def __init__(self, qrows: list[dict[str, str]]):
        self.title_of: dict[str, str] = {}
        self.parent_of: dict[str, str] = {}
        self.type_of: dict[str, str] = {}
        for r in qrows:
            qid = r.get("qid", "")
            if not qid:
                continue
            if r.get("title"):
                self.title_of[qid] = r["title"]
            parent = r.get("parent_qid", "0") or "0"
            if parent != "0":
                self.parent_of[qid] = parent
            if r.get("type"):
                self.type_of[qid] = r["type"]

    def code_of(self, qid: str) -> str | None:
        """The normalised code of a question (``PARENT_SUB`` for a sub-question), None for an unknown qid."""
        title = self.title_of.get(qid)
        if title is None:
            return None
        parent = self.parent_of.get(qid)
        if parent is not None and parent in self.title_of:
            return normalise_column(f"{self.title_of[parent]}_{title}")
        return normalise_column(title)

    def parent_code(self, qid: str) -> str | None:
        """The code of a sub-question's parent question, None for a question."""
        parent = self.parent_of.get(qid)
        return self.code_of(parent) if parent is not None else None

    def duplicates(self) -> list[str]:
        """Codes more than one ``qid`` carries, sorted (:attr:`LssStructure.duplicate_codes`)."""
        qids_of: dict[str, set[str]] = {}
        for qid in self.title_of:
            qids_of.setdefault(self.code_of(qid), set()).add(qid)
        return sorted(code for code, qids in qids_of.items() if code is not None and len(qids) > 1)


def _questions(root: ET.Element, layout: str, qrows: list[dict[str, str]], codes: _QuestionCodes) -> list[dict]:
    """Rows of :attr:`LssStructure.questions`: one per question x language with a text, then one per
    question without any text (text ``""``, language None)."""
    questions: list[dict] = []
    seen: set[tuple[str, str | None]] = set()
    texts: list[tuple[str, str, str | None]] = []  # (qid, text, language)
    if layout == "l10n":
        texts.extend((r.get("qid", ""), r.get("question", ""), r.get("language") or None)
                     for r in _rows(root, "question_l10ns"))
    texts.extend((r.get("qid", ""), r["question"], r.get("language") or None) for r in qrows if "question" in r)
    for qid, text, language in texts:
        code = codes.code_of(qid)
        if code is None or (qid, language) in seen:
            continue
        seen.add((qid, language))
        questions.append({"code": code, "question_text": _plain(text), "language": language,
                          "parent": codes.parent_code(qid), "type": codes.type_of.get(qid), "qid": int(qid)})
    texted = {q for q, _ in seen}
    for qid in codes.title_of:
        if qid not in texted:
            questions.append({"code": codes.code_of(qid), "question_text": "", "language": None,
                              "parent": codes.parent_code(qid), "type": codes.type_of.get(qid), "qid": _int(qid)})
    return questions


def _answers(root: ET.Element, codes: _QuestionCodes) -> list[dict]:
    """Rows of :attr:`LssStructure.answers`: texts of ``answer_l10ns`` (4+) first, then of ``answers`` rows."""
    answers: list[dict] = []
    arows = _rows(root, "answers")
    by_aid = {r["aid"]: r for r in arows if r.get("aid")}
    for r in _rows(root, "answer_l10ns"):
        owner = by_aid.get(r.get("aid", ""))
        if owner is None:
            continue
        code = codes.code_of(owner.get("qid", ""))
        if code is not None:
            answers.append({"code": code, "answer_code": owner.get("code", ""), "label": _plain(r.get("answer", "")),
                            "language": r.get("language") or None, "scale_id": _int(owner.get("scale_id")) or 0})
    for r in arows:
        if "answer" not in r:
            continue
        code = codes.code_of(r.get("qid", ""))
        if code is not None:
            answers.append({"code": code, "answer_code": r.get("code", ""), "label": _plain(r["answer"]),
                            "language": r.get("language") or None, "scale_id": _int(r.get("scale_id")) or 0})
    return answers


def _languages(root: ET.Element) -> tuple[str | None, list[str]]:
    """``(base language, every language named)``: ``surveys`` row first, then ``languages/language``."""
    languages: list[str] = []
    base = None
    survey_rows = _rows(root, "surveys")
    if survey_rows:
        base = survey_rows[0].get("language") or None
        extra = survey_rows[0].get("additional_languages", "")
        languages = [x for x in ([base] if base else []) + extra.split() if x]
    for el in root.findall("languages/language"):
        lang = (el.text or "").strip()
        if lang and lang not in languages:
            languages.append(lang)
    if base is None and languages:
        base = languages[0]
    return base, languages


def compare_labels(lss: LssStructure, instrument: Instrument, wave: str, language: str | None = None) -> list[str]:
    """Where the ``.lss`` and the instrument disagree on an answer label, one sentence each.

    For every non-text item asked in ``wave``, the answer list of its question in the ``.lss`` is
    looked up (the item's own code, else its parent question's, for array sub-questions). Each answer
    code is recoded through the item's scheme; its ``.lss`` label is compared with the scheme's label
    for that value (or the scheme's missing reason for a declared missing code), ignoring case and
    runs of blanks. Codes the scheme does not know are reported too. Only answers in ``language``
    are compared (default: the survey's base language; every language when the file names none).

    Returns:
        Sentences naming item, source column, answer code and both labels, in item order. Empty when
        they agree, or when the ``.lss`` holds no answer list for an item (numeric and free questions).
        An item whose question code (or parent's) is one of ``lss.duplicate_codes`` is not compared: the
        answer lists of two questions cannot be told apart (the quality gate warns instead).
    """
    instrument = instrument.for_wave(wave)  # each item's answer-scheme version for this wave (SPEC 3.3)
    language = language or lss.base_language
    answers = lss.answers
    if language is not None and answers["language"].notna().any():
        answers = answers[answers["language"] == language]
    parents = {}
    for row in lss.questions.itertuples(index=False):
        if row.parent is not None and not pd.isna(row.parent):
            parents[row.code] = row.parent
    notes: list[str] = []
    for item in instrument.items:
        source = item.source_for(wave)
        if not source or item.scheme.text:
            continue
        code = normalise_column(source)
        scale = 0
        match = re.fullmatch(r"(.*)#([01])", code)
        if match:
            code, scale = match.group(1), int(match.group(2))
        if code in lss.duplicate_codes or parents.get(code) in lss.duplicate_codes:
            continue
        rows = answers[(answers["code"] == code) & (answers["scale_id"] == scale)]
        if rows.empty and code in parents:
            rows = answers[(answers["code"] == parents[code]) & (answers["scale_id"] == scale)]
        if rows.empty:
            continue
        for row in rows.itertuples(index=False):
            value, reason, valid = item.scheme.recode(row.answer_code) if row.answer_code.strip() else (None, None, False)
            if not valid:
                notes.append(f"item {item.item} ({source}, wave {wave}): answer code {row.answer_code!r} "
                             f"labelled {row.label!r} in the .lss is not in the instrument's scheme "
                             f"{item.scheme.name!r}")
                continue
            expected = reason if reason is not None else item.scheme.labels.get(value)
            if expected is None:
                continue
            if fold(expected) != fold(row.label):
                notes.append(f"item {item.item} ({source}, wave {wave}): answer code {row.answer_code!r} is "
                             f"labelled {row.label!r} in the .lss but {expected!r} in the instrument")
    return notes


def _frame(rows: list[dict], columns: list[str], nullable: tuple[str, ...]) -> pd.DataFrame:
    """A DataFrame whose ``nullable`` text columns keep None (pandas 3 would infer ``str`` with NaN)."""
    df = pd.DataFrame(rows, columns=columns)
    for col in nullable:
        df[col] = pd.Series([r[col] for r in rows], dtype=object)
    return df


def _rows(root: ET.Element, table: str) -> list[dict[str, str]]:
    """The rows of one table as dicts of field -> text (``""`` for an empty field); [] when absent."""
    return [{child.tag: (child.text or "").strip() for child in el} for el in root.findall(f"{table}/rows/row")]


def _text(el: ET.Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _plain(text: str) -> str:
    """HTML fragment -> plain text: tags removed, entities decoded, blanks collapsed."""
    text = re.sub(r"<br\s*/?>", " ", text or "", flags=re.I)
    text = html.unescape(_TAG.sub(" ", text))
    return " ".join(text.split())
