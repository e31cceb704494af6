"""dbt models as Dagster assets (dagster-dbt), downstream of the ingestion assets (SPEC 7)."""

from datetime import datetime
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

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


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            pool="duckdb")
def sofs_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of the selected models (staging -> intermediate -> marts -> reporting), under the
    warehouse writer lock so no other process writes the DuckDB file meanwhile."""
    settings.export_environment()
    with warehouse.writer_lock(wait_seconds=600):
        yield from dbt.cli(build_args(), context=context).stream()
        with warehouse.write_connection() as con:  # reached only when dbt succeeded
            con.execute("insert into audit.dbt_builds values (?, ?)",
                        [datetime.now(), len(context.selected_asset_keys)])


def build_args() -> list[str]:
    """``dbt build`` arguments: the selection comes from the Dagster run; the vars are the manifest's
    (:func:`orchestration.project.dbt_vars`).

    >>> build_args()[:2]
    ['build', '--vars']
    """
    return ["build", "--vars", dbt_vars()]
