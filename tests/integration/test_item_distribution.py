"""marts.item_distribution and reporting.item_distribution (SPEC 4, 5, 6): missing-reason
rows, and no rows for an item a wave did not ask. Hand-written exports, expected values computed by hand.

Instrument ``dist_test`` (scheme agree5, declared missing codes -9 'weet niet' and -8 'wil niet zeggen'):
  q1  source Q1 in both waves
  q2  source {w1: Q2}: the instrument gives it no column in w2 (not asked)
  q3  source Q3 in both waves, but w2's export has no Q3 column (not asked); in w1 everybody left it empty
Wave w1, 20 responses: q1 = A4 x 6, A5 x 5, -9 x 3, -8 x 5, empty x 1; q2 = A3 x 20; q3 empty x 20.
Wave w2, 3 responses: q1 = A1, -9, A1.
The warehouse is built once per module (``dbt build --select +rpt_item_distribution``, default min_cell 5).
"""
from __future__ import annotations

import duckdb
import pytest

from orchestration import landing
from orchestration.instruments import load_instrument
from orchestration.readers.limesurvey import read_limesurvey_csv
from tests.conftest import run_dbt
from tests.helpers import write_export, write_survey_partition

KEY = b"item-distribution-test-key-0123456789abcdef"

INSTRUMENT = """
instrument: dist_test
population: staff
respondent_key: token
answer_schemes:
  agree5:
    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}
    labels: {1: helemaal niet akkoord, 2: eerder niet akkoord, 3: neutraal, 4: eerder akkoord, 5: helemaal akkoord}
    missing: {"-9": weet niet, "-8": wil niet zeggen}
items:
  - {item: q1, scheme: agree5, source: Q1}
  - {item: q2, scheme: agree5, source: {w1: Q2}}
  - {item: q3, scheme: agree5, source: Q3}
"""
META = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token"]
DONE = "2024-03-01 10:00:00"
Q1_W1 = ["A4"] * 6 + ["A5"] * 5 + ["-9"] * 3 + ["-8"] * 5 + [""]
W1 = [[str(i + 1), DONE, "2", "nl", "1", f"t{i + 1}", q1, "A3", ""] for i, q1 in enumerate(Q1_W1)]
W2 = [[str(i + 1), DONE, "2", "nl", "1", f"t{i + 1}", q1] for i, q1 in enumerate(["A1", "-9", "A1"])]


@pytest.fixture(scope="module")
def wh(tmp_path_factory, dbt_target):
    base = tmp_path_factory.mktemp("item_distribution")
    (base / "instruments").mkdir()
    (base / "instruments" / "dist_test.yaml").write_text(INSTRUMENT, encoding="utf-8")
    inst = load_instrument(base / "instruments" / "dist_test.yaml")
    path = base / "wh.duckdb"
    for wave, header, rows in (("w1", META + ["Q1", "Q2", "Q3"], W1), ("w2", META + ["Q1"], W2)):
        folder = base / "landing" / "surveys" / "dist_test" / wave
        data = write_export(folder / "responses.csv", [header, *rows])
        part = landing.Partition("survey", f"dist_test/{wave}", folder, (data,))
        read = read_limesurvey_csv(data, inst, wave)
        meta = {"fieldwork_start": None, "fieldwork_end": None, "anonymised": None}
        write_survey_partition(path, part, inst, read, meta, KEY)
    run_dbt(["build", "--select", "+rpt_item_distribution"], path, dbt_target)  # models and their dbt tests
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def rows(con, schema: str, wave: str, item: str, missing: bool) -> list[tuple]:
    cols = "value, value_label, n, n_valid, pct" + (", n_suppressed, suppressed" if schema == "reporting" else "")
    return con.execute(f"""select {cols} from {schema}.item_distribution
                           where instrument = 'dist_test' and wave = ? and item = ? and is_missing = ?
                           order by value, value_label""", [wave, item, missing]).fetchall()


def test_missing_reasons_have_their_own_rows(wh):
    # q1 w1: 3 x -9 'weet niet', 5 x -8 'wil niet zeggen'; n_valid = 6 + 5 = 11; the empty answer is nowhere
    assert rows(wh, "marts", "w1", "q1", True) == [(None, "weet niet", 3, 11, None),
                                                    (None, "wil niet zeggen", 5, 11, None)]
    assert rows(wh, "marts", "w2", "q1", True) == [(None, "weet niet", 1, 2, None)]
    assert rows(wh, "marts", "w1", "q2", True) == []   # nobody gave a missing reason
    assert rows(wh, "marts", "w1", "q3", True) == []


def test_valid_rows_unchanged_by_missing_reasons(wh):
    got = [(v, n, nv, None if p is None else round(p, 9)) for v, _l, n, nv, p in rows(wh, "marts", "w1", "q1", False)]
    assert got == [(1.0, 0, 11, 0.0), (2.0, 0, 11, 0.0), (3.0, 0, 11, 0.0),
                   (4.0, 6, 11, round(600 / 11, 9)), (5.0, 5, 11, round(500 / 11, 9))]
    # the valid categories still add up to n_valid: the missing rows are outside that sum
    (total,) = wh.execute("""select sum(n) from marts.item_distribution where instrument = 'dist_test'
                             and wave = 'w1' and item = 'q1' and not is_missing""").fetchone()
    assert total == 11


def test_no_rows_for_an_item_the_wave_did_not_ask(wh):
    got = dict(wh.execute("""select wave || '/' || item, count(*) from marts.item_distribution
                             where instrument = 'dist_test' group by 1""").fetchall())
    # w1: q1 5 categories + 2 missing reasons, q2 5, q3 5 (asked, nobody answered); w2: q1 5 + 1 missing
    # reason; w2/q2 (no source column for w2) and w2/q3 (column not in w2's export): none
    assert got == {"w1/q1": 7, "w1/q2": 5, "w1/q3": 5, "w2/q1": 6}


def test_asked_item_nobody_answered_keeps_zero_rows(wh):
    got = rows(wh, "marts", "w1", "q3", False)
    assert [(v, n, nv, p) for v, _l, n, nv, p in got] == [(float(v), 0, 0, None) for v in range(1, 6)]


def test_reporting_suppresses_small_missing_reason_outside_the_margin(wh):
    # 'weet niet' 3 < min_cell 5: withheld (primary); 'wil niet zeggen' 5 shown; pct null on both
    assert rows(wh, "reporting", "w1", "q1", True) == [(None, "weet niet", None, 11, None, True, True),
                                                        (None, "wil niet zeggen", 5, 11, None, False, False)]
    # the categories (0, 0, 0, 6, 5; n_valid 11) have nothing to protect: the withheld missing reason is
    # not in their margin, so no category is withheld with it
    got = [(v, n, nv, s) for v, _l, n, nv, _p, s, _ in rows(wh, "reporting", "w1", "q1", False)]
    assert got == [(1.0, 0, 11, False), (2.0, 0, 11, False), (3.0, 0, 11, False), (4.0, 6, 11, False),
                   (5.0, 5, 11, False)]


def test_reporting_has_no_rows_for_items_not_asked(wh):
    (n,) = wh.execute("""select count(*) from reporting.item_distribution
                         where instrument = 'dist_test' and wave = 'w2' and item in ('q2', 'q3')""").fetchone()
    assert n == 0
