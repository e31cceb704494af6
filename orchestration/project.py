"""The dbt project as Dagster sees it. Kept alone in this module: dagster-dbt's manifest command
(``dagster-dbt project prepare-and-package --file orchestration/project.py``) imports it.

Importing it reads no setting: the ``--vars`` of the manifest's ``dbt parse`` are computed when the
manifest is prepared (:class:`ParseArgs`), not when the ``DbtProject`` is built.
"""
import json
from collections.abc import Sequence

from dagster_dbt import DbtProject

from orchestration import settings
from orchestration.settings import DBT_PROJECT_DIR


def dbt_vars() -> str:
    """The ``--vars`` of every dbt call: ``min_cell`` of the reporting schema from ``SOFS_MIN_CELL`` (SPEC 6).
    The manifest is parsed with the same vars as the builds, so dbt can reuse it (partial parsing).

    Raises:
        settings.ConfigurationError: ``SOFS_MIN_CELL`` is not a whole number of at least 1.
    """
    return json.dumps({"min_cell": settings.min_cell()})


class ParseArgs(Sequence):
    """The dbt arguments that prepare the manifest, ``["parse", "--quiet", "--vars", dbt_vars()]``, read when
    dagster-dbt iterates them (at preparation), so that the vars follow ``SOFS_MIN_CELL`` at that moment."""

    _FIXED = ("parse", "--quiet", "--vars")

    def _args(self) -> list[str]:
        return [*self._FIXED, dbt_vars()]

    def __len__(self) -> int:
        return len(self._FIXED) + 1

    def __getitem__(self, index):
        return self._args()[index]

    def __iter__(self):
        return iter(self._args())

    def __repr__(self) -> str:
        return "ParseArgs(['parse', '--quiet', '--vars', <dbt_vars() at preparation>])"


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR,
                         prepare_project_cli_args=ParseArgs())
