"""The one Dagster ``Definitions`` object: assets, checks, jobs, sensors, schedule, resources (SPEC 7).

Importing this module changes nothing in the environment (no ``os.environ`` or ``PATH`` edits): the
warehouse, the pseudonymisation key, the landing zone and dbt reach the assets as resources
(:mod:`orchestration.resources`), built from the settings as they are at import. ``sofs-warehouse run``
builds its own with :func:`build_defs` from the settings of that moment.
"""
from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from orchestration.assets.dashboard import dashboard
from orchestration.assets.dbt import disclosure_audit_check, sofs_dbt_models
from orchestration.assets.ingestion import dossier_extract, survey_wave
from orchestration.assets.landing_files import dossier_extract_files, survey_wave_files
from orchestration.jobs import INGEST_JOBS, MART_JOBS, build_all_marts
from orchestration.resources import resources_from_settings
from orchestration.sensors import landing_zone_sensor, nightly_marts, rebuild_marts_after_ingest


def build_defs(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    """The project's definitions with ``resources`` (default :func:`orchestration.resources.resources_from_settings`:
    keys ``warehouse``, ``pseudonym_key``, ``landing_zone``, ``dbt``)."""
    return dg.Definitions(
        assets=[survey_wave_files, dossier_extract_files, survey_wave, dossier_extract, sofs_dbt_models,
                dashboard],
        asset_checks=[disclosure_audit_check],
        jobs=[*INGEST_JOBS.values(), *MART_JOBS.values(), build_all_marts],
        sensors=[landing_zone_sensor, rebuild_marts_after_ingest],
        schedules=[nightly_marts],
        resources=dict(resources if resources is not None else resources_from_settings()),
    )


defs = build_defs()
