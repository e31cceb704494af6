"""The Dagster definitions load once, with the expected jobs, assets, checks, sensors, schedules and resources,
and importing them changes nothing in the environment (SPEC 7, 8)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from tests.conftest import ROOT

#: the raw tables the ingestion assets write (SPEC 4: raw.survey_*, the dossier change history)
RAW = ["survey_responses", "survey_answers", "survey_items", "survey_value_labels", "survey_constructs",
       "survey_waves", "dossier_versions", "dossier_placement_versions", "dossier_event_versions",
       "dossier_extracts"]
#: dbt sources whose tables the ingestion assets write: their asset key is raw/<table> (lineage, SPEC 7)
INGESTED_SOURCES = {"raw_surveys", "raw_dossiers"}

_SNAPSHOT = """
import json, os, sys
before = dict(os.environ)
import orchestration.definitions  # noqa: F401
after = dict(os.environ)
print(json.dumps({"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
                  "changed": sorted(k for k in set(before) & set(after) if before[k] != after[k])}))
"""


def _import_in_subprocess(tmp_path, **extra: str) -> subprocess.CompletedProcess:
    """Import orchestration.definitions in a fresh interpreter whose environment lacks every variable the old
    import used to set (SOFS_WAREHOUSE_PATH, DAGSTER_HOME, GX_ANALYTICS_ENABLED) and whose PATH does not
    start with the virtualenv's bin folder."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "SOFS_LANDING_DIR": str(tmp_path / "landing"), **extra}
    return subprocess.run([sys.executable, "-c", _SNAPSHOT], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


def test_importing_the_definitions_leaves_the_environment_alone(pipeline_manifest, tmp_path):
    proc = _import_in_subprocess(tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    diff = json.loads(proc.stdout.strip().splitlines()[-1])
    assert diff == {"added": [], "removed": [], "changed": []}


def test_importing_the_definitions_reads_no_setting_that_can_fail(pipeline_manifest, tmp_path):
    """A bad SOFS_MIN_CELL or a missing key is an error of the run that needs them, not of the import
    (the manifest's --vars are computed when it is prepared; the key is resolved when a run starts)."""
    proc = _import_in_subprocess(tmp_path, SOFS_MIN_CELL="abc")
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture
def defs(pipeline_manifest, project_env):
    from orchestration.definitions import build_defs

    return build_defs()


def _manifest() -> dict:
    return json.loads((ROOT / "dbt_project" / "target" / "manifest.json").read_text())


def test_jobs_sensors_and_schedules(defs):
    jobs = {j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")}
    assert jobs == {"ingest_survey_wave", "ingest_dossier_extract", "build_survey_marts", "build_dossier_marts",
                    "build_all_marts"}
    assert {s.name for s in defs.sensors} == {"landing_zone_sensor", "rebuild_marts_after_ingest"}
    assert {s.name for s in defs.schedules} == {"build_all_marts_schedule"}
    dg.Definitions.validate_loadable(defs)  # every asset, check, sensor finds the resources it asks for


def test_asset_keys_are_ours_and_the_manifests(defs):
    """Our assets by hand; the dbt ones from the manifest: every non-ephemeral model as <schema>/<model>,
    every source table as raw/<table> when ingested by us, else <source>/<table>."""
    manifest = _manifest()
    models = {(n["config"]["schema"], n["name"]) for n in manifest["nodes"].values()
              if n["resource_type"] == "model" and n["config"]["materialized"] != "ephemeral"}
    sources = {("raw", s["name"]) if s["source_name"] in INGESTED_SOURCES else (s["source_name"], s["name"])
               for s in manifest["sources"].values()}
    ours = {("landing", "survey_wave_files"), ("landing", "dossier_extract_files"), ("dashboard",)} | \
        {("raw", t) for t in RAW}
    keys = {tuple(k.path) for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == ours | models | sources
    assert len(models) > 50  # the manifest is the project's, not an empty one


def test_asset_checks_are_ours_and_the_dbt_tests(defs):
    """The two blocking stage checks on each kind's main raw table and the disclosure audit by hand; every dbt
    test on a non-ephemeral model (its attached model, or a singular test's one model) as a check named after it."""
    manifest = _manifest()
    nodes = manifest["nodes"]
    models = {uid for uid, n in nodes.items() if n["resource_type"] == "model" and n["config"]["materialized"] != "ephemeral"}
    dbt_checks = set()
    for n in nodes.values():
        if n["resource_type"] != "test":
            continue
        parent = n.get("attached_node")
        if parent is None:
            deps = [d for d in n["depends_on"]["nodes"] if d.startswith("model.")]
            parent = deps[0] if len(deps) == 1 else None
        if parent in models:
            dbt_checks.add(((nodes[parent]["config"]["schema"], nodes[parent]["name"]), n["name"]))
    ours = {(("raw", table), stage) for table in ("survey_responses", "dossier_versions")
            for stage in ("stage1_record_and_format", "stage2_relational_and_temporal")}
    ours.add((("reporting", "rpt_suppression_rule"), "disclosure_audit"))
    checks = {(tuple(k.asset_key.path), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    assert checks == ours | dbt_checks
    assert len(dbt_checks) > 100


def test_resources_warehouse_key_landing_and_dbt(defs, project_env):
    from orchestration.resources import (LandingZoneResource, LeanDbtCliResource, PseudonymKeyResource,
                                         WarehouseResource)

    res = defs.resources
    assert set(res) == {"warehouse", "pseudonym_key", "landing_zone", "dbt"}
    assert isinstance(res["warehouse"], WarehouseResource)
    assert res["warehouse"].path == str(project_env / "warehouse.duckdb")
    assert isinstance(res["landing_zone"], LandingZoneResource)
    assert res["landing_zone"].root == str(project_env / "landing")
    assert isinstance(res["dbt"], LeanDbtCliResource)
    assert res["dbt"].warehouse_path == str(project_env / "warehouse.duckdb")
    assert res["dbt"].dbt_environment() == {"SOFS_WAREHOUSE_PATH": str(project_env / "warehouse.duckdb")}
    # the key: an EnvVar naming the variable, never the value (which project_env set in the environment)
    assert isinstance(res["pseudonym_key"], PseudonymKeyResource)
    key = res["pseudonym_key"].key
    assert isinstance(key, dg.EnvVar) and key.env_var_name == "SOFS_PSEUDONYM_KEY"
    assert os.environ["SOFS_PSEUDONYM_KEY"] not in repr(res["pseudonym_key"])


def test_the_key_resource_refuses_a_short_or_blank_key():
    from orchestration.resources import PseudonymKeyResource
    from orchestration.settings import ConfigurationError

    assert PseudonymKeyResource(key="k" * 32).value() == b"k" * 32
    with pytest.raises(ConfigurationError, match="at least 32"):
        PseudonymKeyResource(key="k" * 31).value()
    with pytest.raises(ConfigurationError, match="is not set"):
        PseudonymKeyResource(key="   ").value()


def test_dbt_gets_the_warehouse_without_changing_this_process(tmp_path, monkeypatch):
    """The dbt process sees SOFS_WAREHOUSE_PATH of the resource; this process's environment is unchanged after."""
    from orchestration import resources

    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", "/elsewhere.duckdb")
    seen = {}

    def fake_cli(self, args, **kwargs):
        seen["env"] = os.environ.get("SOFS_WAREHOUSE_PATH")
        return "invocation"

    monkeypatch.setattr(resources.DbtCliResource, "cli", fake_cli)
    dbt = resources.LeanDbtCliResource(project_dir=str(ROOT / "dbt_project"),
                                       warehouse_path=str(tmp_path / "w.duckdb"))
    assert dbt.cli(["build"]) == "invocation"
    assert seen["env"] == str(tmp_path / "w.duckdb")
    assert os.environ["SOFS_WAREHOUSE_PATH"] == "/elsewhere.duckdb"
