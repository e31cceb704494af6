"""Demo client and child feedback waves (orchestration.demo.feedback; SPEC 3.3).

The demo landing zone is written once per module with ``write_demo_landing`` (the entry point of
``sofs-warehouse demo-data``), so the feedback files are checked against the dossier extracts written
beside them: every response names a dossier of the latest extract that was open during fieldwork.
"""
from __future__ import annotations

import csv
import io
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchestration.demo import write_demo_landing
from orchestration.demo.feedback import WAVES, _fix_sav_timestamp, write_demo_feedback
from orchestration.ingest import read_wave_yaml
from orchestration.instruments import load_instrument
from orchestration.quality.survey import check_survey
from orchestration.readers.limesurvey import read_limesurvey_csv
from orchestration.readers.spss import read_spss, read_spss_metadata

ROOT = Path(__file__).resolve().parents[2]
INSTRUMENTS = ROOT / "data" / "instruments"
WAVE_NAMES = ("2024H1", "2024H2", "2025H1", "2025H2")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    landing = tmp_path_factory.mktemp("demo_feedback") / "landing"
    files = write_demo_landing(landing)
    client = load_instrument(INSTRUMENTS / "client_feedback.yaml")
    child = load_instrument(INSTRUMENTS / "child_feedback.yaml")
    reads = {}
    for wave in WAVE_NAMES:
        reads["client", wave] = read_spss(landing / "surveys" / "client_feedback" / wave / "responses.sav", client, wave)
        reads["child", wave] = read_limesurvey_csv(landing / "surveys" / "child_feedback" / wave / "responses.csv",
                                                   child, wave)
    return landing, files, reads, {"client": client, "child": child}


def feedback_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "surveys").rglob("*") if p.is_file() and "feedback" in p.parts[-3])


def test_landing_entry_point_writes_the_feedback_waves(demo):
    landing, files, _reads, _inst = demo
    expected = {landing / "surveys" / inst / wave / name
                for wave in WAVE_NAMES
                for inst, names in (("client_feedback", ("responses.sav", "wave.yaml")),
                                    ("child_feedback", ("responses.csv", "wave.yaml")))
                for name in names}
    assert expected <= set(files)
    assert set(feedback_files(landing)) == expected


def test_byte_identical_on_rewrite(demo, tmp_path):
    landing, _files, _reads, _inst = demo
    time.sleep(1.1)  # ReadStat stamps the creation time (seconds) into the header: a later write must not differ
    write_demo_feedback(tmp_path)
    ours = feedback_files(landing)
    theirs = feedback_files(tmp_path)
    assert [p.relative_to(landing) for p in ours] == [p.relative_to(tmp_path) for p in theirs]
    for a, b in zip(ours, theirs):
        assert a.read_bytes() == b.read_bytes(), a
    sav = (landing / "surveys" / "client_feedback" / "2024H1" / "responses.sav").read_bytes()
    assert sav[92:109] == b"14 Jun 2417:00:00"   # fieldwork end, fixed time

    mtimes = {p: p.stat().st_mtime_ns for p in theirs}
    write_demo_feedback(tmp_path)                # unchanged files are not rewritten
    assert {p: p.stat().st_mtime_ns for p in theirs} == mtimes


def test_fix_sav_timestamp_refuses_other_files():
    with pytest.raises(ValueError):
        _fix_sav_timestamp(b"not a sav file" * 20, pd.Timestamp("2024-01-01").to_pydatetime())


def test_waves_read_cleanly_and_pass_the_quality_rules(demo):
    landing, _files, reads, inst = demo
    for (kind, wave), read in reads.items():
        meta = read_wave_yaml(landing / "surveys" / f"{kind}_feedback" / wave / "wave.yaml")
        assert not read.report.unmapped_columns, (kind, wave, read.report.unmapped_columns)
        assert read.report.notes == [], (kind, wave)   # no absent item, no label disagreement, no encoding retry
        assert read.answers["code_valid"].all()
        assert len(read.responses) > 50 and read.responses["respondent_id"].is_unique
        assert read.responses["dossier_id"].notna().all()
        results = check_survey(read, inst[kind], wave, f"{kind}/{wave}", today=date(2026, 1, 31),
                               fieldwork_start=meta["fieldwork_start"], fieldwork_end=meta["fieldwork_end"])
        assert [r.code for r in results if not r.passed] == [], (kind, wave)


