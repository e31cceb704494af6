"""The outcome of one quality rule on one partition, as stored in ``audit.check_results`` (SPEC 4)."""
from __future__ import annotations

from dataclasses import dataclass, field

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
