"""The dbt project as Dagster sees it. Kept alone in this module (STACK_NOTES: the manifest command imports it)."""
from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
