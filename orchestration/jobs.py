"""Jobs: ingest one partition of a kind; rebuild the dbt models that depend on a kind (SPEC 7)."""
from __future__ import annotations

import dagster as dg

from orchestration.assets.ingestion import DOSSIER_KEYS, SURVEY_KEYS

ingest_survey_wave = dg.define_asset_job(
    "ingest_survey_wave", selection=dg.AssetSelection.assets(*SURVEY_KEYS),
    description="Read, check and load one survey wave (partition = <instrument>/<wave>).")
ingest_dossier_extract = dg.define_asset_job(
    "ingest_dossier_extract", selection=dg.AssetSelection.assets(*DOSSIER_KEYS),
    description="Read, check and load one dossier extract (partition = extract date).")

_DBT = dg.AssetSelection.groups("staging", "intermediate", "marts", "reporting")
#: The reporting table that states the disclosure-control rule; its asset check ``disclosure_audit``
#: reports the LP audit that follows every build (SPEC 6), so every mart job builds it.
_RULE = dg.AssetSelection.assets(dg.AssetKey(["reporting", "rpt_suppression_rule"]))
build_survey_marts = dg.define_asset_job(
    "build_survey_marts",
    selection=(dg.AssetSelection.assets(*SURVEY_KEYS).downstream() - dg.AssetSelection.assets(*SURVEY_KEYS)) | _RULE,
    description="dbt build of every model downstream of the survey waves (not the dossier-only marts).")
build_dossier_marts = dg.define_asset_job(
    "build_dossier_marts",
    selection=(dg.AssetSelection.assets(*DOSSIER_KEYS).downstream() - dg.AssetSelection.assets(*DOSSIER_KEYS)) | _RULE,
    description="dbt build of every model downstream of the dossier extracts.")
build_all_marts = dg.define_asset_job("build_all_marts", selection=_DBT | dg.AssetSelection.groups("dashboard"),
                                      description="dbt build of every model, then the dashboard.")

INGEST_JOBS = {"survey": ingest_survey_wave, "dossier": ingest_dossier_extract}
MART_JOBS = {"survey": build_survey_marts, "dossier": build_dossier_marts}
