"""Great Expectations 1.x, shared by the survey and dossier quality gates (SPEC 7).

Rules describe the expectations they need as data (:class:`Expect`); :func:`validate` turns them into
GX expectations, runs them through one ephemeral GX context per process (pandas datasource ->
dataframe asset -> whole-dataframe batch definition -> ``ExpectationSuite`` -> ``ValidationDefinition``,
the GX 1.x pattern) with ``result_format="COMPLETE"``, and reads ``unexpected_index_list`` back
into the positions of the failing rows, which the callers map to source line numbers.

GX itself is imported lazily, on the first validation (the import costs seconds and ~230 MB).

Keeping GX as the gate at benchmark scale (one
expectation over 5M rows costs 7-20 s in GX, so a full suite over every row costs minutes):
every expectation that judges a row only by values in that row (null / not null, value sets, ranges,
the order or equality of two columns, each optionally under a row condition) is run on one
*representative row per class*, where a class is a set of rows that must get the same verdict:

* not null / null: rows with the same nullness (two classes at most);
* value set, range: rows with the same value (a handful of codes, a few thousand dates);
* two columns (order, equality): rows with the same difference ``a - b`` for dates and numbers
  (a few thousand day counts); for the equality of other values (keys), the same nullness of ``a``
  and ``b`` and the same ``a == b``; the same ``(a, b)`` pair otherwise;
* a row condition ``column in values`` adds "does the condition hold" to the class.

The representatives are real rows of the frame (the union over the suite's expectations), GX
validates that much smaller frame, and a failing representative marks every row of its class as
failing. The verdict and the failing rows are exactly those of running the expectation on every
row; only rows that cannot differ are left out. Uniqueness depends on the whole column, so
``unique`` expectations run on the full column.

Raises :class:`GXRunError` when GX cannot evaluate an expectation (its exception is recorded in the
validation result): a broken check must never pass silently.
"""
from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

NOT_NULL = "not_null"      # ExpectColumnValuesToNotBeNull(column)
NULL = "null"              # ExpectColumnValuesToBeNull(column)
IN_SET = "in_set"          # ExpectColumnValuesToBeInSet(column, value_set); nulls are not judged
BETWEEN = "between"        # ExpectColumnValuesToBeBetween(column, min_value, max_value); nulls are not judged
UNIQUE = "unique"          # ExpectColumnValuesToBeUnique(column); every row of a repeated value fails
A_GE_B = "a_ge_b"          # ExpectColumnPairValuesAToBeGreaterThanB(column, column_b, or_equal); rows with a null skipped
EQUAL = "equal"            # ExpectColumnPairValuesToBeEqual(column, column_b); rows with a null skipped
MIN_ROWS = "min_rows"      # ExpectTableRowCountToBeBetween(min_value); a table verdict, no failing rows
KINDS = (NOT_NULL, NULL, IN_SET, BETWEEN, UNIQUE, A_GE_B, EQUAL, MIN_ROWS)


class GXRunError(RuntimeError):
    """Great Expectations could not evaluate an expectation (a programming or data-type error)."""


