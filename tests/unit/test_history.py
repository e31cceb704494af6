"""The dossier change history (orchestration/history.py, SPEC 4): every loaded extract is reconstructible
exactly, whatever the order of loads, reloads and retractions; a load adds only what changed.

The expected values are the snapshots themselves (kept in Python beside the warehouse), never read back
from the code under test.
"""
from __future__ import annotations

import random
from datetime import date

import duckdb
import pandas as pd
import pytest

from orchestration import history, warehouse

D = [date(2024, 3, 31), date(2024, 6, 30), date(2024, 9, 30), date(2024, 12, 31), date(2025, 3, 31)]


def dossier(i: int, closure=None, region="Limburg", team=None) -> dict:
    return {"dossier_key": f"d{i:03d}", "child_key": f"c{i % 37:03d}", "service": "OCJ" if i % 2 else "SDJ",
            "region": region, "team_key": None if team is None else f"t{team}", "team": team,
            "registration_date": date(2023, 1 + i % 12, 1 + i % 28), "closure_date": closure,
            "closure_reason": None if closure is None else "doelen_bereikt",
            "birth_year": 2008 + i % 9 if i % 5 else None, "sex": "MVX"[i % 3]}


def snapshots(seed: int, n: int = 60) -> list[dict[str, pd.DataFrame]]:
    """Five evolving snapshots: dossiers registered, closed, corrected, vanished and back; placements and
    events appended and edited; the file order shuffled each time (a moved row is not a change)."""
    rng = random.Random(seed)
    live = {i: dossier(i) for i in range(n)}
    placements = {f"p{i}": {"placement_key": f"p{i}", "dossier_key": f"d{i:03d}", "start_date": date(2023, 6, 1),
                            "end_date": None, "placement_type": "residential"} for i in range(0, n, 4)}
    events = {f"e{i}": {"event_key": f"e{i}", "dossier_key": f"d{i % n:03d}", "event_date": date(2023, 7, 1),
                        "event_type": "scaling_question", "value": float(i % 11), "rated_by": "worker"}
              for i in range(0, 2 * n, 3)}
    out, hidden = [], {}
    for k, _ in enumerate(D):
        if k:
            for i in rng.sample(sorted(live), 6):                     # closures
                live[i] = dict(live[i], closure_date=date(2024, 1 + k, 15), closure_reason="doelen_bereikt")
            for i in rng.sample(sorted(live), 2):                     # corrections
                live[i] = dict(live[i], region="Antwerpen", team="Team 1", team_key="t1")
            for i in range(n + 5 * (k - 1), n + 5 * k):               # new registrations
                live[i] = dossier(i)
            back = list(hidden.items())                               # a vanished dossier comes back
            hidden = {i: live.pop(i) for i in rng.sample(sorted(live), 2)}
            live.update(back)
            for key in rng.sample(sorted(placements), 2):
                placements[key] = dict(placements[key], end_date=date(2024, 1 + k, 1))
            placements[f"p_new{k}"] = {"placement_key": f"p_new{k}", "dossier_key": "d001",
                                       "start_date": date(2024, k, 2), "end_date": None, "placement_type": "other"}
            for key in rng.sample(sorted(events), 3):
                events[key] = dict(events[key], value=None if rng.random() < 0.3 else 10.0)
            events.pop(rng.choice(sorted(events)))
        snap = {}
        for name, rows in (("raw.dossiers", live), ("raw.placements", placements), ("raw.practice_events", events)):
            records = list(rows.values())
            rng.shuffle(records)
            frame = pd.DataFrame(records, columns=list(history.BY_FRAME[name].content))
            frame["source_line"] = range(2, len(frame) + 2)
            snap[name] = frame
        out.append(snap)
    return out


def content(frame: pd.DataFrame, name: str) -> list[tuple]:
    """The rows of an extract file as sorted tuples of its content columns (None for every kind of null)."""
    cols = list(history.BY_FRAME[name].content)
    rows = []
    for rec in frame[cols].itertuples(index=False):
        rows.append(tuple(None if pd.isna(v) else (v.date() if isinstance(v, pd.Timestamp) else v) for v in rec))
    return sorted(rows, key=repr)


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute(warehouse.RAW_DDL)
    yield c
    c.close()


def load(con, k: int, snap) -> history.ExtractChange:
    return history.load_extract(con, D[k], D[k].isoformat(), f"load{k}", snap)


def assert_reconstructs(con, expected: dict[date, dict[str, pd.DataFrame]]) -> None:
    assert history.extract_dates(con) == sorted(expected)
    for d, snap in expected.items():
        got = history.as_of(con, d)
        for name in history.BY_FRAME:
            assert content(got[name], name) == content(snap[name], name), (d, name)


