"""Benchmark extract generator: ONE large, valid dossier extract in the SPEC 3.4 format.

Writes ``<landing>/dossiers/<extract_date>/`` with ``dossiers.csv``, ``placements.csv`` and
``practice_events.csv`` (UTF-8, ``,``-separated, ISO dates, LF; empty field = missing). Default size:
1,000,000 dossiers, 150,000 placement spells and 5,000,000 practice events, as of 2025-12-31.

The population is synthetic but shaped like the demo (``orchestration/demo/dossiers.py``), so that
every definition of SPEC 5 has work to do:

- children with one or more dossiers in a chain: a child's next dossier is registered some time
  after the previous one closed (sometimes on the closure day, often within a year: reopenings and
  re-entries), so ``reopened_within_365d`` / ``is_reentry`` are exercised;
- closures log-normal from weeks to years after registration (SDJ runs longer), open dossiers
  censored at the extract date (Kaplan-Meier);
- placement spells for roughly one dossier in ten (more often SDJ), 1-4 spells per dossier (moves),
  the last one sometimes ongoing; a few starting up to 29 days before registration (allowed);
- SofS practice events in a share of dossiers that grows over the registration years, more events
  in longer dossiers; scaling questions carry a 0-10 value and a rater, other events neither.

The extract passes the quality gate of ``orchestration/quality/dossiers.py`` without errors (and,
being a first extract, without warnings): unique ids, codes from the SPEC 3.4 lists, every date on
or before the extract date, closures not before registration, placements inside their dossier
(start >= registration - 29 days, start <= closure, end >= start, end <= closure), events between
registration and closure.

Everything is vectorised with numpy (one ``Generator`` seeded by ``--seed``: the same arguments give
the same bytes); the CSV files are written by DuckDB ``COPY`` from Arrow tables, not row by row.

Usage::

    python bench/generate.py --landing /tmp/landing                 # full size
    python bench/generate.py --landing /tmp/landing --scale 0.01    # 10,000 / 1,500 / 50,000
"""
from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

#: Default sizes (the 1,000,000-dossier benchmark).
N_DOSSIERS, N_PLACEMENTS, N_EVENTS = 1_000_000, 150_000, 5_000_000
EXTRACT_DATE = date(2025, 12, 31)
FIRST_REGISTRATION = date(2014, 1, 1)

# codes of SPEC 3.4
REGIONS = ["Antwerpen", "Oost-Vlaanderen", "West-Vlaanderen", "Vlaams-Brabant en Brussel", "Limburg"]
REGION_WEIGHTS = [0.28, 0.23, 0.18, 0.17, 0.14]
TEAMS_PER_REGION = 4
SEXES = ["M", "V", "X", ""]
SEX_WEIGHTS = [0.49, 0.49, 0.005, 0.015]
CLOSURE_REASONS = ["doelen_bereikt", "doorverwijzing", "verhuis", "meerderjarig", "weigering_hulp", "andere"]
CLOSURE_REASON_WEIGHTS = [0.45, 0.2, 0.08, 0.07, 0.1, 0.1]
PLACEMENT_TYPES = ["foster_family", "kinship_foster", "residential", "independent_living", "other"]
PLACEMENT_TYPE_WEIGHTS = [0.33, 0.25, 0.32, 0.05, 0.05]
EVENT_TYPES = ["mapping", "three_houses", "words_and_pictures", "network_meeting", "safety_plan",
               "scaling_question"]
EVENT_TYPE_WEIGHTS = [0.2, 0.1, 0.08, 0.17, 0.1, 0.35]
RATERS = ["worker", "parent", "child", "network"]
RATER_WEIGHTS = [0.6, 0.25, 0.1, 0.05]

_EPOCH = date(1970, 1, 1).toordinal()


def _day(d: date) -> int:
    """Days since 1970-01-01 (Arrow ``date32``)."""
    return d.toordinal() - _EPOCH


