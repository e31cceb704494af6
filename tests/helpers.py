"""Small builders shared by tests: instruments and exports written by hand in the test."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration import ingest, warehouse
from orchestration.instruments import Instrument, load_instrument
from orchestration.landing import Partition
from orchestration.readers.base import SurveyRead
from orchestration.responses import mark_superseded
from tests.conftest import ROOT, TEST_KEY

#: the installed ``sofs-warehouse`` entry point beside the interpreter that runs the tests
CLI = str(Path(sys.executable).with_name("sofs-warehouse"))

MINI_INSTRUMENT = """
instrument: mini_survey
title: Kleine testbevraging
population: staff
respondent_key: token
answer_schemes:
  agree5:
    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}
    labels: {1: helemaal niet akkoord, 2: eerder niet akkoord, 3: neutraal, 4: eerder akkoord, 5: helemaal akkoord}
    missing: {"-9": weet niet}
  score1_10: {min: 1, max: 10}
  function: {nominal: true, labels: {1: Consulent OCJ, 2: Consulent SDJ}}
  text: {text: true}
constructs:
  leadership: {label: Leiderschap, min_valid_share: 0.5}
items:
  - item: plan_known
    text: Ik ken het implementatieplan
    scheme: agree5
    construct: leadership
    source: "L2[SQ001]"
  - item: manager_support
    text: Mijn leidinggevende steunt mij
    scheme: agree5
    construct: leadership
    reverse: true
    source: "L2[SQ002]"
  - item: attitude
    text: Houding 1-10
    scheme: score1_10
    source: ATT
  - item: function
    role: attribute
    scheme: function
    source: FUNCTIE
  - item: remarks
    scheme: text
    source: OPM
"""


def mini_instrument(tmp_path: Path, text: str = MINI_INSTRUMENT) -> Instrument:
    """Write the mini instrument to ``tmp_path/instruments/mini_survey.yaml`` and load it."""
    folder = tmp_path / "instruments"
    folder.mkdir(exist_ok=True)
    path = folder / "mini_survey.yaml"
    path.write_text(text, encoding="utf-8")
    return load_instrument(path)


def write_export(path: Path, rows: list[list[str]], *, sep: str = ";", bom: bool = True, crlf: bool = True,
                 quote_all: bool = True, encoding: str = "utf-8") -> Path:
    """Write a LimeSurvey-like CSV by hand (no csv module, so the bytes are exactly what the test says)."""
    def cell(v: str) -> str:
        if quote_all or sep in v or '"' in v or "\n" in v:
            return '"' + v.replace('"', '""') + '"'
        return v
    eol = "\r\n" if crlf else "\n"
    text = eol.join(sep.join(cell(v) for v in row) for row in rows) + eol
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


HEADER = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "L2[SQ001]", "L2[SQ002]", "ATT",
          "FUNCTIE", "OPM", "interviewtime"]


def write_survey_partition(wh: Path, partition: Partition, instrument: Instrument, read: SurveyRead, meta: dict,
                           key: bytes) -> None:
    """Put a survey partition as read into ``raw`` the way the ingest does, without the quality gate
    (for dbt tests that need a small hand-made warehouse)."""
    superseded, _ = mark_superseded(read.responses)
    frames = ingest.survey_frames(partition, instrument, read, meta, superseded, key, partition.key)
    for frame in frames.values():
        frame["load_id"] = "test"
    with warehouse.write_connection(wh) as con, warehouse.transaction(con):
        warehouse.replace_partition(con, "survey", partition.key, frames)


def mini_survey_env(env: Path, monkeypatch) -> Path:
    """Put the mini instrument in ``env/instruments`` and point SOFS_INSTRUMENTS_DIR at it."""
    folder = env / "instruments"
    folder.mkdir(exist_ok=True)
    (folder / "mini_survey.yaml").write_text(MINI_INSTRUMENT, encoding="utf-8")
    monkeypatch.setenv("SOFS_INSTRUMENTS_DIR", str(folder))
    return env


def cli_env(root: Path, *, warehouse_file: str = "warehouse.duckdb", own_instruments: bool = True,
            **extra: str) -> dict[str, str]:
    """The environment of a ``sofs-warehouse`` subprocess that works under ``root`` (SPEC 2 settings).

    ``os.environ`` plus: the landing zone ``root/landing``, the warehouse ``root/<warehouse_file>``, the Dagster
    home ``root/dagster_home``, the test pseudonymisation key, GX and dbt telemetry off and, with
    ``own_instruments``, the instruments folder ``root/instruments`` (else the project's own). The folders are
    created; ``extra`` adds or overrides variables (e.g. ``SOFS_TEAMS_FILE``).
    """
    folders = ["landing", "dagster_home"] + (["instruments"] if own_instruments else [])
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SOFS_LANDING_DIR=str(root / "landing"), SOFS_WAREHOUSE_PATH=str(root / warehouse_file),
               DAGSTER_HOME=str(root / "dagster_home"), SOFS_PSEUDONYM_KEY=TEST_KEY, GX_ANALYTICS_ENABLED="false",
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    if own_instruments:
        env["SOFS_INSTRUMENTS_DIR"] = str(root / "instruments")
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run ``sofs-warehouse *args`` from the project root with ``env``; stdout and stderr captured as text."""
    return subprocess.run([CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def warehouse_rows(root: Path, sql: str, params=()) -> list[tuple]:
    """The rows of ``sql`` (with ``params``) on ``root/warehouse.duckdb``, opened read-only and closed again."""
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()
