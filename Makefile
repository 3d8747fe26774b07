# The two commands a new user needs: `make run` and `make test`. Both set up .venv themselves.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
EXAMPLE_DIR := examples/lf_job_etl_pipeline
EXAMPLE := $(EXAMPLE_DIR)/databricks.yml

.PHONY: run test test-spawn lint bench chaos clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# The example's alerts go to a local catcher (examples/lf_job_etl_pipeline/alert_catcher.py),
# started for the run and stopped after it. ARGS passes more options: make run ARGS="--param simulate_failure=true"
run: $(VENV)/.installed
	@$(BIN)/python $(EXAMPLE_DIR)/alert_catcher.py & catcher=$$!; sleep 0.3; \
	HEADWATER_CONFIG=$(EXAMPLE_DIR)/headwater.yml $(BIN)/headwater run $(EXAMPLE) --target dev $(ARGS); \
	status=$$?; sleep 0.5; kill $$catcher 2>/dev/null; exit $$status

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

# The same suite with the fork server off: every task starts as a new process.
test-spawn: lint
	HEADWATER_LAUNCH=spawn $(BIN)/pytest -q

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py

# Every chaos round (20 of kill -9, 3 of each other fault), on SQLite and, when
# HEADWATER_TEST_POSTGRES_URL names a database it may wipe, on PostgreSQL; prints the table.
# `make test` runs one round of each. ARGS passes options: make chaos ARGS="--rounds 1"
chaos: $(VENV)/.installed-dev
	$(BIN)/python -m tests.chaos.rounds $(ARGS)

clean:
	rm -rf .headwater examples/*/output
