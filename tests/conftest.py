"""Shared fixtures: a temporary project environment and one dbt manifest per test session."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
DBT_BIN = str(Path(sys.executable).with_name("dbt"))
TEST_KEY = "test-key-0123456789-0123456789-0123456789"

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def dbt_env(warehouse: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SOFS_WAREHOUSE_PATH"] = str(warehouse)
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return env


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory) -> Path:
    """A dbt target folder with a parsed manifest, made once per test session (`dbt parse`, ~20 s)."""
    target = tmp_path_factory.mktemp("dbt_target")
    wh = tmp_path_factory.mktemp("parse") / "parse.duckdb"
    subprocess.run([DBT_BIN, "parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                    "--target-path", str(target), "--quiet"], check=True, env=dbt_env(wh), cwd=DBT_DIR)
    return target


def run_dbt(args: list[str], warehouse: Path, target: Path) -> subprocess.CompletedProcess:
    """Run dbt with ``args`` against ``warehouse`` reusing the session's parsed ``target`` folder.

    Raises AssertionError with dbt's output when dbt fails.
    """
    local_target = Path(str(target) + "_" + warehouse.stem)
    if not local_target.exists():
        shutil.copytree(target, local_target)
    proc = subprocess.run([DBT_BIN, *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                           "--target-path", str(local_target)], env=dbt_env(warehouse), cwd=DBT_DIR,
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture
def project_env(tmp_path, monkeypatch):
    """Point landing zone, warehouse, Dagster home and key at a temporary folder; returns the folder."""
    monkeypatch.setenv("SOFS_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("SOFS_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("SOFS_PSEUDONYM_KEY", TEST_KEY)
    (tmp_path / "landing").mkdir()
    (tmp_path / "dagster_home").mkdir()
    return tmp_path


@pytest.fixture(scope="session")
def pipeline_manifest() -> Path:
    """The project's own dbt manifest (``dbt_project/target/manifest.json``), which importing the Dagster
    definitions needs: built once per session when missing or stale (``sofs-warehouse prepare``)."""
    from orchestration.cli import prepare_manifest

    prepare_manifest()
    return ROOT / "dbt_project" / "target" / "manifest.json"


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """The whole demo as a new user gets it (``sofs-warehouse demo``: demo data, every partition loaded,
    dbt build, disclosure control, the dashboard asset), built once per test session in its own folder.

    Returns a namespace: ``base``, ``db`` (the warehouse), ``landing``, ``dashboard`` (the folder the
    ``dashboard`` asset wrote) and ``stdout`` of the command."""
    from types import SimpleNamespace

    base = tmp_path_factory.mktemp("demo_build")
    env = dict(os.environ, SOFS_WAREHOUSE_PATH=str(base / "warehouse.duckdb"), SOFS_LANDING_DIR=str(base / "landing"),
               DAGSTER_HOME=str(base / "dagster_home"), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    for name in ("SOFS_DASHBOARD_DIR", "SOFS_PSEUDONYM_KEY", "SOFS_INDICATORS_FILE", "SOFS_MIN_CELL"):
        env.pop(name, None)
    proc = subprocess.run([str(Path(sys.executable).with_name("sofs-warehouse")), "demo"], env=env, cwd=base,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"sofs-warehouse demo failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return SimpleNamespace(base=base, db=base / "warehouse.duckdb", landing=base / "landing",
                           dashboard=base / "dashboard", stdout=proc.stdout)
