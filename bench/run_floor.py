"""Run ``bench/floor.sql`` (the benchmark floor) against one extract folder, as its own process.

Usage::

    python bench/run_floor.py --extract <landing>/dossiers/2025-12-31 --db floor.duckdb

The extract date (``as_of_date``) is the folder name unless ``--as-of`` is given. The four marts are
written as tables of ``--db`` (replaced when present). Prints the row count of each mart.
"""
from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import duckdb

FLOOR_SQL = Path(__file__).with_name("floor.sql")
MARTS = ("fct_dossier", "outcome_time_to_closure", "outcome_reopening", "outcome_placement")


def run_floor(extract: Path, db: Path, as_of: date) -> dict[str, int]:
    """Execute floor.sql with ``extract_dir`` and ``as_of_date`` set; return rows per mart."""
    con = duckdb.connect(str(db))
    try:
        con.execute("set enable_progress_bar = false")
        con.execute("set variable extract_dir = ?", [Path(extract).resolve().as_posix()])
        con.execute("set variable as_of_date = ?", [as_of.isoformat()])
        con.execute(FLOOR_SQL.read_text(encoding="utf-8"))
        return {m: con.execute(f"select count(*) from {m}").fetchone()[0] for m in MARTS}
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extract", required=True, type=Path, help="dossiers/<extract_date>/ folder")
    parser.add_argument("--db", required=True, type=Path, help="DuckDB file to write the marts to")
    parser.add_argument("--as-of", type=date.fromisoformat, help="as_of_date (default: the folder name)")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    counts = run_floor(args.extract, args.db, args.as_of or date.fromisoformat(args.extract.name))
    print(f"floor: {', '.join(f'{m} {n:,}' for m, n in counts.items())} rows in {time.monotonic() - t0:.1f} s",
          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
