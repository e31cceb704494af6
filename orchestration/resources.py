"""The settings a Dagster run needs, as Dagster resources (SPEC 7, 8): the warehouse, the pseudonymisation
key, the landing zone and dbt.

:func:`resources_from_settings` builds all four from :mod:`orchestration.settings`; the Dagster definitions
(``orchestration/definitions.py``, for ``dagster dev`` and the UI) and ``sofs-warehouse run`` (SPEC 8: one
pipeline, not two) both use it. Nothing here reads or changes the environment at import. The key is bound
as ``dg.EnvVar("SOFS_PSEUDONYM_KEY")``: Dagster resolves it when a run starts, and the UI shows the
variable's name, never its value.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

from orchestration import landing, settings, warehouse

#: the environment variable that holds the pseudonymisation key (SPEC 6)
PSEUDONYM_KEY_ENV = "SOFS_PSEUDONYM_KEY"
#: the resource keys every run can ask for (``defs.resources``)
RESOURCE_KEYS = ("warehouse", "pseudonym_key", "landing_zone", "dbt")


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (SPEC 4): an absolute path, and the project's connection rules around it
    (:mod:`orchestration.warehouse`: one writer under a lock, short-lived connections, read-only readers).

    Attributes:
        path: absolute path of the ``.duckdb`` file (it need not exist yet; the first load creates it).
    """

    path: str

    @property
    def db(self) -> Path:
        """The warehouse file as a :class:`~pathlib.Path`."""
        return Path(self.path)

    def read_connection(self):
        """A read-only connection (context manager); raises FileNotFoundError before the first load."""
        return warehouse.read_connection(self.db)

    def write_connection(self, wait_seconds: float = 0.0):
        """A read-write connection under the writer lock (context manager); raises WarehouseBusy."""
        return warehouse.write_connection(self.db, wait_seconds=wait_seconds)

    def writer_lock(self, wait_seconds: float = 0.0):
        """The single-writer lock on this file (context manager, re-entrant in a process)."""
        return warehouse.writer_lock(wait_seconds, self.db)


class PseudonymKeyResource(dg.ConfigurableResource):
    """The HMAC key of the pseudonyms (SPEC 6). Bind it as ``dg.EnvVar("SOFS_PSEUDONYM_KEY")`` so that the
    value is read when a run starts and never stored in the definitions or shown in the UI.

    Attributes:
        key: the key text (at least 32 characters).
    """

    key: str

    def value(self) -> bytes:
        """The key as bytes, checked by :func:`orchestration.settings.check_pseudonym_key`.

        Raises:
            settings.ConfigurationError: blank or shorter than 32 characters.
        """
        return settings.check_pseudonym_key(self.key)


class LandingZoneResource(dg.ConfigurableResource):
    """The landing zone (SPEC 3): files as delivered, under ``surveys/`` and ``dossiers/``, never modified.

    Attributes:
        root: absolute path of the landing-zone folder.
    """

    root: str

    @property
    def path(self) -> Path:
        """The landing root as a :class:`~pathlib.Path`."""
        return Path(self.root)

    def discover(self) -> list[landing.Partition]:
        """Every partition folder (:func:`orchestration.landing.discover`)."""
        return landing.discover(self.path)

    def find(self, kind: str, key: str) -> landing.Partition:
        """The partition ``key`` of ``kind`` (``survey`` / ``dossier``); raises KeyError when it has no folder."""
        return landing.find(kind, key, self.path)


@contextlib.contextmanager
def _environment(extra: Mapping[str, str]) -> Iterator[None]:
    """Set ``extra`` in ``os.environ`` for the duration of the block and restore every value after it."""
    before = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LeanDbtCliResource(DbtCliResource):
    """``DbtCliResource`` without two start-up costs of every ``cli()`` call that this project does not need,
    and with the warehouse the dbt process builds.

    - The dbt version: dagster-dbt runs ``dbt --version`` as a subprocess (a whole dbt start-up, about
      2 s on 2 cores) to learn it; dbt-core is installed in this environment, so its package version
      is read instead (the ``dbt`` executable is that package's console script).
    - The in-process dbt adapter handle: dagster-dbt builds one (loading the profile and the project,
      1-2 s) only to fetch row counts and column metadata, which these assets do not ask for; dbt
      itself runs as its own process either way.
    - ``warehouse_path`` (optional): given, every dbt process started by :meth:`cli` gets it as
      ``SOFS_WAREHOUSE_PATH``, which ``dbt_project/profiles.yml`` reads (SPEC 4) and by which
      :func:`orchestration.faults.end_orphaned_dbt_builds` recognises a build of this warehouse.
      dagster-dbt hands dbt a copy of ``os.environ`` taken when the process starts; the variable is set
      only for that moment and restored right after, so this process's environment is left as it was.
    """

    warehouse_path: str | None = None

    @cached_property
    def _cli_version(self) -> version.Version:
        from importlib.metadata import version as package_version

        return version.parse(package_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):  # noqa: ARG002 - signature of the parent
        return None

    def dbt_environment(self) -> dict[str, str]:
        """The variables this resource adds to a dbt process's environment (``{}`` without a warehouse)."""
        return {"SOFS_WAREHOUSE_PATH": self.warehouse_path} if self.warehouse_path else {}

    def cli(self, args: Sequence[str], **kwargs):
        """``DbtCliResource.cli`` with :meth:`dbt_environment` in the dbt process's environment."""
        with _environment(self.dbt_environment()):
            return super().cli(args, **kwargs)


def dbt_executable() -> str:
    """The ``dbt`` console script beside this interpreter (the virtualenv's dbt, whatever PATH says)."""
    return str(Path(sys.executable).with_name("dbt"))


def dbt_resource(warehouse_path: Path | str | None = None) -> LeanDbtCliResource:
    """The dbt resource over the project's ``DbtProject`` (``orchestration/project.py``), building
    ``warehouse_path`` (default :func:`orchestration.settings.warehouse_path`)."""
    from orchestration.project import dbt_project

    return LeanDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable(),
                              warehouse_path=str(warehouse_path or settings.warehouse_path()))


def resources_from_settings() -> dict[str, dg.ConfigurableResource]:
    """The four resources of every run, from the current settings (SPEC 3, 4, 6).

    Returns ``{"warehouse", "pseudonym_key", "landing_zone", "dbt"}``: the warehouse and landing-zone paths
    as resolved now (:func:`settings.warehouse_path`, :func:`settings.landing_dir`), the key as
    ``dg.EnvVar("SOFS_PSEUDONYM_KEY")`` (resolved when a run starts), dbt building the same warehouse.
    Reads the environment; changes nothing.
    """
    wh = settings.warehouse_path()
    return {
        "warehouse": WarehouseResource(path=str(wh)),
        "pseudonym_key": PseudonymKeyResource(key=dg.EnvVar(PSEUDONYM_KEY_ENV)),
        "landing_zone": LandingZoneResource(root=str(settings.landing_dir())),
        "dbt": dbt_resource(wh),
    }