def generate(landing: Path, *, n_dossiers: int = N_DOSSIERS, n_placements: int = N_PLACEMENTS,
             n_events: int = N_EVENTS, extract_date: date = EXTRACT_DATE, seed: int = 20251231) -> dict[str, Path]:
    """Write one extract folder ``landing/dossiers/<extract_date>/`` and return its files by table.

    Args:
        landing: landing-zone root (SPEC 3); the extract folder is created (files overwritten).
        n_dossiers, n_placements, n_events: exact row counts of the three files.
        extract_date: the as-of date (folder name); no date in the files is later.
        seed: seed of the numpy Generator.

    Returns:
        ``{"dossiers": path, "placements": path, "practice_events": path}``.
    """
    if n_dossiers < 1 or n_placements < 0 or n_events < 0:
        raise ValueError("row counts must be positive (at least one dossier)")
    rng = np.random.default_rng(seed)
    folder = Path(landing) / "dossiers" / extract_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    end = _day(extract_date)
    dossiers = _dossiers(rng, n_dossiers, _day(FIRST_REGISTRATION), end)
    placements = _placements(rng, dossiers, n_placements, end)
    events = _events(rng, dossiers, n_events, end)
    files = {name: folder / f"{name}.csv" for name in ("dossiers", "placements", "practice_events")}
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        _write(con, files["dossiers"], _dossier_table(dossiers), """
            select 'DOS-' || lpad(cast(dossier_no as varchar), 7, '0') as dossier_id,
                   'K' || lpad(cast(child_no as varchar), 10, '0') as child_id,
                   service, region, team, registration_date, closure_date, closure_reason, birth_year,
                   sex
            from src""")
        _write(con, files["placements"], placements, """
            select 'PL-' || lpad(cast(placement_no as varchar), 7, '0') as placement_id,
                   'DOS-' || lpad(cast(dossier_no as varchar), 7, '0') as dossier_id,
                   start_date, end_date, placement_type
            from src""")
        _write(con, files["practice_events"], events, """
            select 'EV-' || lpad(cast(event_no as varchar), 8, '0') as event_id,
                   'DOS-' || lpad(cast(dossier_no as varchar), 7, '0') as dossier_id,
                   event_date, event_type, value, rated_by
            from src""")
    finally:
        con.close()
    return files


# --------------------------------------------------------------------------------------------------
# dossiers

def _dossiers(rng: np.random.Generator, n: int, first: int, end: int) -> dict[str, np.ndarray]:
    """``n`` dossiers in chains per child, ordered by registration; dates as int day numbers.

    Returns arrays: dossier_no (1..n in registration order), child_no, sdj (bool), region (index),
    team (index within region), registration, closure (-1 while open at ``end``), closure_reason
    (index), birth_year, sex (index).
    """
    span = end - first
    # enough children that their chains (cut at the extract date) hold at least n dossiers
    n_children = int(n * 1.1) + 100
    while True:
        chain = np.minimum(rng.geometric(0.78, size=n_children), 6)  # dossiers per child, mean ~1.27
        child = np.repeat(np.arange(n_children), chain)
        first_of_child = np.concatenate(([0], np.cumsum(chain)[:-1]))
        position = np.arange(len(child)) - first_of_child[child]
        # first registrations: more in later years (caseloads grow), over the whole window
        r0 = first + np.floor(span * rng.random(n_children) ** 0.8).astype(np.int64)
        sdj = rng.random(len(child)) < 0.42
        median = np.where(sdj, 480.0, 260.0)
        duration = np.ceil(median * np.exp(0.85 * rng.standard_normal(len(child)))).astype(np.int64)
        # gap from a closure to the child's next registration: often within a year (reopening),
        # sometimes the same day, sometimes years later
        soon = rng.random(len(child)) < 0.75
        gap = np.where(soon, np.floor(rng.exponential(120.0, len(child))),
                       365 + np.floor(rng.exponential(500.0, len(child)))).astype(np.int64)
        step = np.where(position == 0, r0[child], np.roll(duration, 1) + gap)
        total = np.cumsum(step)
        registration = total - (total[first_of_child] - step[first_of_child])[child]
        keep = registration <= end
        if keep.sum() >= n:
            break
        n_children = int(n_children * 1.3)
    # the first n dossiers in child order (whole chains except the last child's), then by registration
    index = np.flatnonzero(keep)[:n]
    child, sdj, duration, registration = child[index], sdj[index], duration[index], registration[index]
    closure = registration + duration
    closure = np.where(closure <= end, closure, -1)
    # child attributes (region, sex, birth year) constant over the chain
    _, child = np.unique(child, return_inverse=True)
    n_kids = int(child.max()) + 1
    kid_region = rng.choice(len(REGIONS), size=n_kids, p=REGION_WEIGHTS)
    kid_sex = rng.choice(len(SEXES), size=n_kids, p=SEX_WEIGHTS)
    first_reg = np.full(n_kids, np.iinfo(np.int64).max)
    np.minimum.at(first_reg, child, registration)
    age_days = np.floor(rng.integers(0, 17, size=n_kids) * 365.25).astype(np.int64) + rng.integers(0, 365, size=n_kids)
    kid_birth = first_reg - age_days
    birth_year = (np.datetime64("1970-01-01") + kid_birth.astype("timedelta64[D]")).astype("datetime64[Y]")
    birth_year = birth_year.astype(np.int64) + 1970
    kid_no = rng.permutation(n_kids) + 1  # child numbers not in registration order
    order = np.lexsort((child, registration))
    return {
        "dossier_no": np.arange(1, n + 1),
        "child_no": kid_no[child[order]],
        "sdj": sdj[order],
        "region": kid_region[child[order]],
        "team": rng.integers(0, TEAMS_PER_REGION, size=n),
        "registration": registration[order],
        "closure": closure[order],
        "closure_reason": rng.choice(len(CLOSURE_REASONS), size=n, p=CLOSURE_REASON_WEIGHTS),
        "birth_year": birth_year[child[order]],
        "sex": kid_sex[child[order]],
    }


