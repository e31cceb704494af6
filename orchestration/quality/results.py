"""The outcome of one quality rule on one partition, as stored in ``audit.check_results`` (SPEC 4)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from orchestration.readers.base import ReaderError

ERROR = "error"      # blocks the partition: quarantined, nothing promoted to raw
WARNING = "warning"  # loads and is reported

#: How many failing source line numbers are kept per rule.
SAMPLE_SIZE = 10


@dataclass
class RuleResult:
    """One rule's verdict on one partition.

    Attributes:
        code: stable rule code (e.g. ``S_CODE_IN_SCHEME``, ``D_CLOSURE_AFTER_REGISTRATION``).
        stage: 1 = record and format rules, 2 = relational and temporal rules.
        severity: ``error`` (blocks) or ``warning`` (loads, reported).
        message: what the rule requires, in a sentence a data engineer can act on.
        columns: the source columns the rule reads.
        passed: True when no row fails.
        failing_rows: number of failing rows.
        sample_lines: up to :data:`SAMPLE_SIZE` physical source line numbers of failing rows.
        source_file: the landing file the rule read (relative to the landing root where possible).
    """

    code: str
    stage: int
    severity: str
    message: str
    columns: list[str]
    passed: bool
    failing_rows: int = 0
    sample_lines: list[int] = field(default_factory=list)
    source_file: str = ""

    @property
    def blocks(self) -> bool:
        """True when this result quarantines the partition."""
        return self.severity == ERROR and not self.passed

    def describe(self) -> str:
        """One line naming file, rule, columns and sample lines (for ``audit.loads.message``)."""
        where = self.source_file or "?"
        lines = ", ".join(str(n) for n in self.sample_lines)
        cols = ", ".join(self.columns) if self.columns else "-"
        return (f"{where}: rule {self.code} ({self.severity}) failed on {self.failing_rows} row(s), "
                f"column(s) {cols}, line(s) {lines or '-'}: {self.message}")


def from_reader_error(err: ReaderError, source_file: str) -> RuleResult:
    """A file the reader refused, as a failed stage-1 error rule (so it quarantines like any other)."""
    return RuleResult(code=err.code, stage=1, severity=ERROR, message=err.detail,
                      columns=[err.column] if err.column else [], passed=False, failing_rows=1,
                      sample_lines=[err.line] if err.line else [], source_file=source_file)


def sample_of(lines) -> list[int]:
    """The first :data:`SAMPLE_SIZE` distinct source line numbers of ``lines``, ascending.

    ``lines`` is any iterable of integers (a list, a numpy array, a pandas Series); nulls are skipped.
    """
    arr = np.asarray(lines if hasattr(lines, "__len__") else list(lines))
    if arr.dtype.kind not in "iu":
        arr = pd.to_numeric(pd.Series(arr, dtype="object"), errors="coerce").dropna().to_numpy(dtype="int64")
    return [int(v) for v in np.unique(arr)[:SAMPLE_SIZE]]


@dataclass(frozen=True)
class RuleSpec:
    """What a quality rule is, as data: the row of the rule table in the README.

    Attributes:
        code: stable rule code, ``S_...`` (surveys) or ``D_...`` (dossier extracts).
        stage: 1 = record and format rules, 2 = relational and temporal rules.
        severity: :data:`ERROR` (blocks the partition) or :data:`WARNING` (loads, reported).
        message: what the rule requires, in a sentence a data engineer can act on.
        columns: the source columns the rule reads.
    """

    code: str
    stage: int
    severity: str
    message: str
    columns: tuple[str, ...] = ()

    def outcome(self, lines, source_file: str, *, failing_rows: int | None = None,
                detail: str = "", columns: list[str] | None = None) -> RuleResult:
        """The :class:`RuleResult` of this rule given the source lines of its failing rows.

        Args:
            lines: source line numbers of every failing row (empty: the rule passed).
            source_file: the landing file the lines refer to.
            failing_rows: the failing row count when it differs from ``len(lines)`` (e.g. rows that
                have no line in ``source_file``); default ``len(lines)``.
            detail: appended to the message (e.g. which values failed, or why the rule did not apply).
            columns: the columns to report instead of :attr:`columns` (e.g. only the failing ones).
        """
        lines = lines if hasattr(lines, "__len__") else list(lines)
        n = len(lines) if failing_rows is None else int(failing_rows)
        message = self.message + (f" {detail}" if detail else "")
        return RuleResult(code=self.code, stage=self.stage, severity=self.severity, message=message,
                          columns=list(self.columns if columns is None else columns), passed=n == 0,
                          failing_rows=n, sample_lines=sample_of(lines), source_file=source_file)


def rule_table(specs) -> str:
    """A Markdown table (code, stage, severity, columns, message) of rule specs, for the README."""
    rows = ["| code | stage | severity | columns | message |", "|---|---|---|---|---|"]
    for spec in specs:
        spec = getattr(spec, "spec", spec)
        rows.append(f"| `{spec.code}` | {spec.stage} | {spec.severity} | {', '.join(spec.columns) or '-'} "
                    f"| {spec.message} |")
    return "\n".join(rows)
