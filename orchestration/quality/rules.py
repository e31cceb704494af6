"""Every rule code a partition can be reported under, as a registered :class:`RuleSpec` (SPEC 4), and the
README's rule tables generated from them.

Three groups, each a tuple of specs (code, stage, severity, columns, message):

- :data:`SURVEY_RULES` (:mod:`orchestration.quality.survey`) and :data:`DOSSIER_RULES`
  (:mod:`orchestration.quality.dossiers`): the quality gates, run on a partition that was read.
- :data:`FILE_RULES`: the codes under which a partition is refused *before* the gates, as one failed
  stage-1 error: a reader's :class:`~orchestration.readers.base.ReaderError` (its ``code``), the landing
  layout and the ingest (:mod:`orchestration.ingest`), the file-level faults
  (:mod:`orchestration.faults`). Their message in ``audit.check_results`` is the one raised (file,
  line, column, what was found); the message registered here says when the code is used and what to
  do, for the README. ``tests/unit/test_readme_rules.py`` scans the source for rule codes and fails on
  one that is not registered here (or registered and no longer raised).

Regenerate the README's tables after changing a rule::

    python -m orchestration.quality.rules --readme        # rewrites README.md between the markers
    python -m orchestration.quality.rules --check         # exit 1 when README.md is not current
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from orchestration.quality.results import ERROR, RuleSpec, rule_table

README = Path(__file__).resolve().parents[2] / "README.md"

#: the markers around the generated part of README.md
BEGIN = ("<!-- rule tables: generated from the registered rule specs by "
         "`python -m orchestration.quality.rules --readme`; do not edit by hand -->")
END = "<!-- end of the generated rule tables -->"


def _refused(code: str, message: str) -> RuleSpec:
    return RuleSpec(code, 1, ERROR, message, ())


#: Codes under which a partition is refused before the quality gates (stage 1, error): nothing of it is
#: loaded. Order: files of any kind, survey waves, dossier extracts, then the load itself.
FILE_RULES: tuple[RuleSpec, ...] = (
    _refused("FILE_NOT_TEXT", "a CSV file must be text in UTF-8 or cp1252: a binary file, a UTF-16 file or "
                              "bytes of neither encoding are refused (the message names the byte offset and "
                              "line). Save it again as CSV UTF-8 or export it again (SPEC 3)."),
    _refused("FILE_NOT_SAV", "responses.sav must be a readable SPSS .sav file (SPEC 3.2)."),
    _refused("S_LAYOUT", "a survey folder must be surveys/INSTRUMENT/WAVE/ (INSTRUMENT [a-z0-9_]+, WAVE "
                         "[A-Za-z0-9_-]+) holding exactly one of responses.csv and responses.sav (SPEC 3)."),
    _refused("S_INSTRUMENT", "the instrument folder must have a valid instrument definition "
                             "(data/instruments/INSTRUMENT.yaml, SPEC 3.3); the message names the problem."),
    _refused("S_WAVE_YAML", "wave.yaml, when present, must be a mapping with only fieldwork_start and "
                            "fieldwork_end (ISO dates YYYY-MM-DD, end not before start) and anonymised (true or "
                            "false) (SPEC 3)."),
    _refused("S_LSS", "survey.lss, when present, must be a well-formed LimeSurvey structure file (XML with a "
                      "questions table) (SPEC 3)."),
    _refused("S_EMPTY", "the export must have a header line: an empty file is refused (SPEC 3.1)."),
    _refused("S_LINE_ENDINGS", "lines of responses.csv must end in LF or CRLF: a file whose lines end in a bare "
                               "carriage return (Excel's CSV (Macintosh)) reads as one line. Save it again as CSV "
                               "UTF-8 (SPEC 3.1)."),
    _refused("S_DUPLICATE_COLUMN", "column names of the export must be unique (in a .sav, after normalising "
                                   "them) (SPEC 3.1, 3.2)."),
    _refused("S_TEXT_HEADINGS", "the export must have question codes as headings, not question texts: export "
                                "again with Headings: Question code (SPEC 3.1)."),
    _refused("S_REQUIRED_COLUMN", "the export must have LimeSurvey's id, submitdate and lastpage columns, and "
                                  "the dossier column of an instrument linked to dossiers (SPEC 3.1)."),
    _refused("S_RECORD_SHAPE", "every record must have as many fields as the header: a file cut off in the "
                               "middle of a record, or a separator inside an unquoted value, is refused (SPEC "
                               "3.1)."),
    _refused("S_FULL_ANSWERS", "answers must be answer codes, not answer texts: export again with Responses: "
                               "Answer codes (SPEC 3.1)."),
    _refused("S_REQUIRED_VALUE", "every response must have a response id (column id) (SPEC 3.1)."),
    _refused("S_TYPE", "lastpage must be a whole number (a page number) (SPEC 3.1, 3.2)."),
    _refused("S_DATE", "submitdate and startdate must be date-times (YYYY-MM-DD HH:MM:SS; in a .sav an SPSS "
                       "date-time) (SPEC 3.1, 3.2)."),
    _refused("S_DATE_RANGE", "an SPSS date must lie within the years 1-9999: a date beyond 9999 (e.g. a year "
                             "with six digits) is refused, naming the variable and the case (SPEC 3.2)."),
    _refused("S_NO_ITEMS", "an export with responses must hold at least one item column of its instrument: is "
                           "it in the right instrument folder, exported with question-code headings? (SPEC "
                           "3.3)."),
    _refused("S_READ_FAILED", "an error no survey reader foresaw; the message names the error type and text. "
                              "Check that the file is the export the landing contract asks for (SPEC 3)."),
    _refused("D_LAYOUT", "an extract folder must be dossiers/YYYY-MM-DD/ (an extract date not in the future) "
                         "holding the required files of the extract contract (SPEC 3.4)."),
    _refused("D_FILE_MISSING", "every required file of the extract contract must be in the extract folder "
                               "(SPEC 3.4)."),
    _refused("D_LINE_ENDINGS", "lines of an extract file must end in LF or CRLF, not a bare carriage return "
                               "(Excel's CSV (Macintosh)). Save it again as CSV UTF-8 (SPEC 3.4)."),
    _refused("D_CSV_STRUCTURE", "an extract file must be well-formed CSV: a header line, unique column names, "
                                "every record as many fields as the header, quotes closed (SPEC 3.4)."),
    _refused("D_REQUIRED_COLUMN", "the header of an extract file must name every column the extract contract "
                                  "requires (SPEC 3.4)."),
    _refused("D_DATE_FORMAT", "a date in an extract must be YYYY-MM-DD or DD/MM/YYYY and a real day (SPEC "
                              "3.4)."),
    _refused("D_NUMBER", "a number field of an extract must hold a number (SPEC 3.4)."),
    _refused("D_READ_FAILED", "an error no dossier reader foresaw; the message names the error type and text. "
                              "Check that the files are the extract the landing contract asks for (SPEC 3.4)."),
    _refused("RAW_TYPE", "every value must fit the type of its raw table's column; the load of the partition "
                         "is rolled back (SPEC 4)."),
)


def _gate_specs():
    # imported here: the gates import pandas, duckdb and the contracts; the registry of file codes does not
    from orchestration.quality.dossiers import DOSSIER_RULES
    from orchestration.quality.survey import SURVEY_RULES
    return tuple(r.spec for r in SURVEY_RULES), tuple(r.spec for r in DOSSIER_RULES)


def all_specs() -> tuple[RuleSpec, ...]:
    """Every registered rule spec: the survey gate's, the dossier gate's, then :data:`FILE_RULES`.

    Raises:
        ValueError: two specs share a code.
    """
    survey, dossiers = _gate_specs()
    specs = (*survey, *dossiers, *FILE_RULES)
    seen: set[str] = set()
    for s in specs:
        if s.code in seen:
            raise ValueError(f"rule code {s.code} is registered twice")
        seen.add(s.code)
    return specs


def spec_of(code: str) -> RuleSpec:
    """The registered spec of ``code``.

    Raises:
        KeyError: ``code`` is not registered (add it to :data:`FILE_RULES` or a gate's rules).
    """
    for s in all_specs():
        if s.code == code:
            return s
    raise KeyError(f"rule code {code!r} is not registered in orchestration/quality/rules.py")


def readme_section() -> str:
    """The generated part of README.md, markers included: the survey, dossier and file rule tables."""
    survey, dossiers = _gate_specs()
    return "\n".join([
        BEGIN,
        "",
        "Survey waves (`orchestration/quality/survey.py`):",
        "",
        rule_table(survey),
        "",
        "Dossier extracts (`orchestration/quality/dossiers.py`):",
        "",
        rule_table(dossiers),
        "",
        "Partitions refused before the gates (readers, landing layout, ingest; the message names file, line "
        "and column):",
        "",
        rule_table(FILE_RULES),
        "",
        END,
    ])


def with_current_section(text: str) -> str:
    """``text`` (README.md) with the part between :data:`BEGIN` and :data:`END` replaced by
    :func:`readme_section`.

    Raises:
        ValueError: the markers are missing, repeated or out of order (the message says which).
    """
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise ValueError(f"README.md must hold each rule-table marker once: {BEGIN!r} and {END!r}; put them "
                         "where the tables go")
    start, end = text.index(BEGIN), text.index(END)
    if end < start:
        raise ValueError("README.md: the end marker of the rule tables comes before the begin marker")
    return text[:start] + readme_section() + text[end + len(END):]


def main(argv: list[str] | None = None) -> int:
    """``python -m orchestration.quality.rules [--readme | --check] [--path README.md]``.

    ``--readme`` rewrites the file's rule tables; ``--check`` returns 1 (and says so) when they are not
    current; with neither, the generated section is printed. Returns the exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m orchestration.quality.rules",
                                     description="The README's rule tables, generated from the registered "
                                                 "rule specs.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--readme", action="store_true", help="rewrite the rule tables in README.md")
    mode.add_argument("--check", action="store_true", help="exit 1 when README.md's rule tables are not current")
    parser.add_argument("--path", type=Path, default=README, help="the README to read (default: %(default)s)")
    args = parser.parse_args(argv)
    if not (args.readme or args.check):
        print(readme_section())
        return 0
    text = args.path.read_text(encoding="utf-8")
    try:
        current = with_current_section(text)
    except ValueError as exc:
        print(f"{args.path}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if current != text:
            print(f"{args.path}: the rule tables are not current; run python -m orchestration.quality.rules "
                  "--readme", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.path.write_text(current, encoding="utf-8")
        print(f"{args.path}: rule tables rewritten")
    else:
        print(f"{args.path}: rule tables already current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
