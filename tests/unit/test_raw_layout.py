"""The raw layout (orchestration/warehouse.py RAW_DDL, SPEC 4) and what reads it agree: the dbt sources (tables
and columns), the columns the staging models select, and the change history's columns (orchestration/history.py).

And the dossier extract's contract (orchestration/contracts/dossier_extract.py, SPEC 3.4) is its one definition:
the reader's columns, the quality gate's contract, the raw DDL's columns and types, the landing layout, the
loads' file -> frame mapping, the demo's files, the evaluation and study code lists and the export labels are
all the module's, no module of the package holds a copy of its lists, and dbt's copies (it cannot import
Python) are equal to it.
"""
from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration import evaluation, history, ingest, landing, studies, warehouse
from orchestration.contracts import dossier_extract as contract
from orchestration.quality import dossiers as quality
from orchestration.readers.base import ReaderError
from orchestration.readers.dossiers import D_REQUIRED_COLUMN, RAW_COLUMNS, READ_COLUMNS, read_dossier_extract
from orchestration.settings import DBT_PROJECT_DIR
from orchestration.spark_handover import raw_source_tables, source_files

STAGING = DBT_PROJECT_DIR / "models" / "staging"
PACKAGE = Path(contract.__file__).resolve().parents[1]
_SOURCE = re.compile(r"source\('(\w+)',\s*'(\w+)'\)")
_CAST = re.compile(r"cast\((\w+) as ")


@pytest.fixture(scope="module")
def raw_layout() -> dict[str, list[tuple[str, str, bool]]]:
    """raw table -> its columns in order as ``(name, lowercase DuckDB type, not null)``, from RAW_DDL."""
    con = duckdb.connect()
    con.execute(warehouse.RAW_DDL)
    rows = con.execute("select table_name, column_name, lower(data_type), is_nullable = 'NO' "
                       "from information_schema.columns "
                       "where table_schema = 'raw' order by table_name, ordinal_position").fetchall()
    con.close()
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, sql_type, not_null in rows:
        out.setdefault(table, []).append((column, sql_type, not_null))
    return out


@pytest.fixture(scope="module")
def raw_columns(raw_layout) -> dict[str, list[str]]:
    """raw table -> its column names in order."""
    return {table: [c for c, _t, _n in cols] for table, cols in raw_layout.items()}


def _source_columns() -> dict[str, list[tuple[str, str]] | None]:
    """Every table of a dbt source in schema raw -> its declared ``(column, data_type)`` list (None: none)."""
    out: dict[str, list[tuple[str, str]] | None] = {}
    for path in source_files():
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]:
            if source.get("schema", source["name"]) != "raw":
                continue
            for table in source["tables"]:
                name = table.get("identifier") or table["name"]
                assert name not in out, f"raw.{name} is declared twice in the dbt sources"
                columns = table.get("columns")
                out[name] = None if columns is None else [(c["name"], str(c.get("data_type", "")).lower())
                                                          for c in columns]
    return out


def test_every_raw_table_is_a_dbt_source_and_every_source_exists(raw_columns):
    assert sorted(raw_columns) == raw_source_tables()


def test_dbt_raw_sources_list_exactly_the_raw_ddl_columns_and_types(raw_layout):
    declared = _source_columns()
    assert sorted(declared) == sorted(raw_layout)
    for table, columns in declared.items():
        assert columns is not None, f"the dbt source raw.{table} declares no columns"
        assert columns == [(c, t) for c, t, _n in raw_layout[table]], f"dbt source raw.{table}"


def test_staging_models_select_only_columns_of_their_raw_table(raw_columns):
    checked = 0
    for sql_file in sorted(STAGING.glob("*/*.sql")):
        sql = sql_file.read_text(encoding="utf-8")
        sources = _SOURCE.findall(sql)
        if len(sources) != 1:
            continue  # a model over several sources (none today) would need its own check
        table = sources[0][1]
        missing = sorted(set(_CAST.findall(sql)) - set(raw_columns[table]))
        assert not missing, f"{sql_file.name} selects {missing}, not columns of raw.{table}"
        checked += 1
    assert checked >= 10  # every dossier and survey staging model


