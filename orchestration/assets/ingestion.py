"""Ingestion assets: one dynamically partitioned asset per kind of landing partition (SPEC 7).

``raw/survey_wave`` has one partition per instrument x wave (key ``<instrument>/<wave>``);
``raw/dossier_extract`` one per extract date. Both call :func:`orchestration.ingest.load_partition`
and report its rule results as two blocking asset checks (stage 1: record and format rules; stage 2:
relational and temporal rules). A failed check means the partition was quarantined.
"""
from __future__ import annotations

import dagster as dg

from orchestration import ingest, landing
from orchestration.quality.results import ERROR, RuleResult

SURVEY_WAVES = dg.DynamicPartitionsDefinition(name="survey_waves")
DOSSIER_EXTRACTS = dg.DynamicPartitionsDefinition(name="dossier_extracts")
SURVEY_KEY = dg.AssetKey(["raw", "survey_wave"])
DOSSIER_KEY = dg.AssetKey(["raw", "dossier_extract"])
STAGES = {1: "stage1_record_and_format", 2: "stage2_relational_and_temporal"}
FORCE_TAG = "sofs/force"


def _check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(STAGES[1], asset=key, blocking=True,
                          description="Required columns, types, value sets, ranges, uniqueness, mandatory fields."),
        dg.AssetCheckSpec(STAGES[2], asset=key, blocking=True,
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


def _materialize(context: dg.AssetExecutionContext, kind: str, key: dg.AssetKey):
    partition = landing.find(kind, context.partition_key)
    outcome = ingest.load_partition(partition, force=context.run.tags.get(FORCE_TAG) == "true",
                                    wait_seconds=600)
    context.log.info(f"{kind} {partition.key}: {outcome.status}, {outcome.rows} rows. {outcome.message}")
    for note in outcome.notes:
        context.log.info(note)
    yield dg.MaterializeResult(
        asset_key=key,
        metadata={"status": outcome.status, "rows": outcome.rows, "load_id": outcome.load_id,
                  "message": outcome.message[:4000], "files": ", ".join(sorted(outcome.files))},
        check_results=check_results(key, outcome.results),
    )


@dg.asset(key=SURVEY_KEY, partitions_def=SURVEY_WAVES, pool="duckdb", group_name="ingestion",
          check_specs=_check_specs(SURVEY_KEY), kinds={"python", "duckdb"},
          description="Survey wave (LimeSurvey CSV or SPSS .sav) read through its instrument definition, "
                      "checked, pseudonymised, and written to raw.survey_* (delete + insert of the partition).")
def survey_wave(context: dg.AssetExecutionContext):
    yield from _materialize(context, "survey", SURVEY_KEY)


@dg.asset(key=DOSSIER_KEY, partitions_def=DOSSIER_EXTRACTS, pool="duckdb", group_name="ingestion",
          check_specs=_check_specs(DOSSIER_KEY), kinds={"python", "duckdb"},
          description="Dossier extract (dossiers, placements, practice events as of the extract date), "
                      "checked, pseudonymised, and written to raw.dossiers / raw.placements / raw.practice_events.")
def dossier_extract(context: dg.AssetExecutionContext):
    yield from _materialize(context, "dossier", DOSSIER_KEY)
