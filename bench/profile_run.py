"""``sofs-warehouse run`` with timestamps around every ingest step (``run_bench.py --profile``).

Runs exactly what the console script runs (``orchestration.cli.main(["run", ...])``, same process
layout: Dagster jobs in process, dbt as a subprocess), after wrapping these functions so each call
logs its duration and this process's memory (VmRSS now, VmHWM = peak so far) to stderr and, as JSON
lines, to the file named by ``SOFS_BENCH_PROFILE``:

- ``orchestration.readers.dossiers``: ``read_dossier_extract`` (and ``_read_file`` per CSV file),
  ``pseudonymise_extract``;
- ``orchestration.quality.dossiers``: ``check_dossier_extract`` (and ``_prepare``, the working
  frames), ``orchestration.quality.gx.validate`` per frame;
- ``orchestration.warehouse``: ``replace_partition`` (delete + insert) and the commit of
  ``transaction``;
- ``orchestration.ingest``: ``load_partition``, ``_write_audit``;
- ``dagster.JobDefinition.execute_in_process`` per job (ingest job, dbt job);
- ``orchestration.assets.dbt``: ``protect_after_build`` (the disclosure control after every dbt build,
  SPEC 6) and, inside it, ``orchestration.disclosure.protect.protect_reporting``;
- ``dagster_dbt.DbtCliResource.cli``: records the dbt invocation's target folder (step
  ``dbt target_path``), whose ``dbt.log`` (JSON lines with timestamps) ``run_bench.py`` reads to split
  the dbt job into start-up, parse, models, tests and the rest.

The wrappers add microseconds per call; nothing else changes. dbt's own per-model timings are in
``$DAGSTER_HOME/last_dbt_build.log`` (``run_bench.py`` reads them from there).
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

T0 = time.monotonic()
_OUT = os.environ.get("SOFS_BENCH_PROFILE")


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB, from /proc/self/status."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, kb = line.split()[:2]
                values[key[:-1]] = int(kb) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def record(step: str, start: float, seconds: float, **extra: str) -> None:
    """Log one finished step to stderr and append it to ``SOFS_BENCH_PROFILE`` (JSON lines)."""
    rss, hwm = memory_mb()
    at = start - T0
    began = (datetime.now() - timedelta(seconds=time.monotonic() - start)).isoformat(timespec="milliseconds")
    print(f"[profile] {began[11:]} (+{at:6.1f} s)  {step:<48} {seconds:8.2f} s   rss {rss:7.0f} MB  "
          f"peak {hwm:7.0f} MB", file=sys.stderr, flush=True)
    if _OUT:
        with open(_OUT, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": step, "started": began, "at": round(at, 3), "seconds": round(seconds, 3),
                                 "rss_mb": round(rss), "peak_mb": round(hwm), **extra}) + "\n")


def wrap(owner: Any, name: str, label: Callable[..., str] | str) -> None:
    """Replace ``owner.name`` by a timing wrapper; ``label`` is a string or ``f(*args, **kwargs)``.

    A name the code no longer has is reported on stderr and skipped (the run itself is not affected).
    """
    original = getattr(owner, name, None)
    if original is None:
        print(f"[profile] cannot time {getattr(owner, '__name__', owner)}.{name}: not found", file=sys.stderr)
        return

    @functools.wraps(original)
    def timed(*args, **kwargs):
        step = label(*args, **kwargs) if callable(label) else label
        start = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            record(step, start, time.monotonic() - start)

    setattr(owner, name, timed)


def install() -> None:
    """Install every wrapper (imports the modules; Dagster's import time is part of the run anyway)."""
    import dagster as dg

    from orchestration import ingest, warehouse
    from orchestration.quality import dossiers as quality
    from orchestration.quality import gx
    from orchestration.readers import dossiers as reader

    wrap(reader, "read_dossier_extract", "reader: read_dossier_extract")
    wrap(reader, "_read_file", lambda _con, path, *_a, **_k: f"reader:   _read_file {path.name}")
    wrap(reader, "pseudonymise_extract", "pseudonymise_extract")
    wrap(quality, "check_dossier_extract", "checks: check_dossier_extract")
    wrap(quality, "_prepare", "checks:   _prepare (working frames)")
    wrap(gx, "validate", lambda _frame, _expects, name="", **_k: f"checks:   gx.validate {name}")
    wrap(warehouse, "replace_partition", "insert: replace_partition")
    wrap(ingest, "_write_audit", "insert: _write_audit")
    try:  # the change history of dossier extracts (SPEC 4), where the code has it
        from orchestration import history
    except ImportError:
        history = None
    if history is not None:
        wrap(history, "load_extract", "insert: history.load_extract")
        wrap(history, "unchanged_mask", lambda _con, name, *_a, **_k: f"history: unchanged_mask {name}")
    wrap(ingest, "load_partition", lambda partition, **_k: f"load_partition {partition.kind} {partition.key}")
    wrap(dg.JobDefinition, "execute_in_process", lambda job, *_a, **_k: f"dagster job {job.name}")
    from orchestration.assets import dbt as dbt_assets
    from orchestration.disclosure import protect

    wrap(dbt_assets, "protect_after_build", "disclosure: protect_after_build")
    wrap(protect, "protect_reporting", "disclosure:   protect_reporting")

    @contextlib.contextmanager
    def transaction(con):
        """Same as ``warehouse.transaction``, with the commit timed on its own."""
        con.execute("begin transaction")
        try:
            yield
        except BaseException:
            con.execute("rollback")
            raise
        start = time.monotonic()
        con.execute("commit")
        record("insert: commit", start, time.monotonic() - start)

    warehouse.transaction = transaction

    from dagster_dbt import DbtCliResource

    original_cli = DbtCliResource.cli

    @functools.wraps(original_cli)
    def cli(self, *args, **kwargs):
        invocation = original_cli(self, *args, **kwargs)
        record("dbt target_path", time.monotonic(), 0.0, target_path=str(invocation.target_path))
        return invocation

    DbtCliResource.cli = cli


def main() -> int:
    """Install the wrappers and run the CLI with this process's arguments (default ``run``)."""
    install()
    record("startup (imports)", T0, time.monotonic() - T0)
    from orchestration.cli import main as cli_main

    return cli_main(sys.argv[1:] or ["run"])


if __name__ == "__main__":
    raise SystemExit(main())