def test_history_columns_are_the_extract_columns(raw_columns):
    for t in history.TABLES:
        assert tuple(raw_columns[t.table.split(".")[1]]) == t.columns, t.table
        delivered = [c for c in RAW_COLUMNS[t.frame] if c not in ("partition_key", "extract_date", "source_line")]
        assert list(t.content) == delivered, t.frame


# --- the dossier extract's contract is the one definition (SPEC 3.4) --------------------------------------

_HISTORY_TAIL = [("source_line", "bigint", True), ("load_id", "varchar", True), ("valid_from", "date", True),
                 ("valid_to", "date", False)]


def test_contract_declares_each_file_once_with_a_key_and_known_kinds():
    assert contract.FILES == ("dossiers.csv", "placements.csv", "practice_events.csv")
    assert contract.REQUIRED_FILES == ("dossiers.csv", "placements.csv")
    for fc in contract.CONTRACT:
        assert fc.table == f"raw.{fc.name}" and fc.file == f"{fc.name}.csv"
        assert len({f.source for f in fc.fields}) == len(fc.fields)
        assert len(fc.stored_columns) == len(set(fc.stored_columns))
        assert [f for f in fc.fields if f.unique] == [fc.key] and fc.key.required and fc.key.domain
        for f in fc.fields:
            assert f.sql_type in ("varchar", "date", "integer", "double")
            assert not f.unknown_as or f.unknown_as in f.codes
            assert f.column_required or not f.required  # a required value needs its column


def test_dossier_ddl_columns_and_types_are_the_contract(raw_layout):
    for fc in contract.CONTRACT:
        assert raw_layout[fc.history_table.split(".")[1]] == list(fc.raw_columns) + _HISTORY_TAIL, fc.history_table
    extracts = raw_layout[history.EXTRACTS.split(".")[1]]
    assert [c for c, _t, _n in extracts] == ["extract_date", "partition_key", "load_id",
                                             *(fc.count_column for fc in contract.CONTRACT),
                                             "n_new_versions", "n_closed_versions", "recorded_at"]
    # spelled out once, so that a change of the contract's types is seen here
    assert raw_layout["dossier_versions"][:11] == [
        ("dossier_key", "varchar", True), ("child_key", "varchar", True), ("service", "varchar", True),
        ("region", "varchar", True), ("team_key", "varchar", False), ("team", "varchar", False),
        ("registration_date", "date", True), ("closure_date", "date", False), ("closure_reason", "varchar", False),
        ("birth_year", "integer", False), ("sex", "varchar", False)]
    assert raw_layout["dossier_event_versions"][4] == ("value", "double", False)


def test_history_tables_are_the_contract_files():
    assert [(t.frame, t.table, t.key, t.content) for t in history.TABLES] == [
        (fc.table, fc.history_table, fc.key.raw, fc.stored_columns) for fc in contract.CONTRACT]
    assert history.DDL in warehouse.RAW_DDL


def test_reader_columns_are_the_contract():
    for fc in contract.CONTRACT:
        assert READ_COLUMNS[fc.name] == [*fc.source_columns, "source_line"]
        assert RAW_COLUMNS[fc.table] == ["partition_key", "extract_date", *fc.stored_columns, "source_line"]
    assert set(READ_COLUMNS) == set(contract.BY_NAME) and set(RAW_COLUMNS) == set(contract.BY_TABLE)


def _minimal_extract(folder: Path, drop: tuple[str, str] | None = None) -> None:
    """An extract of the required files with only the columns the header must have, one valid row each."""
    values = {"dossier_id": "D1", "child_id": "C1", "service": "OCJ", "region": "Limburg",
              "registration_date": "2024-01-02", "placement_id": "P1", "start_date": "2024-02-01",
              "end_date": "", "placement_type": "residential"}
    folder.mkdir(parents=True, exist_ok=True)
    for fc in contract.CONTRACT:
        if fc.optional:
            continue
        columns = [f.source for f in fc.fields if f.column_required and (fc.name, f.source) != drop]
        (folder / fc.file).write_text(",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n",
                                      encoding="utf-8")


