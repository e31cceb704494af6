"""Any instrument, any respondent group, without code changes (SPEC 3.3, 4, 5, 6).

One `sofs-warehouse run` over a temporary instruments folder holding only an instrument the code has never
seen: population `partner` (a group name no code knows), a new construct `collaboration` (two agree items, one
reverse-scored), a scaling question `safe_at_school` (kind scaling, 0-10 with anchors), a respondent group
attribute (school / politie) and a region attribute. Its construct and scaling question must appear in
marts.construct_means, reporting.construct_means, the combined view marts.region_period_outcomes, the
codebook and the exports. Means, standard deviations and t-based 95 % confidence intervals are recomputed
here from the CSV as written (numpy, scipy.stats.t for the quantile), never from the code under test.
Synthetic data only.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from scipy import stats

from tests.helpers import cli_env, run_cli, write_export


INSTRUMENT = """
instrument: network_partner_check
title: Bevraging van netwerkpartners
population: partner
respondent_key: token
respondent_group: {item: partner_type}
region: {item: region}
answer_schemes:
  agree5:
    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}
    labels: {1: helemaal niet akkoord, 2: eerder niet akkoord, 3: neutraal, 4: eerder akkoord, 5: helemaal akkoord}
    missing: {"-9": weet niet}
  safety0_10:
    kind: scaling
    missing: {"-9": weet niet}
    anchors: {0: helemaal niet veilig, 10: volledig veilig}
  partner_type: {nominal: true, labels: {1: school, 2: politie}}
  region: {nominal: true, labels: {1: Antwerpen, 2: Limburg}}
constructs:
  collaboration: {label: Samenwerking met OSD, min_valid_share: 0.5}
items:
  - item: partner_type
    role: attribute
    scheme: partner_type
    source: TYPE
  - item: region
    role: attribute
    scheme: region
    source: REGIO
  - item: shared_language
    text: We spreken dezelfde taal als de consulent
    scheme: agree5
    construct: collaboration
    source: "SAMEN[SQ001]"
  - item: hard_to_reach
    text: De consulent is moeilijk bereikbaar
    scheme: agree5
    construct: collaboration
    reverse: true
    source: "SAMEN[SQ002]"
  - item: safe_at_school
    text: Hoe veilig is het kind nu, op een schaal van 0 tot 10?
    scheme: safety0_10
    source: VEILIG
"""

HEADER = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "TYPE", "REGIO", "SAMEN[SQ001]",
          "SAMEN[SQ002]", "VEILIG"]
# id, type (1 school, 2 politie), region (1 Antwerpen, 2 Limburg, '' none), two agree items (A1..A5, -9), 0-10
ANSWERS = [
    ("1", "1", "1", "A4", "A2", "7"), ("2", "1", "1", "A5", "A1", "8"), ("3", "1", "1", "A3", "A3", "6"),
    ("4", "1", "2", "A4", "A4", "5"), ("5", "1", "2", "A2", "A2", "-9"), ("6", "1", "2", "A5", "-9", "9"),
    ("7", "2", "1", "A3", "A2", "4"), ("8", "2", "1", "A4", "A1", "7"), ("9", "2", "2", "A1", "A5", "2"),
    ("10", "2", "2", "A4", "A3", "6"), ("11", "2", "", "A5", "A2", "8"), ("12", "2", "1", "-9", "-9", "10"),
    ("13", "1", "1", "A4", "A3", "7"), ("14", "2", "2", "A3", "A3", ""),
]
TYPES = {"1": "school", "2": "politie"}
REGIONS = {"1": "Antwerpen", "2": "Limburg", "": "unknown"}


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """One `run` over the new instrument's wave 2026-03 (instruments folder with only that definition)."""
    tmp = tmp_path_factory.mktemp("any_instrument")
    env = cli_env(tmp, warehouse_file="wh.duckdb")
    (tmp / "instruments" / "network_partner_check.yaml").write_text(INSTRUMENT, encoding="utf-8")
    rows = [HEADER] + [[rid, "2026-03-10 10:00:00", "2", "nl", "1", f"tok{rid}", t, r, a, b, s]
                       for rid, t, r, a, b, s in ANSWERS]
    wave = tmp / "landing" / "surveys" / "network_partner_check" / "2026-03"
    write_export(wave / "responses.csv", rows)
    (wave / "wave.yaml").write_text("fieldwork_start: 2026-03-01\nfieldwork_end: 2026-03-31\n", encoding="utf-8")
    out = run_cli(env, "run")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    return tmp, env, out