@dataclass(frozen=True)
class Expect:
    """One Great Expectations expectation, as data.

    Attributes:
        kind: one of :data:`KINDS`.
        column: the column judged (``column_A`` for pairs); None for :data:`MIN_ROWS`.
        column_b: the second column of a pair (``column_B``).
        values: the value set of :data:`IN_SET`.
        min_value, max_value: bounds of :data:`BETWEEN` (inclusive; ``datetime.date`` becomes
            ``datetime.datetime``, as GX needs) or the minimum row count of :data:`MIN_ROWS`.
        or_equal: :data:`A_GE_B` allows equality.
        when: a row condition ``(column, values)``: the expectation judges only rows whose ``column``
            value is in ``values``; ``when_not=True`` turns it into "not in ``values``" (nulls included).
    """

    kind: str
    column: str | None = None
    column_b: str | None = None
    values: tuple = ()
    min_value: Any = None
    max_value: Any = None
    or_equal: bool = True
    when: tuple[str, tuple] | None = None
    when_not: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown expectation kind {self.kind!r}")
        if self.kind in (A_GE_B, EQUAL) and not self.column_b:
            raise ValueError(f"{self.kind} needs column_b")

    def reads(self) -> list[str]:
        """The frame columns this expectation reads (its columns and its row condition's)."""
        cols = [c for c in (self.column, self.column_b) if c]
        if self.when and self.when[0] not in cols:
            cols.append(self.when[0])
        return cols

    def to_gx(self, meta: dict | None = None):
        """The GX 1.x expectation object (imports GX)."""
        import great_expectations.expectations as gxe
        from great_expectations.expectations.row_conditions import Column

        kw: dict[str, Any] = {"meta": meta or {}}
        if self.when:
            col, values = self.when
            kw["row_condition"] = (Column(col).is_not_in(list(values)) if self.when_not
                                   else Column(col).is_in(list(values)))
        if self.kind == NOT_NULL:
            return gxe.ExpectColumnValuesToNotBeNull(column=self.column, **kw)
        if self.kind == NULL:
            return gxe.ExpectColumnValuesToBeNull(column=self.column, **kw)
        if self.kind == IN_SET:
            return gxe.ExpectColumnValuesToBeInSet(column=self.column, value_set=list(self.values), **kw)
        if self.kind == BETWEEN:
            return gxe.ExpectColumnValuesToBeBetween(column=self.column, min_value=_bound(self.min_value),
                                                     max_value=_bound(self.max_value), **kw)
        if self.kind == UNIQUE:
            return gxe.ExpectColumnValuesToBeUnique(column=self.column, **kw)
        if self.kind == A_GE_B:
            return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=self.column, column_B=self.column_b, or_equal=self.or_equal,
                ignore_row_if="either_value_is_missing", **kw)
        if self.kind == EQUAL:
            return gxe.ExpectColumnPairValuesToBeEqual(
                column_A=self.column, column_B=self.column_b, ignore_row_if="either_value_is_missing", **kw)
        return gxe.ExpectTableRowCountToBeBetween(min_value=self.min_value, **kw)

    def classes(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Class id per row: rows with the same id get the same verdict (see the module docstring).

        None for :data:`UNIQUE` (the verdict of a row depends on the other rows).
        """
        n = len(frame)
        if self.kind == UNIQUE:
            return None
        if self.kind == MIN_ROWS:
            return np.zeros(n, dtype=np.int64)
        if self.kind in (NOT_NULL, NULL):
            parts = [frame[self.column].isna()]
        elif self.kind in (IN_SET, BETWEEN):
            parts = [frame[self.column]]
        else:
            a, b = frame[self.column], frame[self.column_b]
            if _orderable(a) and _orderable(b) and a.dtype.kind == b.dtype.kind:
                parts = [a - b]
            elif self.kind == EQUAL:  # the verdict depends only on the nulls and on a == b
                parts = [a.isna(), b.isna(), a.eq(b).fillna(False).astype(bool)]
            else:
                parts = [a, b]
        if self.when:
            col, values = self.when
            parts.append(frame[col].isin(list(values)))
        return _class_ids(parts)


@dataclass
class Verdict:
    """The outcome of one :class:`Expect` on one frame.

    Attributes:
        success: GX's verdict.
        failing: ascending 0-based positions (``iloc``) of the failing rows; empty for :data:`MIN_ROWS`.
        result: GX's ``result`` dict (of the representative rows, for reduced expectations).
    """

    success: bool
    failing: np.ndarray
    result: dict = field(default_factory=dict)


def validate(frame: pd.DataFrame, expects: Sequence[Expect], name: str = "sofs") -> list[Verdict]:
    """Run ``expects`` on ``frame`` with Great Expectations; one :class:`Verdict` per expectation, in order.

    ``frame`` is any pandas DataFrame holding the columns the expectations read; its index is
    ignored (verdicts speak in positions). Expectations other than :data:`UNIQUE` are validated on the
    representative rows of their classes (module docstring); :data:`UNIQUE` ones on the full columns.

    Raises:
        GXRunError: GX raised while evaluating an expectation.
        KeyError: an expectation reads a column that is not in ``frame``.
    """
    if not expects:
        return []
    frame = frame.reset_index(drop=True)
    verdicts: list[Verdict | None] = [None] * len(expects)

    reduced = [(i, e) for i, e in enumerate(expects) if e.kind != UNIQUE]
    if reduced:
        ids = {i: e.classes(frame) for i, e in reduced}
        reps = np.unique(np.concatenate([_first_positions(ids[i]) for i, _ in reduced]))
        cols = _columns([e for _, e in reduced])
        small = frame.iloc[reps][cols] if cols else pd.DataFrame(index=frame.index[reps])
        for (i, e), res in zip(reduced, _run(small, [e for _, e in reduced], name)):
            if e.kind == MIN_ROWS:
                verdicts[i] = Verdict(bool(res.success), np.empty(0, dtype=np.int64), dict(res.result))
                continue
            bad = np.asarray(res.result.get("unexpected_index_list") or [], dtype=np.int64)
            failing = (np.flatnonzero(np.isin(ids[i], ids[i][bad])) if len(bad)
                       else np.empty(0, dtype=np.int64))
            verdicts[i] = Verdict(bool(res.success), failing, dict(res.result))

    unique = [(i, e) for i, e in enumerate(expects) if e.kind == UNIQUE]
    if unique:
        full = frame[_columns([e for _, e in unique])]
        for (i, _e), res in zip(unique, _run(full, [e for _, e in unique], name)):
            bad = np.unique(np.asarray(res.result.get("unexpected_index_list") or [], dtype=np.int64))
            verdicts[i] = Verdict(bool(res.success), bad, dict(res.result))
    return verdicts  # type: ignore[return-value]


def failing_union(verdicts: Sequence[Verdict]) -> np.ndarray:
    """Ascending positions failing at least one of ``verdicts`` (a rule made of several expectations)."""
    arrays = [v.failing for v in verdicts if len(v.failing)]
    if not arrays:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate(arrays))


# --- GX plumbing -------------------------------------------------------------------------------

_LOCK = threading.Lock()
_CONTEXT_LOCK = threading.Lock()


def context():
    """The process's ephemeral GX context and its whole-dataframe batch definition (built once, by
    whichever thread asks first; :func:`prefetch` may have started it in the background).

    Progress bars are off. GX usage analytics are off unless ``GX_ANALYTICS_ENABLED`` says otherwise
    (the warehouse sends nothing anywhere).
    """
    with _CONTEXT_LOCK:
        return _context()


def prefetch() -> threading.Thread | None:
    """Import GX and build the context in a background thread, so that the 2-3 s this costs on 2 cores
    overlap with work that does not need GX (reading and pseudonymising an extract, which run in DuckDB
    without the GIL). Returns the thread, or None when the context exists already. A failure in the
    thread is not lost: :func:`context` tries again, in the caller's thread, and raises there."""
    if _context.cache_info().currsize:
        return None

    def build() -> None:
        try:
            context()
        except Exception:  # noqa: BLE001 - context() raises it again where a validation needs it
            pass

    thread = threading.Thread(target=build, name="gx-prefetch", daemon=True)
    thread.start()
    return thread


