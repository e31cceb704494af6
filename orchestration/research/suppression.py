"""The reporting schema's first-pass suppression rule in Python (SPEC 6).

A reference for tests of ``macros/reporting/suppression.sql``; :mod:`orchestration.disclosure` adds what
the relations between columns and tables need. Shape: a frame of cells in, a boolean Series out.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pandas as pd

from orchestration import settings
from orchestration.research.labels import TOTAL


def secondary_suppression(cells: pd.DataFrame, keys: Sequence[str], dims: Sequence[str],
                          value: str = "cell_value", min_cell: int | None = None,
                          suppress_zero: bool = False, total: str = TOTAL,
                          max_passes: int | None = None) -> pd.Series:
    """The reporting schema's first-pass suppression rule in Python (reference for tests of the SQL).

    ``cells``: one row per cell with ``keys`` (never varied), ``dims`` (text; ``total`` marks the margin
    total) and the count in ``value``. Returns a boolean Series (same index): True = withhold.
    Primary: 0 < count < min_cell (also 0 with ``suppress_zero``), and null counts. Secondary: per
    dimension, a group (cells sharing keys and the other dims) with exactly one withheld cell also
    withholds the visible non-total cell (zeros included) whose dimension value has the smallest md5 hex
    digest (a fixed order that says nothing about counts; then by the value), else the total; passes
    over all dims repeat until nothing changes (or
    ``max_passes``). This is the first pass only: :mod:`orchestration.disclosure` adds what the
    relations between columns and tables need.
    This is the same algorithm as ``macros/reporting/suppression.sql`` (SPEC 6).
    """
    min_cell = settings.min_cell() if min_cell is None else min_cell
    v = cells[value]
    small = (v < min_cell) & ((v >= 0) if suppress_zero else (v > 0))
    hidden = (v.isna() | small.fillna(False)).astype(bool).copy()
    passes = 0
    while max_passes is None or passes < max_passes:
        passes += 1
        changed = False
        for d in dims:
            others = [c for c in list(keys) + list(dims) if c != d]
            frame = cells.assign(_h=hidden, _tot=(cells[d] == total).astype(int),
                                 _zero=(cells[value] == 0).astype(int))
            groups = frame.groupby(others, sort=False, dropna=False) if others else [(None, frame)]
            for _, g in groups:
                if int(g["_h"].sum()) != 1:
                    continue
                visible = g[~g["_h"]]
                if visible.empty:
                    continue
                order = visible.assign(_md5=visible[d].map(lambda v: hashlib.md5(str(v).encode()).hexdigest()))
                pick = order.sort_values(["_tot", "_md5", d], kind="mergesort").index[0]
                hidden.loc[pick] = True
                changed = True
        if not changed:
            break
    return hidden