def _query(tmp: Path, sql: str, params=()) -> pd.DataFrame:
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def _expected() -> pd.DataFrame:
    """Per response: group, region, collaboration score (SPEC 5: mean of valid scored items when at least
    ceil(0.5 x 2) = 1 is valid; hard_to_reach reversed: 6 - value) and the scaling value, from ANSWERS."""
    out = []
    for rid, t, r, a, b, s in ANSWERS:
        items = []
        if a != "-9":
            items.append(float(a[1:]))
        if b != "-9":
            items.append(6.0 - float(b[1:]))
        out.append({"group": TYPES[t], "region": REGIONS[r],
                    "collaboration": sum(items) / len(items) if items else math.nan,
                    "safe_at_school": float(s) if s not in ("", "-9") else math.nan})
    return pd.DataFrame(out)


def _stats(values: pd.Series) -> tuple[int, float, float | None, float | None, float | None]:
    v = values.dropna().to_numpy()
    n = len(v)
    mean = float(v.mean())
    if n < 2:
        return n, mean, None, None, None
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half


def _cells() -> list[tuple[str, str, str]]:
    """(measure, region, group) cells to check: every detail cell and every margin."""
    exp = _expected()
    cells = []
    for measure in ("collaboration", "safe_at_school"):
        keep = exp.dropna(subset=[measure])
        for region in sorted(set(keep["region"])) + ["all"]:
            for group in sorted(set(keep["group"])) + ["all"]:
                sub = keep[((keep["region"] == region) | (region == "all")) & ((keep["group"] == group) | (group == "all"))]
                if len(sub):
                    cells.append((measure, region, group))
    return cells


def test_the_run_prints_dbts_counts_as_recorded_in_audit(landed):
    """The run's ``done`` line comes from audit.dbt_builds (dbt's run_results.json); dbt's own closing
    line in the build log is the reference."""
    tmp, env, out = landed
    done = [ln for ln in out.stdout.splitlines() if re.match(r"\s+done \(", ln)]
    assert len(done) == 1, out.stdout[-3000:]
    summary = done[0].split("): ", 1)[1]
    log = (tmp / "dagster_home" / "last_dbt_build.log").read_text(encoding="utf-8")
    dbt_says = [ln.split("Done. ", 1)[1].strip() for ln in log.splitlines() if "Done. PASS=" in ln]
    assert dbt_says and summary == dbt_says[-1]
    n = re.fullmatch(r"PASS=(\d+) WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=(\d+)", summary)
    assert n and n.group(1) == n.group(2) and int(n.group(1)) > 100
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    try:
        rows = con.execute("select succeeded, n_pass, n_warn, n_error, n_skip, n_noop from audit.dbt_builds").fetchall()
    finally:
        con.close()
    assert rows == [(True, int(n.group(1)), 0, 0, 0, 0)]


def test_construct_and_scaling_means_equal_a_hand_computation(landed):
    tmp, _, _ = landed
    exp = _expected()
    got = _query(tmp, "select * from marts.construct_means where instrument = 'network_partner_check'")
    assert set(got["population"]) == {"partner"}
    assert set(got["measure_kind"]) == {"construct", "scaling", "responses"}
    cells = _cells()
    assert len(got[got["measure_kind"] != "responses"]) == len(cells)
    for measure, region, group in cells:
        sub = exp[((exp["region"] == region) | (region == "all")) & ((exp["group"] == group) | (group == "all"))]
        n, mean, sd, lo, hi = _stats(sub[measure])
        row = got[(got["measure"] == measure) & (got["region"] == region) & (got["respondent_group"] == group)]
        assert len(row) == 1, (measure, region, group)
        row = row.iloc[0]
        assert row["measure_kind"] == ("construct" if measure == "collaboration" else "scaling")
        assert row["n_respondents"] == n, (measure, region, group)
        assert row["mean"] == pytest.approx(mean, abs=1e-12)
        for col, want in (("sd", sd), ("ci_lower", lo), ("ci_upper", hi)):
            if want is None:
                assert pd.isna(row[col]), (measure, region, group, col)
            else:
                assert row[col] == pytest.approx(want, abs=1e-9), (measure, region, group, col)
        assert (row["scale_min"], row["scale_max"]) == ((1.0, 5.0) if measure == "collaboration" else (0.0, 10.0))
        assert row["scheme_version"] == 1
    scaling = got[got["measure_kind"] == "scaling"].iloc[0]
    assert json.loads(scaling["scale_anchors"]) == {"0": "helemaal niet veilig", "10": "volledig veilig"}
    responses = got[(got["measure_kind"] == "responses") & (got["region"] == "all") & (got["respondent_group"] == "all")]
    assert responses["n_respondents"].tolist() == [len(ANSWERS)]


