"""What dbt puts into the Jinja context, for sqlfluff's jinja templater (dbt_project/.sqlfluff).

sqlfluff lints the models as DuckDB SQL without running dbt: every name defined here (not starting with
``__``) is a variable of the templating context. dbt's cross-database macros (``dbt.*``) render to DuckDB SQL;
``adapter.dispatch(name)`` returns the project's own ``duckdb__<name>`` or ``default__<name>`` macro, as dbt
does on the DuckDB target; ``execute`` is false, as while dbt parses, so macros that query the warehouse at
run time (``run_query``, ``adapter.get_relation``) take their parse-time branch; ``var`` reads the vars of
dbt_project.yml. Nothing here runs SQL.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import yaml

_PROJECT = yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project.yml").read_text(encoding="utf-8"))
_VARS: dict[str, Any] = dict(_PROJECT.get("vars") or {})
# reporting_suppress repeats one CTE per margin and pass (5 passes by default): one pass is the same SQL and
# keeps the rendered reporting models small enough to parse in seconds
_VARS.setdefault("suppression_passes", 1)


def var(name: str, default: Any = None) -> Any:
    """dbt's var(): the value in dbt_project.yml, else ``default``; raises KeyError for an unknown var without one."""
    if name in _VARS:
        return _VARS[name]
    if default is None:
        raise KeyError(f"var {name!r} is not in dbt_project.yml and has no default")
    return default


def env_var(name: str, default: str = "") -> str:
    """dbt's env_var() while linting: the default (no environment is read)."""
    return default


def run_query(sql: str) -> list:
    """Never reached while linting (``execute`` is false); an empty result."""
    return []


def log(msg: str, info: bool = False) -> str:
    """dbt's log(): renders nothing."""
    return ""


@jinja2.pass_context
def _dispatch(context: jinja2.runtime.Context, macro_name: str, macro_namespace: str | None = None):
    """dbt's adapter.dispatch on the DuckDB target: duckdb__<name>, else default__<name>."""
    for prefix in ("duckdb__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise jinja2.UndefinedError(f"adapter.dispatch: no duckdb__{macro_name} or default__{macro_name} macro")


def _quote(identifier: str) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'


def _raise(message: str) -> None:
    raise jinja2.TemplateRuntimeError(message)


def _builtin_source(source_name: str, table_name: str) -> str:
    return f"{source_name}.{table_name}"


execute = False
builtins = SimpleNamespace(source=_builtin_source)
api = SimpleNamespace(Column=SimpleNamespace(translate_type=lambda dtype: dtype))
target = SimpleNamespace(type="duckdb", name="duckdb", schema="main", database="warehouse")
graph = SimpleNamespace(sources={}, nodes={})
exceptions = SimpleNamespace(raise_compiler_error=_raise)
adapter = SimpleNamespace(dispatch=_dispatch, quote=_quote, get_relation=lambda **kwargs: None)


def _listagg(measure: str, delimiter_text: str = "','", order_by_clause: str | None = None, limit_num=None) -> str:
    order = f" {order_by_clause}" if order_by_clause else ""
    return f"string_agg({measure}, {delimiter_text}{order})"


# dbt's cross-database macros as dbt-duckdb renders them
dbt = SimpleNamespace(
    type_string=lambda: "varchar",
    type_bigint=lambda: "bigint",
    type_int=lambda: "integer",
    type_boolean=lambda: "boolean",
    type_float=lambda: "float",
    type_timestamp=lambda: "timestamp",
    bool_or=lambda expression: f"bool_or({expression})",
    concat=lambda fields: " || ".join(str(f) for f in fields),
    date_trunc=lambda datepart, date: f"date_trunc('{datepart}', {date})",
    dateadd=lambda datepart, interval, from_date_or_timestamp: (
        f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"),
    datediff=lambda first_date, second_date, datepart: (
        f"date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp)"),
    hash=lambda field: f"md5(cast({field} as varchar))",
    listagg=_listagg,
    safe_cast=lambda field, type: f"try_cast({field} as {type})",
)
