"""Argument lists for dbt, built by small pure functions (STACK_NOTES: unit-test them without dbt).

Dagster runs dbt through dagster-dbt's ``DbtCliResource``; tests and benchmarks call the same
arguments. Selection is by source so that loading a survey wave rebuilds only what depends on
surveys (issue 3: a new wave must not rebuild the dossier marts).
"""
from __future__ import annotations

#: dbt selectors per partition kind: everything downstream of that kind's raw sources.
SELECT_BY_KIND = {
    "survey": "source:raw_surveys+",
    "dossier": "source:raw_dossiers+",
}


def build_args(kinds: list[str] | None = None, *, full: bool = False) -> list[str]:
    """Arguments for ``dbt build`` after loading partitions of ``kinds``.

    ``full=True`` (or no kinds) builds every model. Raises KeyError for an unknown kind.
    >>> build_args(["survey"])
    ['build', '--select', 'source:raw_surveys+']
    """
    if full or not kinds:
        return ["build"]
    selectors = sorted({SELECT_BY_KIND[k] for k in kinds})
    return ["build", "--select", *selectors]