def _dossier_table(d: dict[str, np.ndarray]) -> pa.Table:
    closed = d["closure"] >= 0
    team_names = np.array([f"{r} team {t + 1}" for r in REGIONS for t in range(TEAMS_PER_REGION)], dtype=object)
    return pa.table({
        "dossier_no": d["dossier_no"],
        "child_no": d["child_no"],
        "service": _codes(["OCJ", "SDJ"], d["sdj"].astype(np.int8)),
        "region": _codes(REGIONS, d["region"]),
        "team": _codes(list(team_names), d["region"] * TEAMS_PER_REGION + d["team"]),
        "registration_date": _dates(d["registration"]),
        "closure_date": _dates(d["closure"], valid=closed),
        "closure_reason": _codes(CLOSURE_REASONS, d["closure_reason"], valid=closed),
        "birth_year": d["birth_year"],
        "sex": _codes(SEXES, d["sex"], valid=d["sex"] != SEXES.index("")),
    })


# --------------------------------------------------------------------------------------------------
# placements

def _placements(rng: np.random.Generator, d: dict[str, np.ndarray], n: int, end: int) -> pa.Table:
    """Exactly ``n`` placement spells (1-4 per placed dossier, in start order; moves in between)."""
    if n == 0:
        return _placement_arrow(*(np.empty(0, dtype=np.int64) for _ in range(5)))
    reg, closure = d["registration"], d["closure"]
    last_day = np.where(closure >= 0, closure, end)  # a spell starts on or before the dossier ends
    weight = np.where(d["sdj"], 2.5, 1.0)
    spells_per_dossier = 1.55
    target = n / spells_per_dossier * 1.35  # oversample: some spells fall after the dossier ended
    while True:
        p = np.minimum(1.0, weight * target / weight.sum())
        placed = rng.permutation(np.flatnonzero(rng.random(len(reg)) < p))  # random order for the cut
        k = np.minimum(rng.geometric(0.62, size=len(placed)), 4)
        dossier = np.repeat(placed, k)
        first_of = np.concatenate(([0], np.cumsum(k)[:-1]))
        position = np.arange(len(dossier)) - np.repeat(first_of, k)
        # first spell: soon after registration (15 %: up to 29 days before it, allowed by SPEC 3.4)
        early = rng.random(len(placed)) < 0.15
        offset = np.where(early, -rng.integers(0, 30, size=len(placed)),
                          np.floor(rng.exponential(120.0, size=len(placed)))).astype(np.int64)
        length = np.ceil(200.0 * np.exp(0.9 * rng.standard_normal(len(dossier)))).astype(np.int64)
        pause = rng.integers(0, 30, size=len(dossier))
        step = np.where(position == 0, reg[dossier] + np.repeat(offset, k), np.roll(length + pause, 1))
        total = np.cumsum(step)
        start = total - np.repeat(total[first_of] - step[first_of], k)
        stop = start + length
        valid = start <= last_day[dossier]
        # ends: cut at the closure; ongoing (empty) when an open dossier's spell runs past the extract date
        closed = closure[dossier] >= 0
        stop = np.where(closed, np.minimum(stop, closure[dossier]), np.where(stop <= end, stop, -1))
        # a spell after an ongoing one cannot start (its start is past the extract date: not valid)
        idx = np.flatnonzero(valid)
        if len(idx) >= n:
            break
        target *= 1.3
    idx = idx[:n]
    dossier, start, stop = dossier[idx], start[idx], stop[idx]
    kind = rng.choice(len(PLACEMENT_TYPES), size=n, p=PLACEMENT_TYPE_WEIGHTS)
    order = np.lexsort((start, dossier))
    return _placement_arrow(np.arange(1, n + 1), d["dossier_no"][dossier[order]], start[order], stop[order],
                            kind[order])


def _placement_arrow(no, dossier_no, start, stop, kind) -> pa.Table:
    return pa.table({
        "placement_no": no, "dossier_no": dossier_no, "start_date": _dates(start),
        "end_date": _dates(stop, valid=stop >= 0), "placement_type": _codes(PLACEMENT_TYPES, kind),
    })


# --------------------------------------------------------------------------------------------------
# practice events

