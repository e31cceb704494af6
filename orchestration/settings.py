"""Paths and environment variables in one place (SPEC 1, 2, 3, 4, 6).

Every other module asks this one; nothing else reads ``os.environ`` for these settings.
Values are read at call time so tests can point a run at a temporary landing zone and warehouse
with ``monkeypatch.setenv``.
"""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

#: Key used by ``make demo`` only; printed when used. Never use it for real data.
DEMO_PSEUDONYM_KEY = "sofs-demo-key-not-secret-do-not-use-for-real-data"
MIN_KEY_LENGTH = 32


class UsageError(ValueError):
    """The user asked for something the command cannot do as asked (a bad argument, a setting, a busy or
    missing warehouse): ``sofs-warehouse`` prints the message and exits with code 2 (SPEC 8). Anything else
    that escapes a command is a bug and ends with a traceback. A ``ValueError``, so that library callers
    which catch a bad value keep working."""


class ConfigurationError(UsageError, RuntimeError):
    """A setting is missing or invalid; the CLI exits with code 2 (SPEC 8)."""


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser().resolve() if value else default


def non_negative_number(text: str) -> float | None:
    """``text`` as a finite number, 0 or more (seconds to wait, megabytes to keep free), or None when it is
    not one (not a number, nan, inf, negative): the caller says which setting or argument it was."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def landing_dir() -> Path:
    """Root of the landing zone: env ``SOFS_LANDING_DIR``, default ``data/landing`` (SPEC 3)."""
    return _path("SOFS_LANDING_DIR", PROJECT_ROOT / "data" / "landing")


def instruments_dir() -> Path:
    """Folder of instrument definitions: env ``SOFS_INSTRUMENTS_DIR``, default ``data/instruments`` (SPEC 3.3).

    Raises:
        ConfigurationError: ``SOFS_INSTRUMENTS_DIR`` names no folder (every survey wave would be refused
            for want of its instrument, also those loaded before).
    """
    path = _path("SOFS_INSTRUMENTS_DIR", PROJECT_ROOT / "data" / "instruments")
    if os.environ.get("SOFS_INSTRUMENTS_DIR") and not path.is_dir():
        raise ConfigurationError(f"SOFS_INSTRUMENTS_DIR {path} is not a folder: point it at the folder of "
                                 "instrument definitions (*.yaml), or unset it for data/instruments")
    return path


def teams_file() -> Path:
    """The organisation's team label list: env ``SOFS_TEAMS_FILE``, default ``data/teams.yaml`` (SPEC 3.4).

    Optional: without it every team is published only as its pseudonymous ``team_key``.
    """
    return _path("SOFS_TEAMS_FILE", PROJECT_ROOT / "data" / "teams.yaml")


def indicators_file() -> Path:
    """The indicator registry and the dashboard's Dutch labels: env ``SOFS_INDICATORS_FILE``, default
    ``data/indicators.yaml`` (SPEC 8, dashboard)."""
    return _path("SOFS_INDICATORS_FILE", PROJECT_ROOT / "data" / "indicators.yaml")


def dashboard_dir() -> Path:
    """Where ``sofs-warehouse run`` (the Dagster asset ``dashboard``) writes the static dashboard: env
    ``SOFS_DASHBOARD_DIR``, default the folder ``dashboard`` beside the warehouse file
    (``data/dashboard`` for the default warehouse; SPEC 8)."""
    return _path("SOFS_DASHBOARD_DIR", warehouse_path().parent / "dashboard")


def warehouse_path() -> Path:
    """The DuckDB file: env ``SOFS_WAREHOUSE_PATH``, default ``data/warehouse.duckdb`` (SPEC 4).

    Raises:
        ConfigurationError: the path is a folder, not a file.
    """
    path = _path("SOFS_WAREHOUSE_PATH", PROJECT_ROOT / "data" / "warehouse.duckdb")
    if path.is_dir():
        raise ConfigurationError(f"SOFS_WAREHOUSE_PATH {path} is a folder: give the warehouse file, e.g. "
                                 f"{path / 'warehouse.duckdb'}")
    return path


def dagster_home() -> Path:
    """The Dagster instance folder: env ``DAGSTER_HOME``, default ``.dagster_home`` in the project (SPEC 8)."""
    return _path("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home")


def min_cell() -> int:
    """Smallest count shown in ``reporting`` (SPEC 6): env ``SOFS_MIN_CELL``, default 5."""
    raw = os.environ.get("SOFS_MIN_CELL", "5")
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"SOFS_MIN_CELL must be a whole number, got {raw!r}") from exc
    if value < 1:
        raise ConfigurationError(f"SOFS_MIN_CELL must be at least 1, got {value}")
    return value


def pseudonym_key() -> bytes:
    """The HMAC key from env ``SOFS_PSEUDONYM_KEY`` (SPEC 6), checked by :func:`check_pseudonym_key`.

    Raises:
        ConfigurationError: the variable is unset or shorter than 32 characters.
    """
    return check_pseudonym_key(os.environ.get("SOFS_PSEUDONYM_KEY", ""))


def check_pseudonym_key(key: str | None) -> bytes:
    """``key`` (the value of ``SOFS_PSEUDONYM_KEY``) as UTF-8 bytes, when it is a usable HMAC key (SPEC 6).

    Raises:
        ConfigurationError: ``key`` is None, blank or shorter than 32 characters (leading and trailing
            blanks do not count). The message never contains the key.
    """
    key = key or ""
    if not key.strip():
        raise ConfigurationError(
            "SOFS_PSEUDONYM_KEY is not set. Raw identifiers are replaced by HMAC-SHA256 keyed "
            "pseudonyms at ingest and the key must come from the environment (at least 32 "
            "characters; keep it in your secret store and use the same key for every wave). "
            "For the synthetic demo only, `sofs-warehouse demo` sets a demo key."
        )
    if len(key.strip()) < MIN_KEY_LENGTH:
        raise ConfigurationError(
            f"SOFS_PSEUDONYM_KEY is {len(key.strip())} characters long without its surrounding spaces; at least "
            f"{MIN_KEY_LENGTH} are required."
        )
    try:
        return key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigurationError("SOFS_PSEUDONYM_KEY holds bytes that are not UTF-8 text (at character "
                                 f"{exc.start + 1}): take the key from your secret store as text") from exc


def export_environment() -> None:
    """For the command line only (never at import): put the resolved paths in the environment so that the
    processes a command starts (``dagster dev``, ``dbt docs``) see the same warehouse and Dagster instance,
    and put this interpreter's ``bin`` folder first on PATH so the ``dbt`` of the same virtualenv runs.
    Dagster runs get these settings as resources instead (:mod:`orchestration.resources`)."""
    os.environ["SOFS_WAREHOUSE_PATH"] = str(warehouse_path())
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("DAGSTER_HOME", str(dagster_home()))
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
