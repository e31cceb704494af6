"""Command-line behaviour that needs no pipeline run: exit codes and refusals (SPEC 8)."""
from __future__ import annotations

from orchestration import cli


def test_demo_data_refuses_a_landing_zone_with_other_files(project_env, capsys):
    real = project_env / "landing" / "dossiers" / "2025-12-31"
    real.mkdir(parents=True)
    (real / "dossiers.csv").write_text("REAL EXPORT\n")
    assert cli.main(["demo-data"]) == 2
    assert "not a demo landing zone" in capsys.readouterr().out
    assert (real / "dossiers.csv").read_text() == "REAL EXPORT\n"


def test_missing_landing_zone_is_a_configuration_error(project_env, monkeypatch, capsys):
    monkeypatch.setenv("SOFS_LANDING_DIR", str(project_env / "nowhere"))
    assert cli.main(["status"]) == 2
    assert "does not exist" in capsys.readouterr().out


def test_blank_key_is_refused(project_env, monkeypatch, capsys):
    monkeypatch.setenv("SOFS_PSEUDONYM_KEY", " " * 40)
    assert cli.main(["run"]) == 2
    assert "SOFS_PSEUDONYM_KEY is not set" in capsys.readouterr().out


def test_bad_min_cell_is_refused_before_any_work(project_env, monkeypatch, capsys):
    monkeypatch.setenv("SOFS_MIN_CELL", "abc")
    assert cli.main(["run"]) == 2
    assert "SOFS_MIN_CELL" in capsys.readouterr().out


def test_cohort_rates_print_a_year_without_closures(capsys):
    """A registration year with no closures has no reopening row: its columns print as '-' (the full join
    leaves nullable integers that cannot hold '-')."""
    import duckdb

    from orchestration import cli

    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("""create table marts.outcome_placement as select * from (values
        ('2023', 'all', 'all', 40::bigint, 30::bigint, 10::bigint, 0.1::double),
        ('all', 'all', 'all', 40::bigint, 30::bigint, 10::bigint, 0.1::double))
        t(registration_year, service, region, n_dossiers, n_window_complete, n_window_running, placement_rate)""")
    con.execute("""create table marts.outcome_reopening as select * from (values
        ('all', 'all', 'all', 0::bigint, 0::bigint, 0::bigint, null::double))
        t(closure_year, service, region, n_closed, n_window_complete, n_window_running, reopening_rate)""")
    cli._print_cohort_rates(con)
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("2023"))
    assert "10.0%" in line and line.split().count("-") == 4


def test_usage_error_is_exit_2_and_an_unexpected_value_error_is_a_bug(monkeypatch, capsys):
    """SPEC 8: a refused argument exits 2 with its message; a ValueError from code that does not judge
    arguments is a bug and keeps its traceback (it is not dressed up as a usage error)."""
    import pytest

    from orchestration import settings

    def refuse(args):
        raise settings.UsageError("--as-of must be a date YYYY-MM-DD, got 'x'")

    def bug(args):
        int("not a number")

    monkeypatch.setattr(cli, "cmd_prepare", refuse)  # main() builds its parser from the module's commands
    assert cli.main(["prepare"]) == 2
    assert "error: --as-of must be a date" in capsys.readouterr().out
    monkeypatch.setattr(cli, "cmd_prepare", bug)
    with pytest.raises(ValueError, match="invalid literal"):
        cli.main(["prepare"])
    # a refusal deep in a library module (the export's table check) is a UsageError too: exit 2, no traceback
    import duckdb

    from orchestration.research.tables import resolve_table

    monkeypatch.setattr(cli, "cmd_prepare", lambda args: resolve_table(duckdb.connect(), "raw.survey_answers"))
    assert cli.main(["prepare"]) == 2
    assert "error: raw.survey_answers is refused: the raw schema is never exported" in capsys.readouterr().out