def versions(con) -> dict[str, list[tuple]]:
    """Every history table's rows without provenance (the state a retraction must restore)."""
    out = {}
    for t in history.TABLES:
        cols = ", ".join(t.content + history.VALIDITY)
        out[t.table] = con.execute(f"select {cols} from {t.table} order by all").fetchall()
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_loaded_extract_is_reconstructed_exactly(con, seed):
    snaps = snapshots(seed)
    for k, snap in enumerate(snaps):
        load(con, k, snap)
    assert_reconstructs(con, dict(zip(D, snaps)))
    # stored: versions, far fewer rows than the five snapshots together
    stored = sum(con.execute(f"select count(*) from {t.table}").fetchone()[0] for t in history.TABLES)
    delivered = sum(len(f) for s in snaps for f in s.values())
    assert stored < 0.45 * delivered


def test_a_load_adds_only_what_changed(con):
    snaps = snapshots(4)
    load(con, 0, snaps[0])
    before = versions(con)["raw.dossier_versions"]
    change = load(con, 1, snaps[1])
    # expected by hand from the two snapshots: a dossier changed, came, or vanished
    old = {r[0]: r for r in content(snaps[0]["raw.dossiers"], "raw.dossiers")}
    new = {r[0]: r for r in content(snaps[1]["raw.dossiers"], "raw.dossiers")}
    added = sum(1 for k, r in new.items() if old.get(k) != r)
    closed = sum(1 for k, r in old.items() if new.get(k) != r)
    assert change.inserted["raw.dossiers"] == added and change.closed["raw.dossiers"] == closed
    assert len(versions(con)["raw.dossier_versions"]) == len(before) + added
    assert change.rows == {name: len(f) for name, f in snaps[1].items()}
    # the same extract again: nothing changes
    again = load(con, 1, snaps[1])
    assert sum(again.inserted.values()) == sum(change.inserted.values())
    assert_reconstructs(con, {D[0]: snaps[0], D[1]: snaps[1]})


def test_retracting_the_latest_restores_the_previous_state_exactly(con):
    snaps = snapshots(5)
    for k in range(3):
        load(con, k, snaps[k])
    state = versions(con)
    load(con, 3, snaps[3])
    history.remove_extract(con, D[3])
    assert versions(con) == state
    assert_reconstructs(con, dict(zip(D[:3], snaps[:3])))


@pytest.mark.parametrize("order", [[0, 2, 3, 1, 4], [4, 3, 2, 1, 0], [1, 0, 4, 2, 3]])
def test_out_of_order_loads_give_the_history_of_in_order_loads(con, order):
    snaps = snapshots(6)
    for k in order:
        load(con, k, snaps[k])
    assert_reconstructs(con, dict(zip(D, snaps)))
    in_order = duckdb.connect()
    in_order.execute(warehouse.RAW_DDL)
    for k in range(5):
        load(in_order, k, snaps[k])
    assert versions(con) == versions(in_order)


def test_retracting_or_reloading_a_middle_extract(con):
    snaps = snapshots(7)
    for k in range(5):
        load(con, k, snaps[k])
    history.remove_extract(con, D[2])
    expected = {d: s for k, (d, s) in enumerate(zip(D, snaps)) if k != 2}
    assert_reconstructs(con, expected)
    fresh = duckdb.connect()
    fresh.execute(warehouse.RAW_DDL)
    for k in (0, 1, 3, 4):
        load(fresh, k, snaps[k])
    assert versions(con) == versions(fresh)
    # the middle extract delivered again with other content (the 4th snapshot's rows, say)
    load(con, 2, snaps[3])
    expected[D[2]] = snaps[3]
    assert_reconstructs(con, expected)


def test_retract_of_an_unknown_extract_is_refused(con):
    with pytest.raises(ValueError, match="no dossier extract dated 2024-03-31"):
        history.remove_extract(con, D[0])


def test_repeated_key_is_refused(con):
    snap = snapshots(8)[0]
    snap["raw.placements"] = pd.concat([snap["raw.placements"], snap["raw.placements"].head(1)])
    with pytest.raises(ValueError, match="placement_key must be present and unique"):
        load(con, 0, snap)


def test_unchanged_mask_marks_rows_equal_to_the_latest_version(con):
    snaps = snapshots(9)
    frame = snaps[1]["raw.dossiers"].set_index(pd.RangeIndex(100, 100 + len(snaps[1]["raw.dossiers"])))
    assert not history.unchanged_mask(con, "raw.dossiers", frame).any()  # nothing loaded yet
    load(con, 0, snaps[0])
    mask = history.unchanged_mask(con, "raw.dossiers", frame)
    old = set(content(snaps[0]["raw.dossiers"], "raw.dossiers"))
    expected = [content(frame.loc[[i]], "raw.dossiers")[0] in old for i in frame.index]
    assert mask.index.equals(frame.index) and mask.tolist() == expected and 0 < sum(expected) < len(frame)


