"""Survey marts on hand-made responses (SPEC 5): reverse scoring, the minimum-valid-items rule,
Cronbach's alpha (by hand and against pingouin on the demo data), item crosswalk and scheme changes,
panel participation, duplicate respondents."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pingouin
import pytest

from orchestration import ingest, landing
from orchestration.instruments import load_instrument
from orchestration.readers.limesurvey import read_limesurvey_csv
from tests.conftest import run_dbt
from tests.helpers import write_export, write_survey_partition

KEY = b"survey-marts-test-key-0123456789abcdef"

INSTRUMENT = """
instrument: scale_test
population: staff
respondent_key: token
answer_schemes:
  agree5:
    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}
    labels: {1: helemaal niet akkoord, 2: eerder niet akkoord, 3: neutraal, 4: eerder akkoord, 5: helemaal akkoord}
    missing: {"-9": weet niet}
  agree5_freq:          # the coding of agree5 with other labels: a labels-only version, comparable
    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}
    labels: {1: nooit, 2: zelden, 3: soms, 4: vaak, 5: altijd}
    missing: {"-9": weet het niet}
  agree5_rev:           # another coding (codes in reverse order): not comparable with agree5
    codes: {A1: 5, A2: 4, A3: 3, A4: 2, A5: 1}
    labels: {1: helemaal niet akkoord, 2: eerder niet akkoord, 3: neutraal, 4: eerder akkoord, 5: helemaal akkoord}
    missing: {"-9": weet niet}
constructs:
  c3: {label: Drie items, min_valid_share: 0.5}
  c4: {label: Een item, min_valid_share: 0.5}
items:
  - {item: q1, scheme: agree5, construct: c3, source: "Q[SQ001]"}
  - {item: q2, scheme: {w1: agree5, w2: agree5_freq}, construct: c3, reverse: true, source: "Q[SQ002]"}
  - {item: q3, scheme: {w1: agree5, default: agree5_rev}, construct: c3, source: {w1: "Q[SQ003]", w2: "QNEW"}}
  - {item: q4, scheme: {w1: agree5, default: agree5_freq}, construct: c4, source: "Q[SQ004]"}
