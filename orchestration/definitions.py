"""The one Dagster ``Definitions`` object: assets, checks, jobs, sensors, schedule, resources (SPEC 7)."""
from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration import settings
from orchestration.assets.dashboard import dashboard
from orchestration.assets.dbt import disclosure_audit_check, sofs_dbt_models
from orchestration.assets.ingestion import dossier_extract, survey_wave
from orchestration.assets.landing_files import dossier_extract_files, survey_wave_files
from orchestration.jobs import INGEST_JOBS, MART_JOBS, build_all_marts
from orchestration.project import dbt_project
from orchestration.sensors import landing_zone_sensor, nightly_marts, rebuild_marts_after_ingest

settings.export_environment()

defs = dg.Definitions(
    assets=[survey_wave_files, dossier_extract_files, survey_wave, dossier_extract, sofs_dbt_models,
            dashboard],
    asset_checks=[disclosure_audit_check],
    jobs=[*INGEST_JOBS.values(), *MART_JOBS.values(), build_all_marts],
    sensors=[landing_zone_sensor, rebuild_marts_after_ingest],
    schedules=[nightly_marts],
    resources={"dbt": DbtCliResource(project_dir=dbt_project,
                                      dbt_executable=str(Path(sys.executable).with_name("dbt")))},
)