def _events(rng: np.random.Generator, d: dict[str, np.ndarray], n: int, end: int) -> pa.Table:
    """Exactly ``n`` practice events, in dossiers whose SofS share grows with the registration year."""
    reg, closure = d["registration"], d["closure"]
    last_day = np.where(closure >= 0, closure, end)
    year = (np.datetime64("1970-01-01") + reg.astype("timedelta64[D]")).astype("datetime64[Y]").astype(np.int64) + 1970
    share = np.clip(0.1 + 0.07 * (year - 2014), 0.1, 0.85)
    with_practice = np.flatnonzero(rng.random(len(reg)) < share)
    if n == 0 or len(with_practice) == 0:
        with_practice = np.arange(len(reg))
    # more events in longer dossiers (capped at three years)
    weight = 10.0 + np.minimum(last_day - reg, 1095)[with_practice]
    dossier = with_practice[rng.choice(len(with_practice), size=n, p=weight / weight.sum())]
    event_date = reg[dossier] + np.floor(rng.random(n) * (last_day[dossier] - reg[dossier] + 1)).astype(np.int64)
    kind = rng.choice(len(EVENT_TYPES), size=n, p=EVENT_TYPE_WEIGHTS)
    scaling = kind == EVENT_TYPES.index("scaling_question")
    # scores drift upwards over the dossier: later events score higher on average
    progress = (event_date - reg[dossier]) / np.maximum(1, last_day[dossier] - reg[dossier])
    value = np.clip(np.rint(3 + 5 * progress + 1.8 * rng.standard_normal(n)), 0, 10)
    rater = rng.choice(len(RATERS), size=n, p=RATER_WEIGHTS)
    order = np.lexsort((event_date, dossier))
    scaling = scaling[order]
    return pa.table({
        "event_no": np.arange(1, n + 1),
        "dossier_no": d["dossier_no"][dossier[order]],
        "event_date": _dates(event_date[order]),
        "event_type": _codes(EVENT_TYPES, kind[order]),
        "value": pa.array(value[order].astype(np.int64), mask=~scaling),
        "rated_by": _codes(RATERS, rater[order], valid=scaling),
    })


# --------------------------------------------------------------------------------------------------
# helpers

def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Day numbers as an Arrow date32 array (null where ``valid`` is False)."""
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.date32(), mask=mask)


def _codes(labels: list[str], index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Code labels by index as a dictionary-encoded Arrow array, decoded to plain strings."""
    indices = pa.array(np.asarray(index, dtype=np.int32),
                       mask=None if valid is None else ~np.asarray(valid, dtype=bool))
    return pa.DictionaryArray.from_arrays(indices, pa.array(labels, type=pa.string())).dictionary_decode()


def _write(con: duckdb.DuckDBPyConnection, path: Path, table: pa.Table, select: str) -> None:
    """``COPY (select ... from table) TO path`` as CSV with a header, ``,``, LF, empty = missing."""
    con.register("src", table)
    try:
        con.execute(f"copy ({select}) to '{path.as_posix()}' (format csv, header true, delimiter ',')")
    finally:
        con.unregister("src")


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--landing", required=True, type=Path, help="landing-zone root")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default sizes (e.g. 0.01)")
    parser.add_argument("--dossiers", type=int, help=f"dossiers (default {N_DOSSIERS:,} x scale)")
    parser.add_argument("--placements", type=int, help=f"placements (default {N_PLACEMENTS:,} x scale)")
    parser.add_argument("--events", type=int, help=f"practice events (default {N_EVENTS:,} x scale)")
    parser.add_argument("--extract-date", type=date.fromisoformat, default=EXTRACT_DATE)
    parser.add_argument("--seed", type=int, default=20251231)
    args = parser.parse_args(argv)
    sizes = sizes_for(args.scale, args.dossiers, args.placements, args.events)
    t0 = time.monotonic()
    files = generate(args.landing, n_dossiers=sizes[0], n_placements=sizes[1], n_events=sizes[2],
                     extract_date=args.extract_date, seed=args.seed)
    print(f"wrote {sizes[0]:,} dossiers, {sizes[1]:,} placements, {sizes[2]:,} practice events "
          f"to {files['dossiers'].parent} in {time.monotonic() - t0:.1f} s")
    return 0


def sizes_for(scale: float, dossiers: int | None = None, placements: int | None = None,
              events: int | None = None) -> tuple[int, int, int]:
    """Row counts: explicit values win, else the defaults times ``scale`` (at least one dossier)."""
    return (dossiers if dossiers is not None else max(1, round(N_DOSSIERS * scale)),
            placements if placements is not None else round(N_PLACEMENTS * scale),
            events if events is not None else round(N_EVENTS * scale))


if __name__ == "__main__":
    raise SystemExit(main())
