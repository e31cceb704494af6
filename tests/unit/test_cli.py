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


def test_argument_values_that_cannot_work_are_refused_by_the_parser(capsys):
    """A wait must end (nan and inf never do), a port exists, a row limit shows rows: argparse's exit 2."""
    import pytest

    parser = cli.build_parser()
    for argv in (["run", "--wait", "nan"], ["run", "--wait", "inf"], ["run", "--wait", "-5"],
                 ["backup", "--wait", "abc"], ["retract", "survey", "x/y", "--wait", "NaN"],
                 ["ui", "--grace", "-1"], ["ui", "--port", "99999"], ["docs", "--port", "0"],
                 ["query", "select 1", "--max-rows", "-3"], ["query", "select 1", "--max-rows", "0"]):
        with pytest.raises(SystemExit) as stop:
            parser.parse_args(argv)
        assert stop.value.code == 2, argv
        assert "must be" in capsys.readouterr().err, argv
    assert parser.parse_args(["run", "--wait", "2.5"]).wait == 2.5
    assert parser.parse_args(["ui", "--port", "65535"]).port == 65535
    assert parser.parse_args(["query", "select 1", "--max-rows", "1"]).max_rows == 1


def test_release_date_must_be_written_yyyy_mm_dd(project_env, capsys):
    for text in ("20260102", "2026-W01-1", "2026-1-2"):
        assert cli.main(["release", "--as-of", text, "--out", str(project_env / "rel")]) == 2, text
        assert f"--as-of must be a date YYYY-MM-DD, got {text!r}" in capsys.readouterr().out
    assert not (project_env / "rel").exists()


def test_an_empty_partition_key_is_a_key_that_does_not_exist(project_env, capsys):
    assert cli.main(["status", "--partition", ""]) == 2
    assert "error: no partition '' in the landing zone" in capsys.readouterr().out


def test_settings_that_name_the_wrong_kind_of_thing(project_env, monkeypatch, capsys):
    """A folder as the warehouse, a missing instruments folder (before any work: no wave is quarantined for
    it), a key that is not text, a disk reserve that is no size: each exit 2 with the setting named."""
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(project_env))
    for command in (["status"], ["query", "select 1"], ["run"]):
        assert cli.main(command) == 2, command
        assert f"error: SOFS_WAREHOUSE_PATH {project_env} is a folder" in capsys.readouterr().out
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(project_env / "warehouse.duckdb"))
    monkeypatch.setenv("SOFS_INSTRUMENTS_DIR", str(project_env / "no_instruments"))
    assert cli.main(["run"]) == 2
    assert "error: SOFS_INSTRUMENTS_DIR" in capsys.readouterr().out
    assert not (project_env / "warehouse.duckdb").exists()
    monkeypatch.delenv("SOFS_INSTRUMENTS_DIR")
    monkeypatch.setenv("SOFS_PSEUDONYM_KEY", "\udcff\udcfe" + "a" * 40)   # bytes 0xff 0xfe as the OS hands them over
    assert cli.main(["run"]) == 2
    assert "SOFS_PSEUDONYM_KEY holds bytes that are not UTF-8 text (at character 1)" in capsys.readouterr().out
    monkeypatch.setenv("SOFS_PSEUDONYM_KEY", " " * 20 + "x" * 20)
    assert cli.main(["run"]) == 2
    assert "is 20 characters long without its surrounding spaces" in capsys.readouterr().out


def test_disk_reserve_must_be_a_finite_size(monkeypatch):
    import pytest

    from orchestration import faults, settings

    for raw in ("nan", "inf", "-1", "abc"):
        monkeypatch.setenv("SOFS_DISK_RESERVE_MB", raw)
        with pytest.raises(settings.ConfigurationError, match="SOFS_DISK_RESERVE_MB must be a number of megabytes"):
            faults.disk_reserve_bytes()
    monkeypatch.setenv("SOFS_DISK_RESERVE_MB", "0.5")
    assert faults.disk_reserve_bytes() == 524288


def test_an_output_path_the_system_refuses_is_a_usage_error(monkeypatch, capsys):
    """No permission, a name too long for the file system: the user's path, exit 2 with the reason."""
    import errno

    def no_permission(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/sys/x.csv")

    def too_long(args):
        raise OSError(errno.ENAMETOOLONG, "File name too long", "o/" + "a" * 300 + ".csv")

    def other(args):
        raise OSError(errno.EIO, "Input/output error", "/dev/sdz")

    monkeypatch.setattr(cli, "cmd_prepare", no_permission)
    assert cli.main(["prepare"]) == 2
    assert "error: [Errno 13] Permission denied: '/sys/x.csv'" in capsys.readouterr().out
    monkeypatch.setattr(cli, "cmd_prepare", too_long)
    assert cli.main(["prepare"]) == 2
    assert "error: File name too long: 'o/aaa" in capsys.readouterr().out
    monkeypatch.setattr(cli, "cmd_prepare", other)
    import pytest

    with pytest.raises(OSError, match="Input/output error"):   # not the user's: a traceback
        cli.main(["prepare"])
