"""The dossier extract's input contract (SPEC 3.4) in one place: files, columns, types, codes.

A dossier extract is a folder ``dossiers/<extract_date>/`` (SPEC 3) holding three CSV files. This module
declares, per file (:class:`FileContract`), what every other module takes from it::

    file                   frame                  history table                      entity key       optional
    dossiers.csv           raw.dossiers           raw.dossier_versions               dossier_key      no
    placements.csv         raw.placements         raw.dossier_placement_versions     placement_key    no
    practice_events.csv    raw.practice_events    raw.dossier_event_versions         event_key        yes

and, per column in file order (:class:`Field`), the CSV name (``source``), the column of the pseudonymised
frame (``raw``) and the raw columns it is stored as (``stored``), what the quality rules see (``kind``), how
the reader parses it (``parse``), its DuckDB type in ``raw`` (``sql_type``), whether the header must have it
(``column_required``) and the value must be there (``required``; the stored column is then NOT NULL), whether
it is unique in its file, its code list, its range, the stand-in stored for a code outside the list
(``unknown_as``), the HMAC domain of a pseudonymised column (``domain``, :data:`orchestration.privacy.DOMAINS`)
and whether it may be a national register number whose check digits are judged (``check_digits``).

Who takes what from here (nothing else declares these):

- the reader, :mod:`orchestration.readers.dossiers`: file names, optional files, columns in order, header
  requirements, parse kinds, the frames' columns (``READ_COLUMNS``, ``RAW_COLUMNS``), the id columns' domains;
- the quality gate, :mod:`orchestration.quality.dossiers`: :data:`CONTRACT` itself (required, unique, code
  lists, ranges, ``unknown_as``, file tags of the rule codes);
- the raw layout, :mod:`orchestration.history`: the frame -> history table mapping, the content columns, the
  CREATE TABLE statements of the dossier tables (:data:`orchestration.history.DDL`, part of
  :data:`orchestration.warehouse.RAW_DDL`), the per-file row counts of ``raw.dossier_extracts``;
- the landing layout, :mod:`orchestration.landing` (:data:`FILES`, :data:`REQUIRED_FILES`), the loads,
  :mod:`orchestration.ingest` (file -> frame), the demo generator :mod:`orchestration.demo.dossiers` (columns
  and code lists), the evaluation and study definitions (:mod:`orchestration.evaluation`,
  :mod:`orchestration.studies`: event types, services, regions) and the export labels
  (:mod:`orchestration.research.labels`: the code lists as numbered value labels, in this order).

dbt cannot import Python: the dbt var ``practice_event_types``, the staging models' ``accepted_values`` and
the raw sources' columns (``dbt_project/models/staging/dossiers``) are kept equal to this module by tests
(``tests/unit/test_quality_dossiers.py``, ``tests/unit/test_raw_layout.py``).

This module imports nothing from the rest of the package, so every module can import it.
"""
from __future__ import annotations

from dataclasses import dataclass

#: The section of docs/SPEC.md this module encodes.
SPEC_SECTION = "3.4"

# --- code lists (SPEC 3.4), in the order the export's numeric codes follow --------------------------

#: ``service``: OCJ (voluntary track), SDJ (court-ordered track).
SERVICES: tuple[str, ...] = ("OCJ", "SDJ")
#: ``region``: the five OSD regions.
REGIONS: tuple[str, ...] = ("Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant en Brussel",
                            "West-Vlaanderen")
#: ``sex``: M, V, X (or empty).
SEXES: tuple[str, ...] = ("M", "V", "X")
#: ``placement_type`` of a placement spell.
PLACEMENT_TYPES: tuple[str, ...] = ("foster_family", "kinship_foster", "residential", "independent_living",
                                    "other")
#: ``event_type`` of a practice event: the Signs of Safety steps (``mapping`` = three-column assessment).
EVENT_TYPES: tuple[str, ...] = ("mapping", "three_houses", "words_and_pictures", "network_meeting",
                                "safety_plan", "scaling_question")
#: ``rated_by`` of a scaling question.
RATERS: tuple[str, ...] = ("worker", "parent", "child", "network")
#: The stand-in stored for a closure reason outside the list (it is free text in some systems and may carry
#: a name, so the delivered text is never stored).
OTHER = "other"
#: ``closure_reason``: the case system's codes; any other code is a warning and stored as :data:`OTHER`.
CLOSURE_REASONS: tuple[str, ...] = ("doelen_bereikt", "doorverwijzing", "verhuis", "meerderjarig",
                                    "weigering_hulp", OTHER)
#: The event type whose events carry ``value`` and ``rated_by``.
SCALING = "scaling_question"
#: The range of a scaling question's ``value``.
SCALE_MIN, SCALE_MAX = 0, 10

# --- kinds ----------------------------------------------------------------------------------------

