"""What a pipeline run does after its loads, decided in one place for ``sofs-warehouse run`` and for the
Dagster sensor that follows an ingest run (SPEC 7, 8: one pipeline, not two).
"""
from __future__ import annotations

from collections.abc import Callable, Collection

from orchestration.jobs import MART_JOBS, build_all_marts


def mart_job(loaded_kinds: Collection[str], *, rebuild: bool = False, stale: bool = False,
             marts_missing: bool | Callable[[], bool] = False) -> str | None:
    """The name of the dbt job to run after loading partitions of ``loaded_kinds`` (``survey``/``dossier``).

    - nothing loaded, no ``rebuild`` and not ``stale``: ``None`` (nothing to build);
    - exactly one kind loaded and the marts exist: that kind's job (``build_survey_marts`` /
      ``build_dossier_marts``: the models downstream of it, SPEC 7);
    - otherwise (both kinds, ``rebuild`` asked for, marts ``stale`` since an unfinished build or a
      retraction, or no marts yet): ``build_all_marts``.

    ``marts_missing`` may be a function, called only when its answer matters (it opens the warehouse).

    Raises:
        KeyError: a kind other than ``survey`` and ``dossier``.
    """
    kinds = set(loaded_kinds)
    unknown = kinds - set(MART_JOBS)
    if unknown:
        raise KeyError(f"unknown partition kind(s) {sorted(unknown)}; known: {sorted(MART_JOBS)}")
    if not kinds and not rebuild and not stale:
        return None
    if len(kinds) != 1 or rebuild or stale or (marts_missing() if callable(marts_missing) else marts_missing):
        return build_all_marts.name
    return MART_JOBS[next(iter(kinds))].name
