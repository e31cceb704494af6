"""Ingestion assets: one dynamically partitioned multi-asset per kind of landing partition (SPEC 7).

``survey_wave`` writes the ``raw/survey_*`` tables, one partition per instrument x wave (key
``<instrument>/<wave>``); ``dossier_extract`` writes the dossier change history (``raw/dossier_versions``,
``raw/dossier_placement_versions``, ``raw/dossier_event_versions``, ``raw/dossier_extracts``;
:mod:`orchestration.history`), one partition per extract date. Each raw table is its own asset key, so the
dbt sources connect to them one to one (lineage). Both call :func:`orchestration.ingest.load_partition`
with the run's resources (:mod:`orchestration.resources`: the landing zone, the pseudonymisation key, the
warehouse)
and report its rule results as two blocking asset checks on the kind's main table (stage 1: record and
format rules; stage 2: relational and temporal rules). A failed check means the partition was quarantined.

A quarantined partition materialises nothing: the step records its check results (each carrying
its partition) and then fails with :class:`PartitionQuarantined`, so that the UI's partition view shows
every raw asset of it as failed (or as the earlier version, still intact in ``raw``), never as a fresh
green materialisation.
"""

import warnings

import dagster as dg
import duckdb

from orchestration import faults, history, ingest
from orchestration.quality.results import ERROR, RuleResult
from orchestration.resources import LandingZoneResource, PseudonymKeyResource, WarehouseResource

SURVEY_WAVES = dg.DynamicPartitionsDefinition(name="survey_waves")
DOSSIER_EXTRACTS = dg.DynamicPartitionsDefinition(name="dossier_extracts")
SURVEY_TABLES = ["survey_responses", "survey_answers", "survey_items", "survey_value_labels",
                 "survey_constructs", "survey_waves"]
#: the history table of each extract file (extract contract order: dossiers first), then raw.dossier_extracts
DOSSIER_TABLES = [t.split(".", 1)[1] for t in (*(h.table for h in history.TABLES), history.EXTRACTS)]
SURVEY_KEYS = [dg.AssetKey(["raw", t]) for t in SURVEY_TABLES]
DOSSIER_KEYS = [dg.AssetKey(["raw", t]) for t in DOSSIER_TABLES]
SURVEY_KEY, DOSSIER_KEY = SURVEY_KEYS[0], DOSSIER_KEYS[0]  # the tables that carry the checks
#: the observable source assets of the landing files (orchestration/assets/landing_files.py): lineage starts there
LANDING_KEYS = {"survey": dg.AssetKey(["landing", "survey_wave_files"]),
                "dossier": dg.AssetKey(["landing", "dossier_extract_files"])}
STAGES = {1: "stage1_record_and_format", 2: "stage2_relational_and_temporal"}
FORCE_TAG = "sofs/force"


class PartitionQuarantined(Exception):
    """Raised by an ingestion step after it recorded a quarantine (``audit.loads``, check results): the
    Dagster step fails so that no raw asset of the partition shows as materialised. The message
    is ``audit.loads.message`` (rule codes, files, lines; never a data value). ``sofs-warehouse run``
    reports it as ``quarantined``, not as a failure."""


def _check_specs(key: dg.AssetKey, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    # partitions_def on a check spec makes every evaluation carry its partition key (Dagster marks it preview)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            dg.AssetCheckSpec(STAGES[1], asset=key, blocking=True, partitions_def=partitions_def,
                              description="Required columns, types, value sets, ranges, uniqueness, mandatory "
                                          "fields."),
            dg.AssetCheckSpec(STAGES[2], asset=key, blocking=True, partitions_def=partitions_def,
                              description="References between files, date order, dates after the extract, "
                                          "cross-extract consistency."),
        ]


def check_results(key: dg.AssetKey, results: list[RuleResult]) -> list[dg.AssetCheckResult]:
    """Fold rule results into the two stage checks: failed if any rule failed; severity ERROR when an
    error rule failed, WARN when only warnings did. Metadata lists every failing rule code."""
    out = []
    for stage, name in STAGES.items():
        rules = [r for r in results if r.stage == stage]
        failing = [r for r in rules if not r.passed]
        errors = [r for r in failing if r.severity == ERROR]
        out.append(dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=not failing,
            severity=dg.AssetCheckSeverity.ERROR if errors or not failing else dg.AssetCheckSeverity.WARN,
            description="; ".join(r.describe() for r in failing)[:4000] or f"{len(rules)} rules passed",
            metadata={
                "rules_checked": len(rules),
                "failing_rules": ", ".join(r.code for r in failing) or "none",
                "blocking_rules": ", ".join(r.code for r in errors) or "none",
            }))
    return out


