"""The dbt project as Dagster sees it. Kept alone in this module (STACK_NOTES: the manifest command imports it)."""
import json

from dagster_dbt import DbtProject

from orchestration import settings
from orchestration.settings import DBT_PROJECT_DIR


def dbt_vars() -> str:
    """The ``--vars`` of every dbt call: ``min_cell`` of the reporting schema from ``SOFS_MIN_CELL`` (SPEC 6).
    The manifest is parsed with the same vars as the builds, so dbt can reuse it (partial parsing)."""
    return json.dumps({"min_cell": settings.min_cell()})


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR,
                         prepare_project_cli_args=["parse", "--quiet", "--vars", dbt_vars()])
