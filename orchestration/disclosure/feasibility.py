"""Feasible intervals of withheld cells by linear programming (SPEC 6).

An attacker who knows every published cell and every relation of :mod:`.tables` can narrow a withheld
cell x to ``[min x, max x]`` subject to those relations and ``cells >= 0``. This module computes those
intervals exactly as that attack would, with the HiGHS solver (``highspy``): for each
withheld cell one minimisation and one maximisation. Published cells enter as constants, so each LP
has only the withheld cells of one connected component as variables (cells that share a relation).

Reference: Hundepool et al., *Statistical Disclosure Control* (Wiley 2012), ch. 4.3 (audit of a
suppression pattern by the feasible interval of each suppressed cell).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import csc_matrix


@dataclass(frozen=True)
class Cell:
    """One count (or additive magnitude) of a reporting table.

    Attributes:
        id: ``<table>|<key values joined by |>|<column>``.
        table, key, column: where it is shown (``key``: the row's key values as text).
        value: the true value (from ``marts``); never written anywhere by this package.
        kind: ``count`` (shown), ``latent`` (never shown; follows from shown counts) or ``magnitude``.
        anchor: for a magnitude, the id of the count whose withholding it follows.
        n_totals: how many of the row's dimensions are margins (``all``): 0 for a detail cell.
    """

    id: str
    table: str
    key: tuple[str, ...]
    column: str
    value: float
    kind: str
    anchor: str | None = None
    n_totals: int = 0


@dataclass
class System:
    """Cells and the linear relations between them: every equation is ``sum(coef x cell) = 0``."""

    cells: dict[str, Cell] = field(default_factory=dict)
    equations: list[dict[str, float]] = field(default_factory=list)

    def equations_of(self) -> dict[str, list[int]]:
        """Cell id -> indices of the equations it appears in."""
        index: dict[str, list[int]] = {}
        for i, eq in enumerate(self.equations):
            for cid in eq:
                index.setdefault(cid, []).append(i)
        return index


def components(system: System, hidden: set[str], index: dict[str, list[int]],
               equations: list[dict[str, float]]) -> list[list[str]]:
    """Connected components of the withheld cells: two withheld cells are connected when an equation
    holds both. Returns sorted lists of ids (deterministic order)."""
    parent = {c: c for c in hidden}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for eq in equations:
        members = [c for c in eq if c in hidden]
        for other in members[1:]:
            a, b = find(members[0]), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for c in sorted(hidden):
        groups.setdefault(find(c), []).append(c)
    return list(groups.values())


def intervals(system: System, hidden: set[str], targets: Iterable[str] | None = None,
              extra_equations: list[dict[str, float]] | None = None,
              cache: dict | None = None) -> dict[str, tuple[float, float]]:
    """Feasible interval ``(lower, upper)`` of each withheld cell in ``targets`` (default: all of
    ``hidden``), given the true values of every other cell as published.

    ``extra_equations`` are added to the system's (e.g. ``numerator = rate x denominator`` for a
    published rate). ``cache`` (a dict kept by the caller) reuses intervals of a component whose
    withheld cells did not change. ``upper`` is ``inf`` when nothing bounds the cell from above.

    Raises:
        RuntimeError: the solver finds the relations infeasible (the published values contradict the
            relations: a bug in the tables or the relations, never a disclosure question).
    """
    equations = system.equations + list(extra_equations or [])
    index: dict[str, list[int]] = {}
    for i, eq in enumerate(equations):
        for cid in eq:
            index.setdefault(cid, []).append(i)
    wanted = set(hidden if targets is None else targets) & hidden
    result: dict[str, tuple[float, float]] = {}
    for comp in components(system, hidden, index, equations):
        todo = [c for c in comp if c in wanted]
        if not todo:
            continue
        signature = frozenset(comp)
        if cache is not None and signature in cache and not extra_equations:
            known = cache[signature]
            if all(c in known for c in todo):
                result.update({c: known[c] for c in todo})
                continue
        solved = _solve_component(system, comp, todo, equations, index)
        if cache is not None and not extra_equations:
            cache.setdefault(signature, {}).update(solved)
        result.update(solved)
    return result


def _solve_component(system: System, comp: list[str], todo: list[str], equations: list[dict[str, float]],
                     index: dict[str, list[int]]) -> dict[str, tuple[float, float]]:
    """Min and max of each ``todo`` cell over one component: one HiGHS model, the objective changed
    between solves (warm-started), cells >= 0, equations with shown cells moved to the right side."""
    position = {c: i for i, c in enumerate(comp)}
    eq_ids = sorted({i for c in comp for i in index.get(c, [])})
    rows, cols, data, rhs = [], [], [], []
    for r, i in enumerate(eq_ids):
        constant = 0.0
        for cid, coef in equations[i].items():
            if cid in position:
                rows.append(r)
                cols.append(position[cid])
                data.append(coef)
            else:
                constant += coef * system.cells[cid].value
        rhs.append(-constant)
    n = len(comp)
    matrix = csc_matrix((data, (rows, cols)), shape=(len(eq_ids), n))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(eq_ids)
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, highspy.kHighsInf)
    lp.row_lower_ = np.array(rhs, dtype=float)
    lp.row_upper_ = np.array(rhs, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    # primal simplex: only the objective changes between solves, so the previous optimal basis stays primal
    # feasible and each solve is a short warm start (on the demo's reporting tables 6x faster than HiGHS's default
    # choice of the dual simplex, with the same intervals)
    solver.setOptionValue("simplex_strategy", 4)
    solver.passModel(lp)
    out: dict[str, tuple[float, float]] = {}
    previous = None
    for cid in todo:
        j = position[cid]
        if previous is not None:
            solver.changeColCost(previous, 0.0)
        solver.changeColCost(j, 1.0)
        previous = j
        low = _optimum(solver, highspy.ObjSense.kMinimize)
        high = _optimum(solver, highspy.ObjSense.kMaximize)
        out[cid] = (max(low, 0.0), high)
    return out


def _optimum(solver, sense) -> float:
    """The optimum of the model's objective in ``sense``; ``inf`` when unbounded above."""
    solver.changeObjectiveSense(sense)
    solver.run()
    status = solver.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return float(solver.getInfo().objective_function_value)
    if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible) \
            and sense == highspy.ObjSense.kMaximize:
        return math.inf
    raise RuntimeError(f"disclosure audit: the linear program ended with {solver.modelStatusToString(status)} "
                       "(the published values contradict the relations: a bug, not a disclosure question)")
