"""Command line of the evaluation designs (SPEC 8, 9): ``sofs-warehouse study list|status NAME`` and the
evaluation lines at the end of ``sofs-warehouse demo``.

Everything printed here comes from ``reporting`` (disclosure-controlled, SPEC 6) or from the study files
themselves, never from ``marts``: a withheld count prints as ``withheld``.
"""
from __future__ import annotations

import argparse

from orchestration import settings

EXIT_OK, EXIT_USAGE = 0, 2

FLOW_COLUMNS = ("n_enrolled", "n_due", "n_observed", "n_lost", "n_with_client_feedback", "n_with_child_feedback")


def _print(*args) -> None:
    print(*args, flush=True)


def add_parsers(sub) -> None:
    """Add ``study`` (with ``list`` and ``status NAME``) to the CLI's subparsers."""
    p = sub.add_parser("study", help="prospective study cohorts (data/studies/*.yaml): list, status NAME (SPEC 9.1)")
    study_sub = p.add_subparsers(dest="study_command", required=True)
    q = study_sub.add_parser("list", help="every study file: name, title, enrolment window, follow-up months, "
                             "filters; refused files with file, key and reason")
    q.set_defaults(func=cmd_study_list)
    q = study_sub.add_parser("status", help="the study's flow per follow-up month (reporting.study_attrition: "
                             "enrolled, due, observed, lost, with feedback)")
    q.add_argument("name", help="the study name (file data/studies/<name>.yaml)")
    q.set_defaults(func=cmd_study_status)


def _cell(value) -> str:
    import pandas as pd

    if value is None or pd.isna(value):
        return "withheld"
    return f"{int(value):,}"


def _flow(name: str):
    """``reporting.study_attrition`` rows of study ``name`` as a DataFrame (empty when the table is missing)."""
    import pandas as pd

    from orchestration import warehouse

    with warehouse.read_connection() as con:
        exists = con.execute("select count(*) from information_schema.tables where table_schema = 'reporting' "
                             "and table_name = 'study_attrition'").fetchone()[0]
        if not exists:
            return pd.DataFrame(columns=("follow_up_month",) + FLOW_COLUMNS)
        return con.execute(f"select follow_up_month, {', '.join(FLOW_COLUMNS)} from reporting.study_attrition "
                           "where study = ? order by follow_up_month", [name]).df()


def cmd_study_list(args: argparse.Namespace) -> int:
    """Print every valid study of the studies folder and every refused file (file, key, reason)."""
    from orchestration.studies import load_studies, studies_dir

    folder = studies_dir()
    found, errors = load_studies(folder)
    _print(f"studies in {folder}: {len(found)} valid, {len(errors)} refused")
    for s in found:
        filters = "; ".join(f"{k} {', '.join(v)}" for k, v in s.filters.items())
        if s.age_min is not None:
            filters = (filters + "; " if filters else "") + f"age {s.age_min}-{s.age_max}"
        _print(f"  {s.study}: {s.title}")
        _print(f"      enrolment {s.enrolment_from} .. {s.enrolment_to}; follow-up months "
               f"{', '.join(str(m) for m in s.follow_up_months)}; feedback window +-{s.feedback_window_days} days"
               f"; filters: {filters or 'none'}")
    for exc in errors:
        _print(f"  REFUSED {exc.file.name}: key {exc.key}: {exc.reason}")
    return EXIT_OK


def flow_lines(name: str) -> list[str]:
    """The study's flow table as text lines (from ``reporting.study_attrition``).

    Raises:
        settings.UsageError: no study of that name in the reporting table.
    """
    df = _flow(name)
    if df.empty:
        raise settings.UsageError(f"no study named {name!r} in reporting.study_attrition: check "
                                  "`sofs-warehouse study list` "
                         "and run `sofs-warehouse run --rebuild` after adding or changing a study file")
    header = ["month", "enrolled", "due", "observed", "lost", "client feedback", "child feedback"]
    body = [[str(int(r.follow_up_month))] + [_cell(getattr(r, c)) for c in FLOW_COLUMNS] for r in df.itertuples()]
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    return ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in [header] + body]


def cmd_study_status(args: argparse.Namespace) -> int:
    """Print the flow of study ``args.name`` per follow-up month (disclosure-controlled).

    Raises settings.UsageError (exit 2) for a study that is not in ``reporting.study_attrition``."""
    lines = flow_lines(args.name)
    _print(f"study {args.name}: follow-up flow (reporting.study_attrition; 'withheld' = below min_cell "
           f"{settings.min_cell()} or protecting such a count)")
    for line in lines:
        _print("  " + line)
    return EXIT_OK


def print_demo_evaluation() -> None:
    """The evaluation part of ``sofs-warehouse demo``'s summary: the flow of every study and one exposure
    comparison with its caveat (from ``reporting``). Prints what is missing instead of failing."""
    from orchestration.studies import load_studies

    try:
        found, _ = load_studies()
        for s in found:
            _print(f"study {s.study} ({s.title}): follow-up flow")
            for line in flow_lines(s.study):
                _print("  " + line)
        for line in exposure_lines():
            _print(line)
    except Exception as exc:  # the demo summary never fails on this part
        _print(f"(evaluation summary not available: {exc})")


def exposure_lines() -> list[str]:
    """One exposure comparison from ``reporting.outcome_by_exposure`` (all strata: the first exposure whose two
    arms are both published, else the first), with its caveat; empty when the table does not exist."""
    import pandas as pd

    from orchestration import warehouse

    with warehouse.read_connection() as con:
        exists = con.execute("select count(*) from information_schema.tables where table_schema = 'reporting' "
                             "and table_name = 'outcome_by_exposure'").fetchone()[0]
        if not exists:
            return []
        df = con.execute(
            "select exposure, exposed, n_landmark, placement_rate, placement_rate_ci_low, placement_rate_ci_high, "
            "logrank_p, caveat from reporting.outcome_by_exposure "
            "where registration_year = 'all' and service = 'all' and region = 'all' "
            "order by exposure, exposed desc").df()
    if df.empty:
        return []
    published = [e for e, arms in df.groupby("exposure", sort=False) if arms.n_landmark.notna().sum() == 2]
    first = df[df.exposure == (published[0] if published else df.exposure.iloc[0])]
    lines = [f"exposure {first.exposure.iloc[0]} (landmark comparison, reporting.outcome_by_exposure):"]
    for r in first.itertuples():
        if any(v is None or pd.isna(v) for v in (r.placement_rate, r.placement_rate_ci_low, r.placement_rate_ci_high)):
            rate = "withheld"
        else:
            rate = f"{100 * r.placement_rate:.1f}% [{100 * r.placement_rate_ci_low:.1f}-{100 * r.placement_rate_ci_high:.1f}]"
        lines.append(f"  {'exposed    ' if r.exposed else 'not exposed'} n={_cell(r.n_landmark)}  placed within 365 "
                     f"days after the landmark: {rate}")
    p = first.logrank_p.iloc[0]
    if p is not None and not pd.isna(p):
        shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        lines.append(f"  log-rank test, exposed against not exposed (time from landmark to closure): {shown}")
    lines.append(f"  caveat: {first.caveat.iloc[0]}")
    return lines
