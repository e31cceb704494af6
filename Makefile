# sofs-warehouse: the only entry points a newcomer needs (README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export GX_ANALYTICS_ENABLED := false

.PHONY: venv demo lint test test-unit test-cli test-spark spark-java ui docs manifest bench bench-history clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -c requirements.lock -e '.[test]'
	@# lifelines (test reference only) pins pandas<3 in its metadata but runs on pandas 3
	$(BIN)/pip install -q --no-deps -c requirements.lock lifelines autograd autograd-gamma formulaic interface-meta
	@touch $(STAMP)

manifest: $(STAMP)
	$(BIN)/sofs-warehouse prepare

demo: $(STAMP)
	$(BIN)/sofs-warehouse demo

# sqlfluff over the dbt models and singular tests (dbt_project/.sqlfluff: DuckDB, jinja templater with the
# project's macros and lint/sqlfluff_libs; about a minute on 2 cores)
lint: $(STAMP)
	cd dbt_project && $(abspath $(BIN))/sqlfluff lint models tests --processes 2

# --durations: the 25 slowest tests close the log (the suite should stay under 15 minutes on 2 cores; README)
test: $(STAMP) lint
	$(BIN)/python -m pytest -m "not cli_processes" --durations=25

# unit tests only (about 2 minutes on 2 cores): readers, rules, privacy, CLI argument handling
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -m "not cli_processes"

# real `sofs-warehouse` processes: killed with -9, starved of disk, waiting for readers, status/ui/docs (minutes)
test-cli: $(STAMP)
	$(BIN)/python -m pytest -q -m cli_processes

# the same dbt models and tests on a local Spark session, compared with DuckDB's tables (SPEC 7; spark/check.py):
# Java 17 from Debian when `java` is missing, a virtualenv of its own with dbt-spark and pyspark (minutes)
SPARK_VENV := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed

spark-java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "java is missing: installing openjdk-17-jre-headless from Debian's packages"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless; }

$(SPARK_STAMP): spark/requirements.txt
	@test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/pip install -q --upgrade pip
	$(SPARK_VENV)/bin/pip install -r spark/requirements.txt
	@touch $(SPARK_STAMP)

test-spark: $(STAMP) spark-java $(SPARK_STAMP)
	nice $(BIN)/python spark/check.py --dbt $(SPARK_VENV)/bin/dbt

ui: $(STAMP)
	$(BIN)/sofs-warehouse ui

docs: $(STAMP)
	$(BIN)/sofs-warehouse docs

bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

# quarterly snapshots loaded one after another (N=100,000, k=6; bench/results_history.md); args via HISTORY_ARGS
bench-history: $(STAMP)
	$(BIN)/python bench/run_history.py $(HISTORY_ARGS)

clean:
	rm -rf data/warehouse.duckdb data/warehouse.duckdb.wal .dagster_home dbt_project/target dbt_project/logs