def test_a_warehouse_with_full_copies_is_migrated_to_versions(tmp_path):
    """A warehouse made before the history keeps one copy per extract in raw.dossiers, raw.placements and
    raw.practice_events: opening it for writing turns them into versions once, losing nothing."""
    snaps = snapshots(10)
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    for name in history.BY_FRAME:
        t = history.BY_FRAME[name]
        frames = []
        for d, s in zip(D, snaps):
            f = s[name].copy()
            f.insert(0, "partition_key", d.isoformat())
            f.insert(1, "extract_date", pd.Timestamp(d))
            f["load_id"] = f"old-{d.isoformat()}"
            frames.append(f)
        con.register("_f", pd.concat(frames, ignore_index=True))
        con.execute(f"create table {name} as select * from _f")
        con.unregister("_f")
        assert t.table != name
    con.close()
    with warehouse.write_connection(db) as con:
        assert_reconstructs(con, dict(zip(D, snaps)))
        left = con.execute("""select count(*) from information_schema.tables where table_schema = 'raw'
                              and table_name in ('dossiers', 'placements', 'practice_events')""").fetchone()[0]
        assert left == 0
        assert con.execute("select load_id from raw.dossier_extracts order by extract_date").fetchall() == [
            (f"old-{d.isoformat()}",) for d in D]


def test_more_rows_than_one_row_group_inside_a_transaction(con):
    """130,000 events in one file, loaded inside a transaction as the ingest does: all stored, and all of them
    reconstructed (DuckDB 2.0.0 drops rows past 122,880 inserted from pandas into an empty temp table there)."""
    n = 130_000
    events = pd.DataFrame({"event_key": [f"e{i}" for i in range(n)], "dossier_key": "d001",
                           "event_date": pd.Timestamp("2024-01-02"), "event_type": "mapping", "value": None,
                           "rated_by": None, "source_line": range(2, n + 2)})
    snap = {"raw.dossiers": snapshots(11)[0]["raw.dossiers"], "raw.practice_events": events}
    with warehouse.transaction(con):
        change = load(con, 0, snap)
    assert change.rows["raw.practice_events"] == n == change.inserted["raw.practice_events"]
    assert con.execute("select count(*) from raw.dossier_event_versions").fetchone()[0] == n
    later = dict(snap, **{"raw.practice_events": events.iloc[: n - 10]})
    with warehouse.transaction(con):
        change = load(con, 1, later)
    assert change.closed["raw.practice_events"] == 10 and change.inserted["raw.practice_events"] == 0
    with warehouse.transaction(con):
        history.remove_extract(con, D[0])  # peel the later extract, retract, replay
    assert len(history.as_of(con, D[1])["raw.practice_events"]) == n - 10


def test_copies_written_by_an_older_version_after_the_conversion_are_placed_where_they_belong(tmp_path):
    """An older version of the product (e.g. a daemon not yet upgraded) writes raw.dossiers again after the
    conversion, here a changed 2024-06-30 without team_key: the next write places it in the history as a
    reload of that date, and the later extracts still reconstruct exactly."""
    snaps = snapshots(12)
    db = tmp_path / "wh.duckdb"
    with warehouse.write_connection(db) as con:
        for k, snap in enumerate(snaps):
            load(con, k, snap)
    changed = snaps[3]   # the content of another quarter, delivered as 2024-06-30 by the old code
    con = duckdb.connect(str(db))
    con.execute("insert into audit.dbt_builds (finished_at, n_models) values (current_timestamp, 40)")  # marts built
    for name in history.BY_FRAME:
        f = changed[name].copy()
        f.insert(0, "partition_key", D[1].isoformat())
        f.insert(1, "extract_date", pd.Timestamp(D[1]))
        f["load_id"] = "old-code"
        if name == "raw.dossiers":
            f = f.drop(columns=["team_key"])
        con.register("_f", f)
        con.execute(f"create table {name} as select * from _f")
        con.unregister("_f")
    con.close()
    with warehouse.write_connection(db) as con:
        expected = dict(zip(D, snaps))
        expected[D[1]] = {n: (f.assign(team_key=None) if n == "raw.dossiers" else f) for n, f in changed.items()}
        assert_reconstructs(con, expected)
        assert con.execute("select count(*) from audit.dbt_builds").fetchone()[0] == 0  # marts rebuilt next run


def test_as_of_takes_a_date_or_its_iso_text(con):
    snaps = snapshots(13)
    load(con, 0, snaps[0])
    by_text = history.as_of(con, D[0].isoformat())
    assert content(by_text["raw.dossiers"], "raw.dossiers") == content(snaps[0]["raw.dossiers"], "raw.dossiers")
    with pytest.raises(ValueError, match="no dossier extract dated 2024-06-30"):
        history.as_of(con, "2024-06-30")
