"""What a LimeSurvey response export holds besides the items, shared by the CSV and SPSS readers (SPEC 3.1, 3.2).

One definition each of: the metadata columns a reader understands, the columns it drops, LimeSurvey's
timing columns, the date-time forms a submit or start date may take, the anonymised submit date, and
how an export's columns are matched to an instrument (:func:`match_columns`: mapped items, items
missing from the file, columns no item names). The readers keep their own file handling and their own
error and note wording.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from orchestration.instruments import Instrument, Item, normalise_column
from orchestration.privacy import shown_value
from orchestration.readers.base import ReaderError

#: LimeSurvey metadata columns (normalised names, :func:`orchestration.instruments.normalise_column`) the
#: survey readers understand, in a CSV export (SPEC 3.1) and an SPSS file (SPEC 3.2) alike.
METADATA = frozenset({"ID", "SUBMITDATE", "LASTPAGE", "STARTLANGUAGE", "SEED", "TOKEN", "STARTDATE", "DATESTAMP"})
#: Export columns never read into a result, never stored (SPEC 3.1, 6).
DROPPED = frozenset({"IPADDR", "REFURL"})

#: What an anonymised LimeSurvey survey writes as submit date: not a date (SPEC 3.1).
ANONYMISED_SUBMITDATE = "1980-01-01 00:00:00"

#: The forms a submit or start date written as text may take, tried in this order (``pandas.to_datetime``
#: formats, exact match): LimeSurvey's own ``YYYY-MM-DD HH:MM:SS`` (and without seconds or time), the
#: ``DD/MM/YYYY`` forms a spreadsheet writes back, and SPSS's ``DD-Mon-YYYY`` (``05-Mar-2024 14:30:00``)
#: of a date-time held in a string variable. Both survey readers accept every form; SPEC 3.1 and 3.2 name
#: no list, so this one list is the definition (:func:`parse_timestamp`).
TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
                     "%d/%m/%Y", "%d-%b-%Y %H:%M:%S", "%d-%b-%Y")

_GROUP_TIME = re.compile(r"^groupTime\d+$")


def question_code(column: str) -> str:
    """The question code of an export column: ``L2`` for ``L2[SQ001]``, ``L2_SQ001`` or ``L2.SQ001.``,
    upper case (LimeSurvey question codes are letters and digits only)."""
    return re.split(r"[\[_.]", column.strip().lstrip("\ufeff"), maxsplit=1)[0].upper()


def is_timing_column(column: str, question_codes: set[str]) -> bool:
    """True for LimeSurvey's own timing columns, which are ignored (SPEC 3.1).

    LimeSurvey names them ``interviewtime`` (total), ``groupTime<group id>`` (per page, e.g.
    ``groupTime12``) and ``<question code>Time`` (per question, e.g. ``L2Time``). The last form counts only
    when its question code is a question of the export or of the instrument (``question_codes``, upper
    case, see :func:`question_code`) and ``Time`` is spelled as LimeSurvey spells it: ``OVERTIME`` or
    ``Overtime`` is a column like any other, and reported when no item names it.
    """
    name = column.strip().lstrip("\ufeff")
    if name.lower() == "interviewtime" or _GROUP_TIME.match(name):
        return True
    return name.endswith("Time") and len(name) > 4 and name[:-4].upper() in question_codes


def first_duplicate(keys: list[str]) -> tuple[int, int] | None:
    """``(first, second)`` 0-based positions of the first key that occurs twice in ``keys``, else None.

    ``keys`` are normalised column names (:func:`~orchestration.instruments.normalise_column`), so
    ``L2[SQ001]`` and ``L2_SQ001`` are one column twice. Each reader raises ``S_DUPLICATE_COLUMN`` in its
    own words.
    """
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in seen:
            return seen[key], i
        seen[key] = i
    return None


@dataclass
class ColumnMatch:
    """How the columns of one export meet the instrument's items for one wave (SPEC 3.1, 3.3).

    Attributes:
        position: normalised column name -> 0-based position in the file.
        items: ``(position, item)`` of every item whose source column for the wave is in the file, in the
            instrument's item order.
        missing_items: ``(item, source column)`` of every item the wave asks whose column the file lacks,
            sorted (``S_ITEM_MISSING``).
        unmapped: the file's column names (as written) that are neither metadata, nor an item's column, nor
            the respondent or dossier key, nor dropped (``ipaddr``, ``refurl``), nor a timing column
            (``S_COLUMN_UNMAPPED``), in file order.
    """

    position: dict[str, int]
    items: list[tuple[int, Item]] = field(default_factory=list)
    missing_items: list[tuple[str, str]] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)

    def position_of(self, column: str | None) -> int | None:
        """0-based position of ``column`` (any spelling that normalises alike), None when absent or None."""
        return self.position.get(normalise_column(column)) if column else None


def match_columns(names: list[str], instrument: Instrument, wave: str) -> ColumnMatch:
    """Match an export's column names (CSV headings or SPSS variables) to ``instrument`` in ``wave``.

    ``names`` must be unique once normalised (check with :func:`first_duplicate` first). The instrument's
    ``respondent_key`` and ``dossier_key`` columns count as used, present or not.
    """
    keys = [normalise_column(n) for n in names]
    position = {k: i for i, k in enumerate(keys)}
    wanted = instrument.columns_for(wave)
    match = ColumnMatch(position=position)
    match.items = [(position[k], item) for k, item in wanted.items() if k in position]
    match.missing_items = sorted((item.item, item.source_for(wave)) for k, item in wanted.items()
                                 if k not in position)
    questions = {question_code(n) for n in names} | {question_code(item.source_for(wave)) for item in wanted.values()}
    used = set(METADATA) | {keys[i] for i, _item in match.items}
    used |= {normalise_column(c) for c in (instrument.respondent_key, instrument.dossier_key) if c}
    match.unmapped = [n for n, k in zip(names, keys)
                      if k not in used and k not in DROPPED and not is_timing_column(n, questions)]
    return match


def parse_timestamp(path: Path, raw: str, line: int, column: str) -> pd.Timestamp:
    """A submit or start date written as text (stripped, not empty), in one of :data:`TIMESTAMP_FORMATS`.

    Raises:
        ReaderError: ``S_DATE`` naming ``path``, ``line`` and ``column`` when no form fits; the value is
            described, never shown (:func:`orchestration.privacy.shown_value`, SPEC 6).
    """
    for fmt in TIMESTAMP_FORMATS:
        try:
            return pd.to_datetime(raw, format=fmt)
        except ValueError:
            continue
    raise ReaderError(path, f"{shown_value(raw)} is not a date-time (expected YYYY-MM-DD HH:MM:SS)", line=line,
                      column=column, code="S_DATE")


def anonymised_note(path: Path, n: int) -> str:
    """The load note for ``n`` responses with the anonymised submit date (SPEC 3.1)."""
    return (f"{Path(path).name}: {n} responses carry the anonymised submit date {ANONYMISED_SUBMITDATE}: "
            "response date unknown, the wave's fieldwork dates apply")
