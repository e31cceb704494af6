"""The dashboard without a browser: the indicator registry's validation, the guards that keep anything
but disclosure-controlled reporting rows out of the page, and the page's offline shape (SPEC 6, 8)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.dashboard import build_dashboard
from orchestration.dashboard.data import SmallCountInReporting, count_columns, read_indicator
from orchestration.dashboard.registry import SECTIONS, RegistryError, load_registry
from orchestration.disclosure.protect import DisclosureAuditFailed

ROOT = Path(__file__).resolve().parents[2]


def registry_file(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load((ROOT / "data" / "indicators.yaml").read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_the_project_registry_is_valid_and_covers_every_section():
    registry = load_registry(ROOT / "data" / "indicators.yaml")
    assert {i.section for i in registry.indicators} == set(SECTIONS)
    for indicator in registry.indicators:
        assert indicator.spec.split(".")[0] in {"5", "6", "9"}
        assert indicator.title and indicator.reading and indicator.alt and indicator.numerator


@pytest.mark.parametrize(("change", "key", "reason"), [
    (lambda d: d["indicators"]["study_flow"].update(section="elsewhere"), "indicators.study_flow.section", "must be one of"),
    (lambda d: d["indicators"]["study_flow"].update(chart="pie"), "indicators.study_flow.chart", "must be one of"),
    (lambda d: d["indicators"]["study_flow"].update(colour="red"), "indicators.study_flow.colour", "unknown key"),
    (lambda d: d["indicators"]["study_flow"].pop("denominator"), "indicators.study_flow.denominator", "non-empty text"),
    (lambda d: d["sections"].pop("depth"), "sections.depth", "missing"),
    (lambda d: d["indicators"]["study_flow"].update(encode={"x": "a", "size": "b"}), "indicators.study_flow.encode",
     "some of"),
])
def test_a_bad_registry_names_file_key_and_reason(tmp_path, change, key, reason):
    path = registry_file(tmp_path, change)
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert str(path) in str(err.value) and key in str(err.value) and reason in str(err.value)


def test_a_registry_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "indicators.yaml"
    path.write_text("indicators: [unclosed\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(path)


def flow_warehouse(path: Path, n_lost: int, audit_protected: bool = True) -> Path:
    """A warehouse with only reporting.study_attrition (one study, two follow-ups) and a build audit."""
    con = duckdb.connect(str(path))
    con.execute("create schema reporting; create schema audit; create schema raw")
    con.execute("""create table reporting.study_attrition as select * from (values
        ('s', 6, 40, 30, 25, 5, 10, 8, false),
        ('s', 12, 40, 20, 20 - ?::bigint, ?::bigint, 9, 6, false)) t(study, follow_up_month, n_enrolled, n_due,
        n_observed, n_lost, n_with_client_feedback, n_with_child_feedback, n_lost_suppressed)""", [n_lost, n_lost])
    con.execute("create table reporting.suppression_rule as select 5 as min_cell, 'rule' as rule_text")
    con.execute("""create table audit.disclosure_audit (context varchar, table_name varchar, row_key varchar,
                   column_name varchar, protected boolean, audited_at timestamp)""")
    con.execute("insert into audit.disclosure_audit values ('build', 'study_attrition', 's|12', 'n_lost', ?, now())",
                [audit_protected])
    con.close()
    return path


def only_flow(tmp_path: Path) -> Path:
    def keep(doc):
        doc["indicators"] = {"study_flow": doc["indicators"]["study_flow"]}
    return registry_file(tmp_path, keep)


def test_a_small_count_in_reporting_stops_the_page_and_writes_nothing(tmp_path):
    db = flow_warehouse(tmp_path / "wh.duckdb", n_lost=3)
    with pytest.raises(SmallCountInReporting, match=r"reporting.study_attrition.n_lost shows 1 count"):
        build_dashboard(tmp_path / "site", db=db, registry_path=only_flow(tmp_path), progress=lambda m: None,
                        after_build=True)
    assert not (tmp_path / "site" / "index.html").exists()


def test_a_failed_build_audit_stops_the_page(tmp_path):
    db = flow_warehouse(tmp_path / "wh.duckdb", n_lost=0, audit_protected=False)
    with pytest.raises(DisclosureAuditFailed, match="1 withheld cell"):
        build_dashboard(tmp_path / "site", db=db, registry_path=only_flow(tmp_path), progress=lambda m: None,
                        after_build=True)
    assert not (tmp_path / "site").exists()


def test_a_page_from_reporting_rows_is_offline_and_holds_those_rows(tmp_path):
    db = flow_warehouse(tmp_path / "wh.duckdb", n_lost=0)
    result = build_dashboard(tmp_path / "site", db=db, registry_path=only_flow(tmp_path), progress=lambda m: None,
                             after_build=True)
    html = result.index.read_text(encoding="utf-8")
    assert result.charts == ("study_flow",)
    assert "default-src 'none'" in html and "vegaEmbed" in html
    assert '"n_observed": 20' in html and '"n_lost": 0' in html  # the stored zero, as published
    assert "Verloop van elke prospectieve studie" in html       # the registry's Dutch title
    for section in SECTIONS:                                     # every section, with its waiting text where empty
        assert f'id="section-{section}"' in html


def test_a_registry_column_the_table_lacks_is_named(tmp_path):
    db = flow_warehouse(tmp_path / "wh.duckdb", n_lost=0)

    def wrong(doc):
        doc["indicators"] = {"study_flow": dict(doc["indicators"]["study_flow"],
                                                columns=["study", "follow_up_month", "n_withdrawn"])}
    registry = load_registry(registry_file(tmp_path, wrong))
    con = duckdb.connect(str(db), read_only=True)
    with pytest.raises(RegistryError, match="reporting.study_attrition has no column 'n_withdrawn'"):
        read_indicator(con, registry.indicators[0], registry, 5)
    con.close()


def test_count_columns_are_integer_columns_other_than_calendar_keys():
    types = {"registration_year": "VARCHAR", "follow_up_month": "INTEGER", "wave_order": "BIGINT", "days": "INTEGER",
             "n_due": "BIGINT", "observed": "BIGINT", "mean": "DOUBLE", "scheme_version": "HUGEINT",
             "n_waves": "INTEGER", "sort_order": "INTEGER", "n_respondents": "BIGINT"}
    assert count_columns(types) == ["n_due", "observed", "n_respondents"]