@lru_cache(maxsize=1)
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = ctx.data_sources.add_pandas("sofs_quality").add_dataframe_asset("frame")
    return ctx, asset.add_batch_definition_whole_dataframe("whole_frame")


def _run(frame: pd.DataFrame, expects: Sequence[Expect], name: str) -> list:
    """Validate ``frame`` against a suite of ``expects``; GX results in the order of ``expects``."""
    import great_expectations as gx

    ctx, batch_definition = context()
    suite_name = f"{name}-{uuid.uuid4().hex[:12]}"
    with _LOCK:
        suite = ctx.suites.add(gx.ExpectationSuite(
            name=suite_name, expectations=[e.to_gx({"sofs_index": k}) for k, e in enumerate(expects)]))
        definition = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite))
        try:
            run = definition.run(batch_parameters={"dataframe": frame}, result_format="COMPLETE")
        finally:
            ctx.validation_definitions.delete(suite_name)
            ctx.suites.delete(suite_name)
    by_index = {}
    for res in run.results:
        info = res.exception_info or {}
        if info.get("raised_exception"):
            raise GXRunError(f"Great Expectations could not evaluate {res.expectation_config.type} "
                             f"{res.expectation_config.kwargs}: {info.get('exception_message')}")
        by_index[res.expectation_config.meta["sofs_index"]] = res
    return [by_index[k] for k in range(len(expects))]


# --- classes of rows ---------------------------------------------------------------------------

def _bound(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _orderable(s: pd.Series) -> bool:
    return s.dtype.kind in "Mmfiu"


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), max(len(uniques), 1)


def _class_ids(parts: list[pd.Series]) -> np.ndarray:
    ids, _ = _codes(parts[0])
    for part in parts[1:]:
        codes, k = _codes(part)
        ids, _ = _codes(pd.Series(ids * k + codes))
    return ids


def _first_positions(ids: np.ndarray) -> np.ndarray:
    return np.flatnonzero(~pd.Series(ids).duplicated().to_numpy())


def _columns(expects: Sequence[Expect]) -> list[str]:
    cols: list[str] = []
    for e in expects:
        for c in e.reads():
            if c not in cols:
                cols.append(c)
    return cols
