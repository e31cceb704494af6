"""The dashboard asset: the static offline page rebuilt after every build of ``reporting`` (SPEC 8)."""
import dagster as dg

from orchestration import settings
from orchestration.assets.dbt import sofs_dbt_models

#: The reporting tables the page reads (every dbt model of the ``reporting`` folder).
REPORTING_KEYS = sorted((k for k in sofs_dbt_models.keys if k.path[0] == "reporting"), key=lambda k: k.path)


@dg.asset(key=dg.AssetKey(["dashboard"]), deps=REPORTING_KEYS, group_name="dashboard",
          description="The case-management dashboard: one self-contained index.html (charts with their data "
                      "tables and definitions) built from the disclosure-controlled reporting tables only "
                      "(SPEC 8); folder: SOFS_DASHBOARD_DIR, default `dashboard` beside the warehouse.")
def dashboard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Write the dashboard after the reporting tables were built and protected. A failed disclosure audit
    leaves the previous page (the ``disclosure_audit`` check fails too) and fails this step."""
    from orchestration.dashboard import build_dashboard

    result = build_dashboard(settings.dashboard_dir(), progress=context.log.info, after_build=True)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(result.index)), "charts": len(result.charts),
        "waiting_for_data": ", ".join(result.waiting) or "-", "seconds": round(result.seconds, 1)})
