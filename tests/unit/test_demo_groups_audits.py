"""Demo waves of the leader self-assessment, the partner survey and the case audits (SPEC 3.1, 3.3).

The demo landing zone is written once per module with ``write_demo_landing`` and read back with the real
reader and quality rules. The files of the other demo generators must be byte for byte what those
generators write alone (the new waves have seeds of their own), and the case audits must name dossiers of
the latest demo extract.
"""
from __future__ import annotations

import csv
import io
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from orchestration.demo import write_demo_landing
from orchestration.demo.audits import DOUBLE_SHARE, WAVES as AUDIT_WAVES, write_demo_audits
from orchestration.demo.dossiers import EXTRACT_DATES, write_demo_dossiers
from orchestration.demo.feedback import write_demo_feedback
from orchestration.demo.groups import LEADER_WAVES, PARTNER_WAVES, write_demo_groups
from orchestration.demo.surveys import write_demo_surveys
from orchestration.ingest import read_wave_yaml
from orchestration.instruments import load_instrument
from orchestration.quality.survey import check_survey
from orchestration.readers.limesurvey import read_limesurvey_csv

ROOT = Path(__file__).resolve().parents[2]
INSTRUMENTS = ROOT / "data" / "instruments"
NEW = {"leader_self_assessment": [w.wave for w in LEADER_WAVES], "partner_survey": [w.wave for w in PARTNER_WAVES],
       "case_audit": [w.wave for w in AUDIT_WAVES]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    landing = tmp_path_factory.mktemp("demo_groups") / "landing"
    files = write_demo_landing(landing)
    reads = {}
    for name, waves in NEW.items():
        instrument = load_instrument(INSTRUMENTS / f"{name}.yaml")
        for wave in waves:
            reads[name, wave] = (instrument, read_limesurvey_csv(
                landing / "surveys" / name / wave / "responses.csv", instrument, wave))
    return landing, files, reads


def _contents(root: Path, names) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and any(n in p.parts for n in names)}


def test_other_demo_files_are_unchanged(demo, tmp_path):
    landing, files, _reads = demo
    alone = tmp_path / "alone"
    write_demo_surveys(alone, INSTRUMENTS / "staff_survey.yaml")
    write_demo_dossiers(alone)
    write_demo_feedback(alone)
    old = ("staff_survey", "client_feedback", "child_feedback", "dossiers")
    assert _contents(landing, old) == _contents(alone, old)
    new = {landing / "surveys" / n / w / f for n, ws in NEW.items() for w in ws for f in ("responses.csv", "wave.yaml")}
    assert new <= set(files)


def test_new_waves_are_byte_identical_on_rewrite(demo, tmp_path):
    landing, _files, _reads = demo
    write_demo_groups(tmp_path, INSTRUMENTS)
    write_demo_audits(tmp_path)
    ours, theirs = _contents(landing, NEW), _contents(tmp_path, NEW)
    assert ours == theirs and len(ours) == 2 * sum(len(w) for w in NEW.values())
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    time.sleep(0.01)
    write_demo_audits(tmp_path)                  # unchanged files are not rewritten
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == mtimes


def test_waves_read_cleanly_and_pass_the_quality_rules(demo):
    landing, _files, reads = demo
    for (name, wave), (instrument, read) in reads.items():
        meta = read_wave_yaml(landing / "surveys" / name / wave / "wave.yaml")
        assert not read.report.unmapped_columns, (name, wave, read.report.unmapped_columns)
        assert read.report.notes == [], (name, wave)
        assert read.answers["code_valid"].all()
        results = check_survey(read, instrument, wave, f"{name}/{wave}", today=date(2026, 1, 31),
                               fieldwork_start=meta["fieldwork_start"], fieldwork_end=meta["fieldwork_end"])
        failed = [r.code for r in results if not r.passed]
        # an auditor scores several dossiers per wave under one token: a warning while the rule counts
        # responses per respondent rather than per respondent and dossier (SPEC 5)
        assert set(failed) <= ({"S_RESPONDENT_ONCE"} if name == "case_audit" else set()), (name, wave, failed)
        assert not any(r.blocks for r in results)


def _latest_dossiers(landing: Path) -> dict[str, dict]:
    text = (landing / "dossiers" / EXTRACT_DATES[-1].isoformat() / "dossiers.csv").read_text(encoding="utf-8")
    return {r["dossier_id"]: r for r in csv.DictReader(io.StringIO(text))}


def test_audits_name_dossiers_of_the_latest_extract_and_some_twice(demo):
    landing, _files, reads = demo
    dossiers = _latest_dossiers(landing)
    seen: set[str] = set()
    for spec in AUDIT_WAVES:
        responses = reads["case_audit", spec.wave][1].responses
        per_dossier = Counter(responses["dossier_id"])
        for dossier_id in per_dossier:
            d = dossiers[dossier_id]                              # in the latest extract
            assert date.fromisoformat(d["registration_date"]) <= spec.fieldwork_start
            assert not d["closure_date"] or date.fromisoformat(d["closure_date"]) >= spec.fieldwork_start
        assert not seen & set(per_dossier)                        # a dossier is audited in one round only
        seen |= set(per_dossier)
        teams = Counter(dossiers[i]["team"] for i in per_dossier)
        assert len(teams) >= 18 and max(teams.values()) <= 5
        double = sum(1 for n in per_dossier.values() if n == 2) / len(per_dossier)
        assert abs(double - DOUBLE_SHARE) < 0.08 and max(per_dossier.values()) == 2
        pairs = responses.groupby("dossier_id")["respondent_id"].nunique()
        assert (pairs[pairs.index.isin([i for i, n in per_dossier.items() if n == 2])] == 2).all()  # two auditors


def test_leaders_and_partners_link_across_waves(demo):
    _landing, _files, reads = demo
    for name, (a, b) in (("leader_self_assessment", ("2023", "2025")), ("partner_survey", ("2024", "2025"))):
        first = set(reads[name, a][1].responses["respondent_id"])
        second = set(reads[name, b][1].responses["respondent_id"])
        assert 0.3 < len(first & second) / len(first) < 0.95, name
