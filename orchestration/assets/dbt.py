"""dbt models as Dagster assets (dagster-dbt), downstream of the ingestion assets (SPEC 7)."""

from datetime import datetime
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from packaging import version

from orchestration import settings, warehouse
from orchestration.project import dbt_project, dbt_vars

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


class LeanDbtCliResource(DbtCliResource):
    """``DbtCliResource`` without two start-up costs of every ``cli()`` call that this project does not need.

    - The dbt version: dagster-dbt runs ``dbt --version`` as a subprocess (a whole dbt start-up, about
      2 s on 2 cores) to learn it; dbt-core is installed in this environment, so its package version
      is read instead (the ``dbt`` executable is that package's console script).
    - The in-process dbt adapter handle: dagster-dbt builds one (loading the profile and the project,
      1-2 s) only to fetch row counts and column metadata, which these assets do not ask for; dbt
      itself runs as its own process either way.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        from importlib.metadata import version as package_version

        return version.parse(package_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):  # noqa: ARG002 - signature of the parent
        return None


def lean(dbt: DbtCliResource) -> LeanDbtCliResource:
    """The same dbt resource (project, profiles, target, flags, executable) as a :class:`LeanDbtCliResource`."""
    if isinstance(dbt, LeanDbtCliResource):
        return dbt
    return LeanDbtCliResource(project_dir=dbt.project_dir, global_config_flags=list(dbt.global_config_flags),
                              profiles_dir=dbt.profiles_dir, profile=dbt.profile, target=dbt.target,
                              dbt_executable=dbt.dbt_executable, state_path=dbt.state_path)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            pool="duckdb")
def sofs_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of the selected models (staging -> intermediate -> marts -> reporting), under the
    warehouse writer lock so no other process writes the DuckDB file meanwhile; then the disclosure
    control of ``reporting`` (SPEC 6), still under the lock, also when the build failed part-way (a
    reporting table dbt rebuilt must not stay with only dbt's first pass)."""
    settings.export_environment()
    with warehouse.writer_lock(wait_seconds=600):
        sync_study_definitions(context.log)
        built = False
        try:
            yield from lean(dbt).cli(build_args(), context=context).stream()
            built = True
        finally:
            try:
                protect_after_build(context.log)
            except Exception:
                if built:
                    raise
                context.log.exception("disclosure control after the failed dbt build failed too")
        with warehouse.write_connection() as con:  # reached only when dbt succeeded
            con.execute("insert into audit.dbt_builds values (?, ?)",
                        [datetime.now(), len(context.selected_asset_keys)])


def sync_study_definitions(log) -> None:
    """Write the valid study definitions of ``data/studies`` (``SOFS_STUDIES_DIR``) to ``raw.study_*`` and the
    exposures of ``data/evaluation.yaml`` to ``raw.evaluation_exposures`` and the roll-out dates of
    ``data/implementation.yaml`` to ``raw.implementation_rollout`` before dbt reads them (SPEC 9.1-9.3);
    a refused study file or exposure is one warning (file, key, reason) and the others load."""
    from orchestration import evaluation, studies

    with warehouse.write_connection() as con:
        studies.sync_definitions(con, warn=log.warning)
        evaluation.sync_exposures(con, warn=log.warning)   # data/evaluation.yaml (SPEC 9.2)
        evaluation.sync_rollout(con, warn=log.warning)     # data/implementation.yaml (SPEC 9.3)


#: How long the disclosure step waits for readers holding the warehouse after a dbt build (seconds).
PROTECT_WAIT_SECONDS = 1800


def protect_after_build(log) -> None:
    """Secondary suppression and LP audit over every reporting table (orchestration.disclosure); the
    audit lands in ``audit.disclosure_audit``, which the ``disclosure_audit`` asset check reads."""
    from orchestration.disclosure.protect import protect_reporting

    # a researcher's read-only connection may hold the file right after dbt: wait for it (with progress)
    # rather than leave reporting with dbt's first pass only
    with warehouse.write_connection(wait_seconds=PROTECT_WAIT_SECONDS) as con:
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
def disclosure_audit_check() -> dg.AssetCheckResult:
    """Reads the latest build's ``audit.disclosure_audit``: fails when a withheld cell is not protected."""
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