def test_sav_declares_missing_codes_and_labels(demo):
    landing, _files, reads, _inst = demo
    md = read_spss_metadata(landing / "surveys" / "client_feedback" / "2025H1" / "responses.sav")
    assert md.missing["SAMEN_SQ004"] == [(9.0, 9.0), (-9.0, -9.0)]
    assert md.missing["SCHAAL_SQ001"] == [(-9.0, -9.0)]
    assert md.value_labels["SAMEN_SQ001"][9.0] == "niet van toepassing"
    assert md.value_labels["ROL"] == {1.0: "ouder", 2.0: "netwerklid"}
    assert md.variable_labels["SAMEN_SQ001"] == "Ik voelde me gehoord door de consulent"
    assert md.formats["submitdate"].startswith("DATETIME")
    client = pd.concat([reads["client", w].answers for w in WAVE_NAMES])
    reasons = client.groupby("item")["missing_reason"].apply(lambda s: set(s.dropna()))
    assert reasons["understanding_worries"] == {"niet van toepassing", "weet niet"}
    assert reasons["scaling_safety"] == {"weet niet"}
    declared = client[client["raw_code"].isin(["9", "-9"]) & client["item"].str.startswith(("feeling", "having",
                                                                                           "working", "understanding"))]
    assert len(declared) > 0 and declared["value"].isna().all() and declared["missing_reason"].notna().all()
    assert client.loc[client["item"] == "scaling_safety", "value"].eq(9.0).any()   # 9 is a score on 0-10
    child = pd.concat([reads["child", w].answers for w in WAVE_NAMES])
    assert (child["missing_reason"] == "weet ik niet").sum() > 0
    assert child.loc[child["missing_reason"].notna(), "value"].isna().all()
    opened = pd.concat([reads["client", w].open_answers for w in WAVE_NAMES])
    assert len(opened) >= 8 and opened["item"].eq("comments").all()


def _latest_dossiers(landing: Path) -> dict[str, dict]:
    latest = sorted((landing / "dossiers").iterdir())[-1]
    text = (latest / "dossiers.csv").read_bytes().decode("utf-8-sig")
    return {r["dossier_id"]: r for r in csv.DictReader(io.StringIO(text))}


def test_every_response_names_a_dossier_open_during_fieldwork(demo):
    landing, _files, reads, _inst = demo
    dossiers = _latest_dossiers(landing)
    for spec in WAVES:
        for kind in ("client", "child"):
            ids = reads[kind, spec.wave].responses["dossier_id"]
            for dossier_id in ids:
                d = dossiers[dossier_id]
                assert date.fromisoformat(d["registration_date"]) <= spec.fieldwork_end, dossier_id
                assert not d["closure_date"] or date.fromisoformat(d["closure_date"]) >= spec.fieldwork_start, dossier_id
    child_dossiers = reads["child", "2025H2"].responses["dossier_id"]
    ages = [2025 - int(dossiers[i]["birth_year"]) for i in child_dossiers]
    assert min(ages) >= 8 and max(ages) <= 17


def test_repeated_feedback_links_by_token(demo):
    _landing, _files, reads, _inst = demo
    for kind in ("client", "child"):
        frames = [reads[kind, w].responses.assign(wave=w) for w in WAVE_NAMES]
        allr = pd.concat(frames)
        per_token = allr.groupby("respondent_id").agg(n_waves=("wave", "nunique"), n_dossiers=("dossier_id", "nunique"))
        assert (per_token["n_dossiers"] == 1).all()          # a token belongs to one person of one dossier
        assert (per_token["n_waves"] > 1).sum() >= 20        # some people give feedback again


def test_region_means_are_not_flat(demo):
    landing, _files, reads, _inst = demo
    region = {i: d["region"] for i, d in _latest_dossiers(landing).items()}
    frames = []
    for w in WAVE_NAMES:
        r = reads["client", w]
        a = r.answers.merge(r.responses[["response_id", "dossier_id"]], on="response_id")
        frames.append(a[a["item"] == "scaling_safety"])
    safety = pd.concat(frames).assign(region=lambda f: f["dossier_id"].map(region))
    means = safety.groupby("region")["value"].mean()
    assert len(means) == 5
    assert means.max() - means.min() > 0.25
    assert np.isfinite(means).all()
