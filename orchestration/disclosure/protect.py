"""Secondary suppression that survives the linear-programming attack, applied to ``reporting``, and
its audit (SPEC 6).

The dbt models of ``reporting`` make a first pass (primary suppression of counts below ``min_cell``
and margin-wise secondary suppression). :func:`protect_reporting` then reads every reporting table
with its mart (the true counts), builds the linked system of :mod:`.tables`, and audits it with
:mod:`.feasibility`. A *small* withheld count (0 < n < min_cell, shown or latent) is protected when its
feasible interval covers ``[0, min_cell]``: nobody can tell from everything published whether it is
zero or at least ``min_cell``. A withheld magnitude that follows a small count (placement days) is
protected when it cannot be narrowed to within 50 % of its value. While a cell is not protected, the
shown cell nearest to it through the relations (detail cells before margins, then a fixed
pseudo-random order: never by value, which a reader could exploit) is withheld too, and the audit runs
again, until every cell is protected; a cell still pinned after :data:`STUCK_ROUNDS` rounds gets 2, 4, ...
of its next candidates at once. A shown zero can be chosen too: primary suppression never
withholds a zero, but if secondary suppression never did either, every withheld cell would be known to
be at least 1.
Everything computed from a withheld count is nulled (:attr:`.tables.TableSpec.derived`).

The result is deterministic: the same data gives the same pattern (fixed orders everywhere, no
randomness), and the pattern is a fixed point (protecting a protected table changes nothing).

:func:`audit_reporting` recomputes the intervals from what the reporting tables show, independently
of how they were protected; :func:`protect_reporting` records its final audit in
``audit.disclosure_audit`` (one row per withheld cell: table, row, column, feasible interval,
``protected``), which the Dagster asset check on ``reporting`` reads. The table holds only what a
reader of ``reporting`` can derive. :func:`require_protected` runs the audit before an export, the
codebook or a release takes anything out of ``reporting``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from orchestration.disclosure.feasibility import Cell, System, intervals
from orchestration.disclosure.tables import LINKS, SPECS, TOTAL, TableSpec

#: Tolerance of the LP bounds (HiGHS works to about 1e-9).
TOLERANCE = 1e-6
#: Most rounds of audit + extra suppression before giving up (each round withholds at least one cell).
MAX_ROUNDS = 500
#: Rounds a cell may stay pinned with one more cell withheld per round before more are withheld at once for it.
STUCK_ROUNDS = 3

AUDIT_DDL = """
create schema if not exists audit;
create table if not exists audit.disclosure_audit (
    audited_at timestamp not null,
    context varchar not null,
    table_name varchar not null,
    row_key varchar not null,
    column_name varchar not null,
    lower_bound double,
    upper_bound double,
    min_cell integer not null,
    protected boolean not null
);
"""


class DisclosureAuditFailed(RuntimeError):
    """Published reporting tables pin a small withheld count narrower than ``[0, min_cell]``."""


@dataclass
class Tables:
    """The reporting tables as read: per table the joined frame (keys as text, ``pub__<col>`` shown
    values, ``true__<col>`` mart values) and the specs of the tables present."""

    frames: dict[str, pd.DataFrame]
    specs: dict[str, TableSpec]


@dataclass
class Outcome:
    """Result of :func:`protect_reporting` or :func:`audit_reporting`.

    Attributes:
        audit: one row per withheld cell: table_name, row_key, column_name, lower_bound, upper_bound,
            protected (bool). No true values.
        added: cells withheld by the LP-driven step beyond dbt's first pass.
        rounds: audit rounds run.
    """

    audit: pd.DataFrame
    added: int
    rounds: int

    @property
    def passed(self) -> bool:
        return bool(self.audit["protected"].all()) if len(self.audit) else True

    def failures(self, limit: int = 10) -> str:
        """A message naming up to ``limit`` unprotected cells (table, row, column; no values)."""
        bad = self.audit[~self.audit["protected"]]
        names = [f"reporting.{r.table_name} [{r.row_key}] {r.column_name}" for r in bad.head(limit).itertuples()]
        more = f" and {len(bad) - limit} more" if len(bad) > limit else ""
        return f"{len(bad)} withheld cell(s) can be narrowed below [0, min_cell]: " + "; ".join(names) + more


# ------------------------------------------------------------------------------------------ reading

def _existing(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]


def read_tables(con: duckdb.DuckDBPyConnection) -> Tables:
    """Every reporting table of :data:`.tables.SPECS` that exists in ``reporting`` with its ``marts`` table
    (:attr:`.tables.TableSpec.mart_table`: the same name unless the spec names another), joined row by row to it
    on the keys (as text). Keys a table lacks (``is_missing`` before missing-reason rows existed) are taken as
    constant. Returns :class:`Tables` (per table: keys, ``pub__<column>`` shown, ``true__<column>`` from the mart,
    known counts included)."""
    frames, specs = {}, {}
    reporting, marts = _existing(con, "reporting"), _existing(con, "marts")
    for name, spec in SPECS.items():
        if name not in reporting or spec.mart_table not in marts:
            continue
        rcols, mcols = set(_columns(con, "reporting", name)), set(_columns(con, "marts", spec.mart_table))
        keys = tuple(k for k in spec.keys if k in rcols and k in mcols)
        spec = TableSpec(**{**spec.__dict__, "keys": keys})
        shown = [c for c in spec.published + tuple(spec.aliases) + tuple(spec.derived) if c in rcols]
        true = [c for c in spec.published + tuple(spec.proxy_exact_when_zero.values()) + tuple(spec.known)
                if c in mcols]
        select = [f"cast(r.{k} as varchar) as {k}" for k in keys]
        select += [f"r.{c} as pub__{c}" for c in shown] + [f"m.{c} as true__{c}" for c in true]
        on = " and ".join(f"r.{k} is not distinct from m.{k}" for k in keys) or "true"
        frames[name] = con.execute(
            f"select {', '.join(select)} from reporting.{name} as r join marts.{spec.mart_table} as m on {on} "
            f"order by {', '.join(keys) or '1'}").df()
        specs[name] = spec
    return Tables(frames, specs)


def _key(values) -> tuple[str, ...]:
    """Key values as text (None as the empty string), the form every cell id uses."""
    return tuple("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values)


def _cell_id(table: str, key: tuple[str, ...], column: str) -> str:
    return f"{table}|{'|'.join(key)}|{column}"


def _is_shown(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and not pd.isna(value)


def build_system(tables: Tables, min_cell: int | None = None
                 ) -> tuple[System, set[str], list[tuple[str, str, str, float, str]]]:
    """The linked system of every cell, the ids withheld now, and the ratio relations
    ``(table|key, numerator id, denominator id, scale, rate column)`` (with the row's published rate).

    ``min_cell``: with it, a known count (:attr:`.tables.TableSpec.known`) below it is a withheld variable, not a
    constant (the other tables withhold it too).
    Returns ``(system, withheld ids, ratios)``; ratios carry the published rate value (NaN when withheld).
    """
    system = System()
    withheld: set[str] = set()
    ratios: list = []
    for name, spec in tables.specs.items():
        df = tables.frames[name]
        keys = spec.keys
        step_rows: dict[tuple[str, tuple[str, ...]], list[tuple[float, tuple[str, ...], str]]] = {}
        for row in df.itertuples(index=False):
            r = row._asdict()
            key = _key(r[k] for k in keys)
            n_totals = sum(1 for d in spec.dims if r.get(d) == TOTAL)

            def add(column: str, value: float, kind: str, shown: bool, anchor: str | None = None,
                    cell_key: tuple[str, ...] = key) -> str:
                cid = _cell_id(name, cell_key, column)
                if cid not in system.cells:
                    system.cells[cid] = Cell(cid, name, cell_key, column, float(value), kind, anchor, n_totals)
                    if not shown:
                        withheld.add(cid)
                return cid

            ids: dict[str, str] = {}
            for c in spec.counts:
                if f"true__{c}" in r:
                    shown = _is_shown(r.get(f"pub__{spec.proxies.get(c, c)}"))
                    exact = spec.proxy_exact_when_zero.get(c)
                    if exact is not None and r.get(f"true__{exact}") not in (0, 0.0):
                        shown = False   # censoring before day 365: the proxy does not give the count away
                    ids[c] = add(c, r[f"true__{c}"], "count", shown)
            for c, anchor in spec.magnitudes.items():
                if f"true__{c}" in r:
                    ids[c] = add(c, r[f"true__{c}"], "magnitude", _is_shown(r.get(f"pub__{c}")),
                                 anchor=ids.get(anchor))
            for c, group in spec.group_counts.items():
                if f"true__{c}" in r:
                    gkey = _key(r[g] for g in group if g in r)
                    ids[c] = add(c, r[f"true__{c}"], "count", _is_shown(r.get(f"pub__{c}")), cell_key=gkey)
            for c, group in spec.known.items():   # not shown here, known from other tables: a constant
                if f"true__{c}" in r:
                    gkey = _key(r[g] for g in group if g in r)
                    # a known count below min_cell is withheld wherever it is published (primary rule), so a
                    # reader does not know it: a variable here
                    value = r[f"true__{c}"]
                    if not _is_shown(value):    # null in the mart: nobody knows it (no relation)
                        continue
                    known = min_cell is None or not 0 < value < min_cell
                    ids[c] = add(c, value, "known", known, cell_key=gkey)
            for alias, target in spec.aliases.items():
                if target in ids and f"pub__{alias}" in r and _is_shown(r[f"pub__{alias}"]):
                    withheld.discard(ids[target])   # shown under its other name: a reader knows it
            for c, expression in spec.latent.items():
                if all(t in ids for t in expression):
                    value = sum(coef * system.cells[ids[t]].value for t, coef in expression.items())
                    ids[c] = add(c, value, "latent", False)
                    eq = {ids[c]: -1.0}
                    for t, coef in expression.items():
                        eq[ids[t]] = eq.get(ids[t], 0.0) + coef
                    system.equations.append(eq)
            for latent, (count, order) in spec.steps.items():
                if count in ids and order in keys:
                    pos = keys.index(order)
                    step_rows.setdefault((latent, key[:pos] + key[pos + 1:]), []).append(
                        (float(key[pos]), key, ids[count]))
            for eq in spec.row_equations:
                if all(c in ids for c in eq):
                    system.equations.append({ids[c]: float(coef) for c, coef in eq.items()})
            for rate, num, den, scale in spec.ratios:
                if num in ids and den in ids and f"pub__{rate}" in r:
                    ratios.append((f"{name}|{'|'.join(key)}", ids[num], ids[den], scale,
                                   r[f"pub__{rate}"] if _is_shown(r[f"pub__{rate}"]) else math.nan))
        _step_equations(system, name, step_rows, withheld)
        _margin_equations(system, spec, df)
        _group_equations(system, spec, df)
    _link_equations(system, tables)
    return system, withheld, ratios


def _step_equations(system: System, table: str, step_rows: dict, withheld: set[str]) -> None:
    """Latent step cells (:attr:`.tables.TableSpec.steps`): per run of rows ordered by the order key,
    ``step = count - previous count`` (the first row's step is its count). Never shown, so withheld."""
    for (latent, _), rows in sorted(step_rows.items()):
        previous = None
        for _, key, count_id in sorted(rows):
            cid = _cell_id(table, key, latent)
            value = system.cells[count_id].value - (system.cells[previous].value if previous else 0.0)
            n_totals = system.cells[count_id].n_totals
            system.cells[cid] = Cell(cid, table, key, latent, value, "latent", None, n_totals)
            withheld.add(cid)
            eq = {cid: -1.0, count_id: 1.0}
            if previous:
                eq[previous] = -1.0
            system.equations.append(eq)
            previous = count_id


def _margin_equations(system: System, spec: TableSpec, df: pd.DataFrame) -> None:
    """``all`` row = sum of detail rows, along every dim, for every count, latent and magnitude (cells keyed by
    the row), and for every group count whose group holds every dim (cells keyed by the group's columns, one
    per group: ``practice_breadth.n_open``)."""
    if not spec.dims:
        return
    layouts = [(spec.keys, spec.counts + tuple(spec.magnitudes) + tuple(spec.latent))]
    layouts += [(group, (c,)) for c, group in spec.group_counts.items()
                if all(d in group for d in spec.dims) and all(g in df.columns for g in group)]
    for keys, columns in layouts:
        rows = list(dict.fromkeys(_key(t) for t in df[list(keys)].itertuples(index=False, name=None)))
        for d in spec.dims:
            pos = keys.index(d)
            groups: dict[tuple, list[tuple]] = {}
            for key in rows:
                if key[pos] != TOTAL:
                    groups.setdefault(key[:pos] + (TOTAL,) + key[pos + 1:], []).append(key)
            for total_key, members in groups.items():
                for c in columns:
                    total_id = _cell_id(spec.name, total_key, c)
                    if total_id not in system.cells:
                        continue
                    eq = {total_id: 1.0}
                    for m in members:
                        mid = _cell_id(spec.name, m, c)
                        if mid in system.cells:
                            eq[mid] = eq.get(mid, 0.0) - 1.0
                    system.equations.append(eq)


def _group_equations(system: System, spec: TableSpec, df: pd.DataFrame) -> None:
    """Group (or known) count = sum of the row count over the group's included rows (``n_valid`` = sum of ``n``,
    both arms of ``outcome_by_exposure``); a weighted
    total = sum of weight x row count over its group's rows with a numeric weight (``n_participations``)."""
    for group_col, row_col, exclude in spec.group_sums:
        group = spec.group_counts.get(group_col) or spec.known[group_col]
        cols = [g for g in group if g in df.columns]
        eqs: dict[str, dict[str, float]] = {}
        for r in df.itertuples(index=False):
            r = r._asdict()
            gid = _cell_id(spec.name, _key(r[g] for g in cols), group_col)
            if gid not in system.cells:
                continue
            eq = eqs.setdefault(gid, {gid: 1.0})
            if exclude and exclude in r and str(r[exclude]).lower() in ("true", "1"):
                continue
            rid = _cell_id(spec.name, _key(r[k] for k in spec.keys), row_col)
            if rid in system.cells:
                eq[rid] = eq.get(rid, 0.0) - 1.0
        system.equations.extend(eqs.values())
    for total_col, row_col, weight_col in spec.weighted_sums:
        group = spec.group_counts.get(total_col) or spec.known[total_col]
        cols = [g for g in group if g in df.columns]
        eqs = {}
        for r in df.itertuples(index=False):
            r = r._asdict()
            gid = _cell_id(spec.name, _key(r[g] for g in cols), total_col)
            weight = _number(r.get(weight_col))
            if gid not in system.cells or weight is None:
                continue
            eq = eqs.setdefault(gid, {gid: 1.0})
            rid = _cell_id(spec.name, _key(r[k] for k in spec.keys), row_col)
            if rid in system.cells and weight != 0:
                eq[rid] = eq.get(rid, 0.0) - weight
        system.equations.extend(eqs.values())


def _number(value) -> float | None:
    """A weight as a number, or None (``'all'``, empty, not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _link_cell(spec: TableSpec, row: dict[str, str], column: str) -> str:
    """The id of ``column``'s cell on a row: keyed by the row, or by its group for a group count."""
    group = spec.group_counts.get(column)
    key = tuple(row[g] for g in group if g in row) if group else tuple(row[k] for k in spec.keys)
    return _cell_id(spec.name, key, column)


def _link_equations(system: System, tables: Tables) -> None:
    """``a = b`` for every pair of cells of :data:`.tables.LINKS` (once per pair: a group count is on many rows),
    and ``b = 0`` for a row of table_b without its table_a row when the link says so
    (:attr:`.tables.Link.zero_when_absent`)."""
    done: set[tuple[str, str]] = set()
    for link in LINKS:
        if link.table_a not in tables.specs or link.table_b not in tables.specs:
            continue
        sa, sb = tables.specs[link.table_a], tables.specs[link.table_b]
        index_b: dict[tuple, str] = {}
        matched: set[tuple] = set()
        for key in tables.frames[link.table_b][list(sb.keys)].itertuples(index=False, name=None):
            row = dict(zip(sb.keys, _key(key)))
            if all(row.get(k) == v for k, v in link.fixed_b.items()):
                index_b[tuple(row[kb] for _, kb in link.on)] = _link_cell(sb, row, link.column_b)
        for key in tables.frames[link.table_a][list(sa.keys)].itertuples(index=False, name=None):
            row = dict(zip(sa.keys, _key(key)))
            if not all(row.get(k) == v for k, v in link.fixed_a.items()):
                continue
            a = _link_cell(sa, row, link.column_a)
            on_values = tuple(row[ka] for ka, _ in link.on)
            matched.add(on_values)
            b = index_b.get(on_values)
            if b and (a, b) not in done and a in system.cells and b in system.cells:
                done.add((a, b))
                system.equations.append({a: 1.0, b: -1.0})
        if link.zero_when_absent:
            for on_values, b in sorted(index_b.items()):
                possible = all(v != TOTAL or ka in sa.dims for (ka, _), v in zip(link.on, on_values))
                # the true value is 0 whenever table_a has the mart's rows (dbt builds it from them); a table_a
                # rebuilt from an older mart must not make the relations contradict the true values
                if on_values not in matched and possible and b in system.cells and system.cells[b].value == 0:
                    system.equations.append({b: 1.0})


# ------------------------------------------------------------------------------------- the rule

def requirement(cell: Cell, system: System, min_cell: int) -> Callable[[float, float], bool] | None:
    """The protection a withheld cell needs, as a test of its feasible interval; None when it needs
    none (a withheld count of at least ``min_cell``: withheld only to protect another cell)."""
    if cell.kind in ("count", "latent") and 0 < cell.value < min_cell:
        return lambda lo, hi: lo <= TOLERANCE and hi >= min_cell - TOLERANCE
    if cell.kind == "magnitude" and cell.anchor is not None:
        anchor = system.cells[cell.anchor]
        if 0 < anchor.value < min_cell and cell.value > 0:
            v = cell.value
            return lambda lo, hi: lo <= 0.5 * v + TOLERANCE and hi >= 1.5 * v - TOLERANCE
    return None


def _ratio_equations(ratios, withheld: set[str]) -> list[dict[str, float]]:
    """``scale x numerator - rate x denominator = 0`` for every shown rate with a withheld part."""
    out = []
    for _, num, den, scale, rate in ratios:
        if not math.isnan(rate) and (num in withheld or den in withheld):
            out.append({num: scale, den: -float(rate)} if num != den else {num: scale - float(rate)})
    return out


def _follow_anchors(system: System, withheld: set[str]) -> set[str]:
    """Magnitudes are withheld wherever the count they follow is."""
    return {c.id for c in system.cells.values()
            if c.kind == "magnitude" and c.anchor in withheld and c.id not in withheld}


def _order(cell_id: str) -> str:
    """A fixed pseudo-random order of cells (md5 of the id): the choice of a secondary cell must say
    nothing about its value (choosing "the smallest" would tell a reader that the withheld cells are at
    most the smallest shown one)."""
    return hashlib.md5(cell_id.encode("utf-8")).hexdigest() + cell_id


def _candidates(system: System, pinned: str, withheld: set[str], index: dict[str, list[int]]) -> list[str]:
    """Shown cells (zeros included) nearest to ``pinned`` through the relations (first those sharing a relation
    with it, then those sharing one with a withheld cell related to it, and so on), best first: same
    kind, detail before margins, then :func:`_order` (never by value)."""
    def usable(c: str) -> bool:  # zeros too: a withheld cell must not be known to be non-zero
        return c not in withheld and system.cells[c].kind not in ("latent", "known")

    seen_cells, seen_eqs = {pinned}, set()
    frontier = [pinned]
    while frontier:
        reached: set[str] = set()
        for c in frontier:
            for i in index.get(c, []):
                if i not in seen_eqs:
                    seen_eqs.add(i)
                    reached.update(system.equations[i])
        reached -= seen_cells
        seen_cells |= reached
        shown = [c for c in reached if usable(c)]
        if shown:
            kind = system.cells[pinned].kind
            return sorted(shown, key=lambda c: (system.cells[c].kind != kind and kind != "latent",
                                                system.cells[c].n_totals, _order(c)))
        frontier = sorted(c for c in reached if c in withheld)
    return []


def secondary_suppression(system: System, withheld: set[str], min_cell: int,
                          progress: Callable[[str], None] | None = None) -> tuple[set[str], int]:
    """Withhold more cells until every withheld cell meets :func:`requirement` (see the module text).

    Returns ``(withheld ids, rounds)``; the input set is not changed. When no shown cell is
    left to withhold for a pinned cell, stops and leaves it to the audit to report.
    """
    withheld = set(withheld) | {c.id for c in system.cells.values() if c.kind == "count" and 0 < c.value < min_cell}
    withheld |= _follow_anchors(system, withheld)
    index = system.equations_of()
    # Withholding more cells only ever widens feasible intervals (a shown value becomes a variable), so a
    # cell found protected stays protected: each round re-checks only the cells still pinned and the
    # cells withheld since.
    pending = sorted(withheld)
    rounds = 0
    stuck: dict[str, int] = {}   # rounds a cell has stayed pinned in a row
    while rounds < MAX_ROUNDS and pending:
        rounds += 1
        needs = {c: requirement(system.cells[c], system, min_cell) for c in pending}
        targets = [c for c, need in needs.items() if need is not None]
        found = intervals(system, withheld, targets)
        pinned = [c for c in targets if not needs[c](*found[c])]
        if not pinned:
            break
        added: set[str] = set()
        stuck = {c: stuck.get(c, -1) + 1 for c in pinned}
        for c in pinned:
            # the nearest cell; a cell still pinned after three rounds gets 2, 4, ... (at most 64) of the next ones
            # at once: its neighbours may all be withheld already, and one far cell per round can take hundreds
            options = _candidates(system, c, withheld | added, index)
            added.update(options[:1 if stuck[c] < STUCK_ROUNDS else min(2 ** (stuck[c] - STUCK_ROUNDS + 1), 64)])
        if not added:
            break
        before = set(withheld)
        withheld |= added
        withheld |= _follow_anchors(system, withheld)
        pending = sorted(set(pinned) | (withheld - before))
        if progress:
            progress(f"disclosure control: round {rounds}, {len(pinned)} cell(s) not yet protected, "
                     f"{len(added)} more withheld")
    return withheld, rounds


def audit_frame(system: System, withheld: set[str], ratios, min_cell: int) -> pd.DataFrame:
    """One row per withheld shown or latent cell with its feasible interval and whether it meets
    :func:`requirement`, plus one row per count shown although below ``min_cell`` (primary rule broken:
    never protected; its value is public already, so its interval is that value). A cell that needs no
    protection (a count of at least ``min_cell``, withheld only to protect another) is protected by
    definition: its interval is not computed (bounds null), which saves two linear programs per cell."""
    targets = [c for c in withheld if requirement(system.cells[c], system, min_cell) is not None]
    found = intervals(system, withheld, targets, extra_equations=_ratio_equations(ratios, withheld))
    records = []
    for cid in sorted(system.cells):
        cell = system.cells[cid]
        if cid not in withheld and cell.kind == "count" and 0 < cell.value < min_cell:
            records.append({"table_name": cell.table, "row_key": "|".join(cell.key), "column_name": cell.column,
                            "lower_bound": cell.value, "upper_bound": cell.value, "protected": False})
    for cid in sorted(withheld):
        cell = system.cells[cid]
        if cell.kind == "known":     # not a cell of reporting: nothing to record
            continue
        need = requirement(cell, system, min_cell)
        if need is None:
            records.append({"table_name": cell.table, "row_key": "|".join(cell.key), "column_name": cell.column,
                            "lower_bound": None, "upper_bound": None, "protected": True})
            continue
        lo, hi = found[cid]
        records.append({"table_name": cell.table, "row_key": "|".join(cell.key), "column_name": cell.column,
                        "lower_bound": round(lo, 6), "upper_bound": round(hi, 6) if math.isfinite(hi) else None,
                        "protected": bool(need(lo, hi))})
    return pd.DataFrame.from_records(records, columns=["table_name", "row_key", "column_name", "lower_bound",
                                                      "upper_bound", "protected"])


# ------------------------------------------------------------------------------------- writing

def _apply(con: duckdb.DuckDBPyConnection, tables: Tables, system: System, withheld: set[str]) -> int:
    """Null every newly withheld shown cell (and its aliases), set its flag, null what is computed
    from a withheld count, and set each row's ``suppressed``. Returns the number of cells nulled."""
    nulled = 0
    for name, spec in tables.specs.items():
        rcols = set(_columns(con, "reporting", name))
        todo: dict[str, list[tuple[str, ...]]] = {}
        for cid in sorted(withheld):
            cell = system.cells[cid]
            if cell.table != name or cell.kind in ("latent", "known"):
                continue
            todo.setdefault(cell.column, []).append(cell.key)
        for column, keys in todo.items():
            group = spec.group_counts.get(column)
            key_cols = [k for k in (group or spec.keys) if k in spec.keys]
            frame = pd.DataFrame(keys, columns=key_cols)
            targets = [column] + [a for a, t in spec.aliases.items() if t == column and a in rcols]
            if column in spec.proxies:   # not shown itself: withholding it nulls the column that gives it away
                targets = [spec.proxies[column]] if spec.proxies[column] in rcols else []
                if not targets:
                    continue
                column = spec.proxies[column]
            sets = [f"{t} = null" for t in targets]
            sets += [f"{t}_suppressed = true" for t in targets if f"{t}_suppressed" in rcols]
            on = " and ".join(f"coalesce(cast(r.{k} as varchar), '') = h.{k}" for k in key_cols)
            con.register("_withheld", frame)
            try:
                before = con.execute(f"select count(*) from reporting.{name} as r where {column} is not null "
                                     f"and exists (select 1 from _withheld as h where {on})").fetchone()[0]
                con.execute(f"update reporting.{name} as r set {', '.join(sets)} "
                            f"where exists (select 1 from _withheld as h where {on})")
            finally:
                con.unregister("_withheld")
            nulled += before
        for column, base in spec.derived.items():
            present = [b for b in base if b in rcols]
            if column in rcols and present:
                flag = f", {column}_suppressed = true" if f"{column}_suppressed" in rcols else ""
                con.execute(f"update reporting.{name} set {column} = null{flag} where {column} is not null and ("
                            + " or ".join(f"{b} is null" for b in present) + ")")
        shown_as = tuple(spec.proxies.get(c, c) for c in spec.published) + tuple(spec.aliases)
        flags = [f"{c}_suppressed" for c in shown_as if f"{c}_suppressed" in rcols]
        if "suppressed" in rcols and flags:
            con.execute(f"update reporting.{name} set suppressed = " + " or ".join(flags))
    return nulled


def _record(con: duckdb.DuckDBPyConnection, audit: pd.DataFrame, context: str, min_cell: int) -> None:
    con.execute(AUDIT_DDL)
    frame = audit.assign(audited_at=dt.datetime.now().replace(microsecond=0), context=context, min_cell=min_cell)
    con.execute("delete from audit.disclosure_audit where context = ?", [context])
    if len(frame):
        con.register("_audit", frame)
        try:
            con.execute("insert into audit.disclosure_audit by name select * from _audit")
        finally:
            con.unregister("_audit")


@dataclass
class BuildAudit:
    """Summary of the audit recorded by the latest build (``audit.disclosure_audit``, context ``build``).

    Attributes:
        withheld: withheld cells audited. unprotected: how many of them are not protected.
        audited_at: when (None without rows). unprotected_cells: up to ``limit`` (table, row key, column).
    """

    withheld: int
    unprotected: int
    audited_at: dt.datetime | None
    unprotected_cells: list[tuple[str, str, str]]


def latest_build_audit(con: duckdb.DuckDBPyConnection, limit: int = 10) -> BuildAudit | None:
    """The latest build's audit (read-only), or None when no audit table exists yet; what the Dagster
    asset check and ``run`` report (SPEC 6)."""
    if "disclosure_audit" not in _existing(con, "audit"):
        return None
    n, bad, at = con.execute("select count(*), count(*) filter (where not protected), max(audited_at) "
                             "from audit.disclosure_audit where context = 'build'").fetchone()
    cells = con.execute("select table_name, row_key, column_name from audit.disclosure_audit where context = 'build' "
                        "and not protected order by 1, 2, 3 limit ?", [limit]).fetchall()
    return BuildAudit(int(n), int(bad), at, [tuple(c) for c in cells])


def protect_reporting(con: duckdb.DuckDBPyConnection, min_cell: int,
                      progress: Callable[[str], None] | None = None) -> Outcome:
    """Run the LP-driven secondary suppression over every reporting table, write the result into the
    reporting tables and ``audit.disclosure_audit`` (context ``build``), in one transaction.

    ``con``: a read-write connection. ``min_cell``: the smallest count shown (SPEC 6).
    Returns the :class:`Outcome`; a failed audit is recorded (``protected`` false), not raised: the
    Dagster asset check and ``release`` act on it.
    """
    tables = read_tables(con)
    system, withheld, ratios = build_system(tables, min_cell)
    first_pass = {c for c in withheld if system.cells[c].kind != "latent"}
    final, rounds = secondary_suppression(system, withheld, min_cell, progress)
    con.execute("begin transaction")
    try:
        _apply(con, tables, system, final - withheld)   # only what this step withholds
        shown_after = build_system(read_tables(con), min_cell)
        audit = audit_frame(shown_after[0], shown_after[1], shown_after[2], min_cell)
        _record(con, audit, "build", min_cell)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    added = len({c for c in final if system.cells[c].kind != "latent"} - first_pass)
    return Outcome(audit, added, rounds)


def require_protected(con: duckdb.DuckDBPyConnection, min_cell: int, what: str) -> dict:
    """Audit what the reporting tables show now, before ``what`` (a release, an export, the codebook)
    takes anything out of them (SPEC 6): also catches reporting tables that a build rewrote without the
    protection step finishing (e.g. a reader held the file).

    Returns a summary (method, withheld cells audited, min_cell, passed).
    Raises:
        DisclosureAuditFailed: a withheld small count can be narrowed below its protection interval; the
            message names the cells (never their values) and the fix.
    """
    outcome = audit_reporting(con, min_cell)
    if not outcome.passed:
        raise DisclosureAuditFailed(
            f"{what} refused: the disclosure audit of the reporting tables failed: {outcome.failures()}. "
            "Rebuild the reporting tables (`sofs-warehouse run --rebuild`), which withholds more cells, and "
            "try again.")
    return {"method": "feasible interval of every withheld cell by linear programming (HiGHS) over all "
                      "reporting tables (SPEC 6)",
            "withheld_cells": int(len(outcome.audit)), "min_cell": int(min_cell), "passed": True}


def audit_reporting(con: duckdb.DuckDBPyConnection, min_cell: int) -> Outcome:
    """The audit alone, from what the reporting tables show now (read-only): every withheld cell's
    feasible interval under every relation of :mod:`.tables`, including published rates."""
    system, withheld, ratios = build_system(read_tables(con), min_cell)
    return Outcome(audit_frame(system, withheld, ratios, min_cell), 0, 1)
