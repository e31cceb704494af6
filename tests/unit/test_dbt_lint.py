"""The sqlfluff set-up of the dbt project (dbt_project/.sqlfluff, dbt_project/lint/sqlfluff_libs): models render as
DuckDB SQL through the project's own macros, and the configured rules still catch mistakes. ``make lint`` lints
every model; these tests only check the set-up."""
from __future__ import annotations

from sqlfluff.core import FluffConfig, Linter

from orchestration.settings import DBT_PROJECT_DIR


def _linter() -> Linter:
    return Linter(config=FluffConfig.from_path(str(DBT_PROJECT_DIR)))


def test_a_model_renders_through_the_duckdb_macros():
    path = DBT_PROJECT_DIR / "models" / "marts" / "dossiers" / "outcome_time_to_closure.sql"
    rendered = _linter().render_file(str(path), FluffConfig.from_path(str(DBT_PROJECT_DIR)))
    sql = rendered.templated_variants[0].templated_str
    # adapter.dispatch picks duckdb__median / default__natural_log / default__exponential, as dbt does on DuckDB
    assert "quantile_cont(days_to_closure, 0.5)" in sql
    assert "ln(1 - cast(n_events as double) / n_at_risk)" in sql
    assert "exp(sum(log_factor) over (" in sql
    assert "{{" not in sql and "{%" not in sql


def test_the_rules_still_catch_a_mistake():
    bad = "SELECT a, b from t\n"          # keywords in two cases (CP01)
    codes = {v.rule_code() for v in _linter().lint_string(bad).get_violations()}
    assert "CP01" in codes
    good = "select\n    a,\n    b\nfrom t\n"
    assert _linter().lint_string(good).get_violations() == []