"""
HEADER_W1 = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "Q[SQ001]", "Q[SQ002]", "Q[SQ003]",
             "Q[SQ004]"]
HEADER_W2 = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "Q[SQ001]", "Q[SQ002]", "QNEW",
             "Q[SQ004]"]
DONE = "2024-03-01 10:00:00"
# c3 scores (q2 reverse-scored: 6 - value); q4 alone makes c4 (score = its value)
W1 = [   # every item on agree5 (A1..A5 -> 1..5)
    ["1", DONE, "2", "nl", "1", "tA", "A4", "A2", "A5", "A2"],   # 4, 6-2=4, 5 -> score 13/3
    ["2", DONE, "2", "nl", "1", "tB", "A5", "", "", "A3"],       # 1 valid of 3 < ceil(1.5)=2 -> null
    ["3", DONE, "2", "nl", "1", "tC", "A2", "-9", "A4", "A3"],   # 2 valid (2, 4) -> 3.0; -9 is a missing reason
    ["4", DONE, "2", "nl", "1", "tD", "A1", "A5", "A1", "A4"],   # 1, 1, 1 -> 1.0
    ["5", DONE, "2", "nl", "1", "tE", "A3", "A4", "A2", "A5"],   # 3, 2, 2 -> 7/3
]
W2 = [   # q2 and q4 on agree5_freq (same codes), q3 on agree5_rev (A1..A5 -> 5..1)
    ["1", "", "1", "nl", "1", "tA", "A3", "", "", ""],           # partial, superseded by response 2
    ["2", DONE, "2", "nl", "1", "tA", "A5", "A1", "A5", "A4"],   # 5, 6-1=5, A5->1 -> 11/3
    ["3", DONE, "2", "nl", "1", "tD", "A2", "A4", "A3", "A1"],   # 2, 6-4=2, A3->3 -> 7/3
]


def load(wh: Path, partition: landing.Partition, instrument, data_file: Path) -> None:
    read = read_limesurvey_csv(data_file, instrument, partition.wave)
    meta = ingest.read_wave_yaml(partition.folder / "wave.yaml") if (partition.folder / "wave.yaml").exists() else \
        {"fieldwork_start": None, "fieldwork_end": None, "anonymised": None}
    write_survey_partition(wh, partition, instrument, read, meta, KEY)


@pytest.fixture(scope="module")
def marts(tmp_path_factory, dbt_target):
    base = tmp_path_factory.mktemp("survey_marts")
    inst_dir = base / "instruments"
    inst_dir.mkdir()
    (inst_dir / "scale_test.yaml").write_text(INSTRUMENT, encoding="utf-8")
    inst = load_instrument(inst_dir / "scale_test.yaml")  # one definition; each wave read with its versions
    wh = base / "wh.duckdb"
    for wave, header, rows in (("w1", HEADER_W1, W1), ("w2", HEADER_W2, W2)):
        folder = base / "landing" / "surveys" / "scale_test" / wave
        data = write_export(folder / "responses.csv", [header, *rows])
        (folder / "wave.yaml").write_text(f"fieldwork_start: 2024-0{1 if wave == 'w1' else 6}-01\n")
        part = landing.Partition("survey", f"scale_test/{wave}", folder, (data,))
        load(wh, part, inst, data)
    run_dbt(["build", "--select", "@source:raw_surveys"], wh, dbt_target)
    con = duckdb.connect(str(wh), read_only=True)
    yield con
    con.close()


def scores(con, wave, construct="c3"):
    rows = con.execute("""select s.score, s.n_valid_items, s.n_items, r.response_key from marts.fct_scale_score s
                          join raw.survey_responses r using (response_key) where s.wave = ? and s.construct = ?
                          order by r.source_line""", [wave, construct]).fetchall()
    return [(None if s is None else round(s, 9), v, n) for s, v, n, _ in rows]


def test_reverse_scoring_and_minimum_valid_items(marts):
    assert scores(marts, "w1") == [(round(13 / 3, 9), 3, 3), (None, 1, 3), (3.0, 2, 3), (1.0, 3, 3),
                                   (round(7 / 3, 9), 3, 3)]


def test_declared_missing_is_a_reason_not_a_value(marts):
    got = marts.execute("""select value, value_scored, missing_reason from marts.fct_item_response
                           where wave = 'w1' and item = 'q2' and raw_code = '-9'""").fetchall()
    assert got == [(None, None, "weet niet")]


def test_cronbach_alpha_by_hand(marts):
    # complete cases w1: responses 1, 4, 5 with scored items (4,4,5), (1,1,1), (3,2,2)
    # item variances 7/3, 7/3, 13/3; totals 13, 3, 7 -> variance 76/3; alpha = 3/2 * (1 - (27/3)/(76/3)) = 1.5 * 49/76
    (n_cases, n_items, alpha), = marts.execute(
        "select n_cases, n_items, cronbach_alpha from marts.scale_reliability where wave = 'w1' and construct = 'c3'"
    ).fetchall()
    assert (n_cases, n_items) == (3, 3)
    assert alpha == pytest.approx(1.5 * 49 / 76, abs=1e-12)
    (alpha2,) = marts.execute(
        "select cronbach_alpha from marts.scale_reliability where wave = 'w2' and construct = 'c3'").fetchone()
    assert alpha2 is None  # only 2 complete cases


def test_duplicate_respondent_keeps_latest_complete(marts):
    (n,) = marts.execute("select count(*) from marts.fct_survey_response where wave = 'w2'").fetchone()
    assert n == 2
    # tA's latest complete response: 5, 6-1=5 and q3's A5 decoded with w2's agree5_rev as 1
    assert scores(marts, "w2") == [(round(11 / 3, 9), 3, 3), (round(7 / 3, 9), 3, 3)]


def test_moved_source_column_lands_on_same_item(marts):
    got = marts.execute("""select count(*) from marts.fct_item_response where wave = 'w2' and item = 'q3'
                           and value is not null""").fetchone()
    assert got == (2,)


def test_each_wave_decoded_with_its_own_scheme_version(marts):
    got = marts.execute("""select wave, raw_code, value, value_label, scheme from marts.fct_item_response
                           where item = 'q3' and value is not null order by wave, raw_code""").fetchall()
    assert got == [  # w1 on agree5 (A1..A5 -> 1..5), w2 on agree5_rev (A1..A5 -> 5..1)
        ("w1", "A1", 1.0, "helemaal niet akkoord", "agree5"), ("w1", "A2", 2.0, "eerder niet akkoord", "agree5"),
        ("w1", "A4", 4.0, "eerder akkoord", "agree5"), ("w1", "A5", 5.0, "helemaal akkoord", "agree5"),
        ("w2", "A3", 3.0, "neutraal", "agree5_rev"), ("w2", "A5", 1.0, "helemaal niet akkoord", "agree5_rev")]
    labels = marts.execute("""select wave, raw_code, value, value_label from marts.fct_item_response
                              where item = 'q4' and value is not null and raw_code in ('A1', 'A4')
                              order by wave, raw_code""").fetchall()
    assert labels == [("w1", "A4", 4.0, "eerder akkoord"), ("w2", "A1", 1.0, "nooit"), ("w2", "A4", 4.0, "vaak")]


def test_scheme_version_recorded_at_load(marts):
    rows = {(w, i): (s, cf, sf, coding) for w, i, s, cf, sf, coding in marts.execute(
        """select wave, item, scheme, coding_fingerprint, scheme_fingerprint, scheme_coding
           from raw.survey_items""").fetchall()}
    assert {k: v[0] for k, v in rows.items()} == {
        ("w1", "q1"): "agree5", ("w1", "q2"): "agree5", ("w1", "q3"): "agree5", ("w1", "q4"): "agree5",
        ("w2", "q1"): "agree5", ("w2", "q2"): "agree5_freq", ("w2", "q3"): "agree5_rev", ("w2", "q4"): "agree5_freq"}
    assert rows[("w1", "q2")][1] == rows[("w2", "q2")][1]   # labels-only: same coding
    assert rows[("w1", "q2")][2] != rows[("w2", "q2")][2]   # ... but another scheme fingerprint
    assert rows[("w1", "q3")][1] != rows[("w2", "q3")][1]
    import json
    assert json.loads(rows[("w2", "q3")][3])["codes"] == {"A1": 5.0, "A2": 4.0, "A3": 3.0, "A4": 2.0, "A5": 1.0}
    assert json.loads(rows[("w2", "q3")][3])["missing"] == ["-9"]


def test_changed_coding_flagged_labels_only_stays_comparable(marts):
    flags = {i: (c, v) for i, c, v in marts.execute("""select item, comparable_with_previous_wave, scheme_version
                                                       from marts.fct_item_response where wave = 'w2'
                                                       group by all""").fetchall()}
    assert flags == {"q1": (True, 1), "q2": (True, 1), "q3": (False, 2), "q4": (True, 1)}
    (reason,) = marts.execute("""select distinct not_comparable_reason from marts.fct_item_response
                                 where wave = 'w2' and item = 'q3'""").fetchone()
    assert "agree5 (wave w1)" in reason and "agree5_rev (wave w2)" in reason


def test_scale_change_null_with_reason_across_the_version_boundary(marts):
    rows = marts.execute("""select s.construct, r.token_order, s.is_comparable, s.change, s.not_comparable_reason
                            from marts.scale_change s
                            join (select respondent_key, min(source_line) as token_order from raw.survey_responses
                                  where wave = 'w1' group by respondent_key) r using (respondent_key)
                            order by s.construct, r.token_order""").fetchall()
    c3 = [r for r in rows if r[0] == "c3"]
    # tA (w1 line 2) and tD (w1 line 5): c3 has q3 on another coding in w2 -> no change, a reason
    assert [(r[1], r[2], r[3]) for r in c3] == [(2, False, None), (5, False, None)]
    for r in c3:
        assert "item q3" in r[4] and "agree5_rev" in r[4] and "q2" not in r[4]
    # c4 = q4 only, agree5 -> agree5_freq is labels only: tA 2 -> 4 (+2), tD 4 -> 1 (-3)
    assert [r[1:] for r in rows if r[0] == "c4"] == [(2, True, 2.0, None), (5, True, -3.0, None)]


def test_scores_and_alpha_carry_the_construct_version(marts):
    got = marts.execute("""select wave, construct, scheme_version, comparable_with_previous_wave,
                                  not_comparable_reason is not null
                           from marts.scale_reliability order by construct, wave""").fetchall()
    assert got == [("w1", "c3", 1, None, False), ("w2", "c3", 2, False, True),
                   ("w1", "c4", 1, None, False), ("w2", "c4", 1, True, False)]
    versions = marts.execute("""select wave, construct, min(scheme_version), max(scheme_version)
                                from marts.fct_scale_score group by all order by construct, wave""").fetchall()
    assert versions == [("w1", "c3", 1, 1), ("w2", "c3", 2, 2), ("w1", "c4", 1, 1), ("w2", "c4", 1, 1)]


def test_panel_participation_patterns(marts):
    got = sorted(p for (p,) in marts.execute(
        "select distinct pattern from marts.panel_participation").fetchall())
    # tA and tD answered both waves, tB tC tE only w1
    assert got == ["C.", "CC"]
    (n,) = marts.execute("select count(*) from marts.panel_participation").fetchone()
    assert n == 5 * 2


@pytest.fixture(scope="module")
def demo_marts(tmp_path_factory, dbt_target):
    from orchestration.demo.surveys import write_demo_surveys
    from tests.conftest import ROOT

    base = tmp_path_factory.mktemp("demo_alpha")
    write_demo_surveys(base / "landing", ROOT / "data" / "instruments" / "staff_survey.yaml")
    inst = load_instrument(ROOT / "data" / "instruments" / "staff_survey.yaml")
    wh = base / "wh.duckdb"
    for part in landing.discover(base / "landing"):
        load(wh, part, inst, part.folder / "responses.csv")
    run_dbt(["build", "--select", "@source:raw_surveys"], wh, dbt_target)
    con = duckdb.connect(str(wh), read_only=True)
    yield con, inst
    con.close()


def test_cronbach_alpha_equals_pingouin_listwise_on_demo(demo_marts):
    con, inst = demo_marts
    rows = con.execute("select wave, construct, n_cases, cronbach_alpha from marts.scale_reliability").fetchall()
    assert len(rows) == 3 * len(inst.constructs)
    answers = con.execute("""select wave, construct, response_key, item, value_scored from marts.fct_item_response
                             where construct is not null""").df()
    for wave, construct, n_cases, alpha in rows:
        sub = answers[(answers["wave"] == wave) & (answers["construct"] == construct)]
        wide = sub.pivot(index="response_key", columns="item", values="value_scored")
        expected, _ci = pingouin.cronbach_alpha(data=wide, nan_policy="listwise")
        assert n_cases == len(wide.dropna())
        assert alpha == pytest.approx(expected, abs=1e-9), (wave, construct)


def test_panel_pattern_letters_follow_wave_order_on_demo(demo_marts):
    """SPEC 4: panel_participation.pattern has one character per wave of the instrument in wave order
    (C complete, P partial only, . no response). Expected patterns are computed here in Python from the raw
    rows: the waves ordered by orchestration.waves (the Python form of the SPEC 3 rule), the responses that
    stand (not superseded) per respondent and wave. A pattern joined in any other order (e.g. dbt-spark's
    listagg, which drops its order by) fails for every respondent whose history is not symmetric."""
    from orchestration.waves import wave_order

    con, _inst = demo_marts
    waves: dict[str, list[str]] = {}
    by_instrument: dict[str, dict] = {}
    for instrument, wave, start in con.execute(
            "select instrument, wave, fieldwork_start from raw.survey_waves").fetchall():
        by_instrument.setdefault(instrument, {})[wave] = start
    for instrument, starts in by_instrument.items():
        waves[instrument] = [w for w, _when, _basis in wave_order(starts)]
    marks: dict[tuple[str, str], dict[str, str]] = {}
    for instrument, wave, respondent, complete in con.execute(
            """select instrument, wave, respondent_key, is_complete from raw.survey_responses
               where not is_superseded and respondent_key is not null""").fetchall():
        cell = marks.setdefault((instrument, respondent), {})
        cell[wave] = "C" if complete or cell.get(wave) == "C" else "P"
    expected = {key: "".join(cell.get(w, ".") for w in waves[key[0]]) for key, cell in marks.items()}

    rows = con.execute("""select instrument, respondent_key, wave, wave_order, participated, is_complete, pattern
                          from marts.panel_participation""").fetchall()
    got: dict[tuple[str, str], str] = {}
    for instrument, respondent, wave, order, participated, complete, pattern in rows:
        got.setdefault((instrument, respondent), pattern)
        assert pattern == got[(instrument, respondent)], "one pattern per respondent"
        assert waves[instrument][order - 1] == wave, (instrument, wave, order)
        letter = pattern[order - 1]
        assert letter == (("C" if complete else "P") if participated else "."), (instrument, respondent, wave)
    assert set(got) == set(expected)
    wrong = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert not wrong, f"{len(wrong)} of {len(expected)} patterns differ (got, expected): {list(wrong.items())[:5]}"
    # the demo has histories whose order matters (e.g. 'C.P' is not 'P.C'): the test can tell orders apart
    assert any(p != p[::-1] for p in expected.values())
    assert len(rows) == sum(len(waves[i]) for i, _r in expected)