def test_reader_reads_the_contract_columns_and_requires_its_header_columns(tmp_path):
    folder = tmp_path / "ok"
    _minimal_extract(folder)
    read = read_dossier_extract(folder, date(2024, 6, 30))
    for fc in contract.CONTRACT:
        assert list(read.frames()[fc.name].columns) == READ_COLUMNS[fc.name]
        optional_columns = [f.source for f in fc.fields if not f.column_required]
        notes = " ".join(read.reports[fc.file].notes)
        if fc.optional:
            assert f"{fc.file} is absent" in notes
        else:
            assert all(f"optional column {c!r} absent" in notes for c in optional_columns)
    for fc in contract.CONTRACT:
        for f in fc.fields:
            if fc.optional or not f.column_required:
                continue
            broken = tmp_path / f"{fc.name}-{f.source}"
            _minimal_extract(broken, drop=(fc.name, f.source))
            with pytest.raises(ReaderError) as info:
                read_dossier_extract(broken, date(2024, 6, 30))
            assert (info.value.code, info.value.column) == (D_REQUIRED_COLUMN, f.source)


def test_quality_rules_are_built_from_the_contract():
    assert quality.CONTRACT is contract.CONTRACT
    rules = {r.spec.code: r for r in quality.DOSSIER_RULES}
    for fc in contract.CONTRACT:
        for f in fc.fields:
            base = f"D_{fc.tag}_{f.source.upper()}"
            assert (f"{base}_REQUIRED" in rules) == f.required
            assert (f"{base}_UNIQUE" in rules) == f.unique
            assert (f"{base}_IN_RANGE" in rules) == bool(f.bounds)
            assert (f"{base}_IN_LIST" in rules) == bool(f.codes)
            if f.codes:
                (expect,) = rules[f"{base}_IN_LIST"].expects(date(2024, 6, 30))
                assert (expect.column, tuple(expect.values)) == (f.raw, f.codes)
    assert rules["D_DOSSIERS_REGISTER_NUMBER_CHECK"].spec.columns == ("dossier_id", "child_id")


def test_landing_and_ingest_take_the_contract_files(tmp_path):
    assert landing.DOSSIER_FILES == contract.FILES
    assert ingest._DOSSIER_FILE_TABLE == {fc.file: fc.table for fc in contract.CONTRACT}
    folder = tmp_path / "dossiers" / "2024-06-30"
    folder.mkdir(parents=True)
    (folder / "practice_events.csv").write_text("event_id\n", encoding="utf-8")
    (folder / "Dossiers.CSV").write_text("x\n", encoding="utf-8")
    (partition,) = landing.discover(tmp_path)
    assert partition.problem == f"missing {', '.join(contract.REQUIRED_FILES)}"
    assert [p.name for p in partition.files] == ["practice_events.csv"] and partition.ignored == ("Dossiers.CSV",)


def test_code_lists_elsewhere_are_the_contract_lists():
    from orchestration.demo import dossiers as demo
    from orchestration.research.labels import CODE_LISTS

    assert evaluation.EVENT_TYPES is contract.EVENT_TYPES and evaluation.REGIONS is contract.REGIONS
    assert studies.SERVICES is contract.SERVICES and studies.REGIONS is contract.REGIONS
    coded = {f.source: f.codes for fc in contract.CONTRACT for f in fc.fields if f.codes}
    for column, labels in CODE_LISTS.items():
        assert tuple(labels) == coded[column], column
        assert [code for code, _label in labels.values()] == list(range(1, len(labels) + 1))
    assert demo.CLOSURE_REASONS == list(contract.CLOSURE_REASONS)
    assert demo.PLACEMENT_TYPES == list(contract.PLACEMENT_TYPES) and demo.RATERS == list(contract.RATERS)
    assert sorted(demo.REGIONS) == sorted(contract.REGIONS) and sorted(demo.TEAMS) == sorted(contract.REGIONS)