def _materialize(context: dg.AssetExecutionContext, kind: str, keys: list[dg.AssetKey],
                 warehouse: WarehouseResource, pseudonym_key: PseudonymKeyResource,
                 landing_zone: LandingZoneResource):
    partition = landing_zone.find(kind, context.partition_key)
    try:
        outcome = ingest.load_partition(partition, key=pseudonym_key.value(), db=warehouse.db,
                                        force=context.run.tags.get(FORCE_TAG) == "true", wait_seconds=600)
    except (OSError, duckdb.Error) as exc:
        if faults.is_disk_full(exc):  # e.g. DuckDB's checkpoint after the commit
            raise faults.DiskFull(warehouse.db, partition, exc) from exc
        raise
    context.log.info(f"{kind} {partition.key}: {outcome.status}, {outcome.rows} rows. {outcome.message}")
    for note in outcome.notes:
        context.log.info(note)
    metadata = {"status": outcome.status, "rows": outcome.rows, "load_id": outcome.load_id,
                "message": outcome.message[:4000], "files": ", ".join(sorted(outcome.files))}
    if outcome.status == ingest.QUARANTINED or any(r.blocks for r in outcome.results):
        # quarantined now, or unchanged since its quarantine: check results, then a failed step; no
        # materialisation of any raw asset (the earlier version, if any, stays in raw and in the UI)
        yield from check_results(keys[0], outcome.results)
        raise PartitionQuarantined(f"{kind} {partition.key} quarantined: {outcome.message}"[:4000])
    yield dg.MaterializeResult(asset_key=keys[0], metadata=metadata,
                               check_results=check_results(keys[0], outcome.results))
    for key in keys[1:]:
        yield dg.MaterializeResult(asset_key=key, metadata={"status": outcome.status, "load_id": outcome.load_id})


def _specs(keys: list[dg.AssetKey], what: str, source: dg.AssetKey) -> list[dg.AssetSpec]:
    return [dg.AssetSpec(k, group_name="raw", kinds={"duckdb"}, deps=[source],
                         description=f"raw.{k.path[-1]}: {what}, pseudonymised, one partition per load unit.")
            for k in keys]


@dg.multi_asset(name="survey_wave", specs=_specs(SURVEY_KEYS, "survey wave rows", LANDING_KEYS["survey"]),
                partitions_def=SURVEY_WAVES, pool="duckdb", check_specs=_check_specs(SURVEY_KEY, SURVEY_WAVES),
                description="Survey wave (LimeSurvey CSV or SPSS .sav) read through its instrument definition, "
                            "checked, pseudonymised, and written to raw.survey_* (delete + insert of the partition).")
def survey_wave(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                pseudonym_key: PseudonymKeyResource, landing_zone: LandingZoneResource):
    yield from _materialize(context, "survey", SURVEY_KEYS, warehouse, pseudonym_key, landing_zone)


@dg.multi_asset(name="dossier_extract", specs=_specs(DOSSIER_KEYS, "dossier extract rows", LANDING_KEYS["dossier"]),
                partitions_def=DOSSIER_EXTRACTS, pool="duckdb", check_specs=_check_specs(DOSSIER_KEY, DOSSIER_EXTRACTS),
                description="Dossier extract (dossiers, placements, practice events as of the extract date), "
                            "checked, pseudonymised, and recorded in the change history raw.dossier_versions / "
                            "raw.dossier_placement_versions / raw.dossier_event_versions (raw.dossier_extracts "
                            "lists the loaded extracts).")
def dossier_extract(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    pseudonym_key: PseudonymKeyResource, landing_zone: LandingZoneResource):
    yield from _materialize(context, "dossier", DOSSIER_KEYS, warehouse, pseudonym_key, landing_zone)
