"""The one loop that runs quality rules on a partition, for surveys and dossier extracts alike (SPEC 4).

A gate (:mod:`orchestration.quality.survey`, :mod:`orchestration.quality.dossiers`) declares its rules
as :class:`Rule` objects and hands :func:`run_rules` a context (what its rules know about the partition:
a survey ``Wave``, a dossier ``Extract``) and its working frames as :class:`Frame` objects. Each rule is
either

- a set of Great Expectations expectations (:class:`~orchestration.quality.gx.Expect`), built from the
  context and run on the rule's frame with every other expectation of that frame in one suite
  (:func:`orchestration.quality.gx.validate`); the rule fails on the union of its expectations'
  failing rows; or
- a ``check``: a small function of the context that returns what it found (:class:`Found`), for what is
  not a per-row expectation (set operations between files, what the reader reported).

A rule carries its own reporting hooks (``detail`` and ``columns``): what to append to its message and
which columns to report, given what its expectations found (:class:`Evidence`). The engine knows no
rule by code.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from orchestration.quality import gx
from orchestration.quality.gx import MIN_ROWS, Expect
from orchestration.quality.results import RuleResult, RuleSpec

C = TypeVar("C")

_NONE = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class Found:
    """What a rule found on a partition.

    Attributes:
        positions: 0-based positions (int64, ascending) of the failing rows in the file the rule reports
            on; their source lines are looked up in :attr:`Frame.lines`.
        failing_rows: the failing row count when it is not ``len(positions)`` or ``len(lines)`` (e.g.
            dossiers of the previous extract, which have no line in this file); None: counted.
        lines: source lines of the failures when they are not rows of the frame (line 1, the header, for
            a file that fails as a whole); used only when ``positions`` is empty.
        detail: appended to the rule's message (which values failed, why the rule did not apply).
        columns: the columns to report instead of the spec's (e.g. only the failing ones); None: the
            spec's columns.
    """

    positions: np.ndarray = field(default_factory=lambda: _NONE)
    failing_rows: int | None = None
    lines: tuple[int, ...] = ()
    detail: str = ""
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Evidence:
    """What a rule's expectations found, handed to its reporting hooks.

    Attributes:
        frame: the rows the expectations judged (0-based index; an empty frame when none were judged).
        failing: 0-based positions (``iloc``, ascending) in ``frame`` of the rows failing any expectation.
        expects: the rule's expectations, as built for this partition.
        verdicts: one :class:`~orchestration.quality.gx.Verdict` per expectation (empty when the frame had
            no rows to judge and no expectation was run).
    """

    frame: pd.DataFrame
    failing: np.ndarray
    expects: tuple[Expect, ...]
    verdicts: tuple[gx.Verdict, ...]


@dataclass(frozen=True)
class Rule(Generic[C]):
    """One quality rule: its spec (the row of the README rule table), the working frame it judges and
    reports on, and how it judges.

    Exactly one of ``expects`` (a function of the context returning the rule's Great Expectations
    expectations, possibly none: then the rule passes) and ``check`` (a function of the context returning
    :class:`Found`) is given. The reporting hooks ``detail`` (text appended to the message) and ``columns``
    (the columns reported; None: the spec's) read the context and the :class:`Evidence`; they belong to
    expectation rules (a check returns its own detail and columns).

    Raises:
        ValueError: neither or both of ``expects`` and ``check``, or a hook on a check.
    """

    spec: RuleSpec
    frame: str
    expects: Callable[[C], tuple[Expect, ...]] | None = None
    check: Callable[[C], Found] | None = None
    detail: Callable[[C, Evidence], str] | None = None
    columns: Callable[[C, Evidence], tuple[str, ...] | None] | None = None

    def __post_init__(self) -> None:
        if (self.expects is None) == (self.check is None):
            raise ValueError(f"rule {self.spec.code}: give exactly one of expects and check")
        if self.check is not None and (self.detail is not None or self.columns is not None):
            raise ValueError(f"rule {self.spec.code}: a check reports its own detail and columns")


@dataclass(frozen=True)
class Frame:
    """A working frame the rules judge, and the file it reports on.

    Attributes:
        data: the rows the expectations judge (any index; judged by position), with the columns they read.
        lines: the physical source line of every row of the reported file (int array, position -> line).
        source_file: the landing file the results name.
        positions: the position in the reported file of each row of ``data`` (int64); None: row ``i`` of
            ``data`` is row ``i`` of the file.
        note: the detail of a rule on this frame that has nothing else to say (e.g. "the file is not in
            this extract").
    """

    data: pd.DataFrame
    lines: np.ndarray
    source_file: str
    positions: np.ndarray | None = None
    note: str = ""


def run_rules(rules: Sequence[Rule[C]], context: C, frames: Mapping[str, Frame], *,
              suite: str = "sofs") -> list[RuleResult]:
    """Run ``rules`` on one partition; one :class:`RuleResult` per rule, in the order of ``rules`` (SPEC 4).

    Checks run first, in rule order. Then, per frame, every expectation of the frame's rules runs in one
    Great Expectations suite (named ``<suite>-<frame>``). A frame without rows is not handed to GX unless
    one of its expectations judges the table (a row count): no row can fail a row expectation, so every
    such rule passes. An expectation rule whose expectations failed without failing rows (a table
    verdict) fails once, at line 1 (the header).

    The result of each rule: source lines of its failing positions (or :attr:`Found.lines`), detail and
    columns from the check or from the rule's hooks, and the frame's :attr:`Frame.note` when the detail is
    empty.

    Raises:
        KeyError: a rule names a frame that is not in ``frames``, or an expectation reads a column the
            frame lacks.
        orchestration.quality.gx.GXRunError: Great Expectations could not evaluate an expectation.
    """
    found: dict[int, Found] = {}
    for k, rule in enumerate(rules):
        if rule.check is not None:
            found[k] = rule.check(context)
    by_frame: dict[str, list[int]] = {}
    for k, rule in enumerate(rules):
        if rule.check is None:
            by_frame.setdefault(rule.frame, []).append(k)
    for name, ks in by_frame.items():
        found.update(_judge(rules, ks, context, frames[name], f"{suite}-{name}"))
    return [_result(rule, found[k], frames[rule.frame]) for k, rule in enumerate(rules)]


def _judge(rules: Sequence[Rule[C]], ks: list[int], context: C, frame: Frame, suite: str) -> dict[int, Found]:
    """The :class:`Found` of the expectation rules ``ks`` (indices into ``rules``) on one frame."""
    data = frame.data.reset_index(drop=True)
    built = {k: tuple(rules[k].expects(context)) for k in ks}
    flat = [(k, e) for k in ks for e in built[k]]
    if not len(data) and not any(e.kind == MIN_ROWS for _, e in flat):
        flat = []
    verdicts = gx.validate(data, [e for _, e in flat], name=suite) if flat else []
    out: dict[int, Found] = {}
    for k in ks:
        mine = tuple(v for (kk, _), v in zip(flat, verdicts) if kk == k)
        failing = gx.failing_union(mine)
        evidence = Evidence(data, failing, built[k], mine)
        positions = failing if frame.positions is None else frame.positions[failing]
        detail, columns = _hooks(rules[k], context, evidence)
        if not len(positions) and not all(v.success for v in mine):  # a table verdict: the file fails
            out[k] = Found(_NONE, failing_rows=1, lines=(1,), detail=detail, columns=columns)
        else:
            out[k] = Found(np.asarray(positions, dtype=np.int64), detail=detail, columns=columns)
    return out


def _hooks(rule: Rule[C], context: C, evidence: Evidence) -> tuple[str, tuple[str, ...] | None]:
    detail = rule.detail(context, evidence) if rule.detail else ""
    columns = rule.columns(context, evidence) if rule.columns else None
    return detail, (tuple(columns) if columns is not None else None)


def _result(rule: Rule[Any], f: Found, frame: Frame) -> RuleResult:
    lines = frame.lines[f.positions] if len(f.positions) else np.asarray(f.lines, dtype=np.int64)
    return rule.spec.outcome(lines, frame.source_file, failing_rows=f.failing_rows,
                             detail=f.detail or frame.note,
                             columns=list(f.columns) if f.columns is not None else None)