def test_demo_writes_the_contract_files_columns_and_codes(tmp_path):
    from orchestration.demo.dossiers import write_demo_dossiers

    written = write_demo_dossiers(tmp_path)
    assert [p.name for p in written[:3]] == list(contract.FILES)
    coded = {fc.name: {f.source: f.codes for f in fc.fields if f.codes} for fc in contract.CONTRACT}
    for folder in (written[0].parent, written[-1].parent):  # the old export (cp1252, ;) and the new one
        encoding, sep = ("cp1252", ";") if folder.name < "2024" else ("utf-8-sig", ",")
        for fc in contract.CONTRACT:
            with open(folder / fc.file, encoding=encoding, newline="") as fh:
                rows = list(csv.DictReader(fh, delimiter=sep))
            assert tuple(rows[0]) == fc.source_columns, f"{folder.name}/{fc.file}"
            for column, codes in coded[fc.name].items():
                assert {r[column] for r in rows} - {""} <= set(codes), f"{folder.name}/{fc.file} {column}"


def _literal_run(values) -> re.Pattern:
    """A regular expression for ``values`` written one after the other as string literals (a tuple or list)."""
    return re.compile(r"\s*,\s*".join(f"[\"']{re.escape(v)}[\"']" for v in values))


def test_no_module_of_the_package_holds_a_copy_of_the_contract():
    patterns = {f"code list {codes}": _literal_run(codes)
                for codes in (contract.SERVICES, contract.REGIONS, contract.SEXES, contract.PLACEMENT_TYPES,
                              contract.EVENT_TYPES, contract.RATERS, contract.CLOSURE_REASONS)}
    patterns["file names"] = _literal_run(contract.FILES[:2])
    for fc in contract.CONTRACT:
        patterns[f"columns of {fc.file}"] = _literal_run(fc.source_columns[:3])
        patterns[f"stored columns of {fc.file}"] = _literal_run(fc.stored_columns[:3])
        patterns[f"DDL of {fc.history_table}"] = re.compile(
            rf"create table if not exists {re.escape(fc.history_table)}\b")
    own = PACKAGE / "contracts"
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if own in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(PACKAGE.parent)}: {what}" for what, pattern in patterns.items()
                  if pattern.search(text)]
    assert not found, "copies of orchestration/contracts/dossier_extract.py: " + "; ".join(found)


def _accepted_values(test) -> list | str | None:
    if isinstance(test, dict) and "accepted_values" in test:
        spec = test["accepted_values"]
        return (spec.get("arguments") or spec).get("values")
    return None


def test_dbt_code_lists_are_the_contract_lists():
    """dbt cannot import Python: every accepted_values test on a column named as a coded column of the
    contract lists its codes (in the contract's order; margins may add 'all'), and the raters of
    int_practice_events_per_dossier are the contract's."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    coded = {f.source: f.codes for fc in contract.CONTRACT for f in fc.fields if f.codes}
    checked = 0
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []:
            for column in model.get("columns") or []:
                if column["name"] not in coded:
                    continue
                for test in column.get("data_tests") or column.get("tests") or []:
                    values = _accepted_values(test)
                    if values is None:
                        continue
                    var = re.fullmatch(r"\{\{\s*var\('(\w+)'\)\s*\}\}", values) if isinstance(values, str) else None
                    values = project["vars"][var.group(1)] if var else values
                    assert [v for v in values if v != "all"] == list(coded[column["name"]]), \
                        f"{path.name}: {model['name']}.{column['name']}"
                    checked += 1
    assert checked >= 14
    sql = (DBT_PROJECT_DIR / "models" / "intermediate" / "dossiers" / "int_practice_events_per_dossier.sql").read_text()
    raters = re.search(r"set raters = \[([^\]]*)\]", sql).group(1)
    assert tuple(re.findall(r"'(\w+)'", raters)) == contract.RATERS