#: What the quality rules see of a column (``Field.kind``): a source id (pseudonymised), free text, a code
#: of a list, a date, a number.
ID, TEXT, CODE, DATE, NUMBER = "id", "text", "code", "date", "number"
#: How the reader parses a column (``Field.parse``): an id or text (trimmed string, empty -> missing), a
#: date (``YYYY-MM-DD`` or ``DD/MM/YYYY``), a year (four digits, ``int``), a number (``float``; decimal
#: point or comma).
PARSE_ID, PARSE_TEXT, PARSE_DATE, PARSE_INT, PARSE_FLOAT = "id", "text", "date", "int", "float"
#: The parse kinds each rule kind allows (a NUMBER is a four-digit year or a decimal number).
_PARSES = {ID: (PARSE_ID,), TEXT: (PARSE_TEXT,), CODE: (PARSE_TEXT,), DATE: (PARSE_DATE,),
           NUMBER: (PARSE_INT, PARSE_FLOAT)}
#: The DuckDB type of the stored column for each parse kind.
SQL_TYPES = {PARSE_ID: "varchar", PARSE_TEXT: "varchar", PARSE_DATE: "date", PARSE_INT: "integer",
             PARSE_FLOAT: "double"}


@dataclass(frozen=True)
class Field:
    """One column of an extract file (SPEC 3.4).

    ``raw``: the column in the pseudonymised frame (``dossier_key``); ``source``: the column in the CSV
    (``dossier_id``), which the reader's errors and the rules report. ``kind``: what the rules see (:data:`ID`,
    :data:`TEXT`, :data:`CODE`, :data:`DATE`, :data:`NUMBER`); ``parse``: how the reader parses it
    (:data:`PARSE_ID` ... :data:`PARSE_FLOAT`), which also gives its DuckDB type (:attr:`sql_type`).
    ``required``: the value must not be empty (a rule of the quality gate; the stored column is NOT NULL).
    ``in_header``: the header must have the column (the reader's ``D_REQUIRED_COLUMN``); None means
    ``required`` (see :attr:`column_required`). ``unique``: unique within the file (the entity key).
    ``codes``: the allowed codes (empty: any); ``bounds``: ``(min, max)`` of a number; ``unknown_as``: a code
    outside ``codes`` is a warning (not an error) and stored as this code. ``domain``: the HMAC domain of a
    pseudonymised column (:data:`orchestration.privacy.DOMAINS`). ``stored``: the raw columns that hold it,
    in order, when not just ``raw`` (the team: ``team_key``, its HMAC, and ``team``, the published label).
    ``check_digits``: a value written as a national register number has its check digits judged.
    """

    raw: str
    source: str
    kind: str
    parse: str
    required: bool = False
    in_header: bool | None = None
    unique: bool = False
    codes: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    unknown_as: str | None = None
    domain: str | None = None
    stored: tuple[str, ...] = ()
    check_digits: bool = False

    def __post_init__(self) -> None:
        """Refuse a parse kind that does not fit the rules' kind (a date parsed as text, ...)."""
        if self.parse not in _PARSES[self.kind]:
            raise ValueError(f"{self.source}: parse {self.parse!r} does not fit kind {self.kind!r}")

    @property
    def column_required(self) -> bool:
        """The header must name this column (else the reader raises ``D_REQUIRED_COLUMN``)."""
        return self.required if self.in_header is None else self.in_header

    @property
    def sql_type(self) -> str:
        """The DuckDB type of the stored column(s): ``varchar``, ``date``, ``integer`` or ``double``."""
        return SQL_TYPES[self.parse]

    @property
    def raw_columns(self) -> tuple[tuple[str, str, bool], ...]:
        """The raw columns holding this field, in order: ``(name, DuckDB type, not null)``."""
        return tuple((name, self.sql_type, self.required) for name in (self.stored or (self.raw,)))


