# sofs-warehouse: the only entry points a newcomer needs (README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export GX_ANALYTICS_ENABLED := false

.PHONY: venv demo test test-cli ui docs manifest bench bench-history clean

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

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not cli_processes"

# real `sofs-warehouse` processes: killed with -9, starved of disk, waiting for readers, status/ui/docs (minutes)
test-cli: $(STAMP)
	$(BIN)/python -m pytest -q -m cli_processes

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
