"""Feedback fact and year x region overview on hand-made inputs (SPEC 4, 5).

One tiny warehouse per module: a dossier extract (CSV written here, read with the dossier reader and
pseudonymised with ``pseudonymise_extract``), a client feedback wave as SPSS ``.sav`` (written here with
pyreadstat: labels and DECLARED user-missing codes 9 / -9), a child feedback wave and a staff survey wave
as LimeSurvey CSV, read with the real instrument definitions of ``data/instruments``. Then
``dbt build --select +region_period_outcomes`` and the marts are compared with values worked out by
hand (comments show the arithmetic).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyreadstat
import pytest

from orchestration import history, ingest, landing, privacy, warehouse
from orchestration.readers.dossiers import pseudonymise_extract, read_dossier_extract
from orchestration.readers.spss import read_spss
from orchestration.instruments import get_instrument
from orchestration.teams import team_labels
from tests.conftest import ROOT, run_dbt
from tests.helpers import write_export, write_survey_partition

KEY = b"feedback-marts-test-key-0123456789abcdef"
INSTRUMENTS = ROOT / "data" / "instruments"
EXTRACT = date(2025, 6, 30)
FIELDWORK = "fieldwork_start: 2025-05-05\nfieldwork_end: 2025-06-13\n"
NA = np.nan

DOSSIERS = """dossier_id,child_id,service,region,team,registration_date,closure_date,closure_reason,birth_year,sex
D1,C1,OCJ,Antwerpen,Antwerpen Noord,2024-01-10,,,2012,V
D2,C2,SDJ,Antwerpen,Antwerpen Zuid,2024-03-01,2025-05-01,doelen_bereikt,2010,M
D3,C3,OCJ,Limburg,Hasselt,2024-06-15,,,2011,M
D4,C4,SDJ,West-Vlaanderen,Brugge,2023-11-20,,,2013,V
D5,C5,OCJ,Limburg,Genk,2025-02-01,,,2014,V
"""
EVENTS = """event_id,dossier_id,event_date,event_type,value,rated_by
E1,D1,2024-02-01,mapping,,
E2,D3,2024-08-01,safety_plan,,
E3,D4,2024-01-05,network_meeting,,
"""

# client_feedback 2025H1 (.sav). Columns: token, DOSSIER, ROL (1 ouder, 2 netwerklid), SAMEN_SQ001..4
# (1-5; 9 niet van toepassing, -9 weet niet), SCHAAL_SQ001 safety, SCHAAL_SQ002 progress (0-10; -9 weet niet)
CLIENT = [
    # token  dossier  rol  samen (4)          safety progress  complete
    ("tP1", "D1", 1, (4, 5, 4, -9), 7, 6, True),       # partnership 13/3 (-9 not a value)
    ("tN1", "D1", 2, (3, 9, 3, 3), -9, 5, True),       # partnership 3.0 (9 not a value); safety: weet niet
    ("tP2", "D3", 1, (5, 5, 5, 5), 9, 8, True),        # 5.0; 9 is a valid score on the 0-10 scale
    ("tP3", "D4", 1, (2, 9, -9, NA), 4, 3, True),      # 1 valid item of 4 < ceil(0.5 x 4): null
    ("tP4", "D99", 1, (4, 4, 4, 4), 6, NA, True),      # dossier not in the extract: region null
    ("tP5", "D2", 1, (3, 4, NA, NA), 5, 5, True),      # 3.5 (2 of 4 valid); D2 closed before fieldwork
    ("tN2", "D3", 2, (4, NA, NA, NA), NA, NA, False),  # incomplete: counted, no score, no scaling
]
# child_feedback 2025H1 (LimeSurvey CSV): KIND[SQ001..4] A1 nee, A2 een beetje, A3 ja, A9 weet ik niet
CHILD = [
    ("k1", "D1", ("A3", "A3", "A2", "A3"), "8"),       # 11/4 = 2.75
    ("k2", "D3", ("A1", "A9", "A2", ""), "5"),         # (1 + 2) / 2 = 1.5
    ("k3", "D4", ("A2", "A2", "A2", "A2"), ""),        # 2.0, safety skipped
]
# staff_survey 2025 (LimeSurvey CSV): REGIO 1 Antwerpen, 2 Limburg; LEID[SQ001..5] leadership
STAFF = [
    ("s1", "1", ("A4", "A4", "A5", "A3", "A4")),       # 20/5 = 4.0
    ("s2", "1", ("A2", "A3", "A2", "A3", "")),         # 10/4 = 2.5
    ("s3", "2", ("A5", "A5", "A4", "A4", "A5")),       # 23/5 = 4.6
    ("s4", "", ("A1", "A1", "A1", "A1", "A1")),        # 1.0, no region: only in the 'all' row
]
DONE = "2025-05-20 10:00:00"


def write_client_sav(path: Path) -> None:
    items = [f"SAMEN_SQ00{i}" for i in range(1, 5)]
    rows = []
    for n, (token, dossier, role, samen, safety, progress, complete) in enumerate(CLIENT, start=1):
        rows.append({"id": float(n), "submitdate": pd.Timestamp(DONE) if complete else pd.NaT,
                     "lastpage": 4.0 if complete else 2.0, "startlanguage": "nl", "token": token,
                     "DOSSIER": dossier, "ROL": float(role), **dict(zip(items, map(float, samen))),
                     "SCHAAL_SQ001": float(safety), "SCHAAL_SQ002": float(progress), "OPMERKING": ""})
    frame = pd.DataFrame(rows)
    frame["submitdate"] = frame["submitdate"].astype("datetime64[us]")
    agree = {1.0: "helemaal niet akkoord", 2.0: "eerder niet akkoord", 3.0: "neutraal", 4.0: "eerder akkoord",
             5.0: "helemaal akkoord", 9.0: "niet van toepassing", -9.0: "weet niet"}
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_sav(
        frame, str(path), column_labels={"ROL": "Ik vul deze vragenlijst in als", "SCHAAL_SQ001": "Hoe veilig?"},
        variable_value_labels={"ROL": {1.0: "ouder", 2.0: "netwerklid"}, **{c: agree for c in items},
                               "SCHAAL_SQ001": {-9.0: "weet niet"}, "SCHAAL_SQ002": {-9.0: "weet niet"}},
        missing_ranges={**{c: [9.0, -9.0] for c in items}, "SCHAAL_SQ001": [-9.0], "SCHAAL_SQ002": [-9.0]})


def load_survey(wh: Path, part: landing.Partition) -> None:
    instrument, read, meta = ingest.read_survey_partition(part)
    assert not read.report.unmapped_columns, read.report.unmapped_columns
    write_survey_partition(wh, part, instrument, read, meta, KEY)


def survey_partition(base: Path, instrument: str, wave: str, data: Path) -> landing.Partition:
    (data.parent / "wave.yaml").write_text(FIELDWORK if instrument != "staff_survey"
                                           else "fieldwork_start: 2025-10-06\nfieldwork_end: 2025-10-31\n")
    return landing.Partition("survey", f"{instrument}/{wave}", data.parent, (data,))


@pytest.fixture(scope="module")
def marts(tmp_path_factory, dbt_target):
    base = tmp_path_factory.mktemp("feedback_marts")
    wh = base / "wh.duckdb"
    surveys = base / "landing" / "surveys"

    folder = base / "landing" / "dossiers" / EXTRACT.isoformat()
    folder.mkdir(parents=True)
    (folder / "dossiers.csv").write_text(DOSSIERS, encoding="utf-8")
    (folder / "placements.csv").write_text("placement_id,dossier_id,start_date,end_date,placement_type\n")
    (folder / "practice_events.csv").write_text(EVENTS, encoding="utf-8")
    frames = pseudonymise_extract(read_dossier_extract(folder, EXTRACT), KEY, team_labels())  # as the ingest does
    for f in frames.values():
        f["load_id"] = "test"
    with warehouse.write_connection(wh) as con, warehouse.transaction(con):
        history.load_extract(con, EXTRACT, EXTRACT.isoformat(), "test", frames)

    sav = surveys / "client_feedback" / "2025H1" / "responses.sav"
    write_client_sav(sav)
    child_rows = [["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "DOSSIER",
                   "KIND[SQ001]", "KIND[SQ002]", "KIND[SQ003]", "KIND[SQ004]", "VEILIG"]]
    for n, (token, dossier, kind, safe) in enumerate(CHILD, start=1):
        child_rows.append([str(n), DONE, "2", "nl", "1", token, dossier, *kind, safe])
    child = write_export(surveys / "child_feedback" / "2025H1" / "responses.csv", child_rows)
    staff_rows = [["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "FUNCTIE", "REGIO",
                   *[f"LEID[SQ00{i}]" for i in range(1, 6)]]]
    for n, (token, region, leid) in enumerate(STAFF, start=1):
        staff_rows.append([str(n), "2025-10-10 09:00:00", "8", "nl", "1", token, "1", region, *leid])
    staff = write_export(surveys / "staff_survey" / "2025" / "responses.csv", staff_rows)
    for instrument, wave, data in (("client_feedback", "2025H1", sav), ("child_feedback", "2025H1", child),
                                   ("staff_survey", "2025", staff)):
        load_survey(wh, survey_partition(base, instrument, wave, data))

    run_dbt(["build", "--select", "+region_period_outcomes"], wh, dbt_target)
    con = duckdb.connect(str(wh), read_only=True)
    yield con, sav
    con.close()


def rows(con, sql: str, params=()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def feedback(con, token: str) -> dict:
    found = rows(con, "select * from marts.fct_feedback where respondent_key = ?",
                 [privacy.pseudonymise(token, "respondent", KEY)])
    assert len(found) == 1, token
    return found[0]


def cell(con, year: int, region: str) -> dict:
    found = rows(con, "select * from marts.region_period_outcomes where year = ? and region = ?", [year, region])
    assert len(found) == 1, (year, region)
    return found[0]


def test_sav_declared_missing_code_reads_back_as_reason(marts):
    _con, sav = marts
    read = read_spss(sav, get_instrument("client_feedback", INSTRUMENTS), "2025H1")
    a = read.answers.set_index(["response_id", "item"])
    assert np.isnan(a.loc[("2", "having_a_voice"), "value"])
    assert a.loc[("2", "having_a_voice"), "missing_reason"] == "niet van toepassing"
    assert a.loc[("1", "understanding_worries"), "missing_reason"] == "weet niet"
    assert a.loc[("3", "scaling_safety"), "value"] == 9.0          # 9 is a score here, not a missing code
    assert a.loc[("3", "scaling_safety"), "missing_reason"] is None


def test_feedback_joins_the_right_dossier(marts):
    con, _ = marts
    (n,) = con.execute("select count(*) from marts.fct_feedback").fetchone()
    assert n == len(CLIENT) + len(CHILD)
    got = feedback(con, "tP1")
    assert got["dossier_key"] == privacy.pseudonymise("D1", "dossier", KEY)
    assert (got["instrument"], got["population"], got["wave"], got["fieldwork_year"]) == \
        ("client_feedback", "client", "2025H1", 2025)
    assert (got["respondent_role"], got["respondent_role_label"]) == ("parent", "ouder")
    assert (got["dossier_found"], got["service"], got["region"], got["registration_year"], got["team"]) == \
        (True, "OCJ", "Antwerpen", 2024, "Antwerpen Noord")
    assert got["dossier_open_during_fieldwork"] is True
    assert got["partnership_score"] == pytest.approx(13 / 3, abs=1e-12)
    assert got["partnership_n_valid_items"] == 3
    assert (got["scaling_safety"], got["scaling_progress"]) == (7.0, 6.0)
    assert got["child_participation_score"] is None

    k2 = feedback(con, "k2")
    assert (k2["population"], k2["respondent_role"], k2["region"], k2["service"]) == ("child", "child", "Limburg", "OCJ")
    assert k2["child_participation_score"] == 1.5 and k2["child_participation_n_valid_items"] == 2
    assert (k2["scaling_safety"], k2["scaling_progress"], k2["partnership_score"]) == (5.0, None, None)

    assert feedback(con, "tN2")["respondent_role"] == "network"
    unknown = feedback(con, "tP4")
    assert (unknown["dossier_found"], unknown["region"], unknown["dossier_open_during_fieldwork"]) == (False, None, None)
    assert feedback(con, "tP5")["dossier_open_during_fieldwork"] is False   # D2 closed 2025-05-01


def test_missing_code_is_not_a_value(marts):
    con, _ = marts
    n1 = feedback(con, "tN1")
    assert n1["partnership_score"] == 3.0 and n1["partnership_n_valid_items"] == 3   # 9 = niet van toepassing
    assert (n1["scaling_safety"], n1["scaling_safety_missing_reason"]) == (None, "weet niet")
    assert (n1["scaling_progress"], n1["scaling_progress_missing_reason"]) == (5.0, None)
    p2 = feedback(con, "tP2")
    assert (p2["scaling_safety"], p2["scaling_safety_missing_reason"]) == (9.0, None)
    p3 = feedback(con, "tP3")
    assert p3["partnership_score"] is None and p3["partnership_n_valid_items"] == 1
    got = rows(con, """select i.value, i.missing_reason from marts.fct_item_response i
                       join marts.fct_feedback f using (response_key)
                       where f.respondent_key = ? and i.item = 'having_a_voice'""",
               [privacy.pseudonymise("tN1", "respondent", KEY)])
    assert got == [{"value": None, "missing_reason": "niet van toepassing"}]


def test_region_client_and_child_means_by_hand(marts):
    con, _ = marts
    antwerpen = cell(con, 2025, "Antwerpen")   # tP1, tN1 (D1), tP5 (D2); child k1 (D1)
    assert antwerpen["client_n_responses"] == 3
    assert antwerpen["client_partnership_mean"] == pytest.approx((13 / 3 + 3.0 + 3.5) / 3, abs=1e-12)  # 65/18
    assert antwerpen["client_scaling_safety_mean"] == pytest.approx((7 + 5) / 2, abs=1e-12)  # weet niet left out
    assert antwerpen["client_scaling_progress_mean"] == pytest.approx((6 + 5 + 5) / 3, abs=1e-12)
    assert (antwerpen["child_n_responses"], antwerpen["child_participation_mean"],
            antwerpen["child_scaling_safety_mean"]) == (1, 2.75, 8.0)
    limburg = cell(con, 2025, "Limburg")       # tP2 and the incomplete tN2 (D3); child k2
    assert limburg["client_n_responses"] == 2
    assert (limburg["client_partnership_mean"], limburg["client_scaling_safety_mean"],
            limburg["client_scaling_progress_mean"]) == (5.0, 9.0, 8.0)
    assert (limburg["child_participation_mean"], limburg["child_scaling_safety_mean"]) == (1.5, 5.0)
    west = cell(con, 2025, "West-Vlaanderen")  # tP3: no partnership score; child k3 without safety
    assert (west["client_n_responses"], west["client_partnership_mean"], west["client_scaling_safety_mean"]) == \
        (1, None, 4.0)
    assert (west["child_participation_mean"], west["child_scaling_safety_mean"]) == (2.0, None)
    everyone = cell(con, 2025, "all")          # also tP4 (dossier unknown)
    assert everyone["client_n_responses"] == 7
    assert everyone["client_partnership_mean"] == pytest.approx((13 / 3 + 3 + 5 + 4 + 3.5) / 5, abs=1e-12)
    assert everyone["client_scaling_safety_mean"] == pytest.approx((7 + 9 + 4 + 6 + 5) / 5, abs=1e-12)
    assert everyone["client_scaling_progress_mean"] == pytest.approx((6 + 5 + 8 + 3 + 5) / 5, abs=1e-12)
    assert everyone["child_participation_mean"] == pytest.approx((2.75 + 1.5 + 2.0) / 3, abs=1e-12)
    assert everyone["child_scaling_safety_mean"] == 6.5


def test_region_staff_construct_means_by_hand(marts):
    con, _ = marts
    antwerpen, limburg, everyone = cell(con, 2025, "Antwerpen"), cell(con, 2025, "Limburg"), cell(con, 2025, "all")
    assert (antwerpen["staff_n_responses"], antwerpen["staff_leadership_mean"]) == (2, pytest.approx((4.0 + 2.5) / 2))
    assert (limburg["staff_n_responses"], limburg["staff_leadership_mean"]) == (1, pytest.approx(4.6))
    assert everyone["staff_n_responses"] == 4   # s4 gave no region
    assert everyone["staff_leadership_mean"] == pytest.approx((4.0 + 2.5 + 4.6 + 1.0) / 4, abs=1e-12)
    assert everyone["staff_wellbeing_mean"] is None   # no wellbeing items in this wave
    assert cell(con, 2025, "West-Vlaanderen")["staff_n_responses"] == 0


def test_region_hard_outcomes_and_practice_breadth(marts):
    con, _ = marts
    a2024 = cell(con, 2024, "Antwerpen")       # D1 (mapping, open), D2 (closed after 426 days)
    assert a2024["n_dossiers"] == 2
    assert a2024["share_with_mapping"] == 0.5
    assert (a2024["share_with_safety_plan"], a2024["share_with_network_meeting"]) == (0.0, 0.0)
    (km,) = con.execute("""select km_median_days from marts.outcome_time_to_closure
                           where registration_year = '2024' and service = 'all' and region = 'Antwerpen'""").fetchone()
    assert a2024["km_median_days"] == km
    assert cell(con, 2024, "all")["n_dossiers"] == 3
    assert cell(con, 2023, "West-Vlaanderen")["share_with_network_meeting"] == 1.0
    assert cell(con, 2025, "Antwerpen")["n_dossiers"] == 0   # a row for the survey means, no registrations
    years = [y for (y,) in con.execute("select distinct year from marts.region_period_outcomes order by 1").fetchall()]
    assert years == [2023, 2024, 2025]
