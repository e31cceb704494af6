"""Dagster and the command line (SPEC 7, 8), through the real CLI in a subprocess: one
`sofs-warehouse run` over a small landing zone (a good, a quarantined and a warned survey wave and one dossier
extract), then status, query, the Dagster instance and the schedule. Synthetic data only."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import ROOT, TEST_KEY
from tests.helpers import CLI, HEADER, MINI_INSTRUMENT, cli_env, run_cli, warehouse_rows, write_export

# real `sofs-warehouse` processes (run, status, ui, docs): about 2 minutes; `make test-cli` (README)
pytestmark = pytest.mark.cli_processes

OK = ["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokA", "A4", "A2", "7", "1", "", "301"]
OK2 = ["2", "2021-05-04 10:11:12", "3", "nl", "1", "tokB", "A3", "A3", "6", "2", "", "280"]
BAD = ["3", "2021-05-04 10:11:12", "3", "nl", "1", "tokC", "A9", "A1", "9", "2", "", "40"]  # A9: no code
DOSSIERS = """dossier_id,child_id,service,region,team,registration_date,closure_date,closure_reason,birth_year,sex
D1,C1,OCJ,Antwerpen,,2024-01-10,,,2012,V
D2,C2,SDJ,Antwerpen,,2024-03-01,2025-05-01,doelen_bereikt,2010,M
D3,C3,OCJ,Limburg,,2024-06-15,,,2011,M
D4,C4,SDJ,Limburg,,2023-11-20,,,2013,V
D5,C5,OCJ,Limburg,,2025-02-01,,,2014,V
"""
PLACEMENTS = """placement_id,dossier_id,start_date,end_date,placement_type
P1,D1,2024-05-01,,foster_family
P2,D3,2024-09-01,2024-12-01,residential
"""
EVENTS = """event_id,dossier_id,event_date,event_type,value,rated_by
E1,D1,2024-02-01,mapping,,
E2,D3,2024-08-01,safety_plan,,
E3,D4,2024-01-05,network_meeting,,
"""
SURVEY_TABLES = ["survey_responses", "survey_answers", "survey_items", "survey_value_labels", "survey_constructs",
                 "survey_waves"]


def _env(tmp: Path) -> dict[str, str]:
    return cli_env(tmp, SOFS_TEAMS_FILE=str(tmp / "teams.yaml"))


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """One `run` over: mini_survey/w1 (good), w2 (quarantined: S_CODE_IN_SCHEME), w3 (loaded with the warning
    S_COLUMN_UNMAPPED), dossiers/2025-06-30 (5 dossiers, 2 placements, 3 practice events)."""
    tmp = tmp_path_factory.mktemp("dagster_cli")
    env = _env(tmp)
    (tmp / "instruments" / "mini_survey.yaml").write_text(MINI_INSTRUMENT, encoding="utf-8")
    waves = tmp / "landing" / "surveys" / "mini_survey"
    write_export(waves / "w1" / "responses.csv", [HEADER, OK, OK2])
    write_export(waves / "w2" / "responses.csv", [HEADER, OK, BAD])
    write_export(waves / "w3" / "responses.csv", [HEADER + ["OVERTIME"], OK + ["1"]])
    folder = tmp / "landing" / "dossiers" / "2025-06-30"
    folder.mkdir(parents=True)
    (folder / "dossiers.csv").write_text(DOSSIERS, encoding="utf-8")
    (folder / "placements.csv").write_text(PLACEMENTS, encoding="utf-8")
    (folder / "practice_events.csv").write_text(EVENTS, encoding="utf-8")
    run = run_cli(env, "run")
    return tmp, env, run


# ------------------------------------------------------------------ 1. audit.loads.rows per file

def test_each_file_records_its_own_row_count(landed):
    tmp, _env_, run = landed
    assert "loaded 3, quarantined 1" in run.stdout, run.stdout + run.stderr
    rows = dict(warehouse_rows(tmp, "select source_file, rows from audit.loads where status = 'loaded' "
                           "and partition_kind = 'dossier'"))
    assert rows == {"dossiers/2025-06-30/dossiers.csv": 5, "dossiers/2025-06-30/placements.csv": 2,
                    "dossiers/2025-06-30/practice_events.csv": 3}
    survey = dict(warehouse_rows(tmp, "select source_file, rows from audit.loads where partition_key = 'mini_survey/w1'"))
    assert survey["surveys/mini_survey/w1/responses.csv"] == 2
    assert survey["surveys/mini_survey/w1/(instrument mini_survey.yaml)"] is None  # not a table of rows


def test_unchanged_attempt_is_recorded_without_rows_and_status_keeps_the_load(landed, monkeypatch):
    tmp, env, _run = landed
    for name in ("SOFS_LANDING_DIR", "SOFS_WAREHOUSE_PATH", "DAGSTER_HOME", "SOFS_PSEUDONYM_KEY",
                 "SOFS_INSTRUMENTS_DIR", "SOFS_TEAMS_FILE"):
        monkeypatch.setenv(name, env[name])
    from orchestration import ingest, landing

    outcome = ingest.load_partition(landing.find("dossier", "2025-06-30"))
    assert outcome.status == "unchanged"
    assert warehouse_rows(tmp, "select count(*), count(rows) from audit.loads where status = 'unchanged'") == [(3, 0)]
    status = run_cli(env, "status", "--partition", "2025-06-30", timeout=300)
    line = next(ln for ln in status.stdout.splitlines() if ln.endswith("placements.csv"))
    assert line.split()[:2] == ["loaded", "2"], status.stdout


# ------------------------------------------------------------------ 2. status, query, --version

def test_status_totals_warnings_rules_once_and_filters(landed):
    _tmp, env, _run = landed
    status = run_cli(env, "status", timeout=300)
    assert status.returncode == 0, status.stdout + status.stderr
    out = status.stdout
    total = next(ln for ln in out.splitlines() if ln.startswith("total:"))
    assert "9 file(s) in 4 partition(s)" in total and "7 loaded" in total and "2 quarantined" in total
    assert "1 partition(s) loaded with warnings" in total
    assert len(re.findall(r"WARNING \(loaded anyway\) S_COLUMN_UNMAPPED", out)) == 1
    # w2 has two files (export + instrument pseudo-file) in one load: its rule is listed once
    assert len(re.findall(r"rule S_CODE_IN_SCHEME \(error\)", out)) == 1

    problems = run_cli(env, "status", "--problems", timeout=300).stdout
    assert "mini_survey/w2/responses.csv" in problems and "mini_survey/w3/responses.csv" in problems
    assert "mini_survey/w1/" not in problems and "dossiers/2025-06-30" not in problems

    one = run_cli(env, "status", "--partition", "mini_survey/w1", timeout=300).stdout
    assert "mini_survey/w1/responses.csv" in one and "w2" not in one and "dossiers" not in one
    unknown = run_cli(env, "status", "--partition", "nope/w9", timeout=300)
    assert unknown.returncode == 2 and "no partition 'nope/w9'" in unknown.stdout


def test_no_traceback_when_output_is_piped_into_head(landed):
    _tmp, env, _run = landed
    for cmd in (f"'{CLI}' status | head -1",
                f"'{CLI}' query 'select range from range(200000)' --csv | head -2",
                f"'{CLI}' query 'select range from range(5000)' --max-rows 5000 | head -2"):
        proc = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, (cmd, proc.stderr)
        assert proc.returncode in (0, 141), (cmd, proc.returncode, proc.stderr)
        assert len(proc.stdout.splitlines()) >= 1


def test_a_second_run_names_the_partition_still_quarantined(landed):
    tmp, env, _run = landed
    again = run_cli(env, "run")
    assert again.returncode == 0, again.stdout + again.stderr   # nothing new: README's exit code 0
    assert "loaded 0, quarantined 0" in again.stdout
    assert "still quarantined from an earlier run: survey mini_survey/w2" in again.stdout, again.stdout


def test_version_prints_the_package_version():
    from importlib.metadata import version

    proc = subprocess.run([CLI, "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"sofs-warehouse {version('sofs-warehouse')}"


# ------------------------------------------------------------------ 3. progress while dbt builds

def test_run_prints_dbt_progress_while_building(landed):
    _tmp, _env_, run = landed
    progress = [ln for ln in run.stdout.splitlines() if re.search(r"dbt: \d+ of \d+ models and tests done", ln)]
    assert progress, run.stdout
    numbers = [int(re.search(r"dbt: (\d+) of", ln).group(1)) for ln in progress]
    assert numbers == sorted(numbers)


def test_dbt_progress_parses_finished_nodes_only():
    from orchestration.cli import dbt_progress

    assert dbt_progress("12 of 323 OK created sql table model marts.fct_dossier ....... [\x1b[32mOK\x1b[0m in 0.2s]") \
        == (12, 323, "model marts.fct_dossier OK")
    assert dbt_progress("13:01:02  14 of 323 FAIL 3 unique_fct_dossier_key ....... [FAIL 3 in 0.1s]") \
        == (14, 323, "test unique_fct_dossier_key FAIL")
    assert dbt_progress("12 of 323 START sql table model marts.fct_dossier ......... [RUN]") is None
    assert dbt_progress("Done. PASS=300 WARN=0 ERROR=0 SKIP=0 TOTAL=300") is None
    assert dbt_progress("15:14:44  1 of 1 OK hook: sofs_warehouse.on-run-start.0 ....... [\x1b[32mOK\x1b[0m in 0.01s]") \
        is None


def test_makefile_pip_is_not_silent():
    text = (ROOT / "Makefile").read_text()
    installs = [ln for ln in text.splitlines() if "pip install" in ln and "-e '.[test]'" in ln]
    assert installs and all(" -q" not in ln for ln in installs)


# ------------------------------------------------------------------ 4. quarantine in Dagster's partition view

def test_quarantined_partition_is_not_materialized_and_checks_carry_partitions(landed, monkeypatch):
    tmp, _env_, _run = landed
    monkeypatch.setenv("DAGSTER_HOME", str(tmp / "dagster_home"))
    instance = dg.DagsterInstance.get()
    try:
        for table in SURVEY_TABLES:
            done = instance.get_materialized_partitions(dg.AssetKey(["raw", table]))
            assert done == {"mini_survey/w1", "mini_survey/w3"}, (table, done)
        assert instance.get_materialized_partitions(dg.AssetKey(["raw", "dossier_placement_versions"])) == {"2025-06-30"}
        check_key = dg.AssetCheckKey(dg.AssetKey(["raw", "survey_responses"]), "stage1_record_and_format")
        records = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=20)
        evaluations = [r.event.dagster_event.event_specific_data for r in records]
        assert {e.partition for e in evaluations} == {"mini_survey/w1", "mini_survey/w2", "mini_survey/w3"}
        bad = next(e for e in evaluations if e.partition == "mini_survey/w2")
        assert bad.passed is False and bad.metadata["blocking_rules"].value == "S_CODE_IN_SCHEME"
        # the quarantined partition's run failed (red in the UI), the good ones succeeded
        runs = {r.tags.get("dagster/partition"): r.status for r in instance.get_runs()
                if r.tags.get("dagster/partition")}
        assert runs["mini_survey/w2"] == dg.DagsterRunStatus.FAILURE
        assert runs["mini_survey/w1"] == dg.DagsterRunStatus.SUCCESS
    finally:
        instance.dispose()


# ------------------------------------------------------------------ 5. nightly schedule on by default

def test_nightly_schedule_runs_by_default():
    from orchestration.definitions import defs

    schedule = defs.resolve_schedule_def("build_all_marts_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


# ------------------------------------------------------------------ 6. make ui: .env, no warning, Ctrl-C stops all

def test_ui_reads_env_file_has_no_instance_warning_and_ctrl_c_stops_every_process(tmp_path):
    import signal
    import socket
    import time
    import urllib.request

    from orchestration.cli import _alive, _descendants

    env = _env(tmp_path)
    del env["SOFS_PSEUDONYM_KEY"]
    (tmp_path / "ui.env").write_text(f"# the key for runs launched from the UI\nexport SOFS_PSEUDONYM_KEY='{TEST_KEY}'\n")
    env["SOFS_ENV_FILE"] = str(tmp_path / "ui.env")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "ui.log", "w+")
    proc = subprocess.Popen([CLI, "ui", "--port", str(port), "--grace", "15"], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline, up = time.monotonic() + 240, False
        while time.monotonic() < deadline and proc.poll() is None and not up:
            try:
                up = urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).status == 200
            except OSError:
                time.sleep(2)
        assert up, (tmp_path / "ui.log").read_text()
        # the code location (run from DAGSTER_HOME) loads: the definitions import from the installed package
        import json

        query = json.dumps({"query": "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                                     "locationOrLoadError { __typename } } } } }"}).encode()
        entries = []
        while time.monotonic() < deadline:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query,
                                         headers={"Content-Type": "application/json"})
            entries = json.load(urllib.request.urlopen(req, timeout=10))["data"]["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                break
            time.sleep(2)
        assert [e["locationOrLoadError"]["__typename"] for e in entries] == ["RepositoryLocation"], entries
        time.sleep(1)
        tree = _descendants(proc.pid)
        assert len(tree) >= 2  # dagster dev, its webserver, daemon, code server
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
        time.sleep(1)
        assert [p for p in tree if _alive(p)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in _descendants(proc.pid):
            os.kill(p, signal.SIGKILL)
    out = (tmp_path / "ui.log").read_text()
    assert "read SOFS_PSEUDONYM_KEY from" in out and TEST_KEY not in out
    assert "will not be used" not in out and "SOFS_PSEUDONYM_KEY is not set" not in out


def test_env_file_parsing_and_environment_wins(tmp_path, monkeypatch):
    from orchestration import settings
    from orchestration.cli import load_env_file

    f = tmp_path / ".env"
    f.write_text('A_ONE="x y"\n\n# c\nexport B_TWO=2\nC_THREE=3\n')
    monkeypatch.setenv("C_THREE", "env")
    for name in ("A_ONE", "B_TWO"):
        monkeypatch.delenv(name, raising=False)
    assert load_env_file(f) == ["A_ONE", "B_TWO"]
    assert os.environ["A_ONE"] == "x y" and os.environ["C_THREE"] == "env"
    f.write_text("not a pair\n")
    with pytest.raises(settings.ConfigurationError, match="line 1"):
        load_env_file(f)
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    for name in ("A_ONE", "B_TWO"):
        os.environ.pop(name, None)


# ------------------------------------------------------------------ 7. docs and tables

def test_tables_lists_reporting_and_marts_with_rows_and_descriptions(landed):
    tmp, env, _run = landed
    proc = run_cli(env, "tables", "--width", "160", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = {ln.split()[0]: ln for ln in proc.stdout.splitlines() if ln.startswith(("reporting.", "marts."))}
    expected = {f"{s}.{t}" for s, t in warehouse_rows(tmp, "select table_schema, table_name from information_schema.tables "
                                                 "where table_schema in ('reporting', 'marts')")}
    assert set(lines) == expected
    (n,) = warehouse_rows(tmp, "select count(*) from marts.fct_survey_response")[0]
    assert lines["marts.fct_survey_response"].split()[1] == str(n) == "3"
    assert all(len(ln) <= 160 for ln in lines.values())
    assert sum(ln.split(None, 2)[2] != "-" for ln in lines.values() if len(ln.split(None, 2)) == 3) >= len(lines) - 2


def test_docs_generates_into_its_own_target_and_leaves_the_manifest_alone(landed):
    import hashlib

    tmp, env, _run = landed
    manifest = ROOT / "dbt_project" / "target" / "manifest.json"
    before = (manifest.stat().st_mtime_ns, hashlib.sha256(manifest.read_bytes()).hexdigest())
    proc = run_cli(env, "docs", "--no-serve", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    docs = tmp / "dagster_home" / "dbt_docs"
    assert (docs / "index.html").exists() and (docs / "catalog.json").exists()
    assert (manifest.stat().st_mtime_ns, hashlib.sha256(manifest.read_bytes()).hexdigest()) == before


def test_dbt_docs_args_use_a_separate_target_path(tmp_path):
    from orchestration.cli import dbt_docs_args

    args = dbt_docs_args("serve", tmp_path / "docs", 8123)
    assert args[:2] == ["docs", "serve"] and args[args.index("--target-path") + 1] == str(tmp_path / "docs")
    assert args[args.index("--port") + 1] == "8123"


# ------------------------------------------------------------------ 8. landing files as observable source assets

def test_landing_files_are_observable_sources_upstream_of_raw(landed, monkeypatch):
    import hashlib

    tmp, env, _run = landed
    for name in ("SOFS_LANDING_DIR", "SOFS_WAREHOUSE_PATH", "DAGSTER_HOME", "SOFS_INSTRUMENTS_DIR"):
        monkeypatch.setenv(name, env[name])
    from orchestration.assets.landing_files import dossier_extract_files, partition_version
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for table in ("dossier_versions", "dossier_placement_versions", "dossier_event_versions", "dossier_extracts"):
        assert graph.get(dg.AssetKey(["raw", table])).parent_keys == {dg.AssetKey(["landing", "dossier_extract_files"])}
    assert graph.get(dg.AssetKey(["raw", "survey_responses"])).parent_keys == {
        dg.AssetKey(["landing", "survey_wave_files"])}

    instance = dg.DagsterInstance.get()
    try:
        observe = dg.Definitions(assets=[dossier_extract_files], jobs=[dg.define_asset_job(
            "observe", selection=[dossier_extract_files.key])]).resolve_job_def("observe")
        assert observe.execute_in_process(instance=instance).success  # what the UI's "Observe sources" runs
        folder = tmp / "landing" / "dossiers" / "2025-06-30"
        fingerprint = {f"dossiers/2025-06-30/{f.name}": hashlib.sha256(f.read_bytes()).hexdigest()
                       for f in folder.iterdir()}
        record = instance.get_latest_data_version_record(dg.AssetKey(["landing", "dossier_extract_files"]),
                                                         partition_key="2025-06-30")
        assert record is not None
        version = record.asset_observation.tags["dagster/data_version"]
        assert version == partition_version(fingerprint) and len(version) == 64
    finally:
        instance.dispose()
    one = {"surveys/x/w1/responses.csv": "ab" * 32}
    assert partition_version(one) == "ab" * 32
