"""dbt models as Dagster assets (dagster-dbt), downstream of the ingestion assets (SPEC 7)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration import dbt_runs, settings, warehouse
from orchestration.project import dbt_project, dbt_vars
from orchestration.resources import LeanDbtCliResource, WarehouseResource

#: dbt sources whose tables are written by the ingestion assets (asset key raw/<table>)
INGESTED_SOURCES = {"raw_surveys", "raw_dossiers"}


class SofsTranslator(DagsterDbtTranslator):
    """Sources map to the ingestion assets' keys ``raw/<table>`` (lineage); models are ``<schema>/<model>``."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] in INGESTED_SOURCES:
                return dg.AssetKey(["raw", dbt_resource_props["name"]])
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props.get("schema")
            return dg.AssetKey([schema, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("config", {}).get("schema")
        return schema or "dbt"


TRANSLATOR = SofsTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def lean(dbt: DbtCliResource, warehouse_path: str | None = None) -> LeanDbtCliResource:
    """The same dbt resource (project, profiles, target, flags, executable) as a :class:`LeanDbtCliResource`
    (:mod:`orchestration.resources`), building ``warehouse_path`` unless it names a warehouse already."""
    if isinstance(dbt, LeanDbtCliResource) and (warehouse_path is None or dbt.warehouse_path):
        return dbt
    return LeanDbtCliResource(project_dir=dbt.project_dir, global_config_flags=list(dbt.global_config_flags),
                              profiles_dir=dbt.profiles_dir, profile=dbt.profile, target=dbt.target,
                              dbt_executable=dbt.dbt_executable, state_path=dbt.state_path,
                              warehouse_path=getattr(dbt, "warehouse_path", None) or warehouse_path)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            pool="duckdb")
def sofs_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """``dbt build`` of the selected models (staging -> intermediate -> marts -> reporting) of the
    ``warehouse`` resource's file, under its writer lock so no other process writes the DuckDB file
    meanwhile; then the disclosure control of ``reporting`` (SPEC 6), still under the lock, also when the
    build failed part-way (a reporting table dbt rebuilt must not stay with only dbt's first pass). Every
    build, successful or not, is recorded in ``audit.dbt_builds`` with dbt's counts
    (:mod:`orchestration.dbt_runs`); the target folders of older builds are removed."""
    db = warehouse.db  # ``warehouse`` here is the resource (its key in ``defs``), not the module
    with warehouse.writer_lock(wait_seconds=600):
        sync_study_definitions(context.log, db)
        invocation = None
        built = protected = False
        try:
            invocation = lean(dbt, warehouse.path).cli(build_args(), context=context)
            yield from invocation.stream()
            built = True
        finally:
            try:
                protect_after_build(context.log, db)
                protected = True
            except Exception:
                if built:
                    raise
                context.log.exception("disclosure control after the failed dbt build failed too")
            finally:
                _record_build(warehouse, invocation, succeeded=built and protected,
                              n_models=len(context.selected_asset_keys))


def _record_build(warehouse: WarehouseResource, invocation, *, succeeded: bool, n_models: int) -> None:
    """Record the build in ``audit.dbt_builds`` and keep only the newest build folders in dbt's target."""
    target = getattr(invocation, "target_path", None)
    with warehouse.write_connection() as con:
        dbt_runs.record_build(con, succeeded=succeeded, n_models=n_models, counts=dbt_runs.read_counts(target))
    if target is not None:
        dbt_runs.prune_build_folders(Path(target).parent, prefix=Path(target).name.split("-", 1)[0] + "-")


def sync_study_definitions(log, db: Path | None = None) -> None:
    """Write the valid study definitions of ``data/studies`` (``SOFS_STUDIES_DIR``) to ``raw.study_*`` and the
    exposures of ``data/evaluation.yaml`` to ``raw.evaluation_exposures`` and the roll-out dates of
    ``data/implementation.yaml`` to ``raw.implementation_rollout`` before dbt reads them (SPEC 9.1-9.3);
    a refused study file or exposure is one warning (file, key, reason) and the others load. ``db``: the
    warehouse file (default :func:`orchestration.settings.warehouse_path`)."""
    from orchestration import evaluation, studies

    with warehouse.write_connection(db) as con:
        studies.sync_definitions(con, warn=log.warning)
        evaluation.sync_exposures(con, warn=log.warning)   # data/evaluation.yaml (SPEC 9.2)
        evaluation.sync_rollout(con, warn=log.warning)     # data/implementation.yaml (SPEC 9.3)


#: How long the disclosure step waits for readers holding the warehouse after a dbt build (seconds).
PROTECT_WAIT_SECONDS = 1800


def protect_after_build(log, db: Path | None = None) -> None:
    """Secondary suppression and LP audit over every reporting table (orchestration.disclosure) of the
    warehouse ``db`` (default :func:`orchestration.settings.warehouse_path`); the audit lands in
    ``audit.disclosure_audit``, which the ``disclosure_audit`` asset check reads."""
    from orchestration.disclosure.protect import protect_reporting

    # a researcher's read-only connection may hold the file right after dbt: wait for it (with progress)
    # rather than leave reporting with dbt's first pass only
    with warehouse.write_connection(db, wait_seconds=PROTECT_WAIT_SECONDS) as con:
        outcome = protect_reporting(con, settings.min_cell(), progress=log.info)
    summary = (f"disclosure control: {len(outcome.audit)} withheld cell(s) audited, {outcome.added} withheld "
               f"beyond dbt's first pass, {outcome.rounds} round(s)")
    if outcome.passed:
        log.info(summary + "; audit passed")
    else:
        log.error(summary + "; AUDIT FAILED: " + outcome.failures())


@dg.asset_check(asset=dg.AssetKey(["reporting", "rpt_suppression_rule"]), name="disclosure_audit",
                description="Every withheld count of the reporting tables keeps a feasible interval of at "
                            "least [0, min_cell] under everything published (LP audit, SPEC 6).")
def disclosure_audit_check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Reads the latest build's ``audit.disclosure_audit`` in the ``warehouse`` resource's file: fails when a
    withheld cell is not protected."""
    from orchestration.disclosure.protect import latest_build_audit

    with warehouse.read_connection() as con:
        audit = latest_build_audit(con, limit=10)
    if audit is None:
        return dg.AssetCheckResult(passed=False, metadata={"reason": "no disclosure audit recorded yet"})
    names = [f"{t} [{k}] {c}" for t, k, c in audit.unprotected_cells]
    return dg.AssetCheckResult(passed=audit.unprotected == 0, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"withheld_cells": audit.withheld, "unprotected_cells": audit.unprotected,
                                         "unprotected_examples": ", ".join(names) or "-"})


def build_args() -> list[str]:
    """``dbt build`` arguments: the selection comes from the Dagster run; the vars are the manifest's
    (:func:`orchestration.project.dbt_vars`).

    >>> build_args()[:2]
    ['build', '--vars']
    """
    return ["build", "--vars", dbt_vars()]