@dataclass(frozen=True)
class FileContract:
    """One file of an extract (SPEC 3.4) and where it goes (SPEC 4).

    ``name``: the short name (``dossiers``; the reader's frame and :class:`~orchestration.readers.dossiers.
    DossierRead` attribute); ``file``: the CSV file name; ``table``: the name of its pseudonymised frame
    (``raw.dossiers``: the raw table of a warehouse made before the change history, now the key of the frames
    the reader, the rules and :mod:`orchestration.history` pass around); ``history_table``: the table of its
    versions; ``count_column``: its rows in ``raw.dossier_extracts``; ``tag``: the file in rule codes
    (``D_DOSSIERS_...``); ``label``: the file's rows in words (``practice events``); ``optional``: the file
    may be absent from the folder (no rows); ``not_empty``: the file must hold a row; ``fields``: its
    columns in file order.
    """

    name: str
    file: str
    table: str
    history_table: str
    count_column: str
    tag: str
    label: str
    fields: tuple[Field, ...]
    optional: bool = False
    not_empty: bool = False

    def field(self, raw: str) -> Field:
        """The field whose pseudonymised-frame column is ``raw``. Raises StopIteration when none is."""
        return next(f for f in self.fields if f.raw == raw)

    @property
    def key(self) -> Field:
        """The entity key: the file's unique id (``dossier_id`` -> ``dossier_key``)."""
        return next(f for f in self.fields if f.unique)

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The CSV columns, in file order (what the demo writes as the header)."""
        return tuple(f.source for f in self.fields)

    @property
    def raw_columns(self) -> tuple[tuple[str, str, bool], ...]:
        """The stored columns in table order: ``(name, DuckDB type, not null)`` (history content columns)."""
        return tuple(c for f in self.fields for c in f.raw_columns)

    @property
    def stored_columns(self) -> tuple[str, ...]:
        """The names of :attr:`raw_columns`, in order."""
        return tuple(name for name, _t, _n in self.raw_columns)


#: Names of the pseudonymised frames (``table`` of each file), as the reader, rules and history key them.
DOSSIERS, PLACEMENTS, EVENTS = "raw.dossiers", "raw.placements", "raw.practice_events"

#: The dossier extract, file by file (SPEC 3.4).
CONTRACT: tuple[FileContract, ...] = (
    FileContract(
        "dossiers", "dossiers.csv", DOSSIERS, "raw.dossier_versions", "n_dossiers", "DOSSIERS", "dossiers", (
            Field("dossier_key", "dossier_id", ID, PARSE_ID, required=True, unique=True, domain="dossier",
                  check_digits=True),
            Field("child_key", "child_id", ID, PARSE_ID, required=True, domain="child", check_digits=True),
            Field("service", "service", CODE, PARSE_TEXT, required=True, codes=SERVICES),
            Field("region", "region", CODE, PARSE_TEXT, required=True, codes=REGIONS),
            # stored as team_key (HMAC, domain team) and team (the published label, or null; SPEC 3.4, 6)
            Field("team", "team", TEXT, PARSE_TEXT, domain="team", stored=("team_key", "team")),
            Field("registration_date", "registration_date", DATE, PARSE_DATE, required=True),
            Field("closure_date", "closure_date", DATE, PARSE_DATE),
            Field("closure_reason", "closure_reason", CODE, PARSE_TEXT, codes=CLOSURE_REASONS, unknown_as=OTHER),
            Field("birth_year", "birth_year", NUMBER, PARSE_INT),
            Field("sex", "sex", CODE, PARSE_TEXT, codes=SEXES),
        ), not_empty=True),
    FileContract(
        "placements", "placements.csv", PLACEMENTS, "raw.dossier_placement_versions", "n_placements",
        "PLACEMENTS", "placements", (
            Field("placement_key", "placement_id", ID, PARSE_ID, required=True, unique=True, domain="placement"),
            Field("dossier_key", "dossier_id", ID, PARSE_ID, required=True, domain="dossier"),
            Field("start_date", "start_date", DATE, PARSE_DATE, required=True),
            Field("end_date", "end_date", DATE, PARSE_DATE, in_header=True),   # empty while ongoing
            Field("placement_type", "placement_type", CODE, PARSE_TEXT, required=True, codes=PLACEMENT_TYPES),
        )),
    FileContract(
        "practice_events", "practice_events.csv", EVENTS, "raw.dossier_event_versions", "n_practice_events",
        "EVENTS", "practice events", (
            Field("event_key", "event_id", ID, PARSE_ID, required=True, unique=True, domain="event"),
            Field("dossier_key", "dossier_id", ID, PARSE_ID, required=True, domain="dossier"),
            Field("event_date", "event_date", DATE, PARSE_DATE, required=True),
            Field("event_type", "event_type", CODE, PARSE_TEXT, required=True, codes=EVENT_TYPES),
            Field("value", "value", NUMBER, PARSE_FLOAT, bounds=(SCALE_MIN, SCALE_MAX)),  # scaling questions
            Field("rated_by", "rated_by", CODE, PARSE_TEXT, codes=RATERS),                # scaling questions
        ), optional=True),
)

#: File contracts by frame name (``raw.dossiers`` ...), by CSV file name and by short name.
BY_TABLE: dict[str, FileContract] = {fc.table: fc for fc in CONTRACT}
BY_FILE: dict[str, FileContract] = {fc.file: fc for fc in CONTRACT}
BY_NAME: dict[str, FileContract] = {fc.name: fc for fc in CONTRACT}
#: The CSV files of an extract folder, in contract order; those that must be there.
FILES: tuple[str, ...] = tuple(fc.file for fc in CONTRACT)
REQUIRED_FILES: tuple[str, ...] = tuple(fc.file for fc in CONTRACT if not fc.optional)