def test_region_rows_add_up_to_all(landed):
    tmp, _, _ = landed
    got = _query(tmp, """
        select measure_kind, measure, respondent_group, sum(n_respondents) filter (where region <> 'all') as regions,
               max(n_respondents) filter (where region = 'all') as total
        from marts.construct_means where instrument = 'network_partner_check' group by 1, 2, 3""")
    assert (got["regions"] == got["total"]).all(), got


def test_reporting_suppresses_small_cells_and_what_follows(landed):
    tmp, _, _ = landed
    rep = _query(tmp, "select * from reporting.construct_means where instrument = 'network_partner_check'")
    mart = _query(tmp, "select * from marts.construct_means where instrument = 'network_partner_check' "
                       "and measure_kind <> 'responses'")
    assert len(rep) == len(mart) and set(rep["measure_kind"]) == {"construct", "scaling"}
    both = rep.merge(mart, on=["measure_kind", "measure", "region", "respondent_group"], suffixes=("", "_m"))
    small = both[(both["n_respondents_m"] > 0) & (both["n_respondents_m"] < 5)]
    assert len(small) and small["n_respondents"].isna().all() and small["n_respondents_suppressed"].all()
    withheld = both[both["n_respondents"].isna()]
    assert withheld[["mean", "sd", "ci_lower", "ci_upper"]].isna().all().all()
    shown = both[both["n_respondents"].notna()]
    assert (shown["n_respondents"] == shown["n_respondents_m"]).all()
    assert shown["mean"].round(9).equals(shown["mean_m"].round(9))
    audit = _query(tmp, "select * from audit.disclosure_audit where context = 'build' and table_name = 'construct_means'")
    assert len(audit) >= len(withheld) and audit["protected"].all()


def test_combined_view_has_the_new_population(landed):
    tmp, _, _ = landed
    exp = _expected()
    got = _query(tmp, "select * from marts.region_period_outcomes where year = 2026 order by region")
    assert {"partner_n_responses", "partner_collaboration_mean", "partner_safe_at_school_mean",
            "depth_mean", "share_with_mapping"} <= set(got.columns)
    by_region = got.set_index("region")
    assert by_region.loc["all", "partner_n_responses"] == len(ANSWERS)
    assert by_region.loc["all", "partner_collaboration_mean"] == pytest.approx(exp["collaboration"].mean(), abs=1e-12)
    antwerpen = exp[exp["region"] == "Antwerpen"]
    assert by_region.loc["Antwerpen", "partner_safe_at_school_mean"] == pytest.approx(
        antwerpen["safe_at_school"].mean(), abs=1e-12)
    assert "unknown" not in by_region.index   # respondents without a region count in 'all' only


def test_codebook_and_exports_include_it(landed, tmp_path):
    tmp, env, _ = landed
    out = run_cli(env, "codebook", "--out", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    book = (tmp_path / "codebook.md").read_text(encoding="utf-8")
    assert "construct_means" in book and "safe_at_school" in book and "network_partner_check" in book
    out = run_cli(env, "export", "construct_means", "--format", "csv", "--out", str(tmp_path / "cm.csv"))
    assert out.returncode == 0, out.stdout + out.stderr
    exported = pd.read_csv(tmp_path / "cm.csv")
    assert {"collaboration", "safe_at_school"} <= set(exported["measure"])
    out = run_cli(env, "export", "survey", "network_partner_check", "--format", "csv", "--out",
               str(tmp_path / "wide.csv"), "--allow-marts")
    assert out.returncode == 0, out.stdout + out.stderr
    wide = pd.read_csv(tmp_path / "wide.csv")
    assert len(wide) == len(ANSWERS)
    assert {"shared_language", "hard_to_reach", "safe_at_school", "partner_type", "region"} <= set(wide.columns)
