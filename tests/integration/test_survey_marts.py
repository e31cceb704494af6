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
constructs:
  c3: {label: Drie items, min_valid_share: 0.5}
items:
  - {item: q1, scheme: agree5, construct: c3, source: "Q[SQ001]"}
  - {item: q2, scheme: agree5, construct: c3, reverse: true, source: "Q[SQ002]"}
  - {item: q3, scheme: agree5, construct: c3, source: {w1: "Q[SQ003]", w2: "QNEW"}}
"""
HEADER_W1 = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "Q[SQ001]", "Q[SQ002]", "Q[SQ003]"]
HEADER_W2 = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "Q[SQ001]", "Q[SQ002]", "QNEW"]
DONE = "2024-03-01 10:00:00"
W1 = [
    ["1", DONE, "2", "nl", "1", "tA", "A4", "A2", "A5"],   # 4, 6-2=4, 5 -> score 13/3
    ["2", DONE, "2", "nl", "1", "tB", "A5", "", ""],       # 1 valid of 3 < ceil(1.5)=2 -> null
    ["3", DONE, "2", "nl", "1", "tC", "A2", "-9", "A4"],   # 2 valid (2, 4) -> 3.0; -9 is a missing reason
    ["4", DONE, "2", "nl", "1", "tD", "A1", "A5", "A1"],   # 1, 1, 1 -> 1.0
    ["5", DONE, "2", "nl", "1", "tE", "A3", "A4", "A2"],   # 3, 2, 2 -> 7/3
]
W2 = [
    ["1", "", "1", "nl", "1", "tA", "A3", "", ""],         # partial, superseded by response 2
    ["2", DONE, "2", "nl", "1", "tA", "A5", "A1", "A5"],   # 5, 5, 5 -> 5.0
    ["3", DONE, "2", "nl", "1", "tD", "A2", "A4", "A3"],   # 2, 2, 3 -> 7/3
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
    inst = load_instrument(inst_dir / "scale_test.yaml")
    # wave w2 changes the meaning of category 3 of q3's scheme: q3 is not comparable across w1 -> w2
    (inst_dir / "v2").mkdir()
    (inst_dir / "v2" / "scale_test.yaml").write_text(
        INSTRUMENT.replace("  c3: {label", "  agree5b:\n    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}\n"
                           "    labels: {1: nooit, 2: zelden, 3: soms, 4: vaak, 5: altijd}\nconstructs:\n  c3: {label")
        .replace("constructs:\n  agree5b", "  agree5b", 1)
        .replace("{item: q3, scheme: agree5,", "{item: q3, scheme: agree5b,"), encoding="utf-8")
    inst2 = load_instrument(inst_dir / "v2" / "scale_test.yaml")
    wh = base / "wh.duckdb"
    for wave, header, rows, instrument in (("w1", HEADER_W1, W1, inst), ("w2", HEADER_W2, W2, inst2)):
        folder = base / "landing" / "surveys" / "scale_test" / wave
        data = write_export(folder / "responses.csv", [header, *rows])
        (folder / "wave.yaml").write_text(f"fieldwork_start: 2024-0{1 if wave == 'w1' else 6}-01\n")
        part = landing.Partition("survey", f"scale_test/{wave}", folder, (data,))
        load(wh, part, instrument, data)
    run_dbt(["build", "--select", "source:raw_surveys+"], wh, dbt_target)
    con = duckdb.connect(str(wh), read_only=True)
    yield con
    con.close()


def scores(con, wave):
    rows = con.execute("""select s.score, s.n_valid_items, s.n_items, r.response_key from marts.fct_scale_score s
                          join raw.survey_responses r using (response_key) where s.wave = ? order by r.source_line""",
                       [wave]).fetchall()
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
        "select n_cases, n_items, cronbach_alpha from marts.scale_reliability where wave = 'w1'").fetchall()
    assert (n_cases, n_items) == (3, 3)
    assert alpha == pytest.approx(1.5 * 49 / 76, abs=1e-12)
    (alpha2,) = marts.execute("select cronbach_alpha from marts.scale_reliability where wave = 'w2'").fetchone()
    assert alpha2 is None  # only 2 complete cases


def test_duplicate_respondent_keeps_latest_complete(marts):
    (n,) = marts.execute("select count(*) from marts.fct_survey_response where wave = 'w2'").fetchone()
    assert n == 2
    assert scores(marts, "w2") == [(5.0, 3, 3), (round(7 / 3, 9), 3, 3)]


def test_moved_source_column_lands_on_same_item(marts):
    got = marts.execute("""select count(*) from marts.fct_item_response where wave = 'w2' and item = 'q3'
                           and value is not null""").fetchone()
    assert got == (2,)


def test_changed_scheme_flagged_and_not_pooled(marts):
    flags = dict(marts.execute("""select item, comparable_with_previous_wave from marts.fct_item_response
                                  where wave = 'w2' group by all""").fetchall())
    assert flags == {"q1": True, "q2": True, "q3": False}
    changes = marts.execute("select is_comparable, change from marts.scale_change").fetchall()
    assert len(changes) == 2 and all(c == (False, None) for c in changes)


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
    run_dbt(["build", "--select", "source:raw_surveys+"], wh, dbt_target)
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
